"""The Drill page's dashboards: what the system showed for each week played so far.

Everything comes from ``simulator.dashboard`` (the drill's own run files, never the hidden
scenario). Model health sits next to service health on purpose: a drill's incident often
answers 200 OK with wrong predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import altair as alt
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components
from streamlit.delta_generator import DeltaGenerator

from phase4_monitoring.params import load_monitoring_params
from simulator.dashboard import HISTOGRAM_BINS, Dashboard, WeekPanel, dashboard, write_evidently
from simulator.records import DrillRecord

TOP_DRIFTING = 5  # features drawn in the PSI chart: those that moved most
REPORT_HEIGHT_PX = 700


def _by_week(board: Dashboard, columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({label: board.series(name) for name, label in columns.items()})
    frame.index = pd.Index([panel.week for panel in board.weeks], name="week")
    return frame.astype(float)


def padded(
    values: pd.DataFrame,
    floor: float | None = None,
    ceiling: float | None = None,
    pad: float = 0.1,
    least: float = 0.0,
) -> tuple[float, float]:
    """An axis range around the data, a share ``pad`` of its span wider on each side (at least
    ``least`` wide), clipped to ``floor`` and ``ceiling``: a chart shows the movement, not 0..1."""
    data = values.to_numpy(dtype=float).ravel()
    data = data[~pd.isna(data)]
    if len(data) == 0:
        return (floor or 0.0, ceiling or 1.0)
    low, high = float(data.min()), float(data.max())
    span = max(high - low, least)
    low, high = low - pad * span, high + pad * span
    if high - low < least:
        middle = (low + high) / 2
        low, high = middle - least / 2, middle + least / 2
    if floor is not None:
        low = max(low, floor)
    if ceiling is not None:
        high = min(high, ceiling)
    return low, high


def chart(
    frame: pd.DataFrame,
    y_title: str,
    domain: tuple[float, float],
    y_format: str = "",
    kind: str = "line",
    rule: float | None = None,
) -> alt.LayerChart | alt.Chart:
    """A chart of ``frame`` (weeks down the index, one series a column) with both axis titles,
    the y range given, and an optional horizontal ``rule`` (a threshold)."""
    x_name = str(frame.index.name or "week")
    long = frame.reset_index().melt(id_vars=[x_name], var_name="series", value_name="value")
    y_axis = alt.Axis(title=y_title, format=y_format) if y_format else alt.Axis(title=y_title)
    y = alt.Y("value:Q", axis=y_axis, scale=alt.Scale(domain=list(domain), zero=False))
    color = alt.Color("series:N", legend=alt.Legend(title=None, orient="bottom"))
    if kind == "bar":
        x = alt.X(f"{x_name}:O", axis=alt.Axis(title=x_name, labelAngle=0))
        body = cast(
            alt.Chart,
            alt.Chart(long).mark_bar().encode(x=x, y=y, color=color, xOffset="series:N"),
        )
    else:
        x = alt.X(f"{x_name}:Q", axis=alt.Axis(title=x_name, tickMinStep=1, format="d"))
        body = cast(alt.Chart, alt.Chart(long).mark_line(point=True).encode(x=x, y=y, color=color))
    if rule is None:
        return body
    line = alt.Chart(pd.DataFrame({"value": [rule]})).mark_rule(strokeDash=[4, 4])
    return cast(alt.LayerChart, alt.layer(body, line.encode(y="value:Q")))


def _show(
    title: str, drawn: alt.LayerChart | alt.Chart, where: DeltaGenerator | None = None
) -> None:
    """A chart under its title, in ``where`` (a column) or the page."""
    target = where if where is not None else st.container()
    target.markdown(f"**{title}**")
    target.altair_chart(drawn, width="stretch")


def _service(board: Dashboard) -> None:
    left, right = st.columns(2)
    latency = _by_week(board, {"latency_ms_per_call": "ms per call"})
    _show("Latency", chart(latency, "ms per call", padded(latency, floor=0.0, least=5.0)), left)
    errors = _by_week(board, {"error_rate": "share not scored"})
    _show(
        "Error rate (customers not scored)",
        chart(errors, "share of the week's customers", (0.0, 1.0), y_format="%"),
        right,
    )
    served = pd.DataFrame([panel.served_by for panel in board.weeks]).fillna(0)
    if not served.empty:
        served.index = pd.Index([panel.week for panel in board.weeks], name="week")
        most = float(served.sum(axis=1).max()) or 1.0
        _show(
            "Customers served, by model version",
            chart(served, "customers", (0.0, most * 1.05), kind="bar"),
        )


def _predictions(board: Dashboard) -> None:
    mean = _by_week(board, {"mean_score": "mean predicted churn"})
    _show(
        "Mean predicted churn probability",
        chart(mean, "probability", padded(mean, 0.0, 1.0, least=0.05), y_format=".2f"),
    )
    first, last = board.weeks[0], board.weeks[-1]
    edges = [round(i / HISTOGRAM_BINS, 1) for i in range(HISTOGRAM_BINS)]
    shares = {
        f"week {panel.week}": panel.score_histogram
        for panel in (first, last)
        if len(panel.score_histogram) == HISTOGRAM_BINS
    }
    if shares:
        frame = pd.DataFrame(shares, index=pd.Index(edges, name="predicted churn from"))
        _show(
            "Distribution of predicted churn",
            chart(
                frame,
                "share of customers",
                (0.0, float(frame.max().max()) * 1.1 or 1.0),
                y_format="%",
                kind="bar",
            ),
        )


def _drift(board: Dashboard) -> None:
    psi = pd.DataFrame([panel.feature_psi for panel in board.weeks])
    if psi.empty:
        st.caption("No drift check has run yet.")
        return
    psi.index = pd.Index([panel.week for panel in board.weeks], name="week")
    top = psi.max().sort_values(ascending=False).index[:TOP_DRIFTING]
    threshold = load_monitoring_params().drift.psi
    top_value = max(float(psi[top].max().max()), threshold) * 1.15
    _show(
        f"PSI of the {len(top)} features that moved most (dashed: the alert threshold)",
        chart(psi[top], "PSI against the reference", (0.0, top_value), rule=threshold),
    )
    drifted = {panel.week: ", ".join(panel.drifted_features) for panel in board.weeks}
    flagged = {week: names for week, names in drifted.items() if names}
    if flagged:
        st.markdown("**Drifted features, by week**")
        st.table(pd.DataFrame({"week": list(flagged), "drifted": list(flagged.values())}))
    with st.expander("PSI of every feature"):
        st.dataframe(psi.T.round(3), width="stretch")


def _quality(board: Dashboard) -> None:
    quality = _by_week(board, {"cbpe_auc": "estimated (CBPE)", "realized_auc": "realized"})
    refuted = next((p for p in board.weeks if p.cbpe_refuted), None)
    if refuted is not None:
        st.warning(f"From week {refuted.week}: {refuted.cbpe_refuted}")
    bands = [panel.cbpe_band for panel in board.weeks]
    quality["CBPE band low"] = [band[0] if band else None for band in bands]
    quality["CBPE band high"] = [band[1] if band else None for band in bands]
    quality = quality.astype(float)
    _show(
        "ROC AUC: estimated from scores, realized from late labels",
        chart(quality, "ROC AUC", padded(quality, 0.0, 1.0, least=0.1), y_format=".2f"),
    )
    st.caption("Realized AUC appears once a week's labels arrive, a week or more later.")
    value = _by_week(board, {"value_usd": "net value"})
    if value.notna().any().any():
        low, high = padded(value, least=1000.0)
        _show(
            "Business value of the retention campaign (once labels arrive)",
            chart(
                value,
                "net value (USD)",
                (min(low, 0.0), max(high, 0.0)),
                y_format="$,.0f",
                kind="bar",
            ),
        )


def _alerts(board: Dashboard) -> None:
    rows = [
        {"week": panel.week, "signal": signal.replace("_", " "), "what fired": detail}
        for panel in board.weeks
        for signal, detail in panel.alerts.items()
    ]
    st.markdown("**Alerts**")
    if rows:
        st.table(pd.DataFrame(rows))
    else:
        st.caption("No signal has fired in the weeks played.")
    last = board.weeks[-1]
    if last.advice:
        st.markdown(
            f"**Trigger policy, week {last.week}** (advice only: you are on call): "
            f"{advice_text(last.advice)}"
        )
    with st.expander("What the system did, week by week"):
        for panel in board.weeks:
            st.markdown(f"week {panel.week}: " + ("; ".join(panel.events) or "nothing logged"))


def advice_text(summary: str) -> str:
    """The advice without the words the heading already says ("the trigger policy advises")."""
    prefix = "the trigger policy advises "
    return summary[len(prefix) :] if summary.startswith(prefix) else summary


def _one_week(board: Dashboard) -> None:
    """One week played: its numbers (a chart of one point says nothing)."""
    panel = board.weeks[0]
    st.caption("One week played: the charts start with the second week. Week 0's numbers:")
    cells = st.columns(4)
    latency = panel.latency_ms_per_call
    cells[0].metric("latency", "n/a" if latency is None else f"{latency:.0f} ms per call")
    errors = panel.error_rate
    cells[1].metric("not scored", "n/a" if errors is None else f"{errors:.0%}")
    mean = panel.mean_score
    cells[2].metric("mean predicted churn", "n/a" if mean is None else f"{mean:.2f}")
    estimated = "n/a" if panel.cbpe_auc is None else f"{panel.cbpe_auc:.3f}"
    if panel.cbpe_refuted and panel.cbpe_auc is not None:
        estimated += " (refuted)"
    cells[3].metric("estimated AUC", estimated, help=panel.cbpe_refuted)
    _alerts(board)


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
    if len(board.weeks) == 1:
        _one_week(board)
        return
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
