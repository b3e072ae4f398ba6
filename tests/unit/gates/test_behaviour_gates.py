"""Invariance, directional and minimum-functionality gates on a real logistic regression."""

from __future__ import annotations

import pytest
from probe_models import TARGET, context, fitted, raw_rows, schema_of, write_module

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates.behaviour import DirectionalGate, InvarianceGate
from shipyard.gates.functionality import MinimumFunctionalityGate


@pytest.fixture(scope="module")
def rows():
    return raw_rows()


@pytest.fixture(scope="module")
def model(rows):
    return fitted(rows)


@pytest.fixture(scope="module")
def schema(rows):
    return schema_of(rows)


def test_invariance_holds_for_a_column_the_model_ignores(rows, model, schema, seed):
    gate = InvarianceGate(column="note")
    result = gate.evaluate(context(rows, model, schema=schema, seed=seed))
    assert result.status is Status.PASSED, result.message
    assert result.evidence["max_observed_change"] == 0
    assert gate.get_params()["perturbation"] is None, "evaluate must not change the gate's parameters"


def test_invariance_fails_for_a_column_the_model_uses_with_examples(rows, model, schema, seed):
    gate = InvarianceGate(column="x1", perturbation={"kind": "noise", "scale": 0.5}, max_change=0.01)
    result = gate.evaluate(context(rows, model, schema=schema, seed=seed))
    assert result.status is Status.FAILED
    assert result.reason is Reason.INVARIANCE_VIOLATED
    assert "perturbing 'x1'" in result.message and "allowed 1.0%" in result.message
    assert 0 < len(result.examples) <= 5 and all(e["change"] > 0.01 for e in result.examples)
    assert TARGET in result.examples[0] and "x1" in result.examples[0]


def test_swapping_categories_tries_every_other_category(rows, model, schema):
    result = InvarianceGate(column="color", max_change=0.5).evaluate(context(rows, model, schema=schema))
    assert result.status is Status.PASSED
    assert result.evidence["rows"] == len(rows)
    strict = InvarianceGate(column="color", max_change=0.001).evaluate(context(rows, model, schema=schema))
    # every row has a category to swap to that flips is_g; all but saturated scores move
    assert strict.status is Status.FAILED and strict.observed > 0.5


def test_directional_expectation_follows_the_coefficient_sign(rows, model, schema, seed):
    up = DirectionalGate(column="x1", perturbation={"kind": "shift", "by": 0.5}, min_share=0.99)
    assert up.evaluate(context(rows, model, seed=seed)).status is Status.PASSED
    down = DirectionalGate(column="x1", perturbation={"kind": "shift", "by": 0.5}, expect="decrease")
    result = down.evaluate(context(rows, model, seed=seed))
    assert result.status is Status.FAILED
    assert result.reason is Reason.DIRECTIONAL_EXPECTATION_FAILED
    assert result.observed == 0.0 and result.evidence["opposite"] == len(rows)
    example = result.examples[0]
    assert example["score_after"] > example["score_before"]


def test_a_perturbation_leaving_the_schema_range_fails_naming_column_and_values(rows, model, schema):
    gate = DirectionalGate(column="x2", perturbation={"kind": "scale", "factor": 3.0})
    result = gate.evaluate(context(rows, model, schema=schema))
    assert result.status is Status.FAILED
    assert result.reason is Reason.INVALID_PERTURBATION
    maximum = schema.column("x2").maximum
    assert "column 'x2' has" in result.message and "expects in [" in result.message
    assert str(maximum) in result.message
    assert result.examples[0]["column"] == "x2" and all(v > maximum for v in result.examples[0]["values"])
    assert "on_invalid: skip" in result.hint


def test_on_invalid_skip_judges_the_rows_that_stay_valid(rows, model, schema):
    gate = DirectionalGate(column="x2", perturbation={"kind": "scale", "factor": 3.0}, on_invalid="skip")
    result = gate.evaluate(context(rows, model, schema=schema))
    assert result.status is Status.PASSED, result.message
    skipped = result.evidence["skipped_rows"]
    assert 0 < skipped < len(rows) and result.evidence["rows"] == len(rows) - skipped


def test_setting_an_unseen_category_is_invalid_data(rows, model, schema):
    gate = InvarianceGate(column="color", perturbation={"kind": "set", "value": "purple"})
    result = gate.evaluate(context(rows, model, schema=schema))
    assert result.reason is Reason.INVALID_PERTURBATION
    assert "'purple'" in result.message and "one of ['b', 'g', 'r']" in result.message


def test_a_user_perturbation_by_dotted_path(rows, model, tmp_path):
    write_module(
        tmp_path,
        "my_perturbations",
        "def double_x1(rows, factor=2.0):\n    rows['x1'] = rows['x1'] * factor\n    return rows\n",
    )
    gate = DirectionalGate(perturbation={"kind": "my_perturbations:double_x1", "factor": 3.0}, min_share=0.0)
    result = gate.evaluate(context(rows, model, project_root=tmp_path))
    assert result.status is Status.PASSED
    moved = result.evidence
    assert moved["as_expected"] == int((rows["x1"] > 0).sum())


