"""The SRE review: a complete postmortem scores full marks; taking away any piece lowers the
score and the review names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.postmortem import ActionItem, Postmortem, TimelineEntry
from simulator.review import review_postmortem

COMPLETE = Postmortem(
    drill_id="d1",
    scenario="unit_change",
    title="Postmortem: monthly charges arrive in cents",
    date="2026-12-04",
    summary="Upstream billing sent monthlycharges in cents; the model scored everyone as churners.",
    impact="About 3,000 customers a week were mis-scored for 2 weeks, which cost $4,200 of"
    " retention budget on contacts that were not at risk.",
    root_causes="The billing export changed its unit from dollars to cents, which made every"
    " monthly charge 100 times larger and pushed scores up because the model reads high charges"
    " as churn risk. The data contract checked only that the column was numeric, not its range,"
    " so the batch was not quarantined.",
    trigger="Billing deployed a new export on week 4.",
    resolution="Rolled back to v1 and quarantined the two weeks of data.",
    detection="Feature drift on monthlycharges fired in week 4; declared in week 5.",
    action_items=(
        ActionItem(description="Add a range check to the contract", kind="prevent", owner="data"),
        ActionItem(description="Page billing on unit drift", kind="mitigate", owner="on-call"),
    ),
    went_well="The drift alert fired the first week.",
    went_wrong="The first response was a retrain on the broken data.",
    got_lucky="Labels for the week arrived quickly.",
    timeline=(TimelineEntry(week=4, kind="monitored", summary="alert: monthlycharges"),),
    model_version="v1 served; v2 was trained on broken data and rejected",
    rollback_path="v1 via make rollback",
    data_window="weeks 0-2",
    drift_test="PSI > 0.2",
    feature_schema_diff="monthlycharges x100",
    skew_check="none",
    label_delay="1 week",
    detection_latency="1 week (injected week 4, declared week 5)",
)

# what is taken away -> the words the review must use to say it is missing
REMOVALS: dict[str, tuple[dict[str, object], str]] = {
    "timeline": ({"timeline": ()}, "timeline"),
    "summary": ({"summary": ""}, "summary"),
    "trigger": ({"trigger": " "}, "trigger"),
    "detection": ({"detection": ""}, "detection"),
    "resolution": ({"resolution": ""}, "resolution"),
    "model_version": ({"model_version": ""}, "model version"),
    "data_window": ({"data_window": ""}, "data window"),
    "drift_test": ({"drift_test": ""}, "drift test"),
    "label_delay": ({"label_delay": ""}, "label delay"),
    "detection_latency": ({"detection_latency": ""}, "detection latency"),
    "who": (
        {"impact": "Mis-scored for 2 weeks, which cost $4,200 of retention budget."},
        "who was affected",
    ),
    "duration": (
        {"impact": "About 3,000 customers were mis-scored, which cost $4,200."},
        "duration",
    ),
    "dollars": (
        {"impact": "About 3,000 customers a week were mis-scored for 2 weeks."},
        "dollars",
    ),
    "mechanism": ({"root_causes": "Bad data. The contract did not check the range."}, "mechanism"),
    "why_not_caught": (
        {
            "root_causes": "The billing export changed its unit from dollars to cents, which made"
            " every monthly charge 100 times larger and pushed scores up because high charges"
            " look like churn risk."
        },
        "why it was not caught",
    ),
    "prevent": (
        {"action_items": (ActionItem(description="Page billing", kind="mitigate", owner="a"),)},
        "'prevent'",
    ),
    "mitigate": (
        {"action_items": (ActionItem(description="Range check", kind="prevent", owner="a"),)},
        "'mitigate'",
    ),
    "owner": (
        {
            "action_items": (
                ActionItem(description="Range check", kind="prevent", owner="data"),
                ActionItem(description="Page billing", kind="mitigate", owner=""),
            )
        },
        "no owner",
    ),
    "rollback_path": ({"rollback_path": ""}, "rollback path"),
    "went_well": ({"went_well": ""}, "went well"),
    "went_wrong": ({"went_wrong": ""}, "went wrong"),
    "got_lucky": ({"got_lucky": ""}, "lucky"),
}


def test_a_complete_postmortem_scores_full_marks() -> None:
    review = review_postmortem(COMPLETE)
    assert review.missing == []
    assert review.score == 100.0


@pytest.mark.parametrize("piece", sorted(REMOVALS))
def test_taking_a_piece_away_lowers_the_score_and_names_it(piece: str) -> None:
    update, words = REMOVALS[piece]
    review = review_postmortem(COMPLETE.model_copy(update=update))
    assert review.score < 100.0
    assert len(review.missing) == 1, review.missing  # only the piece taken away
    assert words in review.missing[0]


def test_an_empty_form_scores_zero_and_lists_everything() -> None:
    review = review_postmortem(Postmortem(drill_id="d", scenario="s", title="t", date="d"))
    assert review.score == 0.0
    assert len(review.missing) == len(review.checks)


def test_each_review_question_of_the_sre_book_is_asked() -> None:
    questions = {check.question for check in review_postmortem(COMPLETE).checks}
    assert {
        "Were the key data collected?",
        "Is the impact assessment complete?",
        "Is the root cause deep enough?",
        "Is the action plan appropriate?",
    } <= questions


def test_a_prefilled_form_is_not_a_finished_one(tmp_path: Path) -> None:
    from simulator.postmortem_prefill import prefill_postmortem
    from simulator.tests.postmortem_fixtures import finished_record

    review = review_postmortem(prefill_postmortem(finished_record(tmp_path)))
    assert review.score < 60  # the system fills data, the user owes the judgement
    assert any("root cause" in m for m in review.missing)
    assert not any("detection latency" in m or "timeline" in m for m in review.missing)


def test_the_self_check_passes_on_a_complete_postmortem_and_fails_on_an_incomplete_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make check-simulator`` (``python -m simulator.lesson selfcheck``) can fail, and says
    why."""
    from simulator.lesson.__main__ import main
    from simulator.postmortem import write_postmortem
    from simulator.records import SimulatorPaths

    paths = SimulatorPaths.of(tmp_path)
    assert main(["selfcheck", "--state-dir", str(tmp_path)]) == 2  # nothing written yet
    assert "no postmortem" in capsys.readouterr().out
    write_postmortem(COMPLETE, paths)
    assert main(["selfcheck", "--state-dir", str(tmp_path)]) == 0
    assert "review score 100.0 of 100" in capsys.readouterr().out
    later = COMPLETE.model_copy(update={"drill_id": "d2", "date": "2026-12-05", "impact": ""})
    write_postmortem(later, paths)  # the latest one is the one checked
    assert main(["selfcheck", "--state-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "missing: the impact does not say who was affected" in out


def test_make_check_simulator_fails_then_passes(tmp_path: Path) -> None:
    """The lesson's command as written: it fails before the postmortem is complete."""
    import os
    import subprocess

    from phase1_foundations.settings import PROJECT_ROOT
    from simulator.postmortem import write_postmortem
    from simulator.records import SimulatorPaths

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "check-simulator"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "MLOPS_STATE_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    paths = SimulatorPaths.of(tmp_path)
    write_postmortem(COMPLETE.model_copy(update={"root_causes": "The AUC dropped."}), paths)
    failed = check()
    assert failed.returncode != 0
    assert "missing: the root cause names no mechanism" in failed.stdout
    write_postmortem(COMPLETE, paths)  # the same drill's postmortem, completed
    passed = check()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "review score 100.0 of 100" in passed.stdout
