"""The learning tasks Shipyard knows, declared once."""

from __future__ import annotations

from typing import Literal, get_args

Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = get_args(Task)
