"""Partitioned Parquet: a folder (hive-partitioned or not) or an object-store prefix of files.

Data bigger than one machine arrives as many Parquet files; each file is one partition.
A partition is read alone, one row group at a time, so whatever summarises it (this
process or a Ray task) holds at most one row group, and the summaries are merged
afterwards (`shipyard.monitoring.sketches`). Every file's footer is read before any data:
a file that is not Parquet, or whose columns differ from the first file's, is a
`ConfigError` naming it. Hive keys (`date=2026-01-31/`) become columns, typed as
pyarrow infers them. Hidden and `_`-prefixed files (`_SUCCESS`, `.crc`) are skipped.

Examples:
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> for day in (1, 2):
    ...     pd.DataFrame({"x": [day, day]}).to_parquet(f"{folder}/part-{day}.parquet")
    >>> data = open_partitions(folder)
    >>> len(data.partitions), data.rows
    (2, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from shipyard.data._dtypes import as_family_table
from shipyard.data.profile import column_kind
from shipyard.errors import ConfigError

Executor = Literal["local", "ray"]
EXECUTORS: tuple[Executor, ...] = ("local", "ray")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Partition:
    """One Parquet file of a partitioned data set, and the hive keys of its folder."""

    path: str
    filesystem: pafs.FileSystem
    rows: int
    keys: dict[str, pa.Scalar] = field(default_factory=dict)

    def batches(self, columns: Sequence[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The named columns, one row group at a time (hive keys repeated on every row)."""
        import pyarrow.parquet as pq

        stored = [c for c in columns if c not in self.keys]
        try:
            with self.filesystem.open_input_file(self.path) as handle:
                parquet = pq.ParquetFile(handle)
                for group in range(parquet.num_row_groups):
                    table = parquet.read_row_group(group, columns=stored)
                    for name in (c for c in columns if c in self.keys):
                        table = table.append_column(name, _repeat(self.keys[name], table.num_rows))
                    table = as_family_table(table.select(list(columns)))
                    yield from table.to_batches(max_chunksize=batch_rows)
        except (pa.ArrowException, OSError) as exc:
            raise ConfigError(
                f"Cannot read partition {self.path}: {exc}. Check the file (is it damaged?), or move it "
                "out of the folder."
            ) from None


def _repeat(value: pa.Scalar, rows: int) -> pa.Array:
    return pa.array([value.as_py()], type=value.type).take(np.zeros(rows, dtype=np.int64))


@dataclass(frozen=True)
class PartitionedData:
    """The partitions of a data set and their common schema (hive keys last)."""

    description: str
    schema: pa.Schema
    partitions: list[Partition]

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def keys(self) -> list[str]:
        """The hive keys: where the rows were filed (their date, say), not what they hold."""
        return list(self.partitions[0].keys)

    def batches(self, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Every partition's batches in turn: the single-process path reads it as any source."""
        for partition in self.partitions:
            yield from partition.batches(columns, batch_rows)


def is_partitioned(location: str | Path) -> bool:
    """A folder or an object-store URI (`s3://bucket/prefix`): read as partitions."""
    return "://" in str(location) or Path(location).is_dir()


def open_partitions(location: str | Path) -> PartitionedData:
    """The Parquet files under a local folder or a URI pyarrow.fs knows (`s3://`, `gs://`, `file://`),
    or one Parquet file (a data set of one partition).

    Raises `ConfigError` naming the location when it holds no Parquet file, or naming the
    file that is not Parquet or whose columns differ from the first file's.
    """
    import pyarrow.dataset as ds

    text = str(location)
    try:
        filesystem, root = (
            pafs.FileSystem.from_uri(text)
            if "://" in text
            else (pafs.LocalFileSystem(), str(Path(text).resolve()))
        )
        if filesystem.get_file_info(root).type == pafs.FileType.NotFound:
            raise ConfigError(f"No data at {text}. Give a Parquet file, a folder of them or an s3:// prefix.")
        dataset = ds.dataset(
            root, filesystem=filesystem, format="parquet", partitioning="hive",
            exclude_invalid_files=False, ignore_prefixes=[".", "_"],
        )  # fmt: skip
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"Cannot list the Parquet files at {text}: {exc}") from None
    fragments = list(dataset.get_fragments())
    if not fragments:
        raise ConfigError(
            f"{text} holds no Parquet files. Write the partitions there (one .parquet file each), "
            "or give the path of a single file."
        )
    keys_schema = pa.schema([f for f in dataset.schema if f.name in _keys(fragments[0])])
    footers = [(fragment.path, *_footer(fragment.path, filesystem)) for fragment in fragments]
    first_path, columns, _ = footers[0]
    for path, found, _ in footers[1:]:
        _check_same_columns((first_path, columns), (path, found))
    partitions = [
        Partition(
            path,
            filesystem,
            rows,
            {k: pa.scalar(v, type=keys_schema.field(k).type) for k, v in _keys(f).items()},
        )
        for f, (path, _, rows) in zip(fragments, footers, strict=True)
    ]
    schema = pa.schema([*columns, *(f for f in keys_schema if f.name not in columns.names)])
    return PartitionedData(f"{text} ({len(partitions)} partitions)", schema, partitions)


