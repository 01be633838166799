"""Drill: a hidden incident in the real capstone system, played week by week.

Start a drill (the scenario can stay hidden), advance it a week at a time while watching the
dashboards, declare an incident (the signal you saw, the cause you diagnose, your response),
and at the end see the score, part by part, and the debrief. The drill lives on disk
(``simulator.engine``); the page keeps only its id, in the URL and in the "current" file.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

import pandas as pd
import streamlit as st

from simulator import engine
from simulator.drills import DrillSpec
from simulator.pages.common import (
    current_drill,
    forget_current_drill,
    set_current_drill,
    simulator_paths,
)
from simulator.pages.drill_dashboards import show_dashboards
from simulator.records import RESPONSES, DrillRecord, SimulatorPaths

HIDDEN = "(hidden: a random incident, or none)"


def _label(text: str) -> str:
    return text.replace("_", " ")


def _safely(what: str, action: Callable[..., DrillRecord], *args: object) -> bool:
    """Run an engine action; a failure is one line on the page (the drill on disk is intact:
    a week is saved only once it is played, so the same button tries it again)."""
    try:
        action(*args)
    except Exception as error:  # the page's boundary: the user sees a line, never a traceback
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        st.error(f"{what}: {type(error).__name__}: {first}")
        return False
    return True


def hidden_scenario(specs: list[DrillSpec], seed: int | None) -> str:
    """The scenario of a hidden drill: drawn from the seed when one is given (the same seed
    replays the same drill), else at random."""
    if seed is None:
        return secrets.choice(specs).name
    return random.Random(f"hidden:{seed}").choice(specs).name


def _start(paths: SimulatorPaths, specs: list[DrillSpec]) -> None:
    st.subheader("Start a drill")
    names = [HIDDEN] + [spec.name for spec in specs]
    titles = {spec.name: spec.title for spec in specs}
    with st.form("start"):
        choice = st.selectbox(
            "Scenario",
            names,
            format_func=lambda name: name if name == HIDDEN else f"{name}: {titles[name]}",
            help="A hidden scenario is the real drill: you find out what it was at the end.",
        )
        seed_text = st.text_input("Seed (optional, to replay a drill)", value="")
        started = st.form_submit_button("Start the drill", type="primary")
    if not started:
        return
    seed_text = seed_text.strip()
    if seed_text and not seed_text.isdigit():
        st.error(f"seed: must be a whole number of 0 or more, got {seed_text!r}")
        return
    seed = int(seed_text) if seed_text else None
    scenario = hidden_scenario(specs, seed) if choice == HIDDEN else choice
    with st.spinner("Starting the system: training and serving its first champion..."):
        try:
            record = engine.start_drill(scenario, seed=seed)
        except Exception as error:  # one line on the page, never a traceback
            st.error(f"start: {type(error).__name__}: {str(error).strip().splitlines()[0]}")
            return
    set_current_drill(paths, record.drill_id)
    st.rerun()


def _declare(record: DrillRecord) -> None:
    """The declaration form; every choice starts empty, so nothing is declared by default."""
    signals = engine.signal_choices()
    causes = engine.root_cause_choices()
    with st.form("declare"):
        st.markdown("**Declare an incident** (it acts from the next week played)")
        signal = st.selectbox(
            "Signal",
            list(signals),
            index=None,
            placeholder="the signal you saw",
            format_func=lambda name: f"{_label(name)}: {signals[name]}",
        )
        cause = st.selectbox(
            "Root cause",
            list(causes),
            index=None,
            placeholder="the cause you diagnose",
            format_func=lambda name: f"{_label(name)}: {causes[name]}",
        )
        response = st.selectbox(
            "Response",
            list(RESPONSES),
            index=None,
            placeholder="what you do",
            format_func=_label,
        )
        note = st.text_input("Note (optional)")
        declared = st.form_submit_button("Declare")
    if not declared:
        return
    if signal is None or cause is None or response is None:
        empty = "signal" if signal is None else "root cause" if cause is None else "response"
        st.error(f"{empty}: choose one before declaring")
        return
    try:
        engine.declare(record.drill_id, signal, cause, response, note)
    except engine.DrillError as error:
        st.error(str(error))
        return
    st.rerun()


def _playing(record: DrillRecord) -> None:
    st.subheader(f"Week {record.week} of {record.weeks}")
    st.progress(record.week / record.weeks)
    advance, finish = st.columns(2)
    if advance.button("Advance one week", type="primary", width="stretch"):
        with st.spinner(f"Playing week {record.week + 1}..."):
            played = _safely(f"week {record.week + 1}", engine.advance, record.drill_id, 1)
        if played:
            st.rerun()
    if finish.button("Play to the end and score", width="stretch"):
        with st.spinner("Playing the remaining weeks, then scoring..."):
            scored = _safely("finish", engine.finish, record.drill_id)
        if scored:
            st.rerun()
    if record.declarations:
        st.table(
            pd.DataFrame(
                {
                    "week": [d.week for d in record.declarations],
                    "signal": [_label(d.signal) for d in record.declarations],
                    "root cause": [_label(d.root_cause) for d in record.declarations],
                    "response": [_label(d.response) for d in record.declarations],
                    "note": [d.note for d in record.declarations],
                }
            ).set_index("week")
        )
    _declare(record)
    show_dashboards(record)


def _finished(paths: SimulatorPaths, record: DrillRecord, specs: list[DrillSpec]) -> None:
    spec = next((spec for spec in specs if spec.name == record.scenario), None)
    st.subheader(f"Scenario: {record.title}")
    st.write(f"The incident began in week {record.inject_week}.")
    if spec is not None:
        st.info(spec.lesson)
    if record.score is not None:
        st.metric("Score", f"{record.score.total:g} / {record.score.max_total:g}")
        st.table(
            pd.DataFrame(
                {
                    "part": [_label(part.name) for part in record.score.parts],
                    "points": [
                        f"{part.points:g} / {part.max_points:g}" for part in record.score.parts
                    ],
                    "why": [part.explanation for part in record.score.parts],
                }
            ).set_index("part")
        )
    st.markdown("**Debrief: the signals, and the first week each fired after the injection**")
    if spec is not None:
        st.markdown(f"*What told it apart:* {spec.tell}")
    st.table(
        pd.DataFrame(
            {
                "signal": [_label(s.signal) for s in record.debrief],
                "first week": [
                    str(s.first_week) if s.first_week is not None else "never"
                    for s in record.debrief
                ],
                "detail": [s.detail for s in record.debrief],
            }
        ).set_index("signal")
    )
    st.page_link("pages/postmortem.py", label="Write the postmortem", icon=":material/description:")
    show_dashboards(record)
    if st.button("Start another drill"):
        forget_current_drill(paths)
        st.rerun()


def render() -> None:
    st.title("Drill")
    paths = simulator_paths()
    specs = engine.list_drills()
    record = current_drill(paths)
    if record is None:
        _start(paths, specs)
    elif record.finished:
        _finished(paths, record, specs)
    else:
        # the id names no scenario (engine.start_drill): a hidden drill stays hidden
        st.caption(f"drill {record.drill_id}, seed {record.seed}")
        _playing(record)


if __name__ == "__main__":
    render()
