"""``make phase4``: a champion served, a clean week then drifted ones, and what phase 4 sees.

In its own state directory (``var/phase4``, beside the learner's phase 2 champion), it registers
a champion trained on world weeks by phase 2's pipeline (once, at ``data.world.cutoff_week``:
weeks 0-9 with the project's params), serves it with phase 3's service, and sends its first
serving week (the one after the cutoff: week 14 with the shipped params) clean and the five after
it from a world where a promotion moves customers onto two-year contracts and two-year customers
start leaving. The weeks come from the served champion's own run, so they always follow its cutoff.
Each week: the service scores it
and logs it; the monitor checks the logged week (drift table, CBPE estimate), labels released
this week are scored (realized AUC), the gauges go to the exporter that Prometheus scrapes, and
the trigger decides. At the end: the Evidently report of the last week, and the firing alerts.
The prediction log and the labels released so far stay in ``var/phase4`` for the lesson's
``check --log`` command.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.scenarios import Scenario, read_scenario_file, shift_scenario
from phase1_foundations.settings import Settings, get_settings
from phase1_foundations.world import WeekBatch, World
from phase2_pipelines.params import PARAMS_FILE, PipelineParams, load_params
from phase2_pipelines.world_source import window_world
from phase4_monitoring.checkcmd import champion_reference, logged_scores, write_evidently
from phase4_monitoring.lesson.live import exporter, prometheus, service
from phase4_monitoring.monitor import MonitorReference, WindowReport, monitor_window
from phase4_monitoring.monitor_metrics import MonitorMetrics
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from phase4_monitoring.reference import Champion, ReferenceUnavailable, load_champion
from phase4_monitoring.render import render_report
from phase4_monitoring.triggers import (
    LabeledRecord,
    MonitoringHistory,
    Promotion,
    WindowRecord,
    decide_trigger,
)
from phase4_monitoring.windows import WeekRange, WindowError, read_log_window

DRIFTED_WEEKS = 5  # after the clean first week
SEED = 2024
LOG_TIMEOUT_S = 60.0
ALERT_WAIT_S = 30.0

SCENARIO_FILE = Path(__file__).resolve().parent / "walkthrough.yml"  # weeks from the drift week


@dataclass(frozen=True)
class Weeks:
    """The weeks the walkthrough serves: the champion's first (clean), then the drifted ones."""

    first: int
    drift: int
    last: int

    @classmethod
    def of(cls, champion: PipelineParams) -> Weeks:
        """From the champion's own run: it serves from the week after its cutoff."""
        first = champion.data.world.first_serving_week
        return cls(first=first, drift=first + 1, last=first + DRIFTED_WEEKS)


def promotion_backfires(week: int) -> Scenario:
    """The walkthrough's world: clean, then the promotion that backfires from ``week``."""
    relative = read_scenario_file(SCENARIO_FILE, Scenario)
    return shift_scenario(relative, week, f"{relative.name}_at_week_{week}")


LABELS_FILE = "labels.parquet"  # beside predictions/ in phase 4's state directory


def phase4_settings() -> Settings:
    """The learner's settings, with phase 4's own state directory (set for child processes too)."""
    state = get_settings().state_dir / "phase4"
    os.environ["MLOPS_STATE_DIR"] = str(state)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    get_settings.cache_clear()
    return get_settings()


def ensure_champion(settings: Settings, params_file: Path = PARAMS_FILE) -> Champion:
    """The registered champion, trained on world weeks by phase 2's pipeline the first time."""
    model_name = load_params(params_file).registry.model_name
    try:
        return load_champion(settings, model_name)
    except ReferenceUnavailable:
        pass
    from phase2_pipelines.pipeline import run_pipeline
    from phase2_pipelines.workdir import WorkDir
    from phase4_monitoring.lesson.replay import world_params

    params = world_params(params_file=params_file)
    cutoff = params.data.world.cutoff_week
    print(
        f"training a champion on the world weeks labelled by week {cutoff} with phase 2's"
        " pipeline (once)...",
        flush=True,
    )
    run_pipeline(params, WorkDir(settings.state_dir / "pipeline" / "champion"), settings)
    return load_champion(settings, model_name)


