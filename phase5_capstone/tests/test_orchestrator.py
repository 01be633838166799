"""The capstone's week on Dagster decides what the embedded runner decides; the sensor, the
schedule and `make capstone-ui` do what the lesson says. Real service, real MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, RunRequest, SkipReason, build_sensor_context
from mlflow import MlflowClient

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT, get_settings
from phase5_capstone import orchestrator, runner
from phase5_capstone.events import VOLATILE_FIELDS, read_events
from phase5_capstone.orchestrator import (
    CapstoneRun,
    capstone_batch_landed,
    capstone_week,
    landed_marker,
)
from phase5_capstone.runner import RunResult
from phase5_capstone.state import RunPaths, StepOutcome
from phase5_capstone.tests.conftest import run_scenario, smoke

WEEKS = 5  # smoke's week 4 retrains (two candidates, one staged): both branches of `decide`
UI_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke scenario cut to WEEKS weeks, as a file the Dagster resource can name."""
    path = tmp_path_factory.mktemp("scenario") / "smoke.yml"
    path.write_text(yaml.safe_dump(smoke(weeks=WEEKS).model_dump(mode="json")))
    return path


def _resource(scenario_file: Path, state_dir: Path) -> CapstoneRun:
    return CapstoneRun(scenario=str(scenario_file), run="smoke", state_dir=str(state_dir))


def _sense(resource: CapstoneRun) -> RunRequest | SkipReason:
    with (
        DagsterInstance.ephemeral() as instance,
        build_sensor_context(instance=instance, resources={"capstone": resource}) as context,
    ):
        result = capstone_batch_landed(context)
    assert isinstance(result, RunRequest | SkipReason)
    return result


def _drafts(outcome: StepOutcome) -> list[dict[str, object]]:
    return [draft.model_dump(exclude=VOLATILE_FIELDS) for draft in outcome.events]


def _versions(root: Path) -> list[str]:
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    return sorted(str(v.version) for v in client.search_model_versions("name='churn-model'"))


@dataclass(frozen=True)
class DagsterWeeks:
    paths: RunPaths
    succeeded: dict[int, set[str]]  # per week, the ops that ran to success
    retried: dict[int, list[str]]  # per week, the ops that failed and were retried


