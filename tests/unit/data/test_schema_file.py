"""`schema.yaml`: exact round trips, a readable layout, and errors that name file and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from shipyard.data import ColumnSchema, Schema, read_schema, write_schema
from shipyard.errors import ConfigError


def test_dict_round_trip_is_exact(schema: Schema) -> None:
    data = schema.to_dict()
    assert Schema.from_dict(data) == schema
    assert Schema.from_dict(data).to_dict() == data


def test_file_round_trip_is_exact(schema: Schema, tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    write_schema(schema, path)
    assert read_schema(path) == schema
    assert yaml.safe_load(path.read_text()) == schema.to_dict()


def test_file_is_readable_and_stable(schema: Schema, tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    write_schema(schema, path)
    text = path.read_text()
    assert text.startswith("# Inferred by `shipyard schema infer`")
    assert "review" in text.splitlines()[1].lower() and "git" in text.splitlines()[1]
    names = [line.removeprefix("- name: ") for line in text.splitlines() if line.startswith("- name:")]
    assert names == schema.names  # data order, one mapping per column
    bounded = [c for c in yaml.safe_load(text)["columns"] if "maximum" in c][0]
    assert list(bounded) == [
        "name",
        "dtype",
        "nullable",
        "max_null_fraction",
        "unique",
        "minimum",
        "maximum",
        "observed_minimum",
        "observed_maximum",
    ]
    write_schema(read_schema(path), path)
    assert path.read_text() == text


def test_timestamps_and_awkward_strings_survive(tmp_path: Path) -> None:
    schema = Schema(
        target="y",
        rows=3,
        columns=(
            ColumnSchema(
                "when",
                "datetime",
                minimum=pd.Timestamp("2024-01-01 00:00:00.123456789", tz="UTC"),
                maximum=pd.Timestamp("2024-03-01", tz="Europe/Paris"),
            ),
            ColumnSchema("y", "string", categories=("yes", "no", "null", "1", "", "a: b", "é\n")),
        ),
    )
    path = tmp_path / "schema.yaml"
    write_schema(schema, path)
    assert read_schema(path) == schema


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"No schema file at .*schema\.yaml\. Run 'shipyard schema infer'"):
        read_schema(tmp_path / "schema.yaml")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("version: 1\ncolumns: [\n  - name: a\n")
    with pytest.raises(ConfigError, match=r"schema\.yaml: malformed YAML at line \d+"):
        read_schema(path)


def _valid() -> dict[str, Any]:
    return {
        "version": 1,
        "target": "y",
        "rows": 10,
        "columns": [
            {
                "name": "amount",
                "dtype": "float",
                "nullable": False,
                "unique": False,
                "minimum": 0.0,
            },
            {"name": "y", "dtype": "int", "nullable": False, "unique": False, "categories": [0, 1]},
        ],
    }


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    data = _valid()
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "schema.yaml: the top level must be a mapping"),
        (_with(["version"], 2), "schema.yaml: version: unsupported version 2"),
        (_with(["target"], KeyError), "schema.yaml: target: required key is missing."),
        (_with(["target"], "label"), "schema.yaml: target: 'label' is not one of the columns"),
        (_with(["rows"], -1), "schema.yaml: rows: must be >= 0. Got -1 instead."),
        (_with(["rows"], "10"), "schema.yaml: rows: must be an int. Got '10' instead."),
        (_with(["colums"], []), "schema.yaml: colums: unknown key. Did you mean 'columns'?"),
        (_with(["columns"], {"a": 1}), "schema.yaml: columns: must be a list of column mappings"),
        (
            _with(["columns", 0, "dtype"], "floot"),
            "schema.yaml: columns.0 ('amount').dtype: must be one of 'int', 'float', 'bool', "
            "'category', 'string', 'datetime'. Got 'floot' instead.",
        ),
        (
            _with(["columns", 0, "nulable"], True),
            "schema.yaml: columns.0.nulable: unknown key. Did you mean 'nullable'?",
        ),
        (_with(["columns", 1, "name"], KeyError), "schema.yaml: columns.1.name: required key"),
        (
            _with(["columns", 0, "nullable"], "no"),
            "columns.0 ('amount').nullable: must be true or false. Got 'no' instead.",
        ),
        (
            _with(["columns", 0, "minimum"], "low"),
            "columns.0 ('amount').minimum: must be a number. Got 'low' instead.",
        ),
        (
            _with(["columns", 0, "maximum"], -1.0),
            "columns.0 ('amount'): minimum 0.0 is above maximum -1.0.",
        ),
        (
            _with(["columns", 1, "categories"], [[0], 1]),
            "columns.1 ('y').categories.0: must be a string, number or boolean. Got [0] instead.",
        ),
        (
            _with(["columns", 1], {"name": "amount", "dtype": "int"}),
            "schema.yaml: columns: column names repeat: ['amount'].",
        ),
    ],
)
def test_malformed_content_names_key_path(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Schema.from_dict(data)
    assert message in str(info.value)
    assert str(info.value).endswith("Fix the file or run 'shipyard schema infer' again.")


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "s", "dtype": "string", "minimum": 1}, "applies to int, float and datetime"),
        ({"name": "t", "dtype": "datetime", "minimum": "soon"}, "must be an ISO date-time"),
        ({"name": "t", "dtype": "datetime", "minimum": ""}, "must be an ISO date-time"),
        (
            {
                "name": "t",
                "dtype": "datetime",
                "minimum": "2024-01-01T00:00:00+00:00",
                "maximum": "2024-02-01T00:00:00",
            },
            "must both have a time zone or neither",
        ),
    ],
)
def test_bounds_must_suit_the_dtype(column: dict[str, Any], message: str) -> None:
    data = _valid()
    data["columns"].append(column)
    with pytest.raises(ConfigError, match=message):
        Schema.from_dict(data)


def test_hand_written_unquoted_date_is_read(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(
        "version: 1\ntarget: y\nrows: 2\ncolumns:\n"
        "- name: t\n  dtype: datetime\n  minimum: 2024-01-31\n"
        "- name: y\n  dtype: int\n"
    )
    column = read_schema(path).column("t")
    assert column.minimum == pd.Timestamp("2024-01-31")
    assert not column.nullable and not column.unique
