"""Import the user's `module:function` references and find the source files behind them.

Modules are imported from the project folder (the folder holding `shipyard.yaml`),
which goes first on `sys.path`. A module of the same name imported earlier from
another folder (another project, an older copy) is dropped from `sys.modules`
first, so a long-lived process never runs one project's code for another.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from shipyard.errors import EntryPointError

_DEFAULT_SOURCE = "shipyard.yaml"


def load_entrypoint(ref: str, project_root: Path, *, key: str, source: str = _DEFAULT_SOURCE) -> Callable:
    """Import `module:function` from `project_root` and return the callable.

    `key` is the config key path named in messages (e.g. `entrypoints.train`) and
    `source` the file it comes from. Every failure raises `EntryPointError`.
    """
    root = Path(project_root).resolve()
    where = f"the project folder {root}" if source == _DEFAULT_SOURCE else str(root)
    prefix = f"{source}: {key}:"
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise EntryPointError(
            f"{prefix} {ref!r} is not a 'module:function' reference. "
            f"Write it as e.g. 'my_package.train:train'."
        )
    module_name, attr = module_name.strip(), attr.strip()
    use_import_root(root, [module_name])
    module = _import(module_name, prefix=prefix, where=where)
    return _callable_attribute(module, attr, prefix=prefix)


def use_import_root(root: Path, modules: Iterable[str] = ()) -> None:
    """Put `root` first on `sys.path` (once) and make `modules` import from it.

    A cached top-level module of the same name that `root` provides but that was
    imported from elsewhere is dropped from `sys.modules`, with its submodules.
    """
    root = Path(root).resolve()
    path = str(root)
    if not sys.path or sys.path[0] != path:
        while path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    for module_name in modules:
        _forget_foreign_module(module_name.partition(".")[0], root)


def _forget_foreign_module(top: str, root: Path) -> None:
    if not ((root / top).is_dir() or (root / f"{top}.py").is_file()):
        return
    cached = sys.modules.get(top)
    if cached is None or _module_under(cached, root):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def _module_under(module: ModuleType, root: Path) -> bool:
    """Imported from the project's own files: under `root`, and not from a hidden folder such as
    `.shipyard/`, where packaged models keep a copy of the code (loading one imports that copy)."""
    locations = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    paths = [Path(loc).resolve() for loc in locations if loc]
    return any(path.is_relative_to(root) and not _hidden(path.relative_to(root)) for path in paths)


def _import(module_name: str, *, prefix: str, where: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(f"{missing}."):
            raise EntryPointError(
                f"{prefix} cannot import module {module_name!r} "
                f"({type(exc).__name__}: {exc}). Modules are imported from {where}; "
                f"check the module path.{_sibling_hint(missing)}"
            ) from exc
        raise EntryPointError(
            f"{prefix} importing module {module_name!r} failed: {type(exc).__name__}: {exc}. "
            f"Your code imports a module that is not installed; install it or fix the import."
        ) from exc
    except Exception as exc:  # any error raised by the user's module while it is imported
        raise EntryPointError(
            f"{prefix} importing module {module_name!r} raised {type(exc).__name__}: {exc}. "
            f"Fix the error in your module; `python -c 'import {module_name}'` in the project "
            f"folder reproduces it."
        ) from exc


def _sibling_hint(missing: str) -> str:
    """` Did you mean 'pkg.train'?` when `missing` is a misspelt submodule of a package."""
    parent, _, child = missing.rpartition(".")
    package = sys.modules.get(parent)
    if not parent or package is None or not hasattr(package, "__path__"):
        return ""
    siblings = [m.name for m in pkgutil.iter_modules(package.__path__)]
    close = difflib.get_close_matches(child, siblings, n=3)
    return f" Did you mean {' or '.join(repr(f'{parent}.{c}') for c in close)}?" if close else ""


def _callable_attribute(module: ModuleType, attr: str, *, prefix: str) -> Callable:
    try:
        fn = getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, names, n=3)
        if close:
            hint = f"Did you mean {' or '.join(repr(c) for c in close)}?"
        else:
            hint = f"Public names in it: {', '.join(sorted(names)[:10]) or 'none'}."
        raise EntryPointError(
            f"{prefix} module {module.__name__!r} has no attribute {attr!r}. {hint}"
        ) from None
    if not callable(fn):
        raise EntryPointError(
            f"{prefix} '{module.__name__}:{attr}' is not callable (got {type(fn).__name__}). "
            f"Point it at a function defined in the module."
        )
    return fn


def source_files(fn: Callable, project_root: Path) -> list[Path]:
    """The user's source files behind `fn` (see `code_files`); empty when its module has no file."""
    target = inspect.unwrap(fn)
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    name = getattr(target, "__module__", None) or type(target).__module__
    filename = getattr(sys.modules.get(name), "__file__", None)
    return code_files(Path(filename), project_root) if filename else []


def code_files(module_file: Path, project_root: Path) -> list[Path]:
    """The project code a module's behaviour depends on, sorted: for cache keys and to ship
    inside a model.

    The module itself; every `.py` file of its top-level package when it lives in one
    (helpers it imports change its behaviour too); and the project's root-level modules,
    which it may import as helpers. A module outside the project is just its own file.
    """
    file = Path(module_file).resolve()
    root = Path(project_root).resolve()
    if not file.is_relative_to(root):
        return [file]
    found = {file} | {p.resolve() for p in root.glob("*.py")}
    parts = file.relative_to(root).parts
    if len(parts) > 1:
        package = root / parts[0]
        found |= {p.resolve() for p in package.rglob("*.py") if not _hidden(p.relative_to(root))}
    return sorted(found)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
