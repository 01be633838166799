"""The root README, followed as a new user would: its commands run for real in a fresh clone.

One clone serves the module, with its runtime state in an isolated ``MLOPS_STATE_DIR`` outside
it: `make phase3` trains (it runs `make phase2` first) and serves, the README's `curl` asks the
service, Ctrl-C stops it all; then `make serve`, `make mlflow-ui` and `make check`'s test lane
run there too.
"""

from __future__ import annotations

import ast
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from testing.clone import Clone, Session, make_clone
from testing.readme import missing_coverage, readme_commands

README = PROJECT_ROOT / "README.md"
QUICKSTART_CURL = (
    "curl -s -X POST 127.0.0.1:8000/v1/predict -d @phase3_serving/examples/customer.json"
)
EXAMPLE = "phase3_serving/examples/customer.json"
PIPELINE_TIMEOUT_S = 1200  # `make phase3` from scratch: environment, DVC pipeline, then serving
SERVER_TIMEOUT_S = 300
COVERED_BY = {
    "make phase3": "tests.test_root_readme::test_make_phase3_trains_then_serves",
    QUICKSTART_CURL: "tests.test_root_readme::test_make_phase3_trains_then_serves",
    "make test": "tests.test_root_readme::test_ci_runs_the_readme_test_command",
    "make capstone": "phase5_capstone.tests.test_make::"
    "test_make_capstone_runs_the_default_scenario_as_designed",
}
# The champion's own pipeline, loaded from the registry with MLflow alone: an oracle that does not
# share the service's fast path.
ORACLE = """
import json, sys
import mlflow.sklearn
import pandas as pd
from phase1_foundations.contract import FEATURE_NAMES
from phase1_foundations.settings import get_settings
from phase2_pipelines.params import load_params
mlflow.set_tracking_uri(get_settings().tracking_uri)
pipeline = mlflow.sklearn.load_model(f"models:/{load_params().registry.model_name}@champion")
row = pd.DataFrame([json.loads(open(sys.argv[1]).read())])[list(FEATURE_NAMES)]
print(repr(float(pipeline.predict_proba(row)[0, 1])))
"""
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def files_under(directory: Path) -> set[str]:
    return (
        {str(p.relative_to(directory)) for p in directory.rglob("*")}
        if directory.exists()
        else set()
    )


def stop(session: Session, how: str) -> None:
    """Stop as a user would (Ctrl-C) or as a supervisor would (SIGTERM to make); all must end."""
    if how == "ctrl-c":
        session.interrupt()
    else:
        session.terminate()
    left = session.wait_stopped()
    assert left == [], f"still running after {how}: {left}\n{session.log()[-2000:]}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("readme"))


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state") / "var"


def test_root_readme_commands_are_covered() -> None:
    assert missing_coverage(README, COVERED_BY) == []
    assert "make test" in readme_commands(README)


def test_ci_runs_the_readme_test_command() -> None:
    """`make test` cannot run inside `make test`; CI is where it runs, so CI must say exactly it."""
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


@pytest.mark.parametrize(
    "readme",
    [
        "README.md",
        *sorted(str(p.relative_to(PROJECT_ROOT)) for p in PROJECT_ROOT.glob("phase*/README.md")),
    ],
)
def test_readme_links_lead_somewhere(readme: str) -> None:
    path = PROJECT_ROOT / readme
    targets = [t for t in MARKDOWN_LINK.findall(path.read_text()) if "://" not in t]
    missing = [t for t in targets if not (path.parent / t).exists()]
    assert missing == [], f"{readme} links to files that do not exist"


