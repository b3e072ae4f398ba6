"""The drift report: self-contained HTML and JSON holding aggregates only, small at any size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.data.profile import build_profile
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.report import render_html, write_html, write_json
from shipyard.monitoring.verdicts import DriftReport


@pytest.fixture(scope="module")
def report() -> DriftReport:
    rng = np.random.default_rng(0)
    n = 5_000

    def frame(shift: float) -> pd.DataFrame:
        columns = {f"x{i}": rng.normal(shift * (i < 3), 1, n) for i in range(20)}
        cats = {f"c{i}": rng.choice([f"v{j}" for j in range(40)], n) for i in range(5)}
        return pd.DataFrame({**columns, **cats})

    ref = frame(0.0)
    ref.loc[0, "x5"] = 0.123456789012  # a sentinel raw value (not an extreme) that must not leak
    return detect_drift(build_profile(ref), frame(0.5))


def test_html_is_self_contained_small_and_has_a_plot_per_column(report: DriftReport, tmp_path: Path) -> None:
    write_html(report, tmp_path / "drift.html")
    html = (tmp_path / "drift.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert html.count("<svg") == 25
    assert len(html.encode()) < 2_000_000
    assert "0.123456789" not in html
    assert "3 of 25 columns drifted" in html


def test_json_holds_summary_statistics_and_checks(report: DriftReport, tmp_path: Path) -> None:
    write_json(report, tmp_path / "drift.json")
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["summary"]["columns_drifted"] == ["x0", "x1", "x2"]
    assert not data["summary"]["dataset_drift"]
    x0 = next(f for f in data["features"] if f["name"] == "x0")
    assert x0["drifted"] and {"ks", "wasserstein", "psi", "js", "null_share"} <= set(x0["statistics"])
    assert x0["statistics"]["ks"]["exact"] is False
    assert data["checks"]["kind"] == "drift checks"
    assert len((tmp_path / "drift.json").read_bytes()) < 2_000_000
    assert "0.123456789" not in (tmp_path / "drift.json").read_text()


def test_names_are_escaped() -> None:
    frame = pd.DataFrame({"<b>x</b>": [1.0, 2.0, 3.0]})
    html = render_html(detect_drift(frame, frame))
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
