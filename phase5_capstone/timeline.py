"""A self-contained HTML timeline of a run, drawn from its event log alone.

Four panels share the week axis: realized ROC AUC (as labels arrive) beside the CBPE estimate
made when the week was scored; the largest feature drift (PSI) and the predicted churn rate;
the campaign's net value under the serving model beside the previous champion's on the same
customers. Vertical lines mark promotions, rollbacks, guardrail stops, rejections, quarantines
and monitor alerts. The figure is a PNG inside the page: one file, nothing to fetch.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from matplotlib.figure import Figure

from phase5_capstone.events import Event
from phase5_capstone.summary import summary_table

MARKERS = {
    "promoted": ("tab:green", "promoted"),
    "rolled_back": ("tab:red", "rolled back"),
    "guardrail_rollback": ("tab:red", "guardrail stop"),
    "candidate_rejected": ("tab:orange", "rejected"),
    "quarantined": ("tab:purple", "quarantined"),
}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _series(events: list[Event]) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = {
        k: [] for k in ("realized", "estimated", "psi", "churn", "served", "previous")
    }
    for event in events:
        evidence = event.evidence
        if event.kind == "labels_arrived" and isinstance(evidence.get("quality"), dict):
            week = int(_number(evidence["event_week"]) or 0)
            quality = evidence["quality"]
            metrics = quality.get("metrics") if isinstance(quality, dict) else None
            auc = _number(metrics.get("roc_auc")) if isinstance(metrics, dict) else None
            if auc is not None:
                series["realized"].append((week, auc))
            value = evidence.get("business_value")
            if isinstance(value, dict):
                for key, name in (("served_usd", "served"), ("previous_usd", "previous")):
                    amount = _number(value.get(key))
                    if amount is not None:
                        series[name].append((week, amount))
        elif event.kind == "monitored":
            cbpe = evidence.get("cbpe")
            estimate = _number(cbpe.get("roc_auc")) if isinstance(cbpe, dict) else None
            if estimate is not None:
                series["estimated"].append((event.week, estimate))
            psi = _number(evidence.get("max_feature_psi"))
            if psi is not None:
                series["psi"].append((event.week, psi))
        elif event.kind == "scored":
            rate = _number(evidence.get("predicted_churn_rate"))
            if rate is not None:
                series["churn"].append((event.week, rate))
    return series


def _plot(axis: object, points: list[tuple[int, float]], **style: object) -> None:
    if points:
        weeks, values = zip(*sorted(points), strict=True)
        axis.plot(weeks, values, marker="o", markersize=3, **style)  # type: ignore[attr-defined]


def draw(events: list[Event]) -> bytes:
    series = _series(events)
    figure = Figure(figsize=(11, 10))
    axes = figure.subplots(4, 1, sharex=True)
    _plot(axes[0], series["realized"], label="realized ROC AUC (labels, by event week)")
    _plot(axes[0], series["estimated"], label="CBPE estimate (at scoring)", linestyle="--")
    axes[0].set_ylabel("ROC AUC")
    _plot(axes[1], series["psi"], label="largest feature PSI", color="tab:brown")
    axes[1].set_ylabel("drift (PSI)")
    _plot(axes[2], series["churn"], label="mean predicted churn", color="tab:cyan")
    axes[2].set_ylabel("churn rate")
    _plot(axes[3], series["served"], label="net value, serving model (USD)")
    _plot(axes[3], series["previous"], label="previous champion, same customers", linestyle="--")
    axes[3].set_ylabel("USD / week")
    axes[3].set_xlabel("week")
    alerts = sorted(
        {e.week for e in events if e.kind == "monitored" and e.evidence.get("verdict") == "alert"}
    )
    for axis in axes:
        for week in alerts:
            axis.axvspan(week - 0.5, week + 0.5, color="gold", alpha=0.12, linewidth=0)
        for event in events:
            if event.kind in MARKERS:
                color, _ = MARKERS[event.kind]
                axis.axvline(event.week, color=color, alpha=0.7, linewidth=1.2)
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower left", fontsize=8)
    axes[3].legend(loc="lower left", fontsize=8)
    labels = ", ".join(
        f"{label} ({color.removeprefix('tab:')})" for color, label in MARKERS.values()
    )
    figure.suptitle(f"lines: {labels}; shaded: monitor alert", fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def render_html(events: list[Event], title: str) -> str:
    image = base64.b64encode(draw(events)).decode()
    rows = "\n".join(
        f"<tr><td>{e.week}</td><td>{html.escape(e.step)}</td><td>{html.escape(e.kind)}</td>"
        f"<td>{html.escape(e.model_version or '')}</td><td>{html.escape(e.summary)}</td></tr>"
        for e in events
        if e.kind not in ("ingested", "scored", "monitored")
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 8px;vertical-align:top;"
        "border-bottom:1px solid #ddd;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><img alt='timeline' src='data:image/png;base64,{image}'>"
        f"<h2>Week by week</h2><pre>{html.escape(summary_table(events))}</pre>"
        "<h2>Decisions</h2><table><tr><th>week</th><th>step</th><th>event</th><th>model</th>"
        f"<th>summary</th></tr>{rows}</table></body></html>"
    )


def write_timeline(events: list[Event], path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(events, title))
    return path
