"""The phase-3 exercise, run command by command as the lesson shows it.

The commands are read from the README's exercise section and run in bash, in order, each with the
environment the previous ones exported (as in a terminal); ``make serve`` runs in the background
(terminal 1). Two things differ from a learner's run, both for isolation: ``var/`` is this test's
state directory, and the service listens on a free port (``MLOPS_SERVING_URL`` points there).
Step 6 (`make check-phase3` on three params files) is run by ``test_exercise_check.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from phase3_serving.tests.conftest import Trained
from phase3_serving.tests.exercise import exercise_commands, run_block_curls
from testing.server import (
    Server,
    start_process,
    stop_process,
    wait_until_up,
)

pytestmark = pytest.mark.slow
SERVE = "MLOPS_SERVING_ADMIN_ENABLED=true make serve"
CHECKS = "make check-phase3"
TUNE = "sed 's/max_"  # step 6 writes its params copies
COMMAND_TIMEOUT_S = 600
LOG_WAIT_S = 30.0
BOTH_SCORES = re.compile(r"count\s+\d+\.0+\s+500\.0+")  # describe(): all 500 rows shadowed


def stage_challenger_exists() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "phase2_pipelines", "stage-challenger", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


class Terminal:
    """A shell session: each command runs in bash with what earlier ones exported."""

    def __init__(self, env: dict[str, str], state: Path) -> None:
        self.env = env
        self.state = state

    def adapt(self, command: str) -> str:
        return re.sub(r"(?<![\w/.])var/", f"{self.state}/", command)

    def run(self, command: str) -> str:
        script = f"set -euo pipefail\n{self.adapt(command)}\nenv -0 > {self.state}/.env"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        exported = (self.state / ".env").read_text().split("\0")
        self.env = dict(line.split("=", 1) for line in exported if "=" in line)
        return done.stdout


def test_the_exercise_runs_as_written(trained: Trained, tmp_path: Path) -> None:
    commands = exercise_commands()
    assert SERVE in commands
    if not stage_challenger_exists():
        pytest.skip("`python -m phase2_pipelines stage-challenger` (WP-P2) is not here yet")
    state, port = trained.settings.state_dir, free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    base |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # activated
        "MLOPS_STATE_DIR": str(state),
        "MLOPS_SERVING_URL": f"http://127.0.0.1:{port}",
        "MLOPS_SERVING_LOG_FLUSH_SECONDS": "0.5",
    }
    terminal = Terminal(base, state)
    outputs: dict[str, str] = {}
    server: Server | None = None
    try:
        for command in commands:
            if command.endswith(CHECKS) or command.startswith(TUNE):
                continue  # step 6: test_exercise_check.py
            if command == SERVE:
                log = tmp_path / "serve.log"
                shell = ["bash", "-c", f"{command} PORT={port}"]
                server = Server(
                    f"http://127.0.0.1:{port}", start_process(shell, terminal.env, log), log
                )
                wait_until_up(server, "/health/ready")
                for curl in run_block_curls():  # the lesson's requests, to this port
                    outputs[curl] = terminal.run(curl.replace("127.0.0.1:8000", server.url[7:]))
                continue
            if command.startswith("python -c"):  # the log is written a moment after answers
                deadline = time.monotonic() + LOG_WAIT_S
                while not BOTH_SCORES.search(outputs.get(command, "")):
                    assert time.monotonic() < deadline, outputs.get(command)
                    outputs[command] = terminal.run(command)
                    time.sleep(0.5)
                continue
            outputs[command] = terminal.run(command)
    finally:
        if server is not None:
            stop_process(server.process)

    ready, predicted = (json.loads(outputs[curl]) for curl in run_block_curls())
    assert ready == {"status": "ready", "model_version": "1"}
    assert predicted["customerid"] == "8879-ZKJOF"
    assert 0 <= predicted["churn_probability"] <= 1
    status = outputs["python -m phase3_serving admin status"]  # step 5's: after the canary
    assert "champion   churn-model v1" in status
    assert "challenger churn-model v2" in status
    assert "look 1 of 5" in status
    assert "passed" in status  # a healthy challenger keeps serving
    assert "registered as v2" in next(v for k, v in outputs.items() if " run --workdir" in k)
    assert "challenger v2" in outputs["python -m phase3_serving admin reload"]
    assert "rollout    shadow" in outputs["python -m phase3_serving admin rollout shadow"]
    assert "0 failed" in outputs["python -m phase3_serving replay 500"]
    canary = outputs["python -m phase3_serving replay 2000"]
    assert "challenger" in canary
    assert "0 failed" in canary
    assert "rollout    canary 20%" in outputs["python -m phase3_serving admin rollout canary 20"]
    assert "rollout    off" in outputs["python -m phase3_serving admin rollout off"]
    assert "vNone" not in "\n".join(outputs.values())
