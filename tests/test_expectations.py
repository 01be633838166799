"""The expectations file: every bound has a reason, a test that reads it, and a last measurement
inside it; judging and recording work both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.expectations import RECORD_ENV, ROOT, Expectation, read


def test_every_bound_has_a_reason_a_reading_test_and_a_measurement_inside_it() -> None:
    entries = read()
    assert entries
    for name, entry in entries.items():
        assert len(entry.reason) > 30, name
        path, _, node = entry.test.partition("::")
        source = (ROOT / path).read_text()
        assert f'expectation("{name}")' in source, f"{path} does not read {name}"
        assert not node or f"def {node.split('[')[0]}(" in source, entry.test
        assert entry.measured is not None, f"{name}: run `make expectations`"
        assert entry.holds(entry.measured), entry.explain(entry.measured)


def test_no_test_reads_a_bound_the_file_does_not_hold() -> None:
    entries = read()
    for path in ROOT.glob("*/tests/test_*.py"):
        for part in path.read_text().split('expectation("')[1:]:
            assert part.split('"')[0] in entries, path


def test_a_bound_holds_on_its_side_and_fails_past_it() -> None:
    at_most = Expectation("x", "at_most", 3.0, "measured", "r", "t", None)
    assert at_most.holds(3.0)
    assert not at_most.holds(3.5)
    assert "measured 3.5, the bound is at most 3" in at_most.explain(3.5)
    at_least = Expectation("y", "at_least", 0.8, "requirement", "r", "t", None)
    assert at_least.holds(0.8)
    assert not at_least.holds(0.79)


def test_judging_records_the_figure_under_the_regenerating_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv(RECORD_ENV, str(record))
    bound = Expectation("x", "at_most", 1.0, "requirement", "r", "t", None)
    assert not bound.holds(2.0)  # recorded even when it fails: the figure is what was measured
    assert json.loads(record.read_text()) == {"name": "x", "observed": 2.0}