def test_a_user_perturbation_must_keep_the_rows(rows, model, tmp_path):
    write_module(tmp_path, "bad_perturbations", "def drop(rows):\n    return rows.head(3)\n")
    gate = InvarianceGate(perturbation="bad_perturbations:drop")
    with pytest.raises(ConfigError, match="must return a DataFrame with one row per input row"):
        gate.evaluate(context(rows, model, project_root=tmp_path))


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (
            InvarianceGate,
            {"column": "x1", "perturbation": "nosie"},
            "unknown kind 'nosie'. Did you mean 'noise'",
        ),
        (
            InvarianceGate,
            {"column": "x1", "perturbation": {"kind": "noise", "sigma": 1}},
            "takes no option 'sigma'",
        ),
        (InvarianceGate, {"column": "x1", "perturbation": {"kind": "scale"}}, "needs the option 'factor'"),
        (InvarianceGate, {"column": "x1", "perturbation": {"kind": "shift", "by": "a"}}, "must be a number"),
        (InvarianceGate, {"perturbation": "noise"}, "needs the option 'column'"),
        (
            DirectionalGate,
            {"column": "color", "perturbation": "swap_categories"},
            "needs a perturbation with a",
        ),
    ],
)
def test_bad_perturbations_are_config_errors(cls, params, message):
    with pytest.raises(ConfigError, match=message):
        cls.from_params(params, label="g")


def test_directional_on_a_multiclass_model_needs_a_label(rows, schema):
    three = rows.assign(label=(rows.x1 > 0).astype(int) + (rows.x1 > 1).astype(int))
    model = fitted(three)
    gate = DirectionalGate(column="x1", perturbation={"kind": "shift", "by": 0.1})
    with pytest.raises(ConfigError, match="has 3 classes; name the one"):
        gate.evaluate(context(three, model))
    labelled = DirectionalGate(
        column="x1", perturbation={"kind": "shift", "by": 0.1}, label="2", min_share=0.5
    )
    assert labelled.evaluate(context(three, model)).status is Status.PASSED


def test_gates_say_which_context_field_is_missing(rows, model):
    ctx = context(rows, model)
    from dataclasses import replace

    with pytest.raises(ConfigError, match=r"needs GateContext.rows.*GateContext\(rows=...\)"):
        InvarianceGate(column="x1").evaluate(replace(ctx, rows=None))


CASES = [
    {
        "name": "clear positive",
        "row": {"x1": 3.0, "x2": 5.0, "count": 1, "color": "g", "note": "a"},
        "expected": 1,
    },
    {
        "name": "clear negative",
        "row": {"x1": -3.0, "x2": 5.0, "count": 1, "color": "r", "note": "a"},
        "expected": 0,
    },
]


def test_minimum_functionality_inline_cases(rows, model, schema):
    result = MinimumFunctionalityGate(cases=CASES).evaluate(context(rows, model, schema=schema))
    assert result.status is Status.PASSED and result.observed == 1.0
    wrong = [*CASES, {**CASES[0], "name": "mislabelled", "expected": 0}]
    failed = MinimumFunctionalityGate(cases=wrong).evaluate(context(rows, model, schema=schema))
    assert failed.status is Status.FAILED and failed.reason is Reason.MINIMUM_FUNCTIONALITY_FAILED
    assert "'mislabelled': expected 0, got 1" in failed.message
    assert failed.examples[0]["row"]["x1"] == 3.0
    lenient = MinimumFunctionalityGate(cases=wrong, min_accuracy=0.6)
    assert lenient.evaluate(context(rows, model)).status is Status.PASSED


def test_minimum_functionality_reads_a_cases_file(rows, model, schema, tmp_path):
    import yaml

    (tmp_path / "cases.yaml").write_text(yaml.safe_dump({"cases": CASES}))
    gate = MinimumFunctionalityGate(cases="cases.yaml")
    assert gate.evaluate(context(rows, model, schema=schema, project_root=tmp_path)).status is Status.PASSED
    gate.lint(schema=schema, project_root=tmp_path, where="shipyard.yaml: gates[0]")
    with pytest.raises(ConfigError, match="no such file"):
        MinimumFunctionalityGate(cases="missing.yaml").evaluate(context(rows, model, project_root=tmp_path))


def test_minimum_functionality_lint_names_unknown_and_missing_columns(schema, tmp_path):
    typo = [{"row": {**CASES[0]["row"], "colour": "g"}, "expected": 1}]
    with pytest.raises(
        ConfigError, match=r"cases\[0\].row: column 'colour' is not in the schema. Did you mean"
    ):
        MinimumFunctionalityGate(cases=typo).lint(schema=schema, project_root=tmp_path, where="gates[0]")
    partial = [{"row": {"x1": 1.0}, "expected": 1}]
    with pytest.raises(ConfigError, match=r"lacks the columns \['x2', 'count', 'color', 'note'\]"):
        MinimumFunctionalityGate(cases=partial).lint(schema=schema, project_root=tmp_path, where="gates[0]")
    with pytest.raises(ConfigError, match=r"cases\[0\] must be a mapping with 'row'"):
        MinimumFunctionalityGate.from_params({"cases": [{"expected": 1}]}, label="mf")
