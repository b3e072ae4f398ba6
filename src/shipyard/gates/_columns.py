"""Column options shared by the gates that read raw rows: a list constraint and name checks."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.gates.base import Gate, GateContext


@dataclass(frozen=True)
class StringList:
    """A non-empty list of strings (column or metric names)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)

    def __str__(self) -> str:
        return "a non-empty list of strings"


STRING_LIST = StringList()


def as_list(value: str | Sequence[str] | None) -> list[str]:
    """One name or a list of names as a list; None as an empty list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def check_names(named: Sequence[tuple[str, str]], columns: Sequence[str], where: str, source: str) -> None:
    """Raise `ConfigError` for the first `(key, column)` not in `columns`, with a suggestion.

    `where` prefixes the key (`shipyard.yaml: gates[2]`), `source` names what was searched
    (`the schema`, `the test rows`).
    """
    valid = [str(c) for c in columns]
    for key, name in named:
        if name in valid:
            continue
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{where}.{key}: column {name!r} is not in {source}.{hint} Valid columns: {', '.join(valid)}."
        )


def require_rows(ctx: GateContext, gate: Gate, field: str = "rows") -> pd.DataFrame:
    """The raw rows `field` of the context, or a `ConfigError` saying the gate stage did not fill it."""
    rows = getattr(ctx, field)
    if rows is None:
        raise ConfigError(
            f"gate '{gate.type_name}' reads the raw {field.replace('_', ' ')}, but the gate context has "
            f"none. Declare '{field}' in {type(gate).__name__}.needs, or pass {field}= to GateContext."
        )
    return rows
