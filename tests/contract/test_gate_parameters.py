"""Every built-in gate follows the Gate contract, and every bad option gets the same message.

Valid and invalid values are generated from each gate's declared
`_parameter_constraints` (scikit-learn's `generate_invalid_param_val` idea), so a
new gate or a new option is covered without editing this file.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from shipyard.config.policy import GateConfig
from shipyard.core.params import Interval, OfType, Options
from shipyard.errors import ConfigError
from shipyard.gates.base import Gate
from shipyard.gates.catalog import GATE_TYPES, build_gates

LABEL = "my_gate"
GATES = sorted(GATE_TYPES.items())
GATE_IDS = [name for name, _ in GATES]
# Every string option of the built-in gates names a metric; this one is valid for their task.
VALID_STRING = "roc_auc"
TASK = "classification"


def _valid_value(constraint: Any) -> Any:
    """A value `constraint` accepts, preferring one inside the range over an edge."""
    if isinstance(constraint, Interval):
        low = 0.0 if constraint.low is None else constraint.low
        high = low + 2 if constraint.high is None else constraint.high
        middle = (low + high) / 2
        candidates = [middle, low + 1, low, high, high - 1]
        if constraint.kind is int:
            candidates = [int(math.ceil(c)) for c in candidates]
        accepted = [c for c in candidates if constraint.accepts(c)]
        assert accepted, f"cannot generate a value for {constraint}"
        return accepted[0]
    if isinstance(constraint, Options):
        return sorted(constraint.values, key=str)[0]
    if isinstance(constraint, OfType) and constraint.kind is str:
        return VALID_STRING
    if isinstance(constraint, OfType) and constraint.kind is bool:
        return True
    return None


def _valid_params(cls: type[Gate]) -> dict[str, Any]:
    """A value for every option, not None where the constraints allow anything else."""
    params = {}
    for name, constraints in cls._parameter_constraints.items():
        values = [_valid_value(c) for c in constraints]
        params[name] = next((v for v in values if v is not None), None)
    return params


def _bad_values(constraint: Any) -> Iterator[Any]:
    """Values of the wrong type or out of range for one constraint."""
    if isinstance(constraint, Interval):
        yield "not-a-number"
        yield True
        if constraint.low is not None:
            yield constraint.low - 1
            if constraint.closed in ("right", "neither"):
                yield constraint.low
        if constraint.high is not None:
            yield constraint.high + 1
            if constraint.closed in ("left", "neither"):
                yield constraint.high
        if constraint.kind is int:
            yield _valid_value(constraint) + 0.5
    elif isinstance(constraint, Options):
        yield "not-an-option"
        yield 12345
    elif isinstance(constraint, OfType) and constraint.kind is not type(None):
        yield 5 if constraint.kind is not int else "five"
        yield [1, 2]


def _bad_cases() -> list[Any]:
    """(gate, option, bad value) for every bad value that no other constraint of the option accepts."""
    cases = []
    for type_name, cls in GATES:
        for option, constraints in cls._parameter_constraints.items():
            seen = set()
            for constraint in constraints:
                for bad in _bad_values(constraint):
                    key = (type(bad), repr(bad))
                    # another constraint may accept it (None); its own never may
                    others = [c for c in constraints if c is not constraint]
                    if key in seen or any(c.accepts(bad) for c in others):
                        continue
                    seen.add(key)
                    cases.append(pytest.param(cls, option, bad, id=f"{type_name}-{option}-{bad!r}"))
    return cases


def _message_pattern(option: str, bad: Any) -> str:
    return (
        rf"The '{re.escape(option)}' option of gate '{LABEL}' must be .+\. "
        rf"Got {re.escape(repr(bad))} instead\."
    )


def test_the_catalog_holds_the_built_in_gates():
    assert {"metric_threshold", "no_regression", "output_contract", "performance"} <= set(GATE_TYPES)
    assert all(cls.type_name == name for name, cls in GATES)


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_init_takes_only_keyword_only_parameters(cls):
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert not positional, f"{cls.__name__}.__init__ takes {positional} not as keyword-only"


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_constraints_and_init_parameters_match(cls):
    declared, accepted = set(cls._parameter_constraints), set(cls._param_names())
    assert declared == accepted, (
        f"{cls.__name__}: constrained but not accepted {sorted(declared - accepted)}; "
        f"accepted but not constrained {sorted(accepted - declared)}"
    )


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_parameters_are_stored_unchanged(cls):
    params = _valid_params(cls)
    gate = cls.from_params(params, label=LABEL)
    stored = gate.get_params()
    assert stored == params
    assert all(stored[k] is params[k] for k in params), "a parameter was converted on the way in"
    clone = cls(**stored)
    assert clone.get_params() == stored


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_repr_round_trips(cls):
    gate = cls.from_params(_valid_params(cls), label=LABEL)
    text = repr(gate)
    assert text.startswith(f"{cls.__name__}(")
    rebuilt = eval(text, {cls.__name__: cls})  # noqa: S307 - the repr of our own gate
    assert rebuilt.get_params() == gate.get_params()


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_valid_params_pass_build_gates(cls):
    config = GateConfig(type=cls.type_name, name=LABEL, **_valid_params(cls))
    [(built_config, gate)] = build_gates([config], task=TASK)
    assert built_config is config and isinstance(gate, cls)


@pytest.mark.parametrize(("cls", "option", "bad"), _bad_cases())
def test_from_params_names_gate_option_and_value(cls, option, bad):
    params = {**_valid_params(cls), option: bad}
    with pytest.raises(ConfigError, match=_message_pattern(option, bad)):
        cls.from_params(params, label=LABEL)


@pytest.mark.parametrize(("cls", "option", "bad"), _bad_cases())
def test_build_gates_names_file_gate_option_and_value(cls, option, bad):
    config = GateConfig(type=cls.type_name, name=LABEL, **{**_valid_params(cls), option: bad})
    with pytest.raises(ConfigError) as info:
        build_gates([config], task=TASK)
    assert str(info.value).startswith("shipyard.yaml: gates[0]: ")
    assert re.search(_message_pattern(option, bad), str(info.value)), str(info.value)


@pytest.mark.parametrize("cls", [cls for _, cls in GATES], ids=GATE_IDS)
def test_a_misspelt_option_is_named_with_a_suggestion(cls):
    option = sorted(cls._parameter_constraints)[0]
    typo = option[:-1]
    assert typo not in cls._parameter_constraints
    with pytest.raises(ConfigError, match=rf"Unknown option '{typo}' of gate '{LABEL}'\.") as info:
        cls.from_params({**_valid_params(cls), typo: 1}, label=LABEL)
    assert f"Did you mean '{option}'?" in str(info.value)


REQUIRED = [
    pytest.param(cls, p.name, id=f"{name}-{p.name}")
    for name, cls in GATES
    for p in inspect.signature(cls.__init__).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty
]


@pytest.mark.parametrize(("cls", "option"), REQUIRED)
def test_a_missing_required_option_is_named(cls, option):
    params = {k: v for k, v in _valid_params(cls).items() if k != option}
    with pytest.raises(ConfigError, match=rf"gate '{LABEL}' needs the option '{option}'"):
        build_gates([GateConfig(type=cls.type_name, name=LABEL, **params)], task=TASK)


REAL_OPTIONS = [
    (cls, option)
    for _, cls in GATES
    for option, constraints in cls._parameter_constraints.items()
    if any(isinstance(c, Interval) and c.kind is float for c in constraints)
]


def test_nan_is_rejected_by_every_real_option():
    # NaN compares False with everything, so an accepted NaN threshold or tolerance
    # would silently pass every model.
    assert REAL_OPTIONS, "no real-valued options found"
    accepted = []
    for cls, option in REAL_OPTIONS:
        params = {**_valid_params(cls), option: math.nan}
        try:
            cls.from_params(params, label=LABEL)
        except ConfigError as exc:
            assert re.search(_message_pattern(option, math.nan), str(exc)), str(exc)
        else:
            accepted.append(f"{cls.type_name}.{option}")
    assert not accepted, f"NaN is accepted for {accepted}; Interval.accepts must reject NaN."
