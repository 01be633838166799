"""The postmortem form: pre-filled from the drill's record, event log and params.yaml; rendered
with autoescaping; written where the docs generator finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from docs.live_sources import read_postmortems as docs_read_postmortems
from phase2_pipelines.params import PARAMS_FILE
from simulator.postmortem import (
    ActionItem,
    Postmortem,
    read_postmortems,
    render_postmortem,
    saved_postmortem,
    write_postmortem,
)
from simulator.postmortem_prefill import prefill_postmortem
from simulator.records import SimulatorPaths
from simulator.tests.postmortem_fixtures import (
    DECLARED_WEEK,
    FIRST_SIGNAL_WEEK,
    INJECT_WEEK,
    LABEL_DELAY,
    finished_record,
)

HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)> [go](javascript:alert(2))"
FREE_TEXT = (
    "title",
    "summary",
    "impact",
    "root_causes",
    "trigger",
    "resolution",
    "detection",
    "went_well",
    "went_wrong",
    "got_lucky",
    "model_version",
    "rollback_path",
    "data_window",
    "drift_test",
    "feature_schema_diff",
    "skew_check",
    "label_delay",
    "detection_latency",
)


@pytest.fixture
def paths(tmp_path: Path) -> SimulatorPaths:
    return SimulatorPaths.of(tmp_path)


def test_prefill_reads_the_record_the_event_log_and_params(paths: SimulatorPaths) -> None:
    form = prefill_postmortem(finished_record(paths.root))
    kinds = [entry.kind for entry in form.timeline]
    assert "injected" in kinds  # the hidden week, revealed after the drill
    assert "declared" in kinds  # the user's own declaration
    assert "promoted" in kinds
    assert "bootstrapped" in kinds
    assert "ingested" not in kinds
    assert "scored" not in kinds
    assert [e.week for e in form.timeline] == sorted(e.week for e in form.timeline)
    assert "v1" in form.model_version
    assert "v2" in form.model_version
    assert "v2 replaced v1, so the way back was v1" in form.rollback_path
    assert "advice" not in kinds  # the drill's quiet advice ("none") stays out
    injected = kinds.index("injected")
    assert all(e.week < INJECT_WEEK for e in form.timeline[:injected])  # first in its week
    assert f"{LABEL_DELAY} weeks" in form.label_delay  # measured from labels_arrived events
    assert f"{DECLARED_WEEK - INJECT_WEEK} weeks of the fault" in form.detection_latency
    # declaring in week 5 acts on weeks 0-4 seen: a signal of week 4 was answered at once
    late = DECLARED_WEEK - 1 - FIRST_SIGNAL_WEEK
    assert (
        f"fired in week {FIRST_SIGNAL_WEEK}: declared {late} weeks after" in form.detection_latency
    )
    assert "monthlycharges" in form.feature_schema_diff
    assert "[0, 1]" in form.data_window
    psi = yaml.safe_load(PARAMS_FILE.read_text())["monitoring"]["drift"]["psi"]
    assert f"PSI > {psi}" in form.drift_test
    assert "$9,000" in form.impact  # the value at stake, from the drill's score
    assert f"Declared before week {DECLARED_WEEK} on feature_drift" in form.detection
    assert f"feature_drift: week {FIRST_SIGNAL_WEEK}" in form.detection  # from the debrief
    assert "latency: never fired" in form.detection
    assert form.date == "2026-12-04"
    assert form.summary == ""
    assert form.root_causes == ""


def test_prefill_of_a_drill_without_declarations_says_it_was_not_detected(
    paths: SimulatorPaths,
) -> None:
    record = finished_record(paths.root).model_copy(update={"declarations": ()})
    form = prefill_postmortem(record)
    assert form.detection_latency.startswith("not detected")
    assert "declared" not in [entry.kind for entry in form.timeline]


def test_prefill_without_an_event_log_still_fills_what_it_can(paths: SimulatorPaths) -> None:
    record = finished_record(paths.root).model_copy(update={"run_dir": str(paths.root / "none")})
    form = prefill_postmortem(record)
    assert [entry.kind for entry in form.timeline] == ["injected", "declared"]
    assert form.model_version == ""
    assert "no labels arrived" in form.label_delay
    assert form.drift_test  # params.yaml is still there


def test_hostile_text_in_every_field_is_escaped_not_rendered(paths: SimulatorPaths) -> None:
    form = prefill_postmortem(finished_record(paths.root))
    hostile = form.model_copy(
        update={
            **dict.fromkeys(FREE_TEXT, HOSTILE),
            "action_items": (ActionItem(description=HOSTILE, kind="prevent", owner=HOSTILE),),
            "timeline": tuple(e.model_copy(update={"summary": HOSTILE}) for e in form.timeline),
        }
    )
    text = render_postmortem(hostile)
    assert "<script" not in text.lower()
    assert "<img" not in text.lower()
    assert "](javascript" not in text  # no Markdown link either
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;img"
    # every field survives, escaped: 18 fields, the action's text and owner, each timeline row
    assert text.count(escaped) == len(FREE_TEXT) + 2 + len(form.timeline)
    assert text.splitlines()[0].startswith("# &lt;script&gt;")
    assert text.count("&#91;go&#93;(javascript:alert(2))") == text.count(escaped)


def test_rendered_markdown_has_every_section(paths: SimulatorPaths) -> None:
    form = prefill_postmortem(finished_record(paths.root)).model_copy(
        update={"action_items": (ActionItem(description="a | b", kind="mitigate", owner="me"),)}
    )
    text = render_postmortem(form)
    for heading in (
        "## Summary",
        "## Impact",
        "## Root causes",
        "## Trigger",
        "## Detection",
        "## Resolution",
        "## Action items",
        "### What went well",
        "### What went wrong",
        "### Where we got lucky",
        "## The model's side",
        "## Timeline",
    ):
        assert heading in text, heading
    assert "| mitigate | a / b | me |" in text  # a pipe cannot break the table
    rows = [line for line in text.splitlines() if re.match(r"^\| -?\d+ \|", line)]
    assert len(rows) == len(form.timeline)


def test_write_puts_it_where_the_docs_generator_reads_and_in_docs(
    paths: SimulatorPaths, tmp_path: Path
) -> None:
    form = prefill_postmortem(finished_record(paths.root))
    docs_dir = tmp_path / "docs" / "postmortems"
    written = write_postmortem(form, paths, docs_dir=docs_dir)
    assert [p.name for p in written] == [
        "2026-12-04-harmless_shift.md",
        "2026-12-04-harmless_shift.json",
        "2026-12-04-harmless_shift.md",
    ]
    assert written[2].parent == docs_dir
    assert written[0].read_text() == written[2].read_text()
    indexed = docs_read_postmortems(tmp_path)  # the docs generator's own reader
    assert [(pm.title, pm.path) for pm in indexed] == [
        ("Postmortem: Prices go up", "simulator/postmortems/2026-12-04-harmless_shift.md")
    ]
    assert saved_postmortem(paths, form.drill_id) == form
    assert saved_postmortem(paths, "another") is None


def test_a_second_drill_of_the_same_scenario_and_day_gets_its_own_file(
    paths: SimulatorPaths,
) -> None:
    first = prefill_postmortem(finished_record(paths.root, drill_id="a"))
    second = prefill_postmortem(finished_record(paths.root, drill_id="b"))
    write_postmortem(first, paths)
    write_postmortem(first.model_copy(update={"summary": "rewritten"}), paths)  # same drill
    write_postmortem(second, paths)
    names = sorted(p.name for p in paths.postmortems.glob("*.md"))
    assert names == ["2026-12-04-harmless_shift-b.md", "2026-12-04-harmless_shift.md"]
    saved = read_postmortems(paths)
    assert {pm.drill_id for pm in saved} == {"a", "b"}
    reopened = saved_postmortem(paths, "a")
    assert reopened is not None
    assert reopened.summary == "rewritten"


def test_a_form_refuses_an_unknown_action_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        ActionItem.model_validate({"description": "x", "kind": "fix", "owner": "me"})
    with pytest.raises(ValueError, match="extra"):
        Postmortem.model_validate(
            {"drill_id": "a", "scenario": "s", "title": "t", "date": "d", "x": 1}
        )
