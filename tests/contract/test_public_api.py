"""The public API stays small, sorted, resolvable, and cheap to import.

`import shipyard` and `shipyard --help` must not pay for MLflow (~2 s) or
scikit-learn (~1 s): the import checks run in fresh interpreters, because this
test process has long since imported everything.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard

SOURCE = Path(shipyard.__file__).parent
MAX_PUBLIC_NAMES = 30


def _heavy(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    """The banned top-level packages found among `modules`."""
    return sorted({m.split(".")[0] for m in modules} & set(banned))


def _run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, check=False)


def _packages_with_all() -> list[str]:
    """Dotted names of the subpackages whose `__init__` assigns `__all__` (found statically)."""
    names = []
    for init in sorted(SOURCE.rglob("__init__.py")):
        if init.parent == SOURCE:
            continue
        tree = ast.parse(init.read_text())
        assigns = [node for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)]
        targets = [t for node in assigns for t in getattr(node, "targets", [getattr(node, "target", None)])]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            relative = init.parent.relative_to(SOURCE.parent)
            names.append(".".join(relative.parts))
    return names


def test_top_level_all_is_sorted_and_small():
    names = list(shipyard.__all__)
    assert names == sorted(names), f"shipyard.__all__ is not sorted: {names}"
    assert len(names) == len(set(names)), f"shipyard.__all__ has duplicates: {names}"
    assert len(names) <= MAX_PUBLIC_NAMES, (
        f"shipyard.__all__ has {len(names)} names; keep the public API at most "
        f"{MAX_PUBLIC_NAMES} and expose the rest from subpackages."
    )


@pytest.mark.parametrize("name", shipyard.__all__)
def test_every_top_level_name_resolves(name):
    assert getattr(shipyard, name) is not None


def test_unknown_top_level_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = shipyard.no_such_name


def test_some_subpackages_declare_all():
    # Guards the parametrisation below against silently finding nothing.
    assert "shipyard.gates" in _packages_with_all()


@pytest.mark.parametrize("package", _packages_with_all())
def test_subpackage_all_is_sorted_and_resolves(package):
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names), f"{package}.__all__ is not sorted: {names}"
    assert len(names) == len(set(names)), f"{package}.__all__ has duplicates: {names}"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


def test_import_shipyard_stays_light():
    proc = _run_python("-c", "import json, sys, shipyard; print(json.dumps(sorted(sys.modules)))")
    assert proc.returncode == 0, proc.stderr
    heavy = _heavy(json.loads(proc.stdout), ("mlflow", "sklearn", "pandas"))
    assert not heavy, f"'import shipyard' imports {heavy}; import them inside functions instead."


def test_cli_help_does_not_import_mlflow_or_sklearn():
    proc = _run_python("-X", "importtime", "-m", "shipyard.cli", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    imported = [
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    assert "shipyard.cli.main" in imported, "the importtime report did not list the CLI module"
    heavy = _heavy(imported, ("mlflow", "sklearn"))
    assert not heavy, f"'shipyard --help' imports {heavy}; import them inside the commands."


_EVERY_HELP = """
import json, sys
import typer.main
from shipyard.cli.main import app, run_cli

def paths(group, prefix):
    for name, command in sorted(getattr(group, "commands", {}).items()):
        yield [*prefix, name]
        yield from paths(command, [*prefix, name])

heavy = {}
for path in [[], *paths(typer.main.get_command(app), [])]:
    code = run_cli([*path, "--help"])
    found = sorted({m.split(".")[0] for m in sys.modules} & {"mlflow", "sklearn"})
    heavy[" ".join(path) or "(top)"] = [code, found]
print(json.dumps(heavy))
"""


def test_every_command_help_is_light():
    proc = _run_python("-c", _EVERY_HELP)
    assert proc.returncode == 0, proc.stderr
    outcomes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(outcomes) > 3, f"found too few commands: {sorted(outcomes)}"
    failed = {cmd: code for cmd, (code, _) in outcomes.items() if code != 0}
    assert not failed, f"'--help' exited non-zero for {failed}"
    heavy = {cmd: found for cmd, (_, found) in outcomes.items() if found}
    assert not heavy, f"'shipyard <command> --help' imports heavy packages: {heavy}"
