"""The import rules of STYLE.md, checked statically over src/shipyard with `ast`.

Dependencies point inward: `core` knows nothing of ours but errors; `data`,
`evaluation`, `gates` and `monitoring` are pure computation; only the CLI
imports the CLI. Imports inside functions and `TYPE_CHECKING` blocks count too:
a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import shipyard

SOURCE = Path(shipyard.__file__).parent
MAX_MODULE_LINES = 800
USUAL_MODULE_LINES = 250
PURE_LAYERS = ("data", "evaluation", "gates", "monitoring")
IMPURE = (
    "shipyard.api",
    "shipyard.cli",
    "shipyard.delivery",
    "shipyard.pipeline",
    "shipyard.registry",
    "shipyard.retrain",
    "shipyard.serving",
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute module of a `from ... import`, resolving relative imports."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if _is_package(module) else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                # `from shipyard import cli` imports the module shipyard.cli
                candidate = f"{source}.{alias.name}"
                target = candidate if candidate in MODULES else source
                found.append(Import(module, target, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(module, node.args[0].value, node.lineno))
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in _imports_of(module)]


def _within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(importers: str | tuple[str, ...], forbidden: Callable[[str], bool]) -> list[str]:
    return [str(imp) for imp in ALL_IMPORTS if _within(imp.importer, importers) and forbidden(imp.imported)]


def test_the_scan_sees_the_tree():
    # Guards every rule below against passing because nothing was parsed.
    assert {"shipyard.core.results", "shipyard.gates.base", "shipyard.cli.main"} <= set(MODULES)
    assert any(
        imp.importer == "shipyard.gates.base" and imp.imported == "shipyard.core.results"
        for imp in ALL_IMPORTS
    )


def test_relative_imports_resolve_to_absolute_modules():
    node = ast.parse("from ..core import results").body[0]
    assert _absolute("shipyard.gates.base", node) == "shipyard.core"
    node = ast.parse("from . import base").body[0]
    assert _absolute("shipyard.gates", node) == "shipyard.gates"


def test_core_imports_only_errors_and_core():
    bad = _violations(
        "shipyard.core",
        lambda name: _within(name, "shipyard") and not _within(name, ("shipyard.core", "shipyard.errors")),
    )
    assert not bad, "shipyard.core may import only shipyard.errors and itself:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layers_do_not_reach_registry_pipeline_or_cli(layer):
    bad = _violations(f"shipyard.{layer}", lambda name: _within(name, IMPURE))
    assert not bad, (
        f"shipyard.{layer} is pure computation and must not import "
        f"{', '.join(IMPURE)}; pass what it needs in as arguments:\n" + "\n".join(bad)
    )


@pytest.mark.parametrize("layer", ("core", *PURE_LAYERS))
def test_inner_layers_do_not_import_mlflow(layer):
    bad = _violations(f"shipyard.{layer}", lambda name: _within(name, "mlflow"))
    assert not bad, "only shipyard.registry and training talk to MLflow:\n" + "\n".join(bad)


def test_only_the_cli_imports_the_cli():
    bad = [
        str(imp)
        for imp in ALL_IMPORTS
        if _within(imp.imported, "shipyard.cli") and not _within(imp.importer, "shipyard.cli")
    ]
    assert not bad, "the CLI sits on top; nothing else may import it:\n" + "\n".join(bad)


def test_registry_does_not_import_pipeline_or_cli():
    bad = _violations("shipyard.registry", lambda name: _within(name, ("shipyard.pipeline", "shipyard.cli")))
    assert not bad, "shipyard.registry must not import the pipeline or the CLI:\n" + "\n".join(bad)


def test_inner_layers_do_not_reach_up_for_the_workspace():
    inner = ("shipyard.core", "shipyard.config", "shipyard.registry", *(f"shipyard.{p}" for p in PURE_LAYERS))
    bad = _violations(inner, lambda name: _within(name, ("shipyard.workspace", "shipyard.api")))
    assert not bad, "inner layers receive what they need; they never open the workspace:\n" + "\n".join(bad)


def test_the_registry_is_opened_through_the_workspace_not_the_api_helper():
    bad = [
        str(imp)
        for imp in ALL_IMPORTS
        if imp.imported == "shipyard.api"
        and _within(
            imp.importer, ("shipyard.serving", "shipyard.delivery", "shipyard.testing", "shipyard.pipeline")
        )
    ]
    assert not bad, "servers, the controller, the plugin and the pipeline get a Workspace:\n" + "\n".join(bad)


def test_modules_stay_small():
    lines = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    too_long = {name: n for name, n in lines.items() if n >= MAX_MODULE_LINES}
    if too_long:
        long = sorted(((n, name) for name, n in lines.items() if n > USUAL_MODULE_LINES), reverse=True)
        listing = "\n".join(f"  {n:5d} {name}" for n, name in long)
        pytest.fail(
            f"{sorted(too_long)} reach {MAX_MODULE_LINES} lines; split them where two ideas "
            f"share a file. Modules over {USUAL_MODULE_LINES} lines:\n{listing}"
        )
