"""Stable exit codes, in the spirit of pytest's. Never renumber a released code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = (
        1  # data validation failed, a gate rejected the model, an integrity check refused
    )
    USAGE_ERROR = 2  # bad arguments, malformed or unknown config, missing file, bad entry point
    STAGE_CRASHED = (
        3  # the user's code raised, or a fault of Shipyard's own (told apart in the message)
    )
