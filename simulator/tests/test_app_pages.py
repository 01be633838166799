"""The Drill, Postmortem and Interview pages through Streamlit's AppTest, on the real engine.

One short drill is played through the Drill page's own widgets (start, advance, declare, play
to the score) once for the module; the other tests read what it left on disk. Every test runs
with the module's tmp state directory set and the settings cache cleared, and only while it
runs (so no other test in the same worker sees it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from phase1_foundations.settings import PROJECT_ROOT, get_settings
from simulator.interview import load_bank, plan_mock_loop, read_attempts
from simulator.pages.common import CURRENT_FILE
from simulator.records import DrillRecord, SimulatorPaths
from simulator.tests import app_support

APP = str(PROJECT_ROOT / "simulator" / "app.py")
SCENARIO = "harmless_shift"  # a control: no harm, so the right call is to watch
SEED = str(app_support.SEED)  # the seed of the bootstrapped champion the tests share
DECLARED = ("feature_drift", "covariate_shift", "wait_and_watch")
pytestmark = pytest.mark.slow  # one real drill: a minute or more on two cores

RUN_TIMEOUT_S = 600  # a drill's start trains and serves its first champion


@dataclass(frozen=True)
class Played:
    state: Path
    record: DrillRecord
    page: AppTest


def _use_state(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    monkeypatch.setenv("MLOPS_STATE_DIR", str(state))
    get_settings.cache_clear()


def _button(app: AppTest, label: str, nth: int = 0) -> None:
    matches = [button for button in app.button if button.label == label]
    assert matches, f"no button {label!r} on the page: {[b.label for b in app.button]}"
    matches[nth].click().run(timeout=RUN_TIMEOUT_S)
    assert not app.exception, app.exception


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    state = tmp_path_factory.mktemp("app-pages") / "state"
    template = app_support.bootstrapped_state(tmp_path_factory.getbasetemp())
    app_support.seed_state(template, state)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_state(monkeypatch, state)
        app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
        assert [title.value for title in app.title] == ["Drill"]  # the default page
        app.selectbox[0].set_value(SCENARIO)
        app.text_input[0].set_value(SEED)
        _button(app, "Start the drill")
        assert app.subheader[0].value.startswith("Week 0 of ")
        _button(app, "Advance one week")
        assert app.subheader[0].value.startswith("Week 1 of ")
        for box, value in zip(app.selectbox[:3], DECLARED, strict=True):
            box.set_value(value)
        _button(app, "Declare")
        _button(app, "Play to the end and score")
        record = SimulatorPaths.of(state).drills()[0]
        assert app.query_params["drill"] == record.drill_id  # a refresh of the tab keeps it
        yield Played(state=state, record=record, page=app)
    get_settings.cache_clear()


@pytest.fixture
def state(played: Played, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _use_state(monkeypatch, played.state)
    yield played.state
    get_settings.cache_clear()


def _without_current_drill(state: Path) -> None:
    """The Drill page then shows only its start form: the cheap first run before a switch."""
    (SimulatorPaths.of(state).root / CURRENT_FILE).unlink(missing_ok=True)


def test_the_drill_page_plays_a_drill_to_its_score(played: Played) -> None:
    record, app = played.record, played.page
    assert record.scenario == SCENARIO
    assert record.seed == int(SEED)
    assert record.finished
    assert record.week == record.weeks
    declared = record.declarations[0]
    assert (declared.week, declared.signal, declared.root_cause, declared.response) == (
        1,
        *DECLARED,
    )
    assert record.score is not None
    assert app.metric[0].value == f"{record.score.total:g} / {record.score.max_total:g}"
    parts = app.table[0].value
    assert len(parts) == len(record.score.parts)  # every part, with its explanation
    assert list(parts["why"]) == [part.explanation for part in record.score.parts]
    assert app.subheader[0].value == f"Scenario: {record.title}"  # revealed at the end only
    assert len(app.tabs) == 6  # the dashboards, for the weeks played


def test_a_refresh_or_a_new_tab_finds_the_drill(played: Played, state: Path) -> None:
    in_url = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    in_url.query_params["drill"] = played.record.drill_id
    in_url.run()
    new_tab = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()  # no ?drill=
    for app in (in_url, new_tab):
        assert not app.exception
        assert app.subheader[0].value == f"Scenario: {played.record.title}"
    (SimulatorPaths.of(state).root / CURRENT_FILE).unlink()
    fresh = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    assert [button.label for button in fresh.button] == ["Start the drill"]


def test_a_bad_seed_is_a_one_line_error(state: Path) -> None:
    _without_current_drill(state)
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.text_input[0].set_value("-1x")
    _button(app, "Start the drill")
    assert [error.value for error in app.error] == [
        "seed: must be a whole number of 0 or more, got '-1x'"
    ]
    assert len(SimulatorPaths.of(state).drills()) == 1  # nothing started


def test_the_postmortem_page_saves_and_reviews(played: Played, state: Path) -> None:
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.switch_page("pages/postmortem.py").run()
    assert not app.exception
    fields = {widget.key: widget for widget in app.text_area}
    key = f"pm-{played.record.drill_id}"
    assert fields[f"{key}-detection"].value  # pre-filled from the drill
    before = app.metric[0].value
    fields[f"{key}-went_well"].set_value("The drift alert fired the week prices rose.")
    fields[f"{key}-went_wrong"].set_value("We waited two weeks for labels to confirm no harm.")
    fields[f"{key}-got_lucky"].set_value("The change did not hurt the ranking.")
    _button(app, "Save and review")
    saved = sorted(SimulatorPaths.of(state).postmortems.glob("*.md"))
    assert len(saved) == 1
    assert "The drift alert fired the week prices rose." in saved[0].read_text()
    after = app.metric[0].value
    assert float(after.split()[0]) > float(before.split()[0])  # the lessons count in the review
    reopened = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    reopened.switch_page("pages/postmortem.py").run()
    assert reopened.caption[0].value == "Opened from your saved postmortem."


def test_the_interview_page_scores_and_records_answers(state: Path) -> None:
    _without_current_drill(state)
    paths = SimulatorPaths.of(state)
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.switch_page("pages/interview.py").run()
    _button(app, "Score my answer")
    assert [error.value for error in app.error] == ["answer: write something first"]
    assert read_attempts(paths) == []  # an empty answer is not an attempt
    app.text_area[0].set_value(
        "A registry keeps every model version with its metrics, because serving must load a "
        "known version, so that a rollback moves an alias back instead of a redeploy."
    )
    _button(app, "Score my answer")
    attempts = read_attempts(paths)
    assert len(attempts) == 1
    question = load_bank().question(attempts[0].question_id)
    names = {concept.name for concept in question.concepts}
    assert set(attempts[0].covered) | set(attempts[0].missed) <= names
    assert attempts[0].covered  # the answer reasons about at least one concept
    concepts = app.table[0].value
    assert set(concepts.index) == names  # each concept, with its claim and its status
    assert app.metric[0].value == f"{attempts[0].score:g} / 100"
    # the reference answer, what an interviewer listens for, and the learner's own check
    shown = " ".join(str(block.value) for block in app.markdown)
    assert question.reference_answer[:60] in shown
    assert question.listen_for[0] in shown
    boxes = [box for box in app.checkbox if box.label in {c.claim for c in question.concepts}]
    assert len(boxes) == len(question.concepts)
    boxes[0].check()
    _button(app, "Record my self-assessment")
    assessed = read_attempts(paths)[0]
    assert assessed.self_checked == (boxes[0].label,)
    assert assessed.self_score == round(100 / len(question.concepts), 1)
    assert assessed.score == attempts[0].score  # both scores are kept


def test_the_mock_loop_resumes_from_the_url(state: Path) -> None:
    _without_current_drill(state)
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.switch_page("pages/interview.py").run()
    _button(app, "Start a mock loop")
    seed = int(app.query_params["loop"])
    count = len(plan_mock_loop(load_bank(), seed).items)  # each question, then its follow-up
    assert count == 2 * load_bank().loop.questions
    assert app.get("progress")[0].proto.text == f"question 1 of {count}"
    app.text_area[1].set_value("Drift means the inputs moved, so we compare with a reference.")
    _button(app, "Score my answer", nth=1)  # the loop's tab comes after the practice tab
    loop = [a for a in read_attempts(SimulatorPaths.of(state)) if a.loop_seed == seed]
    assert len(loop) == 1
    assert loop[0].seconds_budget == load_bank().loop.seconds_per_question
    assert [b.label for b in app.button if b.label == "Next question"]  # the answer stays shown
    refreshed = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    refreshed.query_params["loop"] = str(seed)
    refreshed.run()
    refreshed.switch_page("pages/interview.py").run()
    assert refreshed.get("progress")[0].proto.text == f"question 2 of {count}"
    assert "follow-up" in " ".join(c.value for c in refreshed.caption)  # asked after its question


def test_progress_shows_the_drill_and_the_answers(played: Played, state: Path) -> None:
    _without_current_drill(state)
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.switch_page("pages/progress.py").run()
    assert not app.exception
    drills, answers = app.dataframe[1].value, app.dataframe[2].value
    record = SimulatorPaths.of(state).drills()[0]
    assert record.score is not None
    assert list(drills["score"]) == [f"{record.score.total:g} / {record.score.max_total:g}"]
    attempts = read_attempts(SimulatorPaths.of(state))
    assert list(answers["score"]) == [attempt.score for attempt in attempts]


def _page_text(app: AppTest) -> str:
    """Every word the page shows: titles, text, captions, tables, widget labels and values."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "error"):
        texts += [str(element.value) for element in app.get(kind)]
    texts += [str(table.value.to_string()) for table in app.table]
    texts += [f"{m.label} {m.value}" for m in app.metric]
    texts += [f"{box.label} {box.value}" for box in app.selectbox]
    texts += [f"{button.label}" for button in app.button]
    return "\n".join(texts)


def test_a_hidden_drill_names_no_scenario_until_it_is_scored(state: Path) -> None:
    _without_current_drill(state)
    app = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S).run()
    app.text_input[0].set_value(SEED)  # the scenario stays the hidden default
    _button(app, "Start the drill")
    _button(app, "Advance one week")
    drill_id = app.query_params["drill"]
    record = SimulatorPaths.of(state).drills()[-1]
    assert record.drill_id == drill_id
    shown = _page_text(app) + "\n" + drill_id + "\n" + " ".join(app.query_params.values())
    for secret in (record.scenario, record.scenario.replace("_", " "), record.title):
        assert secret not in shown, f"{secret!r} shows before the drill is scored"
    # every choice of the declaration form starts empty
    assert [box.value for box in app.selectbox[:3]] == [None, None, None]
    _button(app, "Declare")
    assert [error.value for error in app.error] == ["signal: choose one before declaring"]
    assert SimulatorPaths.of(state).drills()[-1].declarations == ()
