"""Drift on partitioned Parquet, each partition summarised alone and merged, against one process
reading every row: the same verdicts, the same (profile path) or close (exact path) statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.data.partitions import open_partitions
from shipyard.data.profile import build_profile
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.partitioned import profile_partitions
from shipyard.monitoring.sketches import BODY_POINTS, EXACT_TAIL, TAIL_ERROR, NumericSketch
from shipyard.monitoring.verdicts import DriftReport

SEEDS = (0, 1, 2)


def frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    """Realistic traits: heavy tails, rare nulls, integer ties, rare categories, dates as text and as
    timestamps. `shift` moves `amount` (in log units) and `channel`'s mix."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5 + shift, 1.2, rows)
    amount[rng.random(rows) < 0.01] = np.nan
    p = np.array([0.5, 0.3, 0.15, 0.049, 0.001]) + np.array([-1, 0, 0, 1, 0]) * min(shift, 0.4)
    return pd.DataFrame(
        {
            "amount": amount,
            "risk": rng.normal(size=rows).round(3),
            "velocity": rng.poisson(2, rows),
            "channel": rng.choice(["web", "app", "shop", "phone", "fax"], rows, p=p / p.sum()),
            "created_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 30, rows), "D"),
            "day": (pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30, rows), "D")).strftime(
                "%Y-%m-%d"
            ),
        }
    )


