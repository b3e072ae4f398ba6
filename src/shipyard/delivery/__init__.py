"""Progressive delivery: the rollout state machine, live analysis, rollback, the GitOps deploy
file, notifications and traffic replay (see docs/delivery.md).

`delivery` orchestrates `registry` (alias moves, with their audit trail) and `serving` (the
deploy file a server reconciles on, the prediction log it writes).
"""
