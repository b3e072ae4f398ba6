import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from shipyard.errors import BusyError
from shipyard.retrain.lock import retrain_lock


def _hold_in_child(path):
    code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from shipyard.retrain.lock import retrain_lock
        with retrain_lock(Path({str(path)!r}), purpose="child retrain"):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_holder_is_refused_with_the_first_named(tmp_path):
    path = tmp_path / "retrain.lock"
    refused = pytest.raises(BusyError, match=rf"pid {os.getpid()} .*scheduled retrain")
    with retrain_lock(path, purpose="scheduled retrain"), refused, retrain_lock(path, purpose="second"):
        pass
    with retrain_lock(path, purpose="after release"):
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    path = tmp_path / "retrain.lock"
    child = _hold_in_child(path)
    try:
        with pytest.raises(BusyError, match="child retrain"), retrain_lock(path, purpose="parent"):
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            with retrain_lock(path, purpose="after crash"):
                break
        except BusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