def _keys(fragment: Any) -> dict[str, Any]:
    import pyarrow.dataset as ds

    return ds.get_partition_keys(fragment.partition_expression)


def _footer(path: str, filesystem: pafs.FileSystem) -> tuple[pa.Schema, int]:
    import pyarrow.parquet as pq

    try:
        with filesystem.open_input_file(path) as handle:
            metadata = pq.read_metadata(handle)
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(
            f"{path} is not a Parquet file ({exc}). Remove it from the folder, or write it as Parquet."
        ) from None
    return metadata.schema.to_arrow_schema(), metadata.num_rows


def _check_same_columns(first: tuple[str, pa.Schema], other: tuple[str, pa.Schema]) -> None:
    """The same column names, each of the same kind (numbers, text and categories, dates)."""
    (first_path, expected), (path, found) = first, other
    for name in expected.names:
        if name not in found.names:
            raise ConfigError(
                f"Partition {path} has no column '{name}', which {first_path} has. "
                "Every partition must have the same columns: rewrite it, or move it out of the folder."
            )
        want, got = expected.field(name).type, found.field(name).type
        if want != got and (column_kind(want) is None or column_kind(want) != column_kind(got)):
            raise ConfigError(
                f"Column '{name}' is {got} in partition {path} but {want} in {first_path}. "
                "Every partition must store a column with the same type: rewrite the odd one."
            )
    extra = [n for n in found.names if n not in expected.names]
    if extra:
        raise ConfigError(
            f"Partition {path} has column '{extra[0]}', which {first_path} has not. "
            "Every partition must have the same columns: rewrite it, or move it out of the folder."
        )


def as_executor(value: object) -> Executor:
    """`value` as an executor name, or a `ConfigError` listing the valid ones."""
    if value == "local" or value == "ray":
        return value
    raise ConfigError(f"The executor must be one of {', '.join(EXECUTORS)}. Got {value!r} instead.")


def map_partitions(
    function: Callable[..., R], partitions: Sequence[T], *shared: Any, executor: Executor = "local"
) -> list[R]:
    """`function(partition, *shared)` for every partition: in turn here, or as Ray tasks (one CPU
    each; `shared` is put in the object store once). Results come back in partition order."""
    if as_executor(executor) == "local":
        return [function(partition, *shared) for partition in partitions]
    from shipyard.core.distributed import connect_ray

    ray = connect_ray()
    task = ray.remote(num_cpus=1)(function)
    refs = [ray.put(value) for value in shared]
    try:
        return list(ray.get([task.remote(partition, *refs) for partition in partitions]))
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, ConfigError):  # a partition's own error, without Ray's wrapping
            raise exc.cause from None
        raise
