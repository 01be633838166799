"""The capstone's week on Dagster: the same steps, with retries, a schedule and a sensor.

Each op calls the embedded runner's own functions (``runner.execute`` and friends), so the two
runners cannot disagree about what a step does; the run's durable state (outcome files, the event
log, the run's MLflow store) is the same, and either runner can carry on a run the other began.

- ``capstone_week``: one week per Dagster run. ``bootstrap`` (a no-op once the champion exists),
  then one op per step of ``runner.STEPS``; ``decide`` yields one of two optional outputs, so
  either ``retrain`` runs or ``no_retrain`` does. Both write the week's ``retrain`` outcome
  (empty when no retrain was wanted): it is the mark that the week is done, as in the embedded
  runner, so both runners leave identical event logs and outcome files.
- ``capstone_weekly``: the schedule, the CronJob's (``deploy/cronjob.yaml``): code-triggered.
- ``capstone_batch_landed``: the sensor, data-triggered. A week's batch has *landed* when the
  marker ``<run>/landed/<week>`` exists (what an upstream job would drop next to its file); the
  sensor asks for a run of the next due week once its marker is there, once per run and week.

One process runs a whole Dagster run (``in_process_executor``): the ``capstone`` resource builds
the run's ``Context`` once and closes it, and with it the service on 127.0.0.1, when the run
ends. Importing this module starts nothing and writes nothing; ``dagster dev -m
phase5_capstone.orchestrator`` (``make capstone-ui``) loads ``defs``.
"""

# No `from __future__ import annotations`: Dagster reads the ops' annotations at definition time.
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    Backoff,
    Config,
    ConfigurableResource,
    Definitions,
    Failure,
    InitResourceContext,
    OpDefinition,
    Out,
    Output,
    RetryPolicy,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    in_process_executor,
    job,
    op,
    sensor,
)
from pydantic import Field, PrivateAttr

from phase1_foundations.settings import ConfigError, Settings, get_settings
from phase5_capstone import runner
from phase5_capstone.context import Context
from phase5_capstone.events import EventLog
from phase5_capstone.params import load_capstone_params
from phase5_capstone.scenario import ScenarioError, load_scenario
from phase5_capstone.serving import ServiceError
from phase5_capstone.state import CycleState, Manifest, RunPaths

CRON = "0 6 * * 1"  # as deploy/cronjob.yaml: every Monday at 06:00
TIMEZONE = "Etc/UTC"
LANDED_DIR = "landed"
# Steps that call the service over HTTP: a retry closes the service and starts it afresh.
NETWORK_STEPS = frozenset({"score", "rollout", "decide", runner.RETRAIN})
NETWORK_RETRY = RetryPolicy(max_retries=2, delay=1.0, backoff=Backoff.EXPONENTIAL)


def landed_marker(paths: RunPaths, week: int) -> Path:
    """The file whose presence says that a week's batch has landed."""
    return paths.root / LANDED_DIR / f"{week:04d}"


class CapstoneRun(ConfigurableResource):  # type: ignore[type-arg]
    """Which capstone run the job works on, and that run's ``Context`` for one Dagster run."""

    scenario: str | None = Field(
        default=None, description="a scenario name (default: params.yaml's)"
    )
    run: str | None = Field(default=None, description="run name (default: the scenario's)")
    state_dir: str | None = Field(default=None, description="state dir (default: MLOPS_STATE_DIR)")
    _context: Context | None = PrivateAttr(None)
    _opened: tuple[Manifest, EventLog] | None = PrivateAttr(None)

    @property
    def context(self) -> Context:
        """The run's context, built on first use (it starts no service until a step needs one)."""
        if self._context is None:
            name = self.scenario or load_capstone_params().scenario
            base = get_settings()
            if self.state_dir is not None:
                base = Settings(state_dir=Path(self.state_dir))
            self._context = runner.build_context(load_scenario(name), self.run, base)
        return self._context

    def opened(self) -> tuple[Manifest, EventLog]:
        """The run's manifest (checked against the scenario) and its event log."""
        if self._opened is None:
            self._opened = runner.open_run(self.context)
        return self._opened

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._context is not None:
            self._context.close()


@dataclass(frozen=True)
class Progress:
    """What an op hands the next: the week it is running and the cycle state so far."""

    week: int
    state: CycleState


class WeekConfig(Config):
    week: int | None = Field(default=None, description="week to run (default: the next due)")


def week_config(week: int) -> dict[str, object]:
    """Run config that runs one given week."""
    return {"ops": {"bootstrap": {"config": {"week": week}}}}


