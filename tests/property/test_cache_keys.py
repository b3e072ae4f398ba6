"""Content keys of a pipeline: stable, and a change reaches exactly the stage and its descendants."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shipyard.pipeline.runner import Stage, compute_keys

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
key_parts = st.dictionaries(st.text(max_size=6), json_values, max_size=4)


def _noop(inputs: Mapping[str, Path], out: Path) -> None:
    """A stage body: keys never run stages."""


@st.composite
def pipelines(draw: st.DrawFn) -> list[Stage]:
    """A random DAG in topological order: each stage depends on some earlier ones."""
    names = draw(st.lists(st.text("abcd_", min_size=1, max_size=4), min_size=1, max_size=7, unique=True))
    stages = []
    for i, name in enumerate(names):
        deps = draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []
        stages.append(Stage(name, _noop, deps=tuple(deps), key_parts=draw(key_parts)))
    return stages


def _descendants(stages: list[Stage], root: str) -> set[str]:
    reached = {root}
    for stage in stages:  # topological order: parents are settled before children
        if reached.intersection(stage.deps):
            reached.add(stage.name)
    return reached


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True)


@settings(max_examples=50, deadline=None)
@given(pipelines())
def test_keys_are_deterministic_and_ignore_dict_order(stages):
    keys = compute_keys(stages)
    assert set(keys) == {s.name for s in stages}
    assert compute_keys(list(stages)) == keys
    reordered = [replace(s, key_parts=dict(reversed(list(s.key_parts.items())))) for s in stages]
    assert compute_keys(reordered) == keys
    assert len(set(keys.values())) == len(keys), "two stages share a key"


@settings(max_examples=80, deadline=None)
@given(pipelines(), st.data())
def test_changing_key_parts_changes_exactly_the_stage_and_its_descendants(stages, data):
    index = data.draw(st.integers(0, len(stages) - 1), label="changed stage")
    target = stages[index]
    name = data.draw(st.text(max_size=6), label="part")
    value = data.draw(json_values, label="new value")
    assume(name not in target.key_parts or _canonical(target.key_parts[name]) != _canonical(value))
    changed = [*stages]
    changed[index] = replace(target, key_parts={**target.key_parts, name: value})

    before, after = compute_keys(stages), compute_keys(changed)

    moved = {s for s in before if before[s] != after[s]}
    assert moved == _descendants(stages, target.name)
