"""What the running system holds: the registry's champions, the logged runs, the service's routes,
and (when they exist) the capstone's event log and the simulator's postmortems.

Everything is read from the real stores: MLflow through its client, the service's OpenAPI from
the FastAPI app the service runs. Only values that are stored are shown, never the wall clock, so
the same state renders the same bytes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run

from docs.capstone_evidence import LabeledWeek, evidence_lines, is_decision, labeled_week
from phase2_pipelines.registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION, Registry
from phase2_pipelines.tracking import EXPERIMENTS_EXPERIMENT, TRAINING_EXPERIMENT

MODEL_METRICS = ("roc_auc", "pr_auc", "brier", "precision", "recall", "net_value_per_customer")
GATE_METRICS = ("gate.delta_roc_auc", "gate.delta_roc_auc_low", "gate.delta_roc_auc_high")
HISTORY_EVENTS = 12  # the registry history table shows the latest moves; `make history` has all


def number(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def stamp(millis: int | None) -> str:
    if millis is None:
        return "n/a"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class ModelVersionView:
    """A registered version as the documents show it: its metrics, its data and its gate."""

    alias: str
    version: str
    run_id: str
    registered: str
    family: str
    data_source: str
    git_commit: str
    metrics: dict[str, str]
    gate_summary: str


@dataclass(frozen=True)
class HistoryRow:
    at: str
    action: str
    alias: str
    version: str
    replaced: str
    reason: str


@dataclass(frozen=True)
class RegistryView:
    model_name: str
    tracking_uri: str
    champion: ModelVersionView
    previous: ModelVersionView | None
    challenger: ModelVersionView | None
    versions: int
    history: tuple[HistoryRow, ...]


@dataclass(frozen=True)
class RunRow:
    name: str
    run_id: str
    started: str
    start_ms: int  # for ordering: ``started`` is shown to the minute
    params: dict[str, str]
    metrics: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str


def version_view(
    client: MlflowClient, registry: Registry, alias: str, version: str
) -> ModelVersionView:
    found = client.get_model_version(registry.name, version)
    run: Run | None = client.get_run(found.run_id) if found.run_id else None
    metrics = run.data.metrics if run else {}
    tags = run.data.tags if run else {}
    return ModelVersionView(
        alias=alias,
        version=version,
        run_id=found.run_id or "",
        registered=stamp(found.creation_timestamp),
        family=tags.get("model_family", "n/a"),
        data_source=tags.get("data.source", "n/a"),
        git_commit=tags.get("git_commit", "n/a")[:12],
        metrics={key: number(metrics.get(key)) for key in (*MODEL_METRICS, *GATE_METRICS)},
        gate_summary=" ".join(found.tags.get("gate", tags.get("gate.summary", "")).split()),
    )


def read_registry(client: MlflowClient, model_name: str) -> RegistryView | None:
    """The champion, the previous champion and the challenger; None without a champion."""
    registry = Registry(model_name, client)
    if not registry.exists():
        return None
    aliases = registry.aliases()
    if CHAMPION not in aliases:
        return None

    def view(alias: str) -> ModelVersionView | None:
        version = aliases.get(alias)
        return version_view(client, registry, alias, version) if version else None

    champion = view(CHAMPION)
    assert champion is not None  # checked above
    history = [
        HistoryRow(
            e.at[:19].replace("T", " "), e.action, e.alias, e.version, e.replaced or "", e.reason
        )
        for e in registry.history()
    ]
    return RegistryView(
        model_name=model_name,
        tracking_uri=client.tracking_uri,
        champion=champion,
        previous=view(PREVIOUS_CHAMPION),
        challenger=view(CHALLENGER),
        versions=len(client.search_model_versions(f"name='{model_name}'")),
        history=tuple(history[-HISTORY_EVENTS:]),
    )


def read_runs(client: MlflowClient, experiment: str) -> tuple[RunRow, ...]:
    """Every finished run of an experiment, oldest first."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return ()
    runs = client.search_runs(
        [found.experiment_id], filter_string="attributes.status = 'FINISHED'", max_results=1000
    )
    rows = [
        RunRow(
            name=run.info.run_name or run.info.run_id[:8],
            run_id=run.info.run_id,
            started=stamp(run.info.start_time),
            start_ms=int(run.info.start_time or 0),
            params=dict(sorted(run.data.params.items())),
            metrics={key: number(value) for key, value in sorted(run.data.metrics.items())},
            tags={k: v for k, v in sorted(run.data.tags.items()) if not k.startswith("mlflow.")},
        )
        for run in runs
    ]
    return tuple(sorted(rows, key=lambda r: (r.start_ms, r.run_id)))


