"""Property-based fuzzing of the OpenAPI schema (schemathesis) against the running service."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase3_serving.tests.conftest import Trained
from testing.server import ADMIN_TOKEN, Server, running_server

pytestmark = pytest.mark.slow
EXAMPLES = 150


@pytest.fixture(scope="module")
def server(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    with running_server(trained.settings, log, MLOPS_SERVING_MAX_BATCH_ROWS="200") as running:
        yield running


def test_fuzzing_the_openapi_schema_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES),
            "--generation-deterministic",
            "--request-timeout",
            "30",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",  # fuzz the admin API too
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-4000:]
    assert "Tested: 10" in report  # every operation, the two prediction routes included
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated is not None
    assert int(generated[1]) > EXAMPLES  # hundreds of cases really ran
    assert " 500 " not in server.log()
