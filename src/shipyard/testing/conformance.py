"""`check_gate`: the conformance checks every built-in gate passes, for your own gates too.

Like scikit-learn's `check_estimator` and river's `check_estimator`, it takes a gate
class (built with values generated from its `_parameter_constraints`) or a
configured instance, runs every check, and raises one `AssertionError` listing
each check that failed:

    from shipyard.testing import check_gate

    def test_my_gate_conforms():
        check_gate(MyGate(column="amount", max_change=0.1))

The checks: keyword-only parameters stored unchanged, `get_params`/repr/`from_params`
round trips, constraints that cover every parameter and reject bad values with
`ConfigError` in the standard message, known `needs`, and on a synthetic binary
classification context (`synthetic_context`): `evaluate` returns a `CheckResult`
with and without a production baseline, its evidence is JSON, it is deterministic,
and it leaves the context unchanged.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.results import CheckResult
from shipyard.errors import ConfigError
from shipyard.gates.base import Gate, GateContext
from shipyard.testing._params import bad_values, generated_params

KNOWN_NEEDS = frozenset(
    {"rows", "train_rows", "model", "baseline_model", "model_dir", "baseline_model_dir", "schema", "baseline"}
)
LABEL = "conformance"
Check = Callable[[Gate, "Evaluations"], None]


def _as_instance(gate: Gate | type[Gate]) -> Gate:
    if isinstance(gate, Gate):
        return gate
    if isinstance(gate, type) and issubclass(gate, Gate):
        params = generated_params(gate)
        try:
            return gate.from_params(params, label=LABEL)
        except ConfigError as exc:
            raise AssertionError(
                f"{gate.__name__} cannot be built from generated options {params}: {exc} "
                "Pass check_gate a configured instance, or params=."
            ) from None
    raise TypeError(f"check_gate takes a Gate subclass or instance. Got {gate!r} instead.")


# -- the checks: each takes a configured gate and raises AssertionError ---------------------------


def check_type_name_and_needs(gate: Gate, runs: Evaluations) -> None:
    cls = type(gate)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", cls.type_name or ""):
        raise AssertionError(f"{cls.__name__}.type_name must be a snake_case name. Got {cls.type_name!r}.")
    unknown = set(cls.needs) - KNOWN_NEEDS
    if unknown:
        raise AssertionError(
            f"{cls.__name__}.needs names unknown context fields {sorted(unknown)}; "
            f"known: {sorted(KNOWN_NEEDS)}."
        )


def check_keyword_only_parameters(gate: Gate, runs: Evaluations) -> None:
    parameters = list(inspect.signature(type(gate).__init__).parameters.values())[1:]
    positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if positional:
        raise AssertionError(f"{type(gate).__name__}.__init__ takes {positional} not as keyword-only.")


def check_constraints_cover_parameters(gate: Gate, runs: Evaluations) -> None:
    cls = type(gate)
    declared, accepted = set(cls._parameter_constraints), set(cls._param_names())
    if declared != accepted:
        raise AssertionError(
            f"{cls.__name__}._parameter_constraints and __init__ differ: constrained but not accepted "
            f"{sorted(declared - accepted)}; accepted but not constrained {sorted(accepted - declared)}."
        )


def check_parameters_stored_unchanged(gate: Gate, runs: Evaluations) -> None:
    params = gate.get_params()
    clone = type(gate)(**params)
    changed = [k for k, v in clone.get_params().items() if v is not params[k]]
    if changed:
        raise AssertionError(
            f"{type(gate).__name__} converts {changed} in __init__; store every parameter unchanged "
            "under its own name and convert where it is used."
        )


def check_round_trips(gate: Gate, runs: Evaluations) -> None:
    cls, params = type(gate), gate.get_params()
    rebuilt = cls.from_params(params, label=LABEL).get_params()
    if rebuilt != params:
        raise AssertionError(f"{cls.__name__}.from_params(get_params()) gives {rebuilt}, not {params}.")
    text = repr(gate)
    try:
        evaluated = eval(text, {cls.__name__: cls, "nan": math.nan, "inf": math.inf})  # noqa: S307
    except Exception as exc:  # noqa: BLE001 - any failure means the repr is not re-evaluable
        raise AssertionError(f"repr {text!r} does not evaluate back to a gate: {exc!r}") from None
    if evaluated.get_params() != params:
        raise AssertionError(f"repr {text!r} evaluates to {evaluated.get_params()}, not {params}.")


def check_bad_values_rejected(gate: Gate, runs: Evaluations) -> None:
    cls, params = type(gate), gate.get_params()
    for option, constraints in cls._parameter_constraints.items():
        for constraint in constraints:
            for bad in bad_values(constraint):
                if any(c.accepts(bad) for c in constraints):
                    continue
                pattern = rf"The '{re.escape(option)}' option of gate '{LABEL}' must be .+\. Got .+ instead\."
                try:
                    cls.from_params({**params, option: bad}, label=LABEL)
                except ConfigError as exc:
                    if not re.search(pattern, str(exc)):
                        message = f"bad {option}={bad!r}: message {str(exc)!r} is not standard."
                        raise AssertionError(message) from None
                else:
                    raise AssertionError(
                        f"{cls.__name__}.from_params accepts the bad value {option}={bad!r}."
                    )
    typo = "not_an_option"
    try:
        cls.from_params({**params, typo: 1}, label=LABEL)
    except ConfigError as exc:
        if f"Unknown option '{typo}'" not in str(exc):
            raise AssertionError(f"an unknown option gives the message {str(exc)!r}.") from None
    else:
        raise AssertionError(f"{cls.__name__}.from_params accepts the unknown option {typo!r}.")


class Evaluations:
    """The evaluations the behavioural checks share, each run once: evaluating can be slow."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._done: dict[str, CheckResult] = {}
        self.context_changed = False

    def _run(self, gate: Gate, *, with_baseline: bool, case: str) -> CheckResult:
        from shipyard.testing._context import synthetic_context

        if case not in self._done:
            ctx = synthetic_context(with_baseline=with_baseline, package="model_dir" in type(gate).needs)
            before = _fingerprint(ctx)
            self._done[case] = _evaluate(gate, ctx, case)
            self.context_changed |= _fingerprint(ctx) != before
        return self._done[case]

    def with_baseline(self) -> CheckResult:
        return self._run(self.gate, with_baseline=True, case="with a production baseline")

    def without_baseline(self) -> CheckResult:
        return self._run(self.gate, with_baseline=False, case="first model, no baseline")

    def again(self) -> CheckResult:
        """A second evaluation, by a fresh gate built from the same parameters."""
        clone = type(self.gate)(**self.gate.get_params())
        return self._run(clone, with_baseline=True, case="second evaluation")