def write_partitions(frame: pd.DataFrame, folder: Path, parts: int) -> Path:
    """Uneven partitions, hive-style folders, as a daily export writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    cuts = np.sort(
        np.random.default_rng(len(frame)).choice(np.arange(1, len(frame)), parts - 1, replace=False)
    )
    for i, part in enumerate(np.split(np.arange(len(frame)), cuts)):
        (folder / f"batch={i}").mkdir(exist_ok=True)
        frame.iloc[part].to_parquet(folder / f"batch={i}" / "part-0.parquet", index=False)
    return folder


def _verdicts(report: DriftReport) -> tuple[str, list[str], list[str]]:
    return report.verdict, [f.name for f in report.drifted], [f.status for f in report.features]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", [0.0, 0.05, 0.5])
def test_partitioned_current_gives_the_single_process_statistics(
    tmp_path: Path, seed: int, shift: float
) -> None:
    profile = build_profile(frame(seed, 6000))
    current = frame(seed + 100, 5000, shift)
    single = detect_drift(profile, current)
    merged = detect_drift(profile, open_partitions(write_partitions(current, tmp_path, 7)))
    assert _verdicts(merged) == _verdicts(single)
    assert merged.current_rows == single.current_rows == 5000
    for one, parts in zip(single.features, merged.features, strict=True):
        assert parts.results.keys() == one.results.keys()
        for test, result in one.results.items():
            assert parts.results[test].statistic == pytest.approx(result.statistic, rel=1e-9, abs=1e-12)
        assert parts.p_adjusted == pytest.approx(one.p_adjusted, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_partitioned_reference_and_current_agree_with_the_exact_path(
    tmp_path: Path, seed: int, shift: float
) -> None:
    reference, current = frame(seed, 20_000), frame(seed + 100, 8000, shift)
    exact = detect_drift(reference, current)
    merged = detect_drift(
        open_partitions(write_partitions(reference, tmp_path / "ref", 6)),
        open_partitions(write_partitions(current, tmp_path / "cur", 5)),
    )
    assert _verdicts(merged) == _verdicts(exact)
    assert (merged.verdict == "drift") == (shift > 0)
    if shift:
        assert {f.name for f in merged.drifted} == {"amount", "channel"}
    for one, parts in zip(exact.features, merged.features, strict=True):
        if one.kind == "categorical":  # counts are exact on both paths
            assert parts.results["chi2"].statistic == pytest.approx(one.results["chi2"].statistic)
        else:  # the profile path's KS error is 1/200 plus the sketch's 0.1 %
            assert abs(parts.results["ks"].statistic - one.results["ks"].statistic) <= 1 / 200 + 1e-3
            assert parts.results["psi"].statistic == pytest.approx(one.results["psi"].statistic, abs=0.01)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("parts", [1, 3, 20])
def test_merged_sketch_ranks_are_within_the_stated_error(seed: int, parts: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.r_[rng.lognormal(0, 2, 60_000), rng.integers(0, 5, 20_000)]  # heavy tail, heavy ties
    rng.shuffle(values)
    sketches = [NumericSketch.of(np.sort(chunk)) for chunk in np.array_split(values, parts)]
    merged = sketches[0]
    for sketch in sketches[1:]:
        merged = merged.merge(sketch)
    ordered = np.sort(values)
    n = len(values)
    ranks = np.r_[np.arange(EXACT_TAIL), np.linspace(0, n - 1, 997).round(), n - 1 - np.arange(EXACT_TAIL)]
    found = merged.quantiles(ranks / (n - 1))
    below = np.searchsorted(ordered, found, side="left")
    upto = np.searchsorted(ordered, found, side="right")
    miss = np.maximum(below - ranks, 0) + np.maximum(ranks - upto + 1, 0)  # 0 when found's run holds the rank
    allowed = np.minimum(TAIL_ERROR * np.minimum(ranks, n - 1 - ranks), n / BODY_POINTS) + parts
    assert np.all(miss <= allowed)
    assert merged.quantiles(np.array([0.0, 1.0])).tolist() == [ordered[0], ordered[-1]]
    assert (
        merged.count == n
        and merged.mean == pytest.approx(values.mean())
        and merged.std == pytest.approx(values.std())
    )


def test_profile_of_partitions_has_exact_counts_and_close_quantiles(tmp_path: Path) -> None:
    data = frame(3, 30_000)
    single = build_profile(data)
    merged = profile_partitions(open_partitions(write_partitions(data, tmp_path, 9)))
    assert merged.rows == single.rows and list(merged.columns) == list(single.columns)
    assert merged.columns["channel"] == single.columns["channel"]
    assert merged.columns["day"] == single.columns["day"]  # text dates, profiled as dates
    for name in ("amount", "risk", "velocity", "created_at"):
        one, parts = single.columns[name], merged.columns[name]
        assert (parts.kind, parts.count, parts.nulls, parts.min, parts.max) == (
            one.kind, one.count, one.nulls, one.min, one.max
        )  # fmt: skip
        assert parts.mean == pytest.approx(one.mean) and parts.std == pytest.approx(one.std)
        assert sum(parts.bin_counts) == sum(parts.hist_counts) == one.count
        ordered = np.sort(data[name].dropna().to_numpy(dtype=np.float64)) if name != "created_at" else None
        if ordered is not None:  # the bin counts are exact for the sketch's edges
            edges = np.asarray(parts.bin_edges)
            assert (
                parts.bin_counts
                == np.diff(
                    np.searchsorted(ordered, edges, side="right"), prepend=0, append=len(ordered)
                ).tolist()
            )
        spread = one.quantiles[-1] - one.quantiles[0]
        assert np.max(np.abs(np.subtract(parts.quantiles, one.quantiles))) <= 0.01 * spread
        assert (
            parts.tail_quantiles[0] == one.tail_quantiles[0]
            and parts.tail_quantiles[-1] == one.tail_quantiles[-1]
        )


def test_the_local_path_never_imports_ray(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = write_partitions(frame(0, 2000), tmp_path / "data", 3)
    code = (
        "import sys\n"
        "from shipyard.data.partitions import open_partitions\n"
        "from shipyard.monitoring.engine import detect_drift\n"
        f"data = open_partitions({str(folder)!r})\n"
        "report = detect_drift(data, data)\n"
        "print(report.verdict, 'ray' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["no_drift", "False"]


def test_an_empty_partition_changes_nothing(tmp_path: Path) -> None:
    data = frame(4, 3000)
    folder = write_partitions(data, tmp_path / "data", 3)
    without = profile_partitions(open_partitions(folder))
    (folder / "batch=9").mkdir()
    data.iloc[:0].to_parquet(folder / "batch=9" / "part-0.parquet", index=False)
    parts = open_partitions(folder)
    assert len(parts.partitions) == 4 and parts.rows == 3000
    assert profile_partitions(parts) == without
    assert _verdicts(detect_drift(without, parts)) == _verdicts(detect_drift(without, data))
