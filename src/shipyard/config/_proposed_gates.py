"""The gates `shipyard init` proposes, each with the comment that explains it in
`shipyard.yaml`: a quality floor above a trivial baseline, the output contract, fairness
and invariance for sensitive attributes, performance limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard.config import _thresholds as limits

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.config._data_traits import SensitiveColumn

TEST_SIZE = 0.25
MAX_SENSITIVE_GATES = 3


@dataclass(frozen=True)
class Gate:
    """One proposed gate: its YAML lines (indented under `- `) and the comment above it."""

    comment: str
    lines: tuple[str, ...]


def positive_share(labels: pd.Series) -> float:
    """Share of the positive class: the last of the sorted classes, as for every binary metric."""
    classes = sorted(labels.dropna().unique().tolist(), key=lambda v: (type(v).__name__, v))
    return float((labels == classes[-1]).mean())


def quality_gates(frame: pd.DataFrame, target: str, kind: str) -> list[Gate]:
    labels = frame[target]
    if kind == "binary":
        prevalence = positive_share(labels)
        floor = limits.average_precision_floor(prevalence)
        return [
            Gate(
                f"Average precision of a random ranking is the positive share, {prevalence:.3f}: the floor "
                f"asks a tenth of the way from there to 1.0. Raise it to what your use needs.",
                (
                    "type: metric_threshold",
                    "name: average_precision_floor",
                    "metric: average_precision",
                    f"min: {floor}",
                ),
            ),
            Gate(
                "And a ranking clearly better than chance (0.5).",
                (
                    "type: metric_threshold",
                    "name: roc_auc_floor",
                    "metric: roc_auc",
                    f"min: {limits.ROC_AUC_FLOOR}",
                ),
            ),
        ]
    if kind == "multiclass":
        share = float(labels.value_counts(normalize=True).iloc[0])
        return [
            Gate(
                f"Always predicting the most frequent class scores accuracy {share:.3f}: the floor is "
                "above it.",
                (
                    "type: metric_threshold",
                    "name: accuracy_floor",
                    "metric: accuracy",
                    f"min: {limits.multiclass_accuracy_floor(share)}",
                ),
            )
        ]
    return [
        Gate(
            "Predicting the mean scores R² 0: the model must do better.",
            ("type: metric_threshold", "name: r2_floor", "metric: r2", "min: 0.0"),
        )
    ]


def contract_gate(frame: pd.DataFrame, target: str, kind: str) -> Gate:
    comment = "Outputs a serving client can rely on: one finite prediction per row, valid probabilities."
    if kind == "binary" and positive_share(frame[target]) < limits.RARE_CLASS_SHARE:
        return Gate(
            comment + " Positives are rare: a good model may score no test row above 0.5, so one "
            "predicted class is allowed (the average-precision floor judges the ranking).",
            ("type: output_contract", "min_predicted_classes: 1"),
        )
    return Gate(comment, ("type: output_contract",))


def performance_gate() -> Gate:
    comment = (
        "Generous limits for shared CI runners; tighten them to your serving budget. The ratio "
        "compares with the production model, measured in the same process on the same rows."
    )
    return Gate(
        comment,
        ("type: performance", "max_latency_p99_ms: 250", "max_size_mb: 100", "max_latency_ratio: 1.5"),
    )


def people_gates(
    frame: pd.DataFrame, target: str, kind: str, sensitive: list[SensitiveColumn], test_rows: int
) -> list[Gate]:
    import pandas as pd

    gates = []
    group_size = limits.min_group_size(test_rows)
    positive = None
    if kind == "binary":
        classes = sorted(frame[target].dropna().unique().tolist(), key=lambda v: (type(v).__name__, v))
        positive = (frame[target] == classes[-1]).astype(float)
    for column in sensitive[:MAX_SENSITIVE_GATES]:
        numeric = pd.api.types.is_numeric_dtype(frame[column.name]) and not pd.api.types.is_bool_dtype(
            frame[column.name]
        )
        bound = (
            limits.demographic_parity_bound(
                frame[column.name], positive, test_size=TEST_SIZE, group_size=group_size
            )
            if positive is not None
            else None
        )
        if bound is not None:
            gates.append(
                Gate(
                    f"'{column.name}' is a sensitive attribute ({column.reason}). Positive decisions may "
                    f"differ across its groups by at most the gap in the labels plus test-split noise.",
                    (
                        "type: fairness",
                        f"name: fairness_{column.name}",
                        f"sensitive: {column.name}",
                        f"max_demographic_parity_difference: {bound}",
                        f"min_group_size: {group_size}",
                    ),
                )
            )
        perturbation = ("perturbation: shuffle",) if numeric else ()
        gates.append(
            Gate(
                f"model/features.py leaves '{column.name}' out of the model's inputs: changing it must "
                "not move any score.",
                (
                    "type: invariance",
                    f"name: invariance_{column.name}",
                    f"column: {column.name}",
                    *perturbation,
                ),
            )
        )
    return gates
