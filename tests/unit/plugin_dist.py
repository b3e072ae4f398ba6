"""A real installed-looking distribution with `shipyard.gates` entry points, in a temp folder.

`importlib.metadata` finds `<name>.dist-info` folders on `sys.path`, exactly as for a
pip-installed package, so no mock is needed.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GATES_MODULE = '''
from shipyard.core.results import CheckResult, Status
from shipyard.core.params import Interval
from shipyard.gates.base import Gate


class MaxPositiveRateGate(Gate):
    """Fails when the model flags more than `max_rate` of the rows."""

    type_name = "max_positive_rate"
    _parameter_constraints = {"max_rate": [Interval(float, 0, 1)]}

    def __init__(self, *, max_rate=0.5):
        self.max_rate = max_rate

    def evaluate(self, ctx):
        rate = float((ctx.candidate.y_pred == 1).mean())
        status = Status.PASSED if rate <= self.max_rate else Status.FAILED
        return CheckResult(check=self.type_name, status=status, message=f"positive rate {rate:.3f}",
                           observed=rate, expected=f"<= {self.max_rate}")


def exploding(ctx, **params):
    raise RuntimeError("the plugin gate blew up")
'''

ENTRY_POINTS = """\
[shipyard.gates]
max_positive_rate = sy_plugin_gates:MaxPositiveRateGate
exploding = sy_plugin_gates:exploding
broken = sy_plugin_missing_module:Gate
"""


def write_distribution(root: Path) -> Path:
    """`root` holding the module `sy_plugin_gates` and its dist-info with entry points."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sy_plugin_gates.py").write_text(textwrap.dedent(GATES_MODULE))
    info = root / "sy_plugin_gates-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sy-plugin-gates\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


@contextmanager
def installed(root: Path) -> Iterator[Path]:
    """The distribution at `root` visible to imports and `importlib.metadata`, then removed."""
    sys.path.insert(0, str(write_distribution(root)))
    importlib.invalidate_caches()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("sy_plugin_gates", None)
        importlib.invalidate_caches()
