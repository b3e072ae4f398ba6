"""Stable exit codes, in the spirit of pytest's. Never renumber a released code.

- 0 OK
- 1 CHECK_FAILED: data validation failed, a gate rejected the model, an integrity check refused
- 2 USAGE_ERROR: bad arguments, malformed or unknown config, missing file, bad entry point,
  a service (tracking server, database) that cannot be reached
- 3 STAGE_CRASHED: the user's code raised, or a fault of Shipyard's own (told apart in the message)
- 130 INTERRUPTED: Ctrl-C or SIGTERM; what was unfinished was rolled back
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE_ERROR = 2
    STAGE_CRASHED = 3
    INTERRUPTED = 130
