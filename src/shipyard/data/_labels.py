"""Label checks of a target column: missing or unknown labels, one class, a too-rare class."""

from __future__ import annotations

from typing import Any

import pandas as pd

from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data._examples import describe, example_values, native, percent, plural
from shipyard.data._failures import REINFER, result


def check_label_values(labels: pd.Series, categories: tuple[Any, ...] | None) -> list[CheckResult]:
    """Missing labels, and (for classification) labels the reference data did not have."""
    name, results = str(labels.name), []
    missing = labels.isna()
    if missing.any():
        rows = labels.index[missing].to_series()
        results.append(
            result(
                "label_values",
                Status.FAILED,
                f"Target column '{name}' has {plural(len(rows), 'missing label')}"
                f"{describe(rows, noun='row')}.",
                "Drop or label these rows before training.",
                subject=name,
                reason=Reason.INVALID_LABEL,
                observed=len(rows),
                expected="no nulls",
                examples=example_values(rows),
            )
        )
    present = labels[~missing]
    unseen = present[~present.isin(categories)] if categories is not None else present.iloc[:0]
    if len(unseen):
        results.append(
            result(
                "label_values",
                Status.FAILED,
                f"Target column '{name}' has {plural(len(unseen), 'label')} not seen in the "
                f"reference data{describe(unseen)}.",
                f"Fix the labels at the source, or if the new classes are expected, {REINFER}.",
                subject=name,
                reason=Reason.INVALID_LABEL,
                observed=len(unseen),
                expected=f"one of {list(categories or ())}",
                examples=example_values(unseen),
            )
        )
    return results or [
        result(
            "label_values",
            Status.PASSED,
            f"All labels of '{name}' are valid.",
            subject=name,
            observed=0,
        )
    ]


def check_classes(labels: pd.Series, min_fraction: float) -> CheckResult:
    """Fail a classification target with one class, or with a class rarer than `min_fraction`."""
    name = str(labels.name)
    counts = labels.value_counts()
    counts = counts[counts > 0]  # a categorical lists its unused categories too
    if counts.empty:
        return result(
            "class_balance",
            Status.SKIPPED,
            f"Target column '{name}' has no labels to count.",
            subject=name,
        )
    evidence = {"class_counts": {str(native(k)): int(v) for k, v in counts.items()}}
    rarest, total = native(counts.idxmin()), int(counts.sum())
    if len(counts) == 1:
        return result(
            "class_balance",
            Status.FAILED,
            f"Target column '{name}' has a single class ({rarest!r}) in {plural(total, 'row')}; "
            "a classifier needs at least two.",
            "Check the data source and any filter that produced it.",
            subject=name,
            reason=Reason.SINGLE_CLASS,
            observed=1,
            expected=">= 2 classes",
            evidence=evidence,
        )
    share = int(counts.min()) / total
    fields: dict[str, Any] = {
        "subject": name,
        "observed": share,
        "expected": f">= {min_fraction}",
        "evidence": evidence,
    }
    if share < min_fraction:
        return result(
            "class_balance",
            Status.FAILED,
            f"Class {rarest!r} is {percent(share)} of target column '{name}' "
            f"({int(counts.min())} of {total} rows), below the minimum {percent(min_fraction)}.",
            "Collect more examples of it, or lower 'data.min_class_fraction' in shipyard.yaml.",
            reason=Reason.CLASS_IMBALANCE,
            **fields,
        )
    return result(
        "class_balance",
        Status.PASSED,
        f"The rarest class of '{name}', {rarest!r}, is {percent(share)} of the rows "
        f"(minimum {percent(min_fraction)}).",
        **fields,
    )