@pytest.mark.slow
def test_make_phase3_trains_then_serves(clone: Clone, state_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    session = clone.start(
        ["make", "phase3", f"PORT={port}"], tmp_path / "phase3.log", MLOPS_STATE_DIR=str(state_dir)
    )
    try:
        session.wait_until(
            lambda: answers(f"http://127.0.0.1:{port}/health/ready"), PIPELINE_TIMEOUT_S
        )
        # it ran `make phase2` first: the pipeline gated, and `status` shows the new champion
        assert "Gate decision: PROMOTE" in session.log()
        assert "aliases now: champion=v1" in session.log()
        assert QUICKSTART_CURL in readme_commands(README)
        asked = clone.sh(QUICKSTART_CURL.replace(":8000", f":{port}"), timeout=60)
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        oracle = clone.sh(f"python -c '{ORACLE}' {EXAMPLE}", MLOPS_STATE_DIR=str(state_dir))
        assert oracle.returncode == 0, oracle.stderr
        expected = float(oracle.stdout.strip().splitlines()[-1])
        assert answer["churn_probability"] == pytest.approx(expected, abs=1e-12)
        assert answer["customerid"] == json.loads((clone.root / EXAMPLE).read_text())["customerid"]
        assert answer["model_version"] == "1"
        stop(session, "ctrl-c")
    finally:
        session.kill()
    assert (state_dir / "mlflow.db").is_file()  # the registry went to MLOPS_STATE_DIR
    assert not (clone.root / "var" / "mlflow.db").exists()


@pytest.mark.slow
def test_make_serve_keeps_its_state_in_mlops_state_dir(
    clone: Clone, state_dir: Path, tmp_path: Path
) -> None:
    var_before = files_under(clone.root / "var")
    port = free_port()
    session = clone.start(
        ["make", "serve", f"PORT={port}"], tmp_path / "serve.log", MLOPS_STATE_DIR=str(state_dir)
    )
    try:
        session.wait_until(
            lambda: answers(f"http://127.0.0.1:{port}/health/ready"), SERVER_TIMEOUT_S
        )
        assert (state_dir / "prometheus").is_dir()  # the workers' shared metrics live there
        stop(session, "sigterm")
    finally:
        session.kill()
    assert files_under(clone.root / "var") == var_before  # nothing written under ./var


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_mlflow_ui_stops_every_process(
    clone: Clone, state_dir: Path, tmp_path: Path, how: str
) -> None:
    var_before = files_under(clone.root / "var")
    port = free_port()
    session = clone.start(
        ["make", "mlflow-ui", f"MLFLOW_PORT={port}"],
        tmp_path / "mlflow.log",
        MLOPS_STATE_DIR=str(state_dir),
    )
    try:
        session.wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), SERVER_TIMEOUT_S)
        assert len(session.processes()) >= 2  # make and the server, at least
        stop(session, how)
    finally:
        session.kill()
    assert files_under(clone.root / "var") == var_before
    assert not (clone.root / "mlruns").exists()
    assert not (clone.root / "mlartifacts").exists()


@pytest.mark.slow
def test_make_check_runs_lint_types_and_only_the_fast_tests(clone: Clone) -> None:
    """What `make check` runs, from make's own dry run; then its test lane, run for real.

    Lint, types and workflows are not run here: CI runs them as a step of their own
    (``.ci/run``, checked by ``tests/test_ci.py``), so the suite does not pay a cold mypy (40 s
    of CPU) a second time."""
    dry = clone.make("-n", "check")
    assert dry.returncode == 0, dry.stdout[-4000:] + dry.stderr[-4000:]
    recipe = dry.stdout.splitlines()
    for tool in ("ruff check .", "ruff format --check .", "mypy", "actionlint -no-color"):
        assert any(line.endswith(tool) or f"/{tool} " in line for line in recipe), tool
    pytest_lines = [line for line in recipe if " -m pytest " in line]
    assert pytest_lines, dry.stdout
    lane = clone.make("-n", "test-fast")
    assert lane.returncode == 0, lane.stderr
    assert pytest_lines == [line for line in lane.stdout.splitlines() if " -m pytest " in line]
    # The lane itself: the file's fast tests ran, its slow ones did not (read from the file
    # itself, not from pytest's summary, which under pytest-xdist does not count deselected tests)
    done = clone.make("test-fast", "PYTEST_ARGS=tests/test_root_readme.py -vv")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    ran = set(re.findall(r"PASSED tests/test_root_readme\.py::(\w+)", done.stdout))
    slow = slow_tests(PROJECT_ROOT / "tests" / "test_root_readme.py")
    assert ran, done.stdout[-4000:]
    assert slow, "no slow test in the file: this check could not fail"
    assert ran & slow == set(), ran & slow


@pytest.mark.slow
def test_make_clean_removes_the_state_dir_it_is_given(clone: Clone, tmp_path: Path) -> None:
    elsewhere = tmp_path / "state"
    (elsewhere / "predictions").mkdir(parents=True)
    var_before = files_under(clone.root / "var")
    done = clone.make("clean", MLOPS_STATE_DIR=str(elsewhere))
    assert done.returncode == 0, done.stderr
    assert not elsewhere.exists()
    assert files_under(clone.root / "var") == var_before  # ./var was not the state dir it was given


def slow_tests(path: Path) -> set[str]:
    """The test functions of a file that carry ``@pytest.mark.slow``."""
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == "pytest.mark.slow" for d in node.decorator_list)
    }
