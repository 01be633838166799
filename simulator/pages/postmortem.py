"""Postmortem: after a drill, the form pre-filled from its event log; render, save, review.

The form opens with the saved version of the drill's postmortem when there is one, else with
what the system can fill from the drill's record and event log. Saving renders the Markdown,
writes it (and the form as JSON) under ``<state>/simulator/postmortems/`` and reviews it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from simulator.pages.common import current_drill, set_current_drill, simulator_paths
from simulator.postmortem import (
    ActionItem,
    Postmortem,
    render_postmortem,
    saved_postmortem,
    write_postmortem,
)
from simulator.postmortem_prefill import prefill_postmortem
from simulator.record_facts import facts_of
from simulator.records import DrillRecord, SimulatorPaths
from simulator.review import review_postmortem

# The form's free-text fields, in the order a postmortem reads; label, and whether it is long.
TEXT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("title", "Title", False),
    ("summary", "Summary", True),
    ("impact", "Impact (who, how long, how much)", True),
    ("root_causes", "Root causes (the mechanism, and why no safeguard caught it)", True),
    ("trigger", "Trigger", False),
    ("detection", "Detection", True),
    ("detection_latency", "Detection latency", False),
    ("resolution", "Resolution", True),
    ("model_version", "Model versions", False),
    ("rollback_path", "Rollback path", False),
    ("data_window", "Training data window", False),
    ("drift_test", "Drift test", False),
    ("feature_schema_diff", "Feature and schema changes", True),
    ("skew_check", "Training-serving skew check", False),
    ("label_delay", "Label delay", False),
    ("went_well", "What went well", True),
    ("went_wrong", "What went wrong", True),
    ("got_lucky", "Where we got lucky", True),
)
ACTION_COLUMNS = ["description", "kind", "owner"]


def _pick_drill(paths: SimulatorPaths, finished: list[DrillRecord]) -> DrillRecord:
    current = current_drill(paths)
    ids = [record.drill_id for record in finished]
    start = ids.index(current.drill_id) if current and current.drill_id in ids else len(ids) - 1
    chosen = st.selectbox(
        "Drill",
        ids,
        index=start,
        format_func=lambda drill_id: f"{drill_id}: {finished[ids.index(drill_id)].title}",
    )
    record = finished[ids.index(chosen)]
    if current is None or current.drill_id != record.drill_id:
        set_current_drill(paths, record.drill_id)
    return record


def _actions_frame(postmortem: Postmortem) -> pd.DataFrame:
    rows = [item.model_dump() for item in postmortem.action_items]
    return pd.DataFrame(rows, columns=ACTION_COLUMNS)


def _actions_from(frame: pd.DataFrame) -> tuple[ActionItem, ...]:
    items = []
    for index, row in enumerate(frame.to_dict("records"), start=1):
        description = str(row.get("description") or "").strip()
        if not description:
            continue  # an empty row the editor added
        kind = str(row.get("kind") or "")
        if kind not in ("mitigate", "prevent"):
            raise ValueError(f"action_items.{index}.kind: choose mitigate or prevent")
        owner = str(row.get("owner") or "")
        items.append(
            ActionItem.model_validate({"description": description, "kind": kind, "owner": owner})
        )
    return tuple(items)


def _form(record: DrillRecord, start: Postmortem) -> Postmortem | None:
    """The edited postmortem once the user saves it; None until then (or when it is invalid)."""
    key = record.drill_id
    with st.form(f"postmortem-{key}"):
        values: dict[str, str] = {}
        for field, label, long in TEXT_FIELDS:
            default = str(getattr(start, field))
            widget = st.text_area if long else st.text_input
            values[field] = widget(label, value=default, key=f"pm-{key}-{field}")
        st.markdown("**Action items**")
        actions = st.data_editor(
            _actions_frame(start),
            num_rows="dynamic",
            column_config={
                "kind": st.column_config.SelectboxColumn(options=["mitigate", "prevent"]),
            },
            key=f"pm-{key}-actions",
            width="stretch",
        )
        saved = st.form_submit_button("Save and review", type="primary")
    if not saved:
        return None
    try:
        items = _actions_from(actions)
        return start.model_copy(update={**values, "action_items": items})
    except (ValueError, ValidationError) as error:
        st.error(str(error).splitlines()[0])
        return None


def _review(postmortem: Postmortem, record: DrillRecord) -> None:
    review = review_postmortem(postmortem, facts_of(record))
    st.metric("Review score", f"{review.score:g} / 100")
    st.caption(
        f"{review.completeness:.0%} complete x {review.accuracy:.0%} of the facts it states"
        " match the drill's record"
    )
    if review.missing:
        st.markdown("**What is missing**")
        for missing in review.missing:
            st.markdown(f"- {missing}")
    else:
        st.success("Nothing missing: every review check passed.")
    checks = pd.DataFrame(
        {
            "question": [check.question for check in review.checks],
            "check": [check.name for check in review.checks],
            "kind": [check.kind for check in review.checks],
            "passed": [check.passed for check in review.checks],
        }
    )
    with st.expander("Every review check"):
        st.dataframe(checks, hide_index=True, width="stretch")


def render() -> None:
    st.title("Postmortem")
    paths = simulator_paths()
    finished = [record for record in paths.drills() if record.finished]
    if not finished:
        st.info("No finished drill yet: play one to its score on the Drill page.")
        return
    record = _pick_drill(paths, finished)
    saved = saved_postmortem(paths, record.drill_id)
    start = saved or prefill_postmortem(record)
    st.caption(
        "Opened from your saved postmortem."
        if saved
        else "Pre-filled from the drill's record and event log; the judgement is yours to write."
    )
    if start.timeline:
        with st.expander(f"Timeline from the event log ({len(start.timeline)} entries)"):
            st.dataframe(
                pd.DataFrame([entry.model_dump() for entry in start.timeline]),
                hide_index=True,
                width="stretch",
            )
    edited = _form(record, start)
    if edited is not None:
        files = write_postmortem(edited, paths)
        st.success(f"Saved {files[0]}")
        start = edited
    markdown = render_postmortem(start)
    _review(start, record)
    with st.expander("Rendered Markdown", expanded=edited is not None):
        st.markdown(markdown)
    st.download_button(
        "Download the Markdown", markdown, file_name=f"{record.drill_id}-postmortem.md"
    )


if __name__ == "__main__":
    render()
