"""Every alias move points at the reports that justified it."""

from __future__ import annotations


def test_alias_moves_link_the_versions_reports(registry, model_dir):
    info = registry.register(
        model_dir,
        params={},
        metrics={},
        tags={},
        approved=True,
        reports={"gate_report.json": "{}"},
        content_key="c1",
        actor="t",
    )
    expected = f"runs:/{info.run_id}/reports"
    registry.promote(info.version, "production", actor="t")
    events = registry.history()
    assert [(e.alias, e.report) for e in events] == [
        ("candidate", expected),
        ("production", expected),
    ]
    explicit = registry.promote(info.version, "staging", actor="t", report="https://ci/run/42")
    assert explicit[0].report == "https://ci/run/42"
