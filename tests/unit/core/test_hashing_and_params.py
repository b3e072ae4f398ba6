import os
from pathlib import Path

import pytest

from shipyard.core.hashing import FileHasher, digest_file, digest_value
from shipyard.core.params import NONE, STRING, Interval, Options, validate_params
from shipyard.errors import ConfigError


def test_digest_value_ignores_key_order():
    assert digest_value({"a": 1, "b": [1, 2]}) == digest_value({"b": [1, 2], "a": 1})
    assert digest_value({"a": 1}) != digest_value({"a": 2})


def test_file_hasher_reuses_stat_cache_and_notices_changes(tmp_path: Path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 1000)
    hasher = FileHasher(tmp_path / "index.json")
    first = hasher.digest(data)
    assert first == digest_file(data)
    hasher.save()
    # A second hasher trusts the stored digest while size, mtime and inode are unchanged.
    reloaded = FileHasher(tmp_path / "index.json")
    key = str(data.resolve())
    reloaded._index[key][3] = "stale-but-trusted"
    assert reloaded.digest(data) == "stale-but-trusted"
    data.write_bytes(b"y" * 1001)
    assert reloaded.digest(data) == digest_file(data) != first


def test_digest_tree_covers_names_and_contents(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.parquet").write_bytes(b"1")
    hasher = FileHasher(tmp_path / "i.json")
    before = hasher.digest_tree(tmp_path / "d")
    os.rename(tmp_path / "d" / "a.parquet", tmp_path / "d" / "b.parquet")
    assert hasher.digest_tree(tmp_path / "d") != before


CONSTRAINTS = {
    "tolerance": [Interval(float, 0, 1)],
    "metric": [STRING],
    "mode": [Options(frozenset({"non_inferiority", "superiority"}))],
    "limit": [Interval(int, 1, None), NONE],
}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"tolerance": 5},
            "The 'tolerance' option of gate 'g' must be a float in [0, 1]. Got 5 instead.",
        ),
        ({"tolerance": True}, "Got True instead."),
        ({"metric": 3}, "The 'metric' option of gate 'g' must be a string. Got 3 instead."),
        ({"mode": "better"}, "must be one of 'non_inferiority', 'superiority'. Got 'better'"),
        ({"limit": 0}, "must be an int in [1, inf] or None. Got 0 instead."),
        ({"tolerence": 0.1}, "Unknown option 'tolerence' of gate 'g'. Did you mean 'tolerance'?"),
    ],
)
def test_constraint_messages(params, message):
    with pytest.raises(ConfigError) as info:
        validate_params("gate 'g'", CONSTRAINTS, params)
    assert message in str(info.value)


def test_valid_params_pass():
    validate_params("gate 'g'", CONSTRAINTS, {"tolerance": 0.0, "limit": None, "mode": "superiority"})
