"""The drill catalogue, the scenario a drill builds from it, and the CLI's refusals (fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from phase1_foundations.scenarios import LabelDelayChange, NullFlood, SchemaBreak
from phase5_capstone.faults import StaleReplica
from simulator.__main__ import main
from simulator.drills import CatalogueError, load_catalogue, parse_catalogue
from simulator.engine import DrillError, make_declaration
from simulator.injection import drill_scenario, injected_scenario
from simulator.records import RESPONSES, Declaration

CATALOGUE = load_catalogue()
ROOT = Path(__file__).resolve().parents[2]
ISSUE_SCENARIOS = (
    "harmless_shift",
    "concept_drift",
    "schema_break",
    "null_flood",
    "unit_change",
    "swapped_columns",
    "new_category",
    "label_delay",
    "heavy_model",
    "bad_model",
    "serving_skew",
    "mixed_versions",
)


def test_the_catalogue_holds_the_twelve_scenarios_and_a_healthy_control() -> None:
    assert set(ISSUE_SCENARIOS) < set(CATALOGUE.drills)
    assert not CATALOGUE.drills["healthy"].incident
    for spec in CATALOGUE.drills.values():
        assert spec.best in RESPONSES
        assert spec.root_cause in CATALOGUE.root_causes


def test_the_injection_week_is_hidden_in_its_range_and_the_same_for_a_seed() -> None:
    spec = CATALOGUE.drill("null_flood")
    weeks = {spec.inject_week(seed) for seed in range(40)}
    assert weeks == set(range(spec.inject_weeks[0], spec.inject_weeks[1] + 1))
    assert spec.inject_week(7) == spec.inject_week(7)


def test_effects_start_at_the_injection_week() -> None:
    scenario = injected_scenario(CATALOGUE.drill("schema_break"), CATALOGUE.settings, 0, 4)
    (effect,) = scenario.world
    assert isinstance(effect, SchemaBreak)
    assert (effect.start_week, effect.end_week) == (4, None)


def declared(week: int, response: str, cause: str = "null_flood") -> Declaration:
    return make_declaration(week, "data_quality", cause, response)


def test_paging_upstream_ends_a_broken_feed_after_the_fix_delay() -> None:
    spec, knobs = CATALOGUE.drill("null_flood"), CATALOGUE.settings
    scenario = drill_scenario(spec, knobs, 0, 4, (declared(6, "page_upstream"),))
    (flood,) = scenario.world
    assert isinstance(flood, NullFlood)
    assert flood.end_week == 6 + knobs.upstream_fix_weeks - 1


def test_a_response_never_changes_a_week_already_seen_nor_what_has_not_begun() -> None:
    spec, knobs = CATALOGUE.drill("null_flood"), CATALOGUE.settings
    early = drill_scenario(spec, knobs, 0, 4, (declared(3, "page_upstream"),))
    assert early.world == injected_scenario(spec, knobs, 0, 4).world  # paged before it began
    hotfixed = drill_scenario(spec, knobs, 0, 4, (declared(6, "quarantine_hotfix"),))
    assert hotfixed.world == early.world  # nulls cannot be repaired in our pipeline


def test_a_hotfix_repairs_a_renamed_column_from_its_week() -> None:
    spec, knobs = CATALOGUE.drill("schema_break"), CATALOGUE.settings
    fix = declared(6, "quarantine_hotfix", "schema_break")
    (effect,) = drill_scenario(spec, knobs, 0, 4, (fix,)).world
    assert effect.end_week == 5


def test_a_hotfix_or_a_page_for_another_cause_repairs_nothing() -> None:
    spec, knobs = CATALOGUE.drill("schema_break"), CATALOGUE.settings
    broken = injected_scenario(spec, knobs, 0, 4).world
    for response in ("quarantine_hotfix", "page_upstream"):
        wrong = declared(6, response, "unit_change")  # a fix for units, on a renamed column
        assert drill_scenario(spec, knobs, 0, 4, (wrong,)).world == broken


def test_a_decoy_starts_before_the_incident_and_is_no_corruption() -> None:
    spec, knobs = CATALOGUE.drill("bad_model"), CATALOGUE.settings
    assert spec.decoy is not None
    world = injected_scenario(spec, knobs, 0, 6).world
    starts = sorted(e.start_week for e in world if isinstance(e, LabelDelayChange))
    assert starts == [6 - spec.decoy.weeks_before, 6 - spec.decoy.weeks_before + 1]
    text = (ROOT / "simulator" / "drills.yml").read_text()
    early = text.replace("weeks_before: 2", "weeks_before: 9", 1)
    with pytest.raises(CatalogueError, match=r"decoy\.weeks_before"):
        parse_catalogue(early)


def test_paging_upstream_restores_the_label_delay() -> None:
    spec, knobs = CATALOGUE.drill("label_delay"), CATALOGUE.settings
    scenario = drill_scenario(spec, knobs, 0, 2, (declared(4, "page_upstream", "label_delay"),))
    changes = [e for e in scenario.world if isinstance(e, LabelDelayChange)]
    assert [(c.start_week, c.delay_weeks) for c in changes] == [
        (2, 8),
        (4 + knobs.upstream_fix_weeks, knobs.label_delay_weeks),
    ]


def test_scaling_redeploys_a_stale_replica() -> None:
    spec, knobs = CATALOGUE.drill("mixed_versions"), CATALOGUE.settings
    (replica,) = drill_scenario(spec, knobs, 0, 4, (declared(6, "scale"),)).faults
    assert isinstance(replica, StaleReplica)
    assert replica.end_week == 5
    (untouched,) = drill_scenario(spec, knobs, 0, 4, (declared(6, "roll_back"),)).faults
    assert untouched.end_week is None


def test_a_bad_declaration_names_its_field() -> None:
    with pytest.raises(DrillError, match=r"^response: unknown 'reboot'"):
        make_declaration(3, "latency", "heavy_model", "reboot")
    with pytest.raises(DrillError, match=r"^signal: unknown"):
        make_declaration(3, "vibes", "heavy_model", "roll_back")
    with pytest.raises(DrillError, match=r"^root_cause: unknown"):
        make_declaration(3, "latency", "gremlins", "roll_back")


def test_a_broken_catalogue_is_refused_with_its_field() -> None:
    text = (ROOT / "simulator" / "drills.yml").read_text()
    broken = text.replace("best: page_upstream", "best: reboot", 1)
    with pytest.raises(CatalogueError, match=r"drills\.null_flood\.best"):
        parse_catalogue(broken)
    with pytest.raises(CatalogueError, match="not valid YAML"):
        parse_catalogue("drills: [")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_lists_the_drills() -> None:
    listed = cli("list")
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == list(CATALOGUE.drills)


def test_cli_refuses_an_unknown_response_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "actions.yml"
    path.write_text("- {week: 5, signal: latency, root_cause: bad_model, response: reboot}")
    refused = cli("play", "bad_model", "--actions", str(path), "--state-dir", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.startswith("error: actions.0.response: unknown 'reboot'")
    assert len(refused.stderr.strip().splitlines()) == 1  # no traceback


@pytest.mark.parametrize(
    ("scenario", "actions", "field"),
    [
        ("no_such", "[]", "scenario: no drill 'no_such'"),
        ("bad_model", "- {week: 3, signal: latency", "--actions:"),
        (
            "bad_model",
            "- {week: 5, signal: latency, root_cause: bad_model, response: reboot}",
            "actions.0.response: unknown 'reboot'",
        ),
        (
            "bad_model",
            "- {week: -1, signal: latency, root_cause: bad_model, response: roll_back}",
            "actions.0.week:",
        ),
        ("bad_model", "- {week: 5, signal: latency}", "actions.0.root_cause:"),
        ("bad_model", "week: 5", "actions: expected a list"),
    ],
)
def test_cli_refuses_bad_input_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: str, actions: str, field: str
) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(actions)
    code = main(["play", scenario, "--actions", str(path), "--state-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {field}")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "simulator").exists()  # refused before anything ran


def test_cli_refuses_a_missing_actions_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["play", "bad_model", "--actions", str(tmp_path / "none.yml")])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: --actions: no file")
