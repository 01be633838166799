"""The Drill page's dashboards: what the system showed for each week played so far.

Everything comes from ``simulator.dashboard`` (the drill's own run files, never the hidden
scenario). Model health sits next to service health on purpose: a drill's incident often
answers 200 OK with wrong predictions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from simulator.dashboard import HISTOGRAM_BINS, Dashboard, WeekPanel, dashboard, write_evidently
from simulator.records import DrillRecord

TOP_DRIFTING = 5  # features drawn in the PSI chart: those that moved most
REPORT_HEIGHT_PX = 700


def _by_week(board: Dashboard, columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({label: board.series(name) for name, label in columns.items()})
    frame.index = pd.Index([panel.week for panel in board.weeks], name="week")
    return frame.astype(float)


def _service(board: Dashboard) -> None:
    left, right = st.columns(2)
    left.markdown("**Latency (ms per call)**")
    left.line_chart(_by_week(board, {"latency_ms_per_call": "ms per call"}))
    right.markdown("**Error rate (share of customers not scored)**")
    right.line_chart(_by_week(board, {"error_rate": "error rate"}))
    served = pd.DataFrame([panel.served_by for panel in board.weeks]).fillna(0)
    if not served.empty:
        served.index = pd.Index([panel.week for panel in board.weeks], name="week")
        st.markdown("**Customers served, by model version**")
        st.bar_chart(served)


def _predictions(board: Dashboard) -> None:
    st.markdown("**Mean predicted churn probability**")
    st.line_chart(_by_week(board, {"mean_score": "mean score"}))
    first, last = board.weeks[0], board.weeks[-1]
    edges = [f"{i / HISTOGRAM_BINS:.1f}" for i in range(HISTOGRAM_BINS)]
    shares = {
        f"week {panel.week}": panel.score_histogram
        for panel in (first, last)
        if len(panel.score_histogram) == HISTOGRAM_BINS
    }
    if shares:
        st.markdown("**Distribution of predicted churn (share of customers per bin)**")
        st.bar_chart(pd.DataFrame(shares, index=pd.Index(edges, name="score from")), stack=False)


def _drift(board: Dashboard) -> None:
    psi = pd.DataFrame([panel.feature_psi for panel in board.weeks])
    if psi.empty:
        st.caption("No drift check has run yet.")
        return
    psi.index = pd.Index([panel.week for panel in board.weeks], name="week")
    top = psi.max().sort_values(ascending=False).index[:TOP_DRIFTING]
    st.markdown(f"**PSI of the {len(top)} features that moved most**")
    st.line_chart(psi[top])
    drifted = {panel.week: ", ".join(panel.drifted_features) for panel in board.weeks}
    flagged = {week: names for week, names in drifted.items() if names}
    if flagged:
        st.markdown("**Drifted features, by week**")
        st.dataframe(
            pd.DataFrame({"week": list(flagged), "drifted": list(flagged.values())}),
            hide_index=True,
        )
    with st.expander("PSI of every feature"):
        st.dataframe(psi.T.round(3), width="stretch")


def _quality(board: Dashboard) -> None:
    quality = _by_week(board, {"cbpe_auc": "estimated AUC (CBPE)", "realized_auc": "realized AUC"})
    bands = [panel.cbpe_band for panel in board.weeks]
    quality["CBPE band low"] = [band[0] if band else None for band in bands]
    quality["CBPE band high"] = [band[1] if band else None for band in bands]
    st.markdown("**Estimated (from scores) and realized (from late labels) ROC AUC**")
    st.line_chart(quality.astype(float))
    st.caption("Realized AUC appears once a week's labels arrive, a week or more later.")
    st.markdown("**Business value of the retention campaign (USD, once labels arrive)**")
    st.bar_chart(_by_week(board, {"value_usd": "net value (USD)"}))


def _alerts(board: Dashboard) -> None:
    rows = [
        {"week": panel.week, "signal": signal.replace("_", " "), "what fired": detail}
        for panel in board.weeks
        for signal, detail in panel.alerts.items()
    ]
    st.markdown("**Alerts**")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("No signal has fired in the weeks played.")
    last = board.weeks[-1]
    if last.advice:
        st.markdown(f"**The trigger policy would:** {last.advice}")
    with st.expander("What the system did, week by week"):
        for panel in board.weeks:
            st.markdown(f"week {panel.week}: " + ("; ".join(panel.events) or "nothing logged"))


def _evidently(record: DrillRecord, panels: tuple[WeekPanel, ...]) -> None:
    st.markdown("**Evidently report of a week** (written on demand; it takes a few seconds)")
    week = st.selectbox("Week", [panel.week for panel in panels], index=len(panels) - 1)
    panel = next(panel for panel in panels if panel.week == week)
    html = Path(panel.evidently_html) if panel.evidently_html else None
    if html is None and st.button(f"Write the Evidently report of week {week}"):
        with st.spinner("Running Evidently..."):
            try:
                html = write_evidently(record, week)
            except ValueError as error:
                st.error(str(error))
                return
    if html is None or not html.is_file():
        return
    st.caption(f"report: {html}")
    text = html.read_text()
    st.download_button("Open the report (HTML)", text, file_name=html.name, mime="text/html")
    if st.toggle("Show the report here"):
        components.html(text, height=REPORT_HEIGHT_PX, scrolling=True)


@st.cache_data(max_entries=16, show_spinner="Reading the week's dashboards...")
def _board(record_json: str) -> Dashboard:
    """The dashboards of a drill as it stands; the record's JSON is the cache key, so a new week
    or a declaration reads them again, and a rerun of the page does not."""
    return dashboard(DrillRecord.model_validate_json(record_json))


def show_dashboards(record: DrillRecord) -> None:
    """The dashboards of every week played so far (nothing before the first week)."""
    if record.week == 0:
        st.caption("No week played yet: advance one to see the dashboards.")
        return
    board = _board(record.model_dump_json())
    service, predictions, drift, quality, alerts, report = st.tabs(
        ["Service", "Predictions", "Drift", "Quality and value", "Alerts", "Evidently"]
    )
    with service:
        _service(board)
    with predictions:
        _predictions(board)
    with drift:
        _drift(board)
    with quality:
        _quality(board)
    with alerts:
        _alerts(board)
    with report:
        _evidently(record, board.weeks)
