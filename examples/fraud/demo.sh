#!/usr/bin/env bash
# The end-to-end demo behind `make demo`: generate data, infer the schema, run the
# pipeline twice (the second run is fully cached), promote, smoke, then show a
# corrupted batch being rejected with a clear error and nothing registered, and finally
# canary rollouts of a good and of a slow candidate under replayed traffic (rollout_demo.sh),
# and drift in a replayed week triggering retrain -> gate -> roll out (retrain_demo.sh).
set -uo pipefail
cd "$(dirname "$0")"
. ./demo_lib.sh

step "Generate 50,000 synthetic transactions"
expect_exit 0 python generate.py --rows 50000 --seed 0 --out data/transactions.parquet

if [ ! -f schema.yaml ]; then
  step "Infer the schema (review and commit schema.yaml)"
  expect_exit 0 shipyard schema infer
fi

step "Run the pipeline: validate -> features -> split -> train -> evaluate -> gate -> register"
expect_exit 0 shipyard run

step "Run it again: nothing changed, every stage is cached"
expect_exit 0 shipyard run

step "Smoke: the whole pipeline on the committed 1,000-row sample"
expect_exit 0 shipyard smoke

step "Promote the candidate to production (a version number works too: shipyard promote 1 --to production)"
expect_exit 0 shipyard promote candidate --to production
expect_exit 0 shipyard models
expect_exit 0 shipyard history

step "A corrupted batch (renamed column, wrong dtype, unseen category, nulls) is rejected"
expect_exit 0 python corrupt.py --in data/transactions.parquet --out data/corrupted.parquet
expect_exit 1 shipyard run --data data/corrupted.parquet
echo "Rejected with exit code 1 as expected; nothing was registered:"
expect_exit 0 shipyard models

step "Progressive delivery: canary rollouts under replayed traffic (rollout_demo.sh)"
expect_exit 0 bash rollout_demo.sh

step "Continuous training: drift in a replayed week triggers retrain -> gate -> roll out (retrain_demo.sh)"
expect_exit 0 bash retrain_demo.sh
