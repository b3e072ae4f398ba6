"""Gates: Shipyard's gate evaluation against `mlflow.models.evaluate` with validation thresholds.

Both sides judge the same candidate against the same production model on the same
test rows of the fraud example (1M rows; 100k with `--quick`), starting from the
built features and the two fitted models in memory, and including predicting both
models. Shipyard computes the example's metrics for both models and runs
`metric_threshold` (roc_auc >= 0.80) and `no_regression` (roc_auc, tolerance 0.01,
DeLong's test). MLflow evaluates both models with its default evaluator and calls
`mlflow.validate_evaluation_results` with `MetricThreshold(threshold=...)`: its
`min_absolute_change` must be positive, so "no worse than production by more than
0.01" is written as a threshold at production's ROC AUC minus 0.01, with no interval.
Then it times a paired bootstrap of 1,000 resamples of the ROC AUC difference on the
same predictions (target < 2 s). Prints one JSON line last; `ratio` = MLflow seconds /
Shipyard seconds, so > 1 means Shipyard is faster.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import EXAMPLE, emit, generate

from shipyard.config.policy import GateConfig
from shipyard.evaluation import METRICS as REGISTRY
from shipyard.evaluation import ModelOutputs, compute_metrics
from shipyard.evaluation.statistics import bootstrap_differences
from shipyard.gates import GateContext, build_gates, run_gates

BOOTSTRAP_TARGET_S = 2.0
TOLERANCE = 0.01
FLOOR = 0.80
METRICS = ["roc_auc", "average_precision", "f1", "log_loss", "accuracy", "brier"]
# production: the example's params on older data; the candidate: a retrain on newer data
PRODUCTION = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 8, "seed": 0}
CANDIDATE = {"max_iter": 150, "learning_rate": 0.1, "max_leaf_nodes": 16, "seed": 1}


def _models(train_rows: int) -> tuple[Any, Any, Any]:
    sys.path.insert(0, str(EXAMPLE))
    from fraud_model.features import TARGET, build_features
    from fraud_model.train import train

    fitted = []
    for seed, params in ((11, PRODUCTION), (12, CANDIDATE)):
        frame = generate(train_rows, seed=seed)
        fitted.append(train(build_features(frame.drop(columns=TARGET)), frame[TARGET], params))
    return fitted[0], fitted[1], build_features


def _outputs(model: Any, X: pd.DataFrame) -> ModelOutputs:
    proba = model.predict_proba(X)
    classes = tuple(model.classes_)
    return ModelOutputs(np.asarray(classes)[proba.argmax(1)], proba, classes)


def shipyard_gates(candidate: Any, production: Any, X: pd.DataFrame, y: np.ndarray) -> tuple[bool, dict]:
    """Predict both models, compute the metrics, run the two gates: what `shipyard run` does."""
    cand, base = _outputs(candidate, X), _outputs(production, X)
    configs = [
        GateConfig.model_validate({"type": "metric_threshold", "metric": "roc_auc", "min": FLOOR}),
        GateConfig.model_validate({"type": "no_regression", "metric": "roc_auc", "tolerance": TOLERANCE}),
    ]
    ctx = GateContext(
        task="classification",
        y_true=y,
        candidate=cand,
        metrics=compute_metrics("classification", y, cand, METRICS),
        baseline=base,
        baseline_version="1",
        baseline_metrics=compute_metrics("classification", y, base, METRICS),
    )
    report = run_gates(build_gates(configs, task="classification"), ctx)
    return report.passed, report.results[1].evidence


def prepare_mlflow(candidate: Any, production: Any, store: Path) -> dict[str, Any]:
    """Point MLflow at a fresh SQLite store and save both models with its sklearn flavour, loaded
    back as pyfunc. Not timed: in MLflow this happens when the models are logged at training."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    # evaluate() logs its plots as artifacts: keep them in the temp store, not ./mlruns
    mlflow.create_experiment("gates-benchmark", artifact_location=(store / "artifacts").as_uri())
    mlflow.set_experiment("gates-benchmark")
    trusted = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
    loaded = {}
    for model, name in ((candidate, "candidate"), (production, "production")):
        path = store / name
        mlflow.sklearn.save_model(model, path, pip_requirements=["scikit-learn"], skops_trusted_types=trusted)
        loaded[name] = mlflow.pyfunc.load_model(str(path))
    return loaded


