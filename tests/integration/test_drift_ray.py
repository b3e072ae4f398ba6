"""Drift and batch validation on 20 Parquet partitions summarised as Ray tasks: the verdicts and
reports of one process reading every row. One local Ray instance serves the whole module (about
5 s to start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from realistic_data import transactions

from shipyard.data.partitioned_validation import validate_partitions
from shipyard.data.partitions import PartitionedData, open_partitions
from shipyard.data.profile import build_profile
from shipyard.data.schema import infer_schema
from shipyard.data.validation import validate
from shipyard.errors import ConfigError
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.partitioned import profile_partitions

PARTS = 20
EXCLUDE = ("transaction_id", "is_fraud")  # a unique id always "drifts"; the label is not an input


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    from shipyard.core.distributed import connect_ray

    ray = connect_ray(num_cpus=2)
    yield
    ray.shutdown()


def _partitions(frame: pd.DataFrame, folder: Path) -> PartitionedData:
    folder.mkdir(parents=True)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), PARTS)):
        frame.iloc[rows].to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return open_partitions(folder)


def _shifted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(amount=frame.amount * 1.6, velocity=frame.velocity + 1)


@pytest.mark.parametrize("drifted", [False, True], ids=["clean", "drifted"])
def test_ray_partitions_give_the_single_process_verdicts(
    ray_instance: None, tmp_path: Path, drifted: bool
) -> None:
    reference = transactions(seed=0, rows=20_000).frame
    current = transactions(seed=1, rows=20_000).frame
    current = _shifted(current) if drifted else current
    profile = build_profile(reference, exclude=EXCLUDE)
    parts = _partitions(current, tmp_path / "current")

    single = detect_drift(profile, current, exclude=EXCLUDE)
    on_ray = detect_drift(profile, parts, exclude=EXCLUDE, executor="ray")
    assert on_ray.verdict == single.verdict == ("drift" if drifted else "no_drift")
    assert [f.name for f in on_ray.drifted] == [f.name for f in single.drifted]
    if drifted:
        assert {f.name for f in on_ray.drifted} == {"amount", "velocity"}
    assert on_ray.current_rows == single.current_rows == 20_000
    for one, ray_feature in zip(single.features, on_ray.features, strict=True):
        for test, result in one.results.items():
            assert ray_feature.results[test].statistic == pytest.approx(result.statistic, rel=1e-9, abs=1e-12)


def test_a_reference_profiled_on_ray_equals_the_local_one(ray_instance: None, tmp_path: Path) -> None:
    parts = _partitions(transactions(seed=2, rows=20_000).frame, tmp_path / "reference")
    local = profile_partitions(parts, exclude=EXCLUDE)
    assert profile_partitions(parts, exclude=EXCLUDE, executor="ray") == local
    exact = build_profile(transactions(seed=2, rows=20_000).frame, exclude=EXCLUDE)
    assert local.columns["channel"] == exact.columns["channel"]
    assert local.columns["amount"].count == exact.columns["amount"].count


def test_a_damaged_partition_on_ray_is_named_without_ray_wrapping(ray_instance: None, tmp_path: Path) -> None:
    frame = transactions(seed=3, rows=20_000).frame
    parts = _partitions(frame, tmp_path / "current")
    damaged = Path(parts.partitions[7].path)
    raw = bytearray(damaged.read_bytes())
    footer = int.from_bytes(raw[-8:-4], "little")
    data_pages = slice(4, len(raw) - 8 - footer)
    raw[data_pages] = b"\xff" * (data_pages.stop - data_pages.start)  # the footer still reads
    damaged.write_bytes(bytes(raw))
    profile = build_profile(frame, exclude=EXCLUDE)
    with pytest.raises(ConfigError, match=rf"Cannot read partition {damaged}") as caught:
        detect_drift(profile, parts, exclude=EXCLUDE, executor="ray")
    assert type(caught.value) is ConfigError


def _faulty(frame: pd.DataFrame) -> pd.DataFrame:
    """Nulls, a unit change, a new channel, and rows of the first partitions repeated in the last."""
    frame = frame.copy()
    frame.loc[frame.index % 50 == 0, "velocity"] = np.nan
    frame.loc[frame.index % 997 == 0, "amount"] *= 1000
    frame["channel"] = frame.channel.astype(str).where(frame.index % 211 != 0, "kiosk")
    return pd.concat([frame, frame.iloc[:1200:2]], ignore_index=True)


@pytest.mark.parametrize("faulty", [False, True], ids=["clean", "faulty"])
def test_ray_partitions_give_the_single_process_validation_report(
    ray_instance: None, tmp_path: Path, faulty: bool
) -> None:
    schema = infer_schema(transactions(seed=0, rows=20_000).frame, target="is_fraud")
    current = transactions(seed=4, rows=20_000, category_dtype=False).frame
    current = _faulty(current) if faulty else current
    parts = _partitions(current, tmp_path / "current")
    rules = {"target": "is_fraud", "task": "classification"}

    single = validate(current, schema, **rules)
    on_ray = validate_partitions(parts, schema, executor="ray", **rules)
    assert [r.to_dict() for r in on_ray.results] == [r.to_dict() for r in single.results]
    failed = {(r.check, r.subject) for r in single.results if r.status.value == "failed"}
    assert single.passed is not faulty  # a clean batch may warn, never fail
    if faulty:
        assert {
            ("column_nulls", "velocity"),
            ("duplicate_rows", ""),
            ("column_unique", "transaction_id"),
        } <= failed
