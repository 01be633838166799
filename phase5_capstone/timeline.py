"""A self-contained HTML timeline of a run, drawn from its event log alone.

Four panels share the week axis: realized ROC AUC (as labels arrive) beside the CBPE estimate
made when the week was scored (crossed out once labels refuted it for that model) and what a
refit on current data reaches; the largest feature drift (PSI) and the predicted churn rate;
the campaign's value each week: what the served models earned beside the oracle's (the best any
model could have earned, knowing the truth) and contacting everyone. Vertical lines mark
promotions, rollbacks, guardrail stops, rejections, quarantines and monitor alerts. Legends sit
outside the panels, so none covers data. The figure is a PNG inside the page: one file, nothing
to fetch.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from phase1_foundations.files import write_atomically
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
        k: []
        for k in (
            "realized",
            "estimated",
            "refuted",
            "refit",
            "psi",
            "churn",
            "earned",
            "oracle",
            "always",
        )
    }
    refuted_from = _refuted_from(events)
    for event in events:
        evidence = event.evidence
        if event.kind == "labels_arrived" and isinstance(evidence.get("quality"), dict):
            week = int(_number(evidence["event_week"]) or 0)
            quality = evidence["quality"]
            metrics = quality.get("metrics") if isinstance(quality, dict) else None
            auc = _number(metrics.get("roc_auc")) if isinstance(metrics, dict) else None
            if auc is not None:
                series["realized"].append((week, auc))
        elif event.kind == "truth":
            for key, name in (
                ("earned_usd", "earned"),
                ("oracle_usd", "oracle"),
                ("always_usd", "always"),
                ("refit_auc", "refit"),
            ):
                amount = _number(evidence.get(key))
                if amount is not None:
                    series[name].append((event.week, amount))
        elif event.kind == "monitored":
            cbpe = evidence.get("cbpe")
            estimate = _number(cbpe.get("roc_auc")) if isinstance(cbpe, dict) else None
            if estimate is not None:
                since = refuted_from.get(str(event.model_version))
                name = "refuted" if since is not None and event.week >= since else "estimated"
                series[name].append((event.week, estimate))
            psi = _number(evidence.get("max_feature_psi"))
            if psi is not None:
                series["psi"].append((event.week, psi))
        elif event.kind == "scored":
            rate = _number(evidence.get("predicted_churn_rate"))
            if rate is not None:
                series["churn"].append((event.week, rate))
    return series


def _refuted_from(events: list[Event]) -> dict[str, int]:
    """Per model version, the first week a decision said labels had refuted its CBPE."""
    found: dict[str, int] = {}
    for event in events:
        if event.kind == "decision" and event.evidence.get("cbpe_refuted"):
            found.setdefault(str(event.model_version), event.week)
    return found


def _plot(axis: object, points: list[tuple[int, float]], **style: object) -> None:
    if points:
        weeks, values = zip(*sorted(points), strict=True)
        axis.plot(weeks, values, **{"marker": "o", "markersize": 3, **style})  # type: ignore[attr-defined]


def draw(events: list[Event]) -> bytes:
    # Imported here: matplotlib costs every start of the CLI 0.4 s, and only a finished run draws.
    from matplotlib.figure import Figure

    series = _series(events)
    figure = Figure(figsize=(16, 10))
    axes = figure.subplots(4, 1, sharex=True)
    _plot(axes[0], series["realized"], label="realized ROC AUC\n(labels, by event week)")
    _plot(axes[0], series["estimated"], label="CBPE estimate\n(at scoring)", linestyle="--")
    _plot(
        axes[0],
        series["refuted"],
        label="CBPE estimate, refuted\nby that model's labels",
        linestyle=":",
        color="tab:gray",
        marker="x",
    )
    _plot(
        axes[0],
        series["refit"],
        label="a refit on current data\n(the world's view)",
        color="tab:olive",
        linestyle="-.",
    )
    axes[0].set_ylabel("ROC AUC")
    _plot(axes[1], series["psi"], label="largest feature PSI", color="tab:brown")
    axes[1].set_ylabel("drift (PSI)")
    _plot(axes[2], series["churn"], label="mean predicted churn", color="tab:cyan")
    axes[2].set_ylabel("churn rate")
    _plot(
        axes[3],
        series["oracle"],
        label="oracle: knowing each\ncustomer's true risk",
        color="tab:gray",
        linestyle="--",
    )
    _plot(axes[3], series["earned"], label="earned by the\nserved models", color="tab:blue")
    _plot(axes[3], series["always"], label="contacting everyone", color="tab:pink", linestyle=":")
    axes[3].set_ylabel("USD / week (expected)")
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
    for axis in axes:
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
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
        "border-bottom:1px solid #ddd;font-size:13px}img{width:100%;height:auto}</style>"
        "</head><body>"
        f"<h1>{html.escape(title)}</h1><img alt='timeline' src='data:image/png;base64,{image}'>"
        f"<h2>Week by week</h2><pre>{html.escape(summary_table(events))}</pre>"
        "<h2>Decisions</h2><table><tr><th>week</th><th>step</th><th>event</th><th>model</th>"
        f"<th>summary</th></tr>{rows}</table></body></html>"
    )


def write_timeline(events: list[Event], path: Path, title: str) -> Path:
    write_atomically(path, render_html(events, title))  # a rerun keeps a page it finds whole
    return path
