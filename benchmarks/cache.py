"""Cache: a full `shipyard run` against a fully cached rerun, and the stat cache against hashing.

Part 1 times the CLI on a fresh copy of the fraud example: a full run, then no-op reruns
(target: under 2 s). Part 2 times the data digest a no-op rerun pays: Shipyard's
`FileHasher` on a second call (a fresh instance reading the stat index, as a new
process does) against hashing every byte with hashlib, which is what a tool without a
stat cache pays on every rerun. Without --quick, part 2 also runs on a ~5 GB folder of
Parquet files. A full run on 5 GB would train on 5 GB, which is far too slow here, so
for that size only the digest is measured. Prints one JSON line last; `ratio` = full
run seconds / cached rerun seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from _common import SHIPYARD, emit, fresh_project, generate, timed

from shipyard.core.hashing import FileHasher

TARGET_CACHED_S = 2.0
BIG_ROWS_PER_PART = 1_000_000
BIG_DISTINCT_PARTS = 4  # generated with their own seeds; the rest are byte copies of them
MIN_FREE_BYTES = 15 * 10**9
T = TypeVar("T")
_STAGE_LINE = re.compile(r"^\s+(\S+)\s+(ran|cached|FAILED)\b", re.MULTILINE)


def _files(data: Path) -> list[Path]:
    return [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())


def _sha256_all(data: Path) -> None:
    """What a tool without a stat cache does on every rerun: read and hash every byte."""
    for path in _files(data):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)


def _seconds(work: Callable[[Path], T], data: Path) -> tuple[float, T]:
    start = time.perf_counter()
    value = work(data)
    return time.perf_counter() - start, value


def hash_figures(data: Path, index: Path) -> dict[str, float]:
    """Seconds for the first digest (hashes all), the stat-cached second one, and plain sha256."""
    first = FileHasher(index)
    first_s, first_digest = _seconds(first.digest_tree, data)
    first.save()
    cached_s, cached_digest = _seconds(FileHasher(index).digest_tree, data)
    if cached_digest != first_digest:
        raise RuntimeError(f"FileHasher gave two digests for unchanged {data}; the cache is wrong.")
    full_s, _ = _seconds(_sha256_all, data)
    files = _files(data)
    return {
        "mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "files": len(files),
        "first_digest_s": round(first_s, 4),
        "stat_cache_s": round(cached_s, 4),
        "full_hash_s": round(full_s, 4),
        "hash_ratio": round(full_s / cached_s, 1),
    }


def build_big_input(folder: Path, target_bytes: int) -> None:
    """Fill `folder` with Parquet parts up to `target_bytes`; hashing cost ignores content."""
    folder.mkdir(parents=True)
    parts = []
    for seed in range(BIG_DISTINCT_PARTS):
        path = folder / f"part-{seed:05d}.parquet"
        generate(BIG_ROWS_PER_PART, seed=seed).to_parquet(path, index=False)
        parts.append(path)
    total = sum(p.stat().st_size for p in parts)
    while total < target_bytes:
        source = parts[len(parts) % BIG_DISTINCT_PARTS]
        copy = folder / f"part-{len(parts):05d}.parquet"
        shutil.copyfile(source, copy)
        parts.append(copy)
        total += copy.stat().st_size


def _big_target(work: Path, size_gb: float) -> int:
    target = int(size_gb * 1e9)
    free = shutil.disk_usage(work).free
    if free < MIN_FREE_BYTES:
        target = min(target, free // 3)
        print(f"note: only {free / 1e9:.1f} GB free under {work}; input scaled to {target / 1e9:.1f} GB")
    return target


def _stages(output: str) -> dict[str, str]:
    return dict(_STAGE_LINE.findall(output))


@dataclass(frozen=True)
class RunFigures:
    full_run_s: float
    cached_run_s: float
    cached_stages: str  # "7/7" when the last rerun reported every stage as cached


def run_figures(project: Path, *, full_repeats: int, cached_repeats: int) -> RunFigures:
    """Median seconds of full runs (each from an empty .shipyard/) and of cached reruns."""
    full, cached, stages = [], [], {}
    for _ in range(full_repeats):
        shutil.rmtree(project / ".shipyard", ignore_errors=True)
        full.append(timed([str(SHIPYARD), "run"], cwd=project)[0])
        for _ in range(cached_repeats):
            seconds, output = timed([str(SHIPYARD), "run"], cwd=project)
            cached.append(seconds)
            stages = _stages(output)
    done = sum(status == "cached" for status in stages.values())
    return RunFigures(
        round(statistics.median(full), 3),
        round(statistics.median(cached), 3),
        f"{done}/{len(stages)}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, 1 full run, no 5 GB input")
    parser.add_argument("--size-gb", type=float, default=5.0, help="size of the large input")
    args = parser.parse_args()
    rows = 20_000 if args.quick else 50_000
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-cache-") as tmp:
        work = Path(tmp)
        project = fresh_project(work)
        data = project / "data" / "transactions.parquet"
        generate(rows, seed=0).to_parquet(data, index=False)
        timed([str(SHIPYARD), "schema", "infer"], cwd=project)
        runs = run_figures(project, full_repeats=1 if args.quick else 3, cached_repeats=3)
        small = hash_figures(data, work / "stat-index-small.json")
        big = None
        if not args.quick:
            build_big_input(work / "big", _big_target(work, args.size_gb))
            big = hash_figures(work / "big", work / "stat-index-big.json")

    print(f"shipyard run, {rows:,} rows      {runs.full_run_s:7.2f} s")
    print(
        f"cached rerun                  {runs.cached_run_s:7.2f} s "
        f"({runs.cached_stages} stages cached; target < {TARGET_CACHED_S:g} s)"
    )
    for label, figures in (("input", small), ("large input", big)):
        if figures is not None:
            print(
                f"digest of {label} ({figures['mb']:,.1f} MB, {figures['files']} files): "
                f"stat cache {figures['stat_cache_s']:.4f} s, "
                f"sha256 of every byte {figures['full_hash_s']:.2f} s"
            )
    result = {"benchmark": "cache", "rows": rows, **asdict(runs)}
    result |= {"target_cached_s": TARGET_CACHED_S, "meets_target": runs.cached_run_s < TARGET_CACHED_S}
    result |= {f"input_{key}": value for key, value in small.items()}
    if big is not None:
        result |= {f"big_input_{key}": value for key, value in big.items()}
    emit(result | {"ratio": round(runs.full_run_s / runs.cached_run_s, 2)})


if __name__ == "__main__":
    main()