@pytest.fixture(scope="module")
def dagster_run(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> DagsterWeeks:
    """Each week lands, the sensor asks for its run, the job runs it in this process."""
    state_dir = tmp_path_factory.mktemp("dagster")
    resource = _resource(scenario_file, state_dir)
    paths = RunPaths.of(state_dir, "smoke")
    weeks = DagsterWeeks(paths, {}, {})
    for week in range(WEEKS):
        landed_marker(paths, week).parent.mkdir(parents=True, exist_ok=True)
        landed_marker(paths, week).touch()
        request = _sense(resource)
        assert isinstance(request, RunRequest), request
        result = capstone_week.execute_in_process(
            run_config=request.run_config, resources={"capstone": resource}
        )
        assert result.success
        weeks.succeeded[week] = {e.step_key or "" for e in result.get_step_success_events()}
        weeks.retried[week] = [
            e.step_key or ""
            for e in result.all_events
            if e.event_type is DagsterEventType.STEP_UP_FOR_RETRY
        ]
    return weeks


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_scenario(smoke(weeks=WEEKS), tmp_path_factory.mktemp("embedded"))


def test_the_job_runs_every_runner_step_in_order_with_retries_on_http_steps() -> None:
    nodes = capstone_week.graph.nodes_in_topological_order
    names = [node.name for node in nodes]
    steps = [name for name, _ in runner.STEPS]
    assert names[: len(steps) + 1] == ["bootstrap", *steps]
    assert set(names[len(steps) + 1 :]) == {"retrain", "no_retrain"}
    retried = {node.name for node in nodes if node.definition.retry_policy is not None}
    assert retried == {"score", "rollout", "decide", "retrain"}  # each calls the service


def test_the_schedule_is_the_cronjobs() -> None:
    manifest = PROJECT_ROOT / "phase5_capstone" / "deploy" / "cronjob.yaml"
    cronjob = next(yaml.safe_load_all(manifest.read_text()))
    assert orchestrator.capstone_weekly.cron_schedule == cronjob["spec"]["schedule"]
    assert orchestrator.capstone_weekly.execution_timezone == cronjob["spec"]["timeZone"]


def test_sensor_waits_for_the_due_weeks_batch(scenario_file: Path, tmp_path: Path) -> None:
    resource = _resource(scenario_file, tmp_path)
    waiting = _sense(resource)
    assert isinstance(waiting, SkipReason)
    assert "week 0 is due, but its batch has not landed" in str(waiting.skip_message)
    paths = RunPaths.of(tmp_path, "smoke")
    landed_marker(paths, 1).parent.mkdir(parents=True)
    landed_marker(paths, 1).touch()  # a later week's batch does not make week 0 due
    assert isinstance(_sense(resource), SkipReason)
    landed_marker(paths, 0).touch()
    request = _sense(resource)
    assert isinstance(request, RunRequest)
    assert request.run_key == "smoke:0000"  # once per run and week
    assert request.run_config == orchestrator.week_config(0)
    assert not (paths.root / "weeks").exists()  # sensing runs nothing


@pytest.mark.slow
def test_weeks_on_dagster_decide_like_the_embedded_runner(
    dagster_run: DagsterWeeks, embedded_run: RunResult
) -> None:
    paths, ran = dagster_run.paths, dagster_run.succeeded
    on_dagster = read_events(paths.events)
    embedded = list(embedded_run.events)
    assert [e.comparable() for e in on_dagster] == [e.comparable() for e in embedded]
    gated = {"candidate_rejected", "candidate_outscored", "challenger_staged"}
    assert any(e.kind in gated for e in on_dagster)  # a retrain's candidates were gated
    retrained = [w for w, ops in ran.items() if "retrain" in ops]
    assert retrained == [4]  # conditional: the retrain op ran only when decide asked for it
    assert all("no_retrain" in ops for w, ops in ran.items() if w != 4)
    assert all(ops == [] for ops in dagster_run.retried.values())  # nothing failed on the way
    for week in range(WEEKS):  # the same durable outcome of every step, timings aside
        for name in [*(name for name, _ in runner.STEPS), runner.RETRAIN]:
            mine = paths.read_outcome(week, name)
            theirs = embedded_run.paths.read_outcome(week, name)
            assert mine is not None
            assert theirs is not None
            assert (mine.state, mine.data) == (theirs.state, theirs.data)
            assert _drafts(mine) == _drafts(theirs)
    assert _versions(paths.root) == _versions(embedded_run.paths.root)
    manifest = paths.read_manifest()
    assert manifest is not None
    assert manifest.finished  # the last week's op marked the run finished, as `run` does


@pytest.mark.slow
def test_sensor_skips_a_finished_run(dagster_run: DagsterWeeks, scenario_file: Path) -> None:
    paths = dagster_run.paths
    landed_marker(paths, WEEKS).touch()  # a batch past the scenario's end starts nothing
    finished = _sense(_resource(scenario_file, paths.root.parents[1]))
    assert isinstance(finished, SkipReason)
    assert f"run smoke is finished: all {WEEKS} weeks are done" in str(finished.skip_message)


def _failure(run_config: dict[str, object], resource: CapstoneRun) -> str:
    result = capstone_week.execute_in_process(
        run_config=run_config, resources={"capstone": resource}, raise_on_error=False
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["bootstrap"]  # once: no retry
    error = failures[0].step_failure_data.error
    assert error is not None
    assert (error.cls_name, error.cause) == ("Failure", None)  # said by us, not a crash's chain
    return str(failures[0].event_specific_data)


def test_a_week_that_is_not_due_or_a_bad_scenario_is_refused_in_one_line(
    scenario_file: Path, tmp_path: Path
) -> None:
    early = _failure(orchestrator.week_config(3), _resource(scenario_file, tmp_path))
    assert "week 3 is not due yet: week 0 runs first" in early
    assert not (tmp_path / "capstone" / "smoke" / "weeks").exists()  # nothing ran
    unknown = CapstoneRun(scenario="no-such-scenario", state_dir=str(tmp_path))
    assert "no scenario 'no-such-scenario'" in _failure({}, unknown)


def test_a_bad_setting_fails_the_week_once_and_skips_the_sensor_in_one_line(
    scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_SEED", "abc")
    get_settings.cache_clear()
    try:
        resource = CapstoneRun(scenario=str(scenario_file))  # the settings' state directory
        failed = _failure({}, resource)
        skipped = _sense(CapstoneRun(scenario=str(scenario_file)))
    finally:
        get_settings.cache_clear()
    assert "invalid settings: MLOPS_SEED: Input should be a valid integer" in failed
    assert isinstance(skipped, SkipReason)
    assert str(skipped.skip_message).startswith("error: invalid settings: MLOPS_SEED:")


QUERY = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes {"
    " jobs { name } sensors { name } schedules { name cronSchedule } } } } }"
)


def _graphql(port: int, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        json.dumps({"query": query}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = json.load(response)
    return answer


@pytest.mark.slow
def test_make_capstone_ui_serves_the_job_on_loopback_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MLOPS_STATE_DIR": str(tmp_path)}
    server = subprocess.Popen(
        ["make", "capstone-ui", f"DAGSTER_PORT={port}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: Ctrl-C's reach, and ours
    )
    processes: list[psutil.Process] = []
    try:
        names: object = None
        deadline = time.monotonic() + UI_TIMEOUT_S
        while names is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = _graphql(port, QUERY)
                names = answer["data"]
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                time.sleep(1)
        text = json.dumps(names)
        assert '"capstone_week"' in text, f"the UI did not serve the job: {text}"
        assert '"capstone_batch_landed"' in text
        assert orchestrator.CRON in text
        processes = psutil.Process(server.pid).children(recursive=True)
        commands = [" ".join(process.cmdline()) for process in processes]
        assert any("dagster_webserver" in c and "--host 127.0.0.1" in c for c in commands)
        assert (tmp_path / "dagster" / "dagster.yaml").is_file()  # its instance: the state dir
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            server.wait(timeout=60)
        finally:
            _, alive = psutil.wait_procs(processes, timeout=30)
            for process in alive:
                process.kill()
    assert alive == []  # webserver, daemon and code server all stopped with it