def mlflow_gates(models: dict[str, Any], X: pd.DataFrame, y: np.ndarray) -> bool:
    """`mlflow.models.evaluate` on both models, then `mlflow.validate_evaluation_results`."""
    import mlflow
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation.validation import ModelValidationFailedException

    data = X.assign(is_fraud=y)
    with mlflow.start_run():
        candidate, production = (
            mlflow.models.evaluate(
                models[name],
                data,
                targets="is_fraud",
                model_type="classifier",
                evaluator_config={"log_model_explainability": False},
            )
            for name in ("candidate", "production")
        )
    floor = max(FLOOR, production.metrics["roc_auc"] - TOLERANCE)
    thresholds = {"roc_auc": MetricThreshold(threshold=floor, greater_is_better=True)}
    try:
        mlflow.validate_evaluation_results(thresholds, candidate, production)
    except ModelValidationFailedException:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k test rows instead of 1M")
    args = parser.parse_args()
    test_rows, train_rows = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    production, candidate, build_features = _models(train_rows)
    test = generate(test_rows, seed=13)
    X, y = build_features(test.drop(columns="is_fraud")), test["is_fraud"].to_numpy()

    start = time.perf_counter()
    shipyard_passed, evidence = shipyard_gates(candidate, production, X, y)
    shipyard_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-gates-") as tmp:
        models = prepare_mlflow(candidate, production, Path(tmp))
        start = time.perf_counter()
        mlflow_passed = mlflow_gates(models, X, y)
        mlflow_s = time.perf_counter() - start

    outs = [_outputs(model, X) for model in (candidate, production)]
    start = time.perf_counter()
    draws = bootstrap_differences(REGISTRY["roc_auc"], y, *outs, n_resamples=1000, seed=0)
    bootstrap_s = time.perf_counter() - start
    low, high = np.percentile(draws, [2.5, 97.5])

    print(f"test rows                {test_rows:,} (fraud rate {y.mean():.2%})")
    print(
        f"shipyard gates           {shipyard_s:6.2f} s  -> {'PASS' if shipyard_passed else 'FAIL'}: "
        f"roc_auc difference {evidence['observed_difference']:+.4f}, "
        f"90% CI [{evidence['interval_low']:+.4f}, {evidence['interval_high']:+.4f}], "
        f"DeLong p = {evidence['p_value']:.3g}"
    )
    print(
        f"mlflow evaluate+validate {mlflow_s:6.2f} s  -> {'PASS' if mlflow_passed else 'FAIL'} (no interval)"
    )
    print(
        f"bootstrap 1,000 x {test_rows:,} {bootstrap_s:6.2f} s (target < {BOOTSTRAP_TARGET_S:g} s): "
        f"95% CI of the roc_auc difference [{low:+.4f}, {high:+.4f}]"
    )
    emit(
        {
            "benchmark": "gates",
            "test_rows": test_rows,
            "shipyard_s": round(shipyard_s, 3),
            "mlflow_s": round(mlflow_s, 3),
            "shipyard_passed": shipyard_passed,
            "mlflow_passed": mlflow_passed,
            "decisions_agree": shipyard_passed == mlflow_passed,
            "roc_auc_difference": round(evidence["observed_difference"], 5),
            "ci_low": round(evidence["interval_low"], 5),
            "ci_high": round(evidence["interval_high"], 5),
            "bootstrap_1000_s": round(bootstrap_s, 3),
            "bootstrap_target_s": BOOTSTRAP_TARGET_S,
            "bootstrap_meets_target": bootstrap_s < BOOTSTRAP_TARGET_S,
            "ratio": round(mlflow_s / shipyard_s, 2),
        }
    )


if __name__ == "__main__":
    main()
