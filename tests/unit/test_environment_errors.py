"""OS errors from the user's machine (permissions, disk, the state folder) are usage errors naming
the path, never "a Shipyard bug" with a traceback."""

from __future__ import annotations

import errno

import pytest

from shipyard.cli import main
from shipyard.cli.exit_codes import ExitCode
from shipyard.errors import environment_error


@pytest.mark.parametrize(
    "exc",
    [
        PermissionError(errno.EACCES, "Permission denied", "/p/.shipyard/mlflow.db"),
        OSError(errno.EROFS, "Read-only file system", "/p/.shipyard/cache/train"),
        OSError(errno.ENOSPC, "No space left on device", "/data/out.parquet"),
        NotADirectoryError(errno.ENOTDIR, "Not a directory", "/p/.shipyard/stat-index.json"),
        FileNotFoundError(errno.ENOENT, "No such file or directory", "/p/.shipyard/cache/x/y.json"),
    ],
)
def test_machine_errors_become_usage_errors_naming_the_path(
    exc: OSError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = environment_error(exc)
    assert usage is not None and str(exc.filename) in str(usage)

    def fail(path: object) -> None:
        raise exc

    monkeypatch.setattr(main, "open_workspace", fail)
    assert main.run_cli(["models"]) == ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert "Usage error" in err and "Traceback" not in err and "bug" not in err


def test_other_os_errors_stay_crashes_to_report(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", "/usr/lib/libfoo.so")
    assert environment_error(exc) is None

    def fail(path: object) -> None:
        raise exc

    monkeypatch.setattr(main, "open_workspace", fail)
    assert main.run_cli(["models"]) == ExitCode.STAGE_CRASHED
    assert "a bug" in capsys.readouterr().err
