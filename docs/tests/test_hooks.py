"""The hooks for documents whose sources come later (phase 5's event log, the simulator's
postmortems): they render what a log holds, and nothing when there is no log.

The event log here is written by the test in phase 5's format (one JSON object per line, with
week, step, kind, model_version and summary), since the capstone is not part of this checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from docs.generate import environment
from docs.live_sources import read_capstone, read_postmortems

EVENTS = [
    {
        "seq": 0,
        "key": "-001.bootstrap.0",
        "week": -1,
        "step": "bootstrap",
        "kind": "promoted",
        "summary": "v1 trained on weeks -8..-1",
        "model_version": "1",
        "at": "t",
    },
    {
        "seq": 1,
        "key": "0005.decide.0",
        "week": 5,
        "step": "decide",
        "kind": "retrain",
        "summary": "realized AUC | 0.74 below floor",
        "model_version": "1",
        "at": "t",
    },
]


def write_log(state: Path) -> Path:
    log = state / "capstone" / "default" / "events.jsonl"
    log.parent.mkdir(parents=True)
    lines = [json.dumps(event) for event in EVENTS]
    log.write_text("\n".join(lines) + '\n{"seq": 2, "week": 6, "st')  # cut short by a kill
    return log


def test_no_event_log_means_no_capstone_run(tmp_path: Path) -> None:
    assert read_capstone(tmp_path) == ()
    assert read_postmortems(tmp_path) == ()


def test_the_capstone_page_shows_every_complete_event(tmp_path: Path) -> None:
    write_log(tmp_path)
    runs = read_capstone(tmp_path)
    assert [run.scenario for run in runs] == ["default"]
    assert len(runs[0].events) == 2  # the line cut short is skipped
    text = environment().get_template("capstone.md.j2").render(live=SimpleNamespace(capstone=runs))
    assert "| setup | bootstrap | promoted | v1 | v1 trained on weeks -8..-1 |" in text
    assert "| 5 | decide | retrain | v1 | realized AUC / 0.74 below floor |" in text


def test_the_postmortem_index_lists_each_postmortem_by_title(tmp_path: Path) -> None:
    folder = tmp_path / "simulator" / "postmortems"
    folder.mkdir(parents=True)
    (folder / "2026-11-01-null-flood.md").write_text("# Null flood in week 7\n\nbody\n")
    found = read_postmortems(tmp_path)
    text = (
        environment()
        .get_template("postmortems/index.md.j2")
        .render(live=SimpleNamespace(postmortems=found))
    )
    assert (
        "| [Null flood in week 7](2026-11-01-null-flood.md)"
        " | `simulator/postmortems/2026-11-01-null-flood.md` |"
    ) in text
