#!/usr/bin/env bash
# Progressive delivery, run by `make demo` after the pipeline demo (see docs/delivery.md).
# On a scratch copy of this example (5,000 rows, one gate, 4-second steps) it serves
# version 1, replays traffic, and rolls out two candidates: a good one goes 10% -> 50% ->
# 100% and is promoted; a slow one (30 ms more per call, ~3x on quiet cores) is rolled back
# at 10% with nobody paged.
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

step "Rollout demo in a scratch copy: $work"
cp -r "$here/fraud_model" "$here/generate.py" "$here/schema.yaml" "$here/shipyard.yaml" "$work/"
mkdir -p "$work/data" "$work/deploy"
cd "$work"
python generate.py --rows 5000 --seed 0 --out data/transactions.parquet >/dev/null
cat > slow_model.py <<'EOF'
"""The fraud model, 30 ms slower per call: accurate in the notebook, timeouts in production."""
import time

from fraud_model.train import train as train_fast


class Slow:
    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_

    def predict(self, X):
        time.sleep(0.03)
        return self.model.predict(X)

    def predict_proba(self, X):
        time.sleep(0.03)
        return self.model.predict_proba(X)


def train(X, y, params):
    return Slow(train_fast(X, y, params))
EOF
python - <<'EOF'
import yaml
policy = yaml.safe_load(open("shipyard.yaml"))
policy["gates"] = [{"type": "output_contract", "min_predicted_classes": 2}]
policy["evaluation"] = {"latency_samples": 20, "warmup": 2}
policy["rollout"] = {
    "environment": "demo",
    "steps": [10, 50, 100],
    "step_duration_s": 4,
    "step_deadline_s": 40,
    "analysis_interval_s": 1,
    "min_requests": 15,
    "consecutive_violations": 2,
    "analysis": [
        {"type": "error_rate", "max_increase": 0.05},
        {"type": "latency_ratio", "percentile": 50, "max_ratio": 2.5},  # the slow version: ~3.8x
    ],
}
policy["model_format"] = {"trusted_types": ["slow_model.Slow"]}  # our own class: skops may load it
policy.pop("monitoring", None)
yaml.safe_dump(policy, open("shipyard.yaml", "w"), sort_keys=False)
EOF

step "Version 1 (production), version 2 (new params), version 3 (the slow one)"
expect_exit 0 shipyard run >/dev/null
expect_exit 0 shipyard promote 1 --to production
sed -i 's/learning_rate: 0.1$/learning_rate: 0.12/' shipyard.yaml
expect_exit 0 shipyard run >/dev/null
sed -i 's/train: fraud_model.train:train/train: slow_model:train/' shipyard.yaml
expect_exit 0 shipyard run >/dev/null
expect_exit 0 shipyard models

step "The deploy file (GitOps: commit it) and a server that reconciles when it changes"
printf 'model: fraud\nproduction: "1"\n' > deploy/demo.yaml
start_server deploy/demo.yaml
shipyard traffic replay data/transactions.parquet --url "http://127.0.0.1:$port" --rps 40 --duration 600 &
traffic=$!

step "Roll out version 2: every step passes, it is promoted (previous = 1)"
expect_exit 0 shipyard rollout start 2 --reason "new learning rate"
cat deploy/demo.yaml

step "Roll out version 3, the slow one: rolled back automatically at 10% of traffic"
expect_exit 1 shipyard rollout start 3 --reason "retrained model"
cat deploy/demo.yaml
expect_exit 0 shipyard rollout status

step "The replayed traffic: no failed request throughout"
kill -INT "$traffic"
wait "$traffic"; got=$?
traffic=""
[ "$got" -eq 0 ] || { echo "demo: traffic replay saw failed requests" >&2; exit 1; }

step "Instant rollback to the previous production version"
expect_exit 0 shipyard rollback --reason "demo: back to version 1"
cat deploy/demo.yaml
expect_exit 0 shipyard history --alias production
