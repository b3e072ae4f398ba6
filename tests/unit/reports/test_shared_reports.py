"""Run reports through the object store: a report `shipyard run` wrote in one clone is the one
`shipyard report` finds in another."""

from __future__ import annotations

import json
from pathlib import Path

from report_fixtures import make_baseline, make_summary

from shipyard.cli.report import _stored_run_report, publish_run_report
from shipyard.config import parse_policy
from shipyard.config.project import Project
from shipyard.workspace import Workspace

POLICY = {"name": "fraud", "data": {"source": "d.csv", "target": "y"}, "entrypoints": {"train": "m:t"}}


def clone(root: Path, store: Path | None) -> Workspace:
    env = {} if store is None else {"SHIPYARD_OBJECT_STORE": str(store)}
    return Workspace.open(Project(root, parse_policy(POLICY)), env=env)


def test_a_report_written_in_one_clone_is_found_in_another(tmp_path: Path) -> None:
    summary = make_summary()
    writer, reader = clone(tmp_path / "a", tmp_path / "store"), clone(tmp_path / "b", tmp_path / "store")
    assert _stored_run_report(reader, summary) is None
    publish_run_report(writer, summary, baseline=make_baseline())
    version = str(summary["version"])
    keys = writer.objects.list(f"reports/fraud/{version}")  # type: ignore[union-attr]
    assert [k.rsplit("/", 1)[1] for k in keys] == ["report.html", "report.json", "report.md"]
    found = _stored_run_report(reader, summary)
    assert (
        found is not None
        and found["baseline"]
        == json.loads((writer.reports_dir / version / "report.json").read_text())["baseline"]
    )
    assert (reader.reports_dir / version / "report.json").is_file()  # kept as this clone's copy


def test_without_a_store_reports_stay_in_the_clone(tmp_path: Path) -> None:
    summary = make_summary()
    publish_run_report(clone(tmp_path / "a", None), summary)
    assert (tmp_path / "a" / ".shipyard" / "reports" / str(summary["version"]) / "report.md").is_file()
    assert _stored_run_report(clone(tmp_path / "b", None), summary) is None
