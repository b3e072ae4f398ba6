"""User gates: a `Gate` subclass or a plain function, named by dotted path or entry point.

In `shipyard.yaml`, `type:` takes a built-in name, a `module:attribute` reference
imported from the project folder, or a name registered under the entry point
group `shipyard.gates`. A function gate has the signature
`fn(ctx: GateContext, **params) -> CheckResult`; it may declare the optional
context fields it reads in a `needs` attribute (`fn.needs = {"rows", "model"}`).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipyard.core.results import CheckResult
from shipyard.errors import ConfigError
from shipyard.gates.base import Gate, GateContext

GATE_GROUP = "shipyard.gates"
CONTEXT_FIELDS = frozenset(
    {"rows", "train_rows", "model", "baseline_model", "model_dir", "baseline_model_dir", "schema", "baseline"}
)


def _check_needs(needs: Any, owner: str) -> frozenset[str]:
    names = frozenset(needs or ())
    unknown = sorted(names - CONTEXT_FIELDS)
    if unknown:
        raise ConfigError(
            f"{owner} declares needs {unknown}, which are not GateContext fields it can ask for. "
            f"Valid: {', '.join(sorted(CONTEXT_FIELDS))}."
        )
    return names


class FunctionGate(Gate):
    """A plain function `function(ctx, **params) -> CheckResult` run as a gate."""

    type_name = "function"

    def __init__(self, *, function: Callable[..., CheckResult], params: Mapping[str, Any]) -> None:
        self.function = function
        self.params = params

    def required_context(self) -> frozenset[str]:
        return _check_needs(getattr(self.function, "needs", ()), f"gate function {self.function!r}")

    def evaluate(self, ctx: GateContext) -> CheckResult:
        return self.function(ctx, **self.params)


def resolve_gate_type(
    type_name: str, *, known: Mapping[str, type[Gate]], project_root: Path | None, index: int
) -> Any:
    """The class or function a config's `type` names: built-in, dotted path, or plugin."""
    if type_name in known:
        return known[type_name]
    if ":" in type_name:
        from shipyard.training.entrypoints import load_entrypoint

        return load_entrypoint(type_name, Path(project_root or "."), key=f"gates[{index}].type")
    from shipyard.plugins import available, load_plugin

    plugins = available(GATE_GROUP)
    if type_name in plugins:
        return load_plugin(GATE_GROUP, type_name, where=f"shipyard.yaml: gates[{index}].type:")
    valid = sorted({*known, *plugins})
    close = difflib.get_close_matches(type_name, valid, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(
        f"shipyard.yaml: gates[{index}].type: unknown gate type {type_name!r}.{hint} "
        f"Valid types: {', '.join(valid)}; or a 'module:Class' / 'module:function' reference, "
        f"or a plugin registered under the entry point group '{GATE_GROUP}'."
    )


def build_user_gate(found: Any, params: Mapping[str, Any], *, label: str) -> Gate:
    """A gate from a class that declares no constraints (its `__init__` names the options),
    or from a plain function (its keyword parameters after `ctx` name them)."""
    owner = f"gate '{label}'"
    target = found
    if isinstance(found, type):
        if not issubclass(found, Gate):
            raise ConfigError(
                f"{owner}: {found.__module__}.{found.__qualname__} is a class but not a subclass of "
                f"shipyard.Gate. Subclass Gate, or point at a function fn(ctx, **params)."
            )
        target = found.__init__
    parameters = list(inspect.signature(target).parameters.values())[1:]  # self, or ctx
    names = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        for key in params:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"Unknown option '{key}' of {owner}.{hint} Valid options: {', '.join(names) or 'none'}."
                )
    missing = [
        p.name for p in parameters if p.name in names and p.default is p.empty and p.name not in params
    ]
    if missing:
        raise ConfigError(f"{owner} needs the option {missing[0]!r}. Add it under the gate.")
    if isinstance(found, type):
        return found(**params)
    gate = FunctionGate(function=found, params=dict(params))
    gate.required_context()
    return gate


def required_context(gate: Gate) -> frozenset[str]:
    """The optional context fields a gate reads: `gate.required_context()` or `type(gate).needs`."""
    method = getattr(gate, "required_context", None)
    needs = method() if callable(method) else type(gate).needs
    return _check_needs(needs, f"gate {type(gate).__name__}")