def send_week(url: str, batch: WeekBatch) -> None:
    rows = [
        {k: None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in batch.features.to_dict("records")
    ]
    request = urllib.request.Request(
        f"{url}/v1/predict/batch",
        data=json.dumps({"rows": rows}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()


def logged_week(log: Path, week: int, rows: int) -> pd.DataFrame:
    """The week's rows of the service's prediction log, once the service has flushed them."""
    deadline = time.monotonic() + LOG_TIMEOUT_S
    while True:
        try:
            frame = read_log_window(log, weeks=WeekRange(week, week))
            if len(frame) >= rows:
                return frame
        except WindowError:
            pass
        if time.monotonic() > deadline:
            raise WindowError(f"{log}: week {week} was not logged in {LOG_TIMEOUT_S:.0f} s")
        time.sleep(0.5)


@dataclass
class Run:
    champion: Champion
    reference: MonitorReference
    params: MonitoringParams
    log: Path
    weeks: Weeks
    world: World = field(init=False)
    batches: dict[int, WeekBatch] = field(default_factory=dict)
    frames: dict[int, pd.DataFrame] = field(default_factory=dict)
    windows: list[WindowRecord] = field(default_factory=list)
    labeled: list[LabeledRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        trained = self.champion.run_params.data.world  # its rows a week and label delay
        self.world = window_world(trained, SEED, promotion_backfires(self.weeks.drift))

    def check(self, frame: pd.DataFrame) -> WindowReport:
        scores = logged_scores(frame, self.champion.version)
        return monitor_window(
            frame,
            self.reference,
            self.params,
            scorer=None if scores is not None else self.champion.score,
            scores=scores,
            source="the service's prediction log",
            model=self.champion.label,
        )

    def released(self, week: int) -> list[LabeledRecord]:
        """Weeks whose labels arrive this week, checked on their logged scores."""
        found = []
        for event, batch in self.batches.items():
            if batch.label_release_week != week:
                continue
            labels = batch.labels.set_index(ID_COLUMN)[LABEL_COLUMN]
            frame = self.frames[event].copy()
            frame[LABEL_COLUMN] = frame[ID_COLUMN].astype(str).map(labels).to_numpy(np.float64)
            quality = self.check(frame).quality
            if quality is not None:
                version = self.champion.version
                found.append(LabeledRecord(week=event, model_version=version, quality=quality))
        return found


def write_released_labels(run: Run, week: int, path: Path) -> None:
    """Every label released by ``week``, as a file ``check --labels`` reads (customer id, churn):
    what a learner joins onto the prediction log after the run."""
    released = [b.labels for b in run.batches.values() if b.label_release_week <= week]
    if released:
        pd.concat(released)[[ID_COLUMN, LABEL_COLUMN]].to_parquet(path, index=False)


def run_week(run: Run, url: str, week: int, textfile: Path) -> None:
    batch = run.world.week(week)
    run.batches[week] = batch
    send_week(url, batch)
    frame = logged_week(run.log, week, len(batch.features))
    run.frames[week] = frame
    report = run.check(frame)
    what = (
        "clean" if week < run.weeks.drift else "a promotion moved customers to two-year contracts"
    )
    print(f"\n=== week {week} ({what}): {len(frame):,} predictions logged by the service ===")
    if week <= run.weeks.drift:
        print(render_report(report))
    else:
        print(f"verdict {report.verdict.value}: {report.reason}")
        if report.estimate is not None:
            print(report.estimate.describe())
    version = run.champion.version
    run.windows.append(WindowRecord(week=week, model_version=version, report=report))
    metrics = MonitorMetrics()
    metrics.record(report, version)
    write_released_labels(run, week, run.log.parent / LABELS_FILE)
    for record in run.released(week):
        run.labeled.append(record)
        auc = record.quality.metrics.get("roc_auc", float("nan"))
        print(
            f"labels of week {record.week} arrived: realized roc_auc {auc:.3f}"
            f" ({record.quality.verdict.value}: {record.quality.reason})"
        )
        metrics.record_quality(record.quality, version)
    history = MonitoringHistory(
        windows=tuple(run.windows),
        labeled=tuple(run.labeled),
        promotions=(Promotion(version=version, week=run.weeks.first),),
    )
    decision = decide_trigger(history, run.params.triggers)
    metrics.record_decision(decision)
    metrics.write(textfile)
    print(f"trigger: {decision.summary}")


def run_walkthrough(params_file: Path = PARAMS_FILE) -> int:
    settings = phase4_settings()
    params = load_monitoring_params(params_file)
    champion = ensure_champion(settings, params_file)
    pipeline = load_params(params_file)
    weeks = Weeks.of(champion.run_params)
    reference, note = champion_reference(champion, settings, pipeline, params)
    print(f"champion: {champion.label} (trained on world weeks); calibration: {note}")
    state = settings.state_dir
    textfile = state / "monitoring" / "metrics.prom"
    textfile.unlink(missing_ok=True)
    run = Run(champion, reference, params, state / "predictions", weeks)
    with service(state) as url, exporter(textfile) as target:
        print(f"serving at {url}; monitor gauges at http://{target}/metrics")
        targets = {"monitor": target, "churn-api": url.removeprefix("http://")}
        with prometheus(state / "prometheus", targets) as server:
            if server is None:
                print("no `prometheus` on PATH: alerts skipped (Debian: apt install prometheus)")
            for week in range(weeks.first, weeks.last + 1):
                run_week(run, url, week, textfile)
            report_dir = state / "reports" / f"week-{weeks.last}"
            written = write_evidently(
                report_dir, champion, settings, run.frames[weeks.last], params
            )
            print(f"\nEvidently report of week {weeks.last}: {written[0]}")
            if server is not None:
                deadline = time.monotonic() + ALERT_WAIT_S
                while "ChurnDataDrift" not in server.firing() and time.monotonic() < deadline:
                    time.sleep(1)
                print(
                    f"Prometheus at {server.url}: firing {', '.join(server.firing()) or 'nothing'}"
                )
    return 0
