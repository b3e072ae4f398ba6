"""Loading, schema inference and validation of the data a model is trained on.

The names below are imported on first use: a submodule such as `shipyard.data.dates`
or `shipyard.data.schema` must not pay for pandera (validation), which importing
this package would otherwise load.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.data.loading import load_frame
    from shipyard.data.proposals import propose_max_duplicate_fraction, propose_min_rows
    from shipyard.data.schema import ColumnSchema, Schema, infer_schema, read_schema, write_schema
    from shipyard.data.validation import validate

_LAZY = {
    "ColumnSchema": "shipyard.data.schema",
    "Schema": "shipyard.data.schema",
    "infer_schema": "shipyard.data.schema",
    "load_frame": "shipyard.data.loading",
    "propose_max_duplicate_fraction": "shipyard.data.proposals",
    "propose_min_rows": "shipyard.data.proposals",
    "read_schema": "shipyard.data.schema",
    "validate": "shipyard.data.validation",
    "write_schema": "shipyard.data.schema",
}

__all__ = [
    "ColumnSchema",
    "Schema",
    "infer_schema",
    "load_frame",
    "propose_max_duplicate_fraction",
    "propose_min_rows",
    "read_schema",
    "validate",
    "write_schema",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'shipyard.data' has no attribute {name!r}")