def validation_auc(run: RunRow) -> float:
    value = run.metrics.get("validation.roc_auc", "n/a")
    return float(value) if value != "n/a" else -1.0


def latest_candidates(runs: tuple[RunRow, ...]) -> tuple[RunRow, ...]:
    """The latest run of each candidate name (``make experiments`` logs one per candidate),
    best validation ROC AUC first."""
    latest = {run.name: run for run in runs}
    return tuple(sorted(latest.values(), key=lambda r: (-validation_auc(r), r.name)))


def training_runs(client: MlflowClient) -> tuple[RunRow, ...]:
    return read_runs(client, TRAINING_EXPERIMENT)


def experiment_runs(client: MlflowClient) -> tuple[RunRow, ...]:
    return read_runs(client, EXPERIMENTS_EXPERIMENT)


def read_routes() -> tuple[Route, ...]:
    """The service's routes, from the OpenAPI document of the app uvicorn serves."""
    from phase3_serving.app import create_app

    schema = create_app().openapi()
    routes = [
        Route(method.upper(), path, str(operation.get("summary", "")))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]
    return tuple(sorted(routes, key=lambda r: (r.path, r.method)))


@dataclass(frozen=True)
class CapstoneEvent:
    week: int
    step: str
    kind: str
    model_version: str
    summary: str
    decisive: bool = False  # a model moved, a batch was stopped, or a trigger fired
    evidence: tuple[str, ...] = ()  # what it was decided on, as recorded (capstone_evidence.py)


@dataclass(frozen=True)
class CapstoneRun:
    scenario: str
    log: str
    events: tuple[CapstoneEvent, ...]
    labeled: tuple[LabeledWeek, ...] = ()  # realized quality and value, week by labeled week

    @property
    def decisions(self) -> tuple[CapstoneEvent, ...]:
        return tuple(event for event in self.events if event.decisive)


def read_capstone(state_dir: Path) -> tuple[CapstoneRun, ...]:
    """Each capstone scenario's event log (``<state>/capstone/<scenario>/events.jsonl``).

    Read as JSON lines, not through phase 5's reader, so this hook works whichever phase-5
    version wrote the log; a line cut short by a kill is skipped, as phase 5's own reader does.
    Each event keeps the evidence it was decided on; labeled weeks keep quality and value.
    """
    runs = []
    for log in sorted((state_dir / "capstone").glob("*/events.jsonl")):
        events, labeled = [], []
        for line in log.read_text().splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind, version = str(raw.get("kind", "")), str(raw.get("model_version") or "")
            evidence = raw.get("evidence") if isinstance(raw.get("evidence"), dict) else {}
            events.append(
                CapstoneEvent(
                    week=int(raw.get("week", -1)),
                    step=str(raw.get("step", "")),
                    kind=kind,
                    model_version=version,
                    summary=" ".join(str(raw.get("summary", "")).split()),
                    decisive=is_decision(kind, evidence),
                    evidence=tuple(evidence_lines(kind, evidence)),
                )
            )
            week = labeled_week(version, evidence) if kind == "labels_arrived" else None
            if week is not None:
                labeled.append(week)
        if events:
            runs.append(
                CapstoneRun(
                    log.parent.name,
                    log.relative_to(state_dir).as_posix(),
                    tuple(events),
                    tuple(sorted(labeled, key=lambda w: w.week)),
                )
            )
    return tuple(runs)


@dataclass(frozen=True)
class Postmortem:
    title: str
    path: str  # under the state dir

    @property
    def name(self) -> str:
        """Its file name: ``make docs`` copies it to ``docs/postmortems/<name>``."""
        return self.path.rsplit("/", 1)[-1]


def read_postmortems(state_dir: Path) -> tuple[Postmortem, ...]:
    """The simulator's postmortems (``<state>/simulator/postmortems/*.md``): title is line one."""
    found = []
    for path in sorted((state_dir / "simulator" / "postmortems").glob("*.md")):
        lines = path.read_text().splitlines()
        title = lines[0].lstrip("# ").strip() if lines else path.stem
        found.append(Postmortem(title or path.stem, path.relative_to(state_dir).as_posix()))
    return tuple(found)
