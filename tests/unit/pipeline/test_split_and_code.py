from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.config import parse_policy
from shipyard.config.project import Project
from shipyard.core.hashing import FileHasher
from shipyard.errors import ConfigError
from shipyard.pipeline.code import code_digest, module_files
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.stages import split_indices
from shipyard.workspace import Workspace


def _ctx(tmp_path: Path, split: dict, task: str = "classification") -> RunContext:
    policy = parse_policy(
        {
            "name": "t",
            "task": task,
            "data": {"source": "d.csv", "target": "y"},
            "entrypoints": {"train": "m:train"},
            "split": split,
        }
    )
    return RunContext(Workspace.open(Project(tmp_path, policy), env={}))


@pytest.fixture(params=[0, 1, 2, 3])
def frame(request) -> pd.DataFrame:
    rng = np.random.default_rng(request.param)
    n = 1000
    return pd.DataFrame(
        {
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.permutation(n), unit="h"),
            "x": rng.normal(size=n),
            "y": (rng.random(n) < 0.1).astype(int),
        }
    )


def test_time_split_holds_out_the_latest_rows(tmp_path, frame):
    train, test = split_indices(
        _ctx(tmp_path, {"method": "time", "column": "when", "test_size": 0.25}), frame
    )
    assert len(test) == 250 and len(train) == 750
    assert frame["when"].iloc[train].max() < frame["when"].iloc[test].min()
    assert set(train).isdisjoint(test)


def test_stratified_split_keeps_class_share(tmp_path, frame):
    train, test = split_indices(_ctx(tmp_path, {"method": "stratified", "test_size": 0.2}), frame)
    share = frame["y"].mean()
    assert abs(frame["y"].iloc[test].mean() - share) < 0.01
    assert len(set(train) | set(test)) == len(frame)


def test_random_split_is_seeded(tmp_path, frame):
    ctx = _ctx(tmp_path, {"method": "random", "seed": 7})
    first, again = split_indices(ctx, frame), split_indices(ctx, frame)
    assert np.array_equal(first[1], again[1])
    other = split_indices(_ctx(tmp_path, {"method": "random", "seed": 8}), frame)
    assert not np.array_equal(first[1], other[1])


def test_time_split_orders_iso_dates_stored_as_text_as_dates(tmp_path, frame):
    # half the rows written with a +05:30 offset, so sorting the text would not sort the times
    moments = frame["when"].dt.tz_localize("UTC")
    text = [(t.tz_convert("Asia/Kolkata") if i % 2 else t).isoformat() for i, t in enumerate(moments)]
    as_text = frame.assign(when=pd.Series(text, index=frame.index, dtype=object))
    split = {"method": "time", "column": "when", "test_size": 0.25}
    train, test = split_indices(_ctx(tmp_path, split), as_text)
    assert frame["when"].iloc[train].max() < frame["when"].iloc[test].min()


def test_time_split_refuses_a_column_that_is_not_a_time(tmp_path, frame):
    frame = frame.assign(sex=np.where(frame["x"] > 0, "F", "M"))
    with pytest.raises(ConfigError, match="orders rows by 'sex', which has dtype"):
        split_indices(_ctx(tmp_path, {"method": "time", "column": "sex"}), frame)


def test_time_split_on_a_missing_column_names_it(tmp_path, frame):
    with pytest.raises(ConfigError, match="split.column: column 'ts'"):
        split_indices(_ctx(tmp_path, {"method": "time", "column": "ts"}), frame)


def test_module_files_cover_the_whole_package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "train.py", "sub/__init__.py", "sub/util.py"):
        (pkg / name).write_text("x = 1\n")
    (tmp_path / "single.py").write_text("def f(): pass\n")
    files = module_files("pkg.train:train", tmp_path, "entrypoints.train")
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "pkg/__init__.py",
        "pkg/sub/__init__.py",
        "pkg/sub/util.py",
        "pkg/train.py",
        "single.py",  # root-level modules count: an entry point may import them
    ]
    assert module_files("single:f", tmp_path, "k") == [tmp_path / "single.py"]
    # A folder named like a single-file module does not hide that module's own file.
    (tmp_path / "single").mkdir()
    (tmp_path / "single" / "export.py").write_text("y = 2\n")
    assert module_files("single:f", tmp_path, "k") == [tmp_path / "single.py"]
    assert module_files("installed.module:f", tmp_path, "k") == []


def test_code_digest_changes_with_any_helper_file(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("A = 1\n")
    hasher = FileHasher(tmp_path / "index.json")
    before = code_digest(module_files("pkg.helpers:A", tmp_path, "k"), tmp_path, hasher)
    (pkg / "helpers.py").write_text("A = 2\n")
    after = code_digest(module_files("pkg.helpers:A", tmp_path, "k"), tmp_path, hasher)
    assert before != after


def test_bad_reference_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="entrypoints.train: 'nocolon' is not a 'module:function'"):
        module_files("nocolon", tmp_path, "entrypoints.train")


def test_loader_entry_point_supplies_the_data(tmp_path):
    (tmp_path / "loaders.py").write_text(
        "import pandas as pd\n\ndef load():\n    return pd.DataFrame({'x': [1, 2, 3], 'y': [0, 1, 0]})\n"
    )
    policy = parse_policy(
        {
            "name": "t",
            "data": {"loader": "loaders:load", "target": "y"},
            "entrypoints": {"train": "m:train"},
        }
    )
    ctx = RunContext(Workspace.open(Project(tmp_path, policy), env={}))
    assert list(ctx.raw().columns) == ["x", "y"]
    assert len(ctx.data_digest) == 64


def test_loader_returning_something_else_is_named(tmp_path):
    (tmp_path / "loaders2.py").write_text("def load():\n    return [1, 2]\n")
    policy = parse_policy(
        {"name": "t", "data": {"loader": "loaders2:load", "target": "y"}, "entrypoints": {"train": "m:t"}}
    )
    with pytest.raises(ConfigError, match="data.loader returned list"):
        RunContext(Workspace.open(Project(tmp_path, policy), env={})).raw()


def test_stratified_split_needs_two_rows_per_class(tmp_path, frame):
    frame = frame.assign(y=0)
    frame.loc[0, "y"] = 1
    with pytest.raises(ConfigError, match="class 1 has 1"):
        split_indices(_ctx(tmp_path, {"method": "stratified"}), frame)
