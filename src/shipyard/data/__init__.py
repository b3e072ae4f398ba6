"""Loading, schema inference and validation of the data a model is trained on."""

from shipyard.data.loading import load_frame
from shipyard.data.proposals import propose_max_duplicate_fraction, propose_min_rows
from shipyard.data.schema import ColumnSchema, Schema, infer_schema, read_schema, write_schema
from shipyard.data.validation import validate

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
