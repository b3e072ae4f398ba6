"""Rows and values repeated across partitions, found exactly in two passes over the partitions.

Each partition's counting pass returns a 64-bit hash per row (`hashes`) and per value of each
unique column; `repeats_across` keeps only the hashes seen more than once, and a second pass
fetches just those rows and values, which are compared exactly, so a hash collision costs a
comparison, never a verdict. `Piece` reads one partition as a frame whose rows are labelled by
their position in the whole data set, so both passes and the reports name the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.core.results import CheckResult
from shipyard.data._columns import parse_text_dates
from shipyard.data._examples import Hits
from shipyard.data._failures import repeats
from shipyard.data.partitions import Executor, Partition, map_partitions
from shipyard.data.schema import Schema
from shipyard.data.validation import duplicated_rows, first_copies

_ALL_ROWS = 1 << 62  # one batch per row group


@dataclass(frozen=True)
class Piece:
    """One partition of the data set: where it is, its columns' Arrow schema, its first row's position."""

    partition: Partition
    schema: pa.Schema
    offset: int

    def frame(self) -> pd.DataFrame:
        """The whole partition as one frame, with the dtypes pandas gives the file alone."""
        batches = list(self.partition.batches(self.schema.names, _ALL_ROWS))
        # The batches keep the file's pandas metadata (nullable dtypes); the footer schema has none.
        table = pa.Table.from_batches(batches) if batches else self.schema.empty_table()
        frame = table.to_pandas()
        frame.index = self.frame_index()
        return frame

    def frame_index(self) -> pd.RangeIndex:
        """The labels of the partition's rows: their positions in the whole data set."""
        return pd.RangeIndex(self.offset, self.offset + self.partition.rows)


def hashes(values: pd.DataFrame | pd.Series) -> np.ndarray | None:
    """A 64-bit hash of each row (or value), or None when some cells are unhashable."""
    try:
        return pd.util.hash_pandas_object(values, index=False).to_numpy()
    except TypeError:
        return None


def _fetch(
    piece: Piece, schema: Schema, rows: np.ndarray, unique: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The second pass: the rows labelled `rows`, and each unique column's values at its labels."""
    df, _ = first_copies(piece.frame())
    parsed = parse_text_dates(df, schema)[0] if unique else df
    return df.loc[rows], {name: parsed.loc[labels, name] for name, labels in unique.items()}


def _repeated_hashes(parts: list[pd.Series]) -> list[np.ndarray]:
    """Per partition, the row labels whose hash occurs more than once in the whole data set."""
    joined = pd.concat(parts)
    repeated = joined[joined.duplicated(keep=False)]
    return [part.index[part.isin(repeated.to_numpy())].to_numpy() for part in parts]


def repeats_across(
    pieces: list[Piece],
    row_hashes: list[np.ndarray | None],
    value_hashes: dict[str, list[pd.Series]],
    schema: Schema,
    executor: Executor,
) -> tuple[Hits | None, list[CheckResult]]:
    """Duplicate rows (None when some cells are unhashable) and the repeated values of each unique
    column in `value_hashes`, over all partitions, exactly: from each partition's `hashes`, a
    second pass fetches the rows whose hash repeats and compares them value by value."""
    rows = None
    if all(h is not None for h in row_hashes):
        labelled = [
            pd.Series(h, index=piece.frame_index()) for piece, h in zip(pieces, row_hashes, strict=True)
        ]
        rows = _repeated_hashes(labelled)
    names = list(value_hashes)
    unique = {name: _repeated_hashes(value_hashes[name]) for name in names}
    wanted = [
        (
            piece,
            np.array([] if rows is None else rows[i]),
            {n: unique[n][i] for n in names if len(unique[n][i])},
        )
        for i, piece in enumerate(pieces)
    ]
    fetched = map_partitions(
        _fetch_wanted, [w for w in wanted if len(w[1]) or w[2]], schema, executor=executor
    )
    total = sum(piece.partition.rows for piece in pieces)
    duplicates = None
    if rows is not None:
        candidates = pd.concat([f[0] for f in fetched]) if fetched else pd.DataFrame()
        flagged = candidates.index[duplicated_rows(candidates)] if len(candidates) else pd.Index([])
        duplicates = Hits.of(flagged.to_series(), total)
    failures = []
    for name in names:
        values = [f[1][name] for f in fetched if name in f[1]]
        if values:
            joined = pd.concat(values)
            shared = joined[joined.duplicated(keep=False)]
            if len(shared):
                failures.append(repeats(shared.reset_index(drop=True), name))
    return duplicates, failures


def _fetch_wanted(
    wanted: tuple[Piece, np.ndarray, dict[str, np.ndarray]], schema: Schema
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """`_fetch` of one (partition, rows, unique columns' labels), as `map_partitions` passes it."""
    piece, rows, unique = wanted
    return _fetch(piece, schema, rows, unique)
