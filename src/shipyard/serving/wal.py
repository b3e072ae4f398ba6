"""The write-ahead line: one log record as one line of JSON, and reading a segment of them back.

A record is written with a single `write` on the request path, so it must always encode:
a missing field becomes null, a value orjson does not know its text, and an integer beyond
64 bits (JSON allows it) its decimal text. A torn last line, left by a process killed while
writing it, is skipped when the segment is read.

Examples:
    >>> encode({"version": "1", "inputs": {"n": [2**70]}}).rstrip()
    b'{"version":"1","inputs":{"n":["1180591620717411303424"]}}'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from shipyard.serving.payload import MISSING

logger = logging.getLogger(__name__)


def _default(value: Any) -> Any:
    """JSON for what orjson does not know: a missing field is null, anything else its text."""
    return None if value is MISSING else str(value)


def _plain(value: Any) -> Any:
    """`value` with integers beyond 64 bits (JSON allows them, orjson does not) as text."""
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def encode(record: Mapping[str, Any]) -> bytes:
    """One write-ahead line for `record`."""
    try:
        line = orjson.dumps(record, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # a huge integer in an input: kept as its text
        line = orjson.dumps(
            {**record, "inputs": _plain(record["inputs"])},
            default=_default,
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
    return line + b"\n"


def read_segment(path: Path) -> list[Any]:
    """The complete records of a segment (as JSON decodes them); a torn last line (the process
    died mid-write) is skipped."""
    records = []
    for line in path.read_bytes().split(b"\n"):
        if not line:
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            logger.warning("Skipped a torn line in %s (the server stopped while writing it).", path)
    return records
