"""Compensating actions that make a multi-step registry change all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa


class Undo:
    """Collects an undo step after each step that succeeded; on an exception runs them newest first.

    The exception still propagates; a cleanup step that fails too is added to it as a note.
    """

    def __init__(self) -> None:
        self._steps: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def push(self, step: Callable[..., Any], *args: Any) -> None:
        self._steps.append((step, args))

    def __enter__(self) -> Undo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        from mlflow.exceptions import MlflowException

        for step, args in reversed(self._steps):
            try:
                step(*args)
            except (MlflowException, sa.exc.SQLAlchemyError, OSError) as cleanup_exc:
                exc.add_note(f"Cleanup step {step.__name__}{args} also failed: {cleanup_exc}")
