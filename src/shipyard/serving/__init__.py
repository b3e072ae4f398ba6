"""The model server: the ASGI app, model set with hot swap, canary/shadow routing,
adaptive micro-batching, Prometheus metrics and the Parquet prediction log.

`desired` (the GitOps deploy file) and `predlog` (prediction/feedback log layout) are the
contracts other layers (delivery, monitoring) read; both import nothing heavy.
"""
