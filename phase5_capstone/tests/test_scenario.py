"""Scenarios are validated with errors that name the field; the shipped ones load."""

from __future__ import annotations

import pytest

from phase5_capstone.scenario import ScenarioError, known_scenarios, load_scenario, parse_scenario
from phase5_capstone.training import choose_weeks


@pytest.mark.parametrize("name", known_scenarios())
def test_shipped_scenarios_load(name: str) -> None:
    assert load_scenario(name).name == name


def test_a_bad_fault_is_refused_with_its_field() -> None:
    text = (
        "name: x\ndescription: d\nweeks: 4\nrows_per_week: 500\nseed: 1\nlabel_delay_weeks: 2\n"
        "faults:\n  - kind: label_shuffle\n    start_week: 2\n    end_week: 1\n"
    )
    with pytest.raises(ScenarioError, match=r"faults\.0\.label_shuffle.*end_week: 1 is before"):
        parse_scenario(text, "x.yml")


def test_a_fault_must_say_when_it_starts() -> None:
    """Unlike a world effect (on from week 0 unless it says otherwise), a fault names its first
    week: both are phase 1's ``WeekSpan``, whose start is required; only effects default it."""
    text = (
        "name: x\ndescription: d\nweeks: 4\nrows_per_week: 500\nseed: 1\nlabel_delay_weeks: 2\n"
        "faults:\n  - kind: label_shuffle\n"
    )
    with pytest.raises(
        ScenarioError, match=r"faults\.0\.label_shuffle\.start_week.*(required|missing)"
    ):
        parse_scenario(text, "x.yml")


def test_a_scenario_must_say_its_worlds_shape() -> None:
    """Rows a week, seed and label delay come from the file: a scenario without them is refused
    with the field named, not run on a default nobody wrote down."""
    with pytest.raises(ScenarioError, match=r"label_delay_weeks.*(required|missing)"):
        parse_scenario("name: x\ndescription: d\nweeks: 4\nrows_per_week: 500\nseed: 1\n", "x.yml")


def test_a_beat_outside_the_run_is_refused() -> None:
    text = (
        "name: x\ndescription: d\nweeks: 4\nrows_per_week: 500\nseed: 1\nlabel_delay_weeks: 2\n"
        "beats:\n  - {name: b, weeks: [2, 9], shows: s}\n"
    )
    with pytest.raises(ScenarioError, match=r"beats\.0\.weeks: must lie within 0\.\.3"):
        parse_scenario(text, "x.yml")


def test_training_weeks_skip_quarantined_weeks_and_hold_out_the_latest() -> None:
    assert choose_weeks([0, 1, 2, 3, 4, 5], (4,), 3, 1) == ((1, 2, 3), (5,))
    assert choose_weeks([0, 1, 2], (), 3, 1) is None  # too few labeled weeks yet
