"""Smoke: `shipyard smoke` on a fresh copy of the fraud example against the same job in plain MLflow.

The peer is what a user writes without Shipyard: load the 1,000-row sample, build the
same features, train the same model with the smoke params, score ROC AUC on the latest
quarter, `mlflow.sklearn.log_model` into a fresh SQLite store (default pip-requirement
inference), register, load back through `models:/` and predict. Both run as fresh
processes, timed from outside. Target: smoke under 10 s on 2 cores. Prints one JSON
line last; `ratio` = peer seconds / Shipyard seconds, so > 1 means Shipyard is faster.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

from _common import SHIPYARD, emit, fresh_project, timed

TARGET_S = 10.0
# MLflow 3 saves scikit-learn models with skops, which refuses this type unless trusted.
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
_AUC = re.compile(r"roc_auc = ([0-9.]+)")


def peer_job(project: Path) -> None:
    """The plain-MLflow smoke job; the SQLite store and artifacts go to the working folder."""
    import time

    start = time.perf_counter()
    import mlflow
    import pandas as pd
    import yaml
    from sklearn.metrics import roc_auc_score

    sys.path.insert(0, str(project))
    from fraud_model.features import build_features
    from fraud_model.train import train

    policy = yaml.safe_load((project / "shipyard.yaml").read_text())
    target = policy["data"]["target"]
    params = policy["params"] | policy["smoke"]["params"]
    frame = pd.read_parquet(project / policy["data"]["sample"])
    frame = frame.sort_values(policy["split"]["column"], kind="stable")
    cut = round(len(frame) * (1 - policy["split"]["test_size"]))
    fit, test = frame.iloc[:cut], frame.iloc[cut:]
    model = train(build_features(fit.drop(columns=target)), fit[target], params)
    X_test = build_features(test.drop(columns=target))
    auc = roc_auc_score(test[target], model.predict_proba(X_test)[:, 1])
    trained = time.perf_counter()

    mlflow.set_tracking_uri(f"sqlite:///{Path.cwd() / 'mlflow.db'}")
    with mlflow.start_run():
        mlflow.log_params(params)
        mlflow.log_metric("roc_auc", auc)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="fraud", skops_trusted_types=TRUSTED_TYPES
        )
    logged = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(f"models:/fraud/{info.registered_model_version}")
    predictions = loaded.predict(X_test)
    if len(predictions) != len(test):
        raise RuntimeError(f"The reloaded model gave {len(predictions)} rows for {len(test)}.")
    print(
        json.dumps(
            {
                "roc_auc": auc,
                "train_s": trained - start,
                "log_model_s": logged - trained,
                "load_predict_s": time.perf_counter() - logged,
            }
        )
    )


def _one_round(work: Path) -> dict[str, float | None]:
    """One timed `shipyard smoke` and one timed peer job, each in its own fresh folder."""
    project = fresh_project(work / "shipyard")
    shipyard_s, shipyard_out = timed([str(SHIPYARD), "smoke"], cwd=project)
    match = _AUC.search(shipyard_out)

    peer_dir = work / "peer"
    peer_dir.mkdir()
    command = [sys.executable, str(Path(__file__).resolve()), "--peer-job", str(project)]
    peer_s, peer_out = timed(command, cwd=peer_dir)
    peer = json.loads(peer_out.strip().splitlines()[-1])
    return {
        "shipyard_s": shipyard_s,
        "peer_s": peer_s,
        "shipyard_roc_auc": float(match.group(1)) if match else None,
        "peer_roc_auc": peer["roc_auc"],
        "peer_log_model_s": peer["log_model_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition instead of 3")
    parser.add_argument("--peer-job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_job is not None:
        peer_job(args.peer_job)
        return
    repeats = 1 if args.quick else 3
    rounds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-smoke-") as tmp:
            rounds.append(_one_round(Path(tmp)))
    shipyard_s = statistics.median(r["shipyard_s"] for r in rounds)
    peer_s = statistics.median(r["peer_s"] for r in rounds)
    log_model_s = statistics.median(r["peer_log_model_s"] for r in rounds)
    print(f"shipyard smoke           {shipyard_s:6.2f} s (target < {TARGET_S:g} s)")
    print(f"plain MLflow smoke job   {peer_s:6.2f} s (log_model {log_model_s:.2f} s)")
    emit(
        {
            "benchmark": "smoke",
            "repeats": repeats,
            "shipyard_smoke_s": round(shipyard_s, 3),
            "mlflow_peer_s": round(peer_s, 3),
            "mlflow_peer_log_model_s": round(log_model_s, 3),
            "shipyard_roc_auc": rounds[-1]["shipyard_roc_auc"],
            "peer_roc_auc": round(rounds[-1]["peer_roc_auc"], 4),
            "target_s": TARGET_S,
            "meets_target": shipyard_s < TARGET_S,
            "ratio": round(peer_s / shipyard_s, 2),
        }
    )


if __name__ == "__main__":
    main()
