"""Label checks of a target column: missing or unknown labels, one class, a too-rare class."""

from __future__ import annotations

from typing import Any

import pandas as pd

from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data._examples import Hits, describe, example_values, native, percent, plural
from shipyard.data._failures import REINFER, result


def count_labels(labels: pd.Series, categories: tuple[Any, ...] | None) -> dict[str, Hits]:
    """The rows missing a label, and the labels not among `categories` (None: any label goes)."""
    missing = labels.isna()
    present = labels[~missing]
    unseen = present[~present.isin(categories)] if categories is not None else present.iloc[:0]
    return {
        "missing": Hits.of(labels.index[missing].to_series(), len(labels)),
        "unseen": Hits.of(unseen, len(present)),
    }


def judge_label_values(
    name: str, found: dict[str, Hits], categories: tuple[Any, ...] | None
) -> list[CheckResult]:
    """The label-values results of what `count_labels` found in target column `name`."""
    results = []
    rows, unseen = found["missing"].first, found["unseen"]
    if found["missing"].count:
        results.append(
            result(
                "label_values",
                Status.FAILED,
                f"Target column '{name}' has {plural(found['missing'].count, 'missing label')}"
                f"{describe(rows, noun='row')}.",
                "Drop or label these rows before training.",
                subject=name,
                reason=Reason.INVALID_LABEL,
                observed=found["missing"].count,
                expected="no nulls",
                examples=example_values(rows),
            )
        )
    if unseen.count:
        results.append(
            result(
                "label_values",
                Status.FAILED,
                f"Target column '{name}' has {plural(unseen.count, 'label')} not seen in the "
                f"reference data{describe(unseen.first)}.",
                f"Fix the labels at the source, or if the new classes are expected, {REINFER}.",
                subject=name,
                reason=Reason.INVALID_LABEL,
                observed=unseen.count,
                expected=f"one of {list(categories or ())}",
                examples=example_values(unseen.first),
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


def merge_class_counts(parts: list[pd.Series]) -> pd.Series:
    """Class counts of consecutive parts (`value_counts(sort=False)` each) as `value_counts()` of the
    whole: most frequent first, ties in order of first appearance."""
    summed = pd.concat(parts).groupby(level=0, sort=False).sum()
    return summed.sort_values(ascending=False, kind="stable")


def judge_classes(name: str, counts: pd.Series, min_fraction: float) -> CheckResult:
    """The class-balance result of target column `name` from its class counts, most frequent first."""
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
