#!/usr/bin/env bash
# Continuous training, run by `make demo` after the rollout demo (see docs/retrain.md).
# On a scratch copy of this example it trains version 1 on four weeks of transactions,
# serves it, and replays two more weeks of traffic: an ordinary week (no drift, no retrain)
# and a week whose amounts drifted. Drift is detected in that week, the drift trigger
# fires, the model is retrained on all six weeks, gated against production on the fresh
# test set, and rolled out under live analysis.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server="" traffic=""
cleanup() {
  [ -n "$traffic" ] && kill -INT "$traffic" 2>/dev/null
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$here/demo_lib.sh"

step "Retrain demo in a scratch copy: $work"
cp -r "$here/fraud_model" "$here/generate.py" "$here/schema.yaml" "$here/shipyard.yaml" "$work/"
mkdir -p "$work/data" "$work/deploy"
cd "$work"
python generate.py --rows 8000 --seed 0 --start 2026-01-01 --days 28 --out data/transactions.parquet >/dev/null
python generate.py --rows 2000 --seed 5 --start 2026-01-29 --days 7 --out data/week5.parquet >/dev/null
python generate.py --rows 2000 --seed 6 --start 2026-02-05 --days 7 --drift amount --drift-strength 0.8 \
  --out data/week6.parquet >/dev/null
python - <<'EOF'
import yaml
policy = yaml.safe_load(open("shipyard.yaml"))
policy["gates"] = [
    {"type": "output_contract", "min_predicted_classes": 2},
    {"type": "no_regression", "metric": "roc_auc", "tolerance": 0.03},
]
policy["evaluation"] = {"latency_samples": 20, "warmup": 2}
policy["monitoring"]["window"] = "10m"  # weeks 5 and 6 (10 s each, longer on a busy machine)
policy["retrain"] = {"on_drift": True, "data": "data/fresh.parquet", "on_pass": "rollout"}
policy["rollout"] = {
    "environment": "demo",
    "steps": [50, 100],
    "step_duration_s": 3,
    "step_deadline_s": 30,
    "analysis_interval_s": 1,
    "min_requests": 10,
    "analysis": [{"type": "error_rate", "max_increase": 0.05}],
}
yaml.safe_dump(policy, open("shipyard.yaml", "w"), sort_keys=False)
EOF

step "Weeks 1-4: version 1 is trained, gated and put in production"
expect_exit 0 shipyard run >/dev/null
expect_exit 0 shipyard promote 1 --to production
printf 'model: fraud\nproduction: "1"\n' > deploy/demo.yaml
start_server deploy/demo.yaml
replay() { shipyard traffic replay "$1" --url "http://127.0.0.1:$port" --rps 60 --duration "$2"; }

step "Week 5: ordinary traffic. No drift, so no retraining"
expect_exit 0 replay data/week5.parquet 10
expect_exit 0 shipyard monitor drift
expect_exit 0 shipyard retrain --if-needed

step "Week 6: amounts drifted. Detected in that week's traffic"
expect_exit 0 replay data/week6.parquet 10
expect_exit 1 shipyard monitor drift

step "The drift trigger fires: retrain on weeks 1-6, gate against production, roll out"
python -c "
import pandas as pd
frames = [pd.read_parquet(f'data/{name}.parquet') for name in ('transactions', 'week5', 'week6')]
fresh = pd.concat(frames, ignore_index=True)
fresh['transaction_id'] = range(1, len(fresh) + 1)  # each generated week numbers from 1
fresh.to_parquet('data/fresh.parquet')
"
shipyard traffic replay data/week6.parquet --url "http://127.0.0.1:$port" --rps 60 --duration 600 \
  > traffic.log 2>&1 &
traffic=$!
expect_exit 0 shipyard retrain --if-needed
cat deploy/demo.yaml
expect_exit 0 shipyard models
kill -INT "$traffic"; wait "$traffic"; traffic=""
tail -2 traffic.log
