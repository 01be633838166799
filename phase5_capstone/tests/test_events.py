"""The event log keeps whole steps, drops a line a kill cut short, and never repeats a key."""

from __future__ import annotations

from pathlib import Path

from phase5_capstone.events import Draft, EventLog, read_events, stamp


def _drafts(n: int) -> list[Draft]:
    return [Draft(kind="k", summary=f"s{i}", measured={"seconds": i}) for i in range(n)]


def test_a_step_appended_twice_is_kept_once(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path / "events.jsonl")
    log.append(stamp(_drafts(2), 3, "score", log.next_seq))
    log.append(stamp(_drafts(2), 3, "score", log.next_seq))  # a rerun after a kill
    assert [e.key for e in read_events(log.path)] == ["0003.score.0", "0003.score.1"]


def test_a_line_cut_short_by_a_kill_is_dropped_on_open(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog.open(path)
    log.append(stamp(_drafts(1), 0, "ingest", 0))
    with path.open("ab") as handle:
        handle.write(b'{"kind": "k", "summ')  # the kill came mid-write
    reopened = EventLog.open(path)
    assert [e.key for e in reopened] == ["0000.ingest.0"]
    reopened.append(stamp(_drafts(1), 0, "score", reopened.next_seq))
    assert [e.seq for e in read_events(path)] == [0, 1]


def test_comparable_leaves_out_only_what_differs_between_runs(tmp_path: Path) -> None:
    first, second = stamp(_drafts(1), 1, "x", 0)[0], stamp(_drafts(2), 1, "x", 0)[1]
    assert first.comparable().keys() == second.comparable().keys()
    assert "measured" not in first.comparable()
    assert "at" not in first.comparable()
    assert first.comparable()["summary"] == "s0"