@op(description="The run's champion (trained once), then the weeks before this one, read back.")
def bootstrap(config: WeekConfig, capstone: CapstoneRun) -> Progress:
    try:
        ctx = capstone.context
        _, log = capstone.opened()
        due = runner.next_week(ctx)
        week = due if config.week is None else config.week
        if week >= ctx.scenario.weeks:
            raise runner.RunRefused(f"run {ctx.paths.root} has no week {week}: it is finished")
        if week > due:
            raise runner.RunRefused(f"week {week} is not due yet: week {due} runs first")
        state = runner.run_bootstrap(ctx, log)
        for earlier in range(week):  # done already: outcomes read back, missing events appended
            state = runner.run_week(ctx, log, earlier, state)
    except (runner.RunRefused, ScenarioError, ConfigError) as error:  # one line; retries can't help
        raise Failure(str(error), allow_retries=False) from None
    return Progress(week, state)


def _execute(capstone: CapstoneRun, progress: Progress, name: str, step: runner.Step) -> Progress:
    ctx = capstone.context
    _, log = capstone.opened()
    try:
        outcome = runner.execute(ctx, log, progress.week, name, step, progress.state)
    except ServiceError:
        ctx.close()  # the service (or its answer) failed: the retry starts it afresh
        raise
    return Progress(progress.week, outcome.state)


def _retry(name: str) -> RetryPolicy | None:
    return NETWORK_RETRY if name in NETWORK_STEPS else None


def _step_op(name: str, step: runner.Step) -> OpDefinition:
    @op(name=name, retry_policy=_retry(name), description=step.__doc__)
    def step_op(capstone: CapstoneRun, progress: Progress) -> Progress:
        return _execute(capstone, progress, name, step)

    return step_op


*LINEAR_STEPS, (DECIDE, DECIDE_STEP) = runner.STEPS
STEP_OPS = tuple(_step_op(name, step) for name, step in LINEAR_STEPS)


@op(
    name=DECIDE,
    retry_policy=_retry(DECIDE),
    description=DECIDE_STEP.__doc__,
    out={
        "retrain": Out(Progress, is_required=False, description="the trigger asked to retrain"),
        "no_retrain": Out(Progress, is_required=False, description="it did not"),
    },
)
def decide(capstone: CapstoneRun, progress: Progress) -> Iterator[Output[Progress]]:
    progress = _execute(capstone, progress, DECIDE, DECIDE_STEP)
    wanted = runner.retrain_wanted(capstone.context, progress.week)
    yield Output(progress, "retrain" if wanted else "no_retrain")


def _close_week(capstone: CapstoneRun, progress: Progress) -> Progress:
    ctx = capstone.context
    manifest, log = capstone.opened()
    try:
        outcome = runner.execute_retrain(ctx, log, progress.week, progress.state)
    except ServiceError:
        ctx.close()
        raise
    runner.finish_run(ctx, manifest)
    return Progress(progress.week, outcome.state)


@op(retry_policy=_retry(runner.RETRAIN), description="Phase 2 trains, gates, stages a challenger.")
def retrain(capstone: CapstoneRun, progress: Progress) -> Progress:
    return _close_week(capstone, progress)


@op(description="No retrain this week: the week's (empty) retrain outcome marks it done.")
def no_retrain(capstone: CapstoneRun, progress: Progress) -> Progress:
    return _close_week(capstone, progress)


@job(
    executor_def=in_process_executor,
    tags={"capstone": "week"},  # one at a time (deploy/dagster.yaml)
    description="One simulated week of the capstone.",
)
def capstone_week() -> None:
    progress = bootstrap()
    for step_op in STEP_OPS:
        progress = step_op(progress)
    wanted, unwanted = decide(progress)
    retrain(wanted)
    no_retrain(unwanted)


capstone_weekly = ScheduleDefinition(
    name="capstone_weekly",
    job=capstone_week,
    cron_schedule=CRON,
    execution_timezone=TIMEZONE,
    description="Code-triggered: the next due week, every Monday (the CronJob's schedule).",
)


@sensor(job=capstone_week, minimum_interval_seconds=30)
def capstone_batch_landed(capstone: CapstoneRun) -> RunRequest | SkipReason:
    """Data-triggered: a run of the next due week once its batch has landed."""
    try:
        ctx = capstone.context  # paths and the scenario only: no service starts
    except (ScenarioError, ConfigError) as error:  # the tick says why, in one line
        return SkipReason(f"error: {error}")
    due = runner.next_week(ctx)
    if due >= ctx.scenario.weeks:
        return SkipReason(f"run {ctx.paths.root.name} is finished: all {due} weeks are done")
    marker = landed_marker(ctx.paths, due)
    if not marker.exists():
        return SkipReason(f"week {due} is due, but its batch has not landed ({marker})")
    return RunRequest(run_key=f"{ctx.paths.root.name}:{due:04d}", run_config=week_config(due))


defs = Definitions(
    jobs=[capstone_week],
    schedules=[capstone_weekly],
    sensors=[capstone_batch_landed],
    resources={"capstone": CapstoneRun()},
)