def _evaluate(gate: Gate, ctx: GateContext, case: str) -> CheckResult:
    try:
        result = gate.evaluate(ctx)
    except ConfigError as exc:
        raise AssertionError(
            f"evaluate raised ConfigError on the synthetic context ({case}): {exc} "
            "Pass check_gate a configured instance whose options fit a binary task on the columns "
            "amount, account_age_days, device, timestamp and target 'label'."
        ) from None
    if not isinstance(result, CheckResult):
        raise AssertionError(f"evaluate returned {type(result).__name__} ({case}), not a CheckResult.")
    return result


def _fingerprint(ctx: GateContext) -> list[Any]:
    frames = [ctx.rows, ctx.train_rows]
    hashed = [None if f is None else pd.util.hash_pandas_object(f).sum() for f in frames]
    return [*hashed, ctx.y_true.tobytes(), np.asarray(ctx.candidate.y_score).tobytes(), dict(ctx.metrics)]


def check_evaluate_with_baseline(gate: Gate, runs: Evaluations) -> None:
    runs.with_baseline()


def check_evaluate_without_baseline(gate: Gate, runs: Evaluations) -> None:
    runs.without_baseline()


def _strict_json(value: Any) -> Any:
    """NumPy scalars and dates pass (`CheckResult.to_dict` converts them); anything else is refused."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def check_evidence_is_json(gate: Gate, runs: Evaluations) -> None:
    result = runs.with_baseline()
    for name in ("evidence", "examples", "observed", "expected"):
        try:
            json.dumps(getattr(result, name), default=_strict_json)
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"result.{name} is not JSON-serialisable: {exc}") from None
    back = CheckResult.from_dict(json.loads(json.dumps(result.to_dict())))
    if (back.status, back.reason) != (result.status, result.reason):
        raise AssertionError("the result's status or reason does not survive a JSON round trip.")


def _verdict(result: CheckResult) -> dict[str, Any]:
    data = result.to_dict()
    return {key: data[key] for key in ("status", "reason", "subject", "observed", "expected")}


def _shape(verdict: dict[str, Any]) -> dict[str, Any]:
    """What two timed evaluations must share: subject, limits and which figures were observed."""
    observed = verdict["observed"]
    return {
        "subject": verdict["subject"],
        "expected": verdict["expected"],
        "observed": sorted(observed) if isinstance(observed, dict) else type(observed).__name__,
    }


def check_deterministic(gate: Gate, runs: Evaluations) -> None:
    first, second = _verdict(runs.with_baseline()), _verdict(runs.again())
    if type(gate).timed:
        first, second = _shape(first), _shape(second)
    if first != second:
        raise AssertionError(f"two evaluations on the same context differ: {first} then {second}.")


def check_context_unchanged(gate: Gate, runs: Evaluations) -> None:
    runs.with_baseline()
    if runs.context_changed:
        raise AssertionError("evaluate changed the context's rows, labels, outputs or metrics in place.")


CHECKS: tuple[Check, ...] = (
    check_type_name_and_needs,
    check_keyword_only_parameters,
    check_constraints_cover_parameters,
    check_parameters_stored_unchanged,
    check_round_trips,
    check_bad_values_rejected,
    check_evaluate_with_baseline,
    check_evaluate_without_baseline,
    check_evidence_is_json,
    check_deterministic,
    check_context_unchanged,
)


def gate_checks(gate: Gate | type[Gate]) -> Iterator[tuple[str, Callable[[], None]]]:
    """(name, check) pairs for `gate`, to parametrize a test with one case per check."""
    instance = _as_instance(gate)
    runs = Evaluations(instance)
    for check in CHECKS:
        yield check.__name__, partial(check, instance, runs)


def check_gate(gate: Gate | type[Gate], *, params: Mapping[str, Any] | None = None) -> None:
    """Run every conformance check on `gate`; raise one `AssertionError` listing all that failed.

    `gate` is a `Gate` subclass or a configured instance; with a class, `params`
    (else values generated from its constraints) configure it.
    """
    target = (
        gate.from_params(dict(params), label=LABEL) if params is not None and isinstance(gate, type) else gate
    )
    failures = []
    for name, check in gate_checks(target):
        try:
            check()
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, named
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
    if failures:
        label = target.__name__ if isinstance(target, type) else repr(target)
        raise AssertionError(
            f"{label} fails {len(failures)} conformance check(s):\n- " + "\n- ".join(failures)
        )
