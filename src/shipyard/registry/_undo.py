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
        self._steps: list[tuple[Callable[..., Any], tuple[Any, ...], str]] = []
        self.left: list[str] = []  # what a failed clean-up step left behind, in words

    @property
    def done(self) -> bool:
        """Whether any step succeeded (and so had an undo step pushed)."""
        return bool(self._steps)

    def push(self, step: Callable[..., Any], *args: Any, leaves: str = "") -> None:
        """Add `step(*args)`; `leaves` says what remains if it fails (e.g. "run 3f2a (RUNNING)")."""
        self._steps.append((step, args, leaves or f"{step.__name__}{args} not undone"))

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

        for step, args, leaves in reversed(self._steps):
            try:
                step(*args)
            except (MlflowException, sa.exc.SQLAlchemyError, OSError) as cleanup_exc:
                self.left.append(leaves)
                exc.add_note(f"Cleanup step {step.__name__}{args} also failed: {cleanup_exc}")
