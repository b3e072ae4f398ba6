"""Where operational state lives is the `Workspace`'s to say (STYLE.md, "Where state lives").

Only `config/project.py` (which names the folder, `STATE_DIR`) and `workspace/` may build a
path into `.shipyard/`: everything else receives the folder it needs from a `Workspace`
(`logs`, `reports_dir`, `monitoring_dir`, `cache_dir`, `lock`, ...). Checked statically with
`ast`: a path-like string holding `.shipyard` (prose in messages and docstrings names the
folder to the user and is fine), `.state_dir`, or `STATE_DIR` outside those modules fails,
unless the module is a documented exception below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shipyard

SOURCE = Path(shipyard.__file__).parent
STATE_FOLDER = ".shipyard"
OWNERS = ("config/project.py", "workspace/")

#: module -> why it may name the state folder itself
EXCEPTIONS = {
    "errors.py": "explains an OSError inside the state folder; errors imports nothing of ours",
    "config/scaffold.py": "`shipyard init` adds the state folder (STATE_DIR) to the project's .gitignore",
    "delivery/manifests.py": "the image's .dockerignore and the pod's state volume lay out the container",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that stand alone as statements (docstrings)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def violations(source: str) -> list[str]:
    """Each place in `source` that finds the state folder itself, as 'line: what'."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            if STATE_FOLDER in text and not any(c.isspace() for c in text):
                found.append(f"{node.lineno}: the path {text!r}")
        elif isinstance(node, ast.Attribute) and node.attr == "state_dir":
            found.append(f"{node.lineno}: .state_dir")
        elif isinstance(node, ast.Name) and node.id == "STATE_DIR":
            found.append(f"{node.lineno}: STATE_DIR")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "STATE_DIR" for a in node.names):
            found.append(f"{node.lineno}: imports STATE_DIR")
    return sorted(found, key=lambda s: int(s.split(":")[0]))


def _relative(path: Path) -> str:
    return path.relative_to(SOURCE).as_posix()


MODULES = sorted(_relative(p) for p in SOURCE.rglob("*.py") if not _relative(p).startswith(OWNERS))


@pytest.mark.parametrize("module", [m for m in MODULES if m not in EXCEPTIONS])
def test_no_module_finds_the_state_folder_itself(module: str) -> None:
    found = violations((SOURCE / module).read_text())
    assert not found, (
        f"src/shipyard/{module} builds a path into {STATE_FOLDER}/ itself: {found}. Take the folder "
        "from the Workspace (add a property to shipyard.workspace.Workspace if it has none)."
    )


@pytest.mark.parametrize("module", sorted(EXCEPTIONS))
def test_every_exception_is_still_needed(module: str) -> None:
    assert violations((SOURCE / module).read_text()), (
        f"src/shipyard/{module} no longer names the state folder: drop it from EXCEPTIONS."
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('Path(root) / ".shipyard" / "predictions"', 1),
        ('f"{root}/.shipyard/reports"', 1),
        ("project.state_dir / 'cache'", 1),
        ("from shipyard.config.project import STATE_DIR", 1),
        ('"""Logs live under .shipyard/ by default."""', 0),
        ('raise ConfigError("delete .shipyard/ to start a fresh registry")', 0),
        ("workspace.logs.folder('predictions')", 0),
    ],
)
def test_the_scan_tells_a_path_from_prose(source: str, expected: int) -> None:
    assert len(violations(source)) == expected, violations(source)
