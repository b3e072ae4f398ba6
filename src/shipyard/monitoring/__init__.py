"""Drift monitoring: reference profiles vs live data, concept drift on labelled feedback, reports.

`detect_drift(reference, current)` compares every column (`engine`); the tests
live one family per module on the `DriftTest` contract (`base`); `concept` runs
streaming detectors on the error stream; `report` renders JSON and HTML.
"""
