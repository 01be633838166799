"""Run the reproducibility check inside the project image and compare it with the host's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from phase1_foundations.repro import ReproResult
from phase1_foundations.settings import Settings, get_settings
from phase1_foundations.telco import fetch_telco

DEFAULT_IMAGE = "mlops-path:latest"
CONTAINER_DATA_DIR = "/app/data"
CONTAINER_TIMEOUT_S = 600
# Numerical libraries pick kernels and thread counts (which order their sums) from these; the
# container must see what the host sees.
PASSTHROUGH_ENV = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MLOPS_SEED",
)


class ContainerError(RuntimeError):
    """Docker is missing, the image is missing, or the container failed."""


@dataclass(frozen=True)
class ContainerComparison:
    host_hash: str
    container_hash: str
    container_identical: bool
    container_environment: dict[str, object]

    @property
    def equal(self) -> bool:
        return self.container_identical and self.host_hash == self.container_hash

    def render(self) -> str:
        env = self.container_environment
        return "\n".join(
            [
                f"container python  {env.get('python')} on {env.get('platform')}",
                f"host      predictions sha256 {self.host_hash}",
                f"container predictions sha256 {self.container_hash}",
                "=> " + ("EQUAL: the container reproduces the host" if self.equal else "NOT EQUAL"),
            ]
        )


def docker_available() -> bool:
    """True when a docker client exists and its daemon answers."""
    if shutil.which("docker") is None:
        return False
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def run_repro_in_container(image: str, data_dir: Path) -> dict[str, object]:
    """Run ``python -m phase1_foundations repro --json`` in the image with the data mounted."""
    env_args = [arg for name in PASSTHROUGH_ENV if name in os.environ for arg in ("-e", name)]
    command = [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        *env_args,
        "-v",
        f"{data_dir.resolve()}:{CONTAINER_DATA_DIR}:ro",
        image,
        "python",
        "-m",
        "phase1_foundations",
        "repro",
        "--json",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CONTAINER_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise ContainerError(f"could not run docker: {error}") from error
    if done.returncode != 0:
        raise ContainerError(
            f"the container exited with {done.returncode}:\n{done.stderr.strip()[-2000:]}"
        )
    payload: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return payload


def compare_with_container(
    host: ReproResult, image: str = DEFAULT_IMAGE, settings: Settings | None = None
) -> ContainerComparison:
    settings = settings or get_settings()
    fetch_telco(settings)
    result = run_repro_in_container(image, settings.data_dir)
    hashes = result["prediction_hashes"]
    environment = result["environment"]
    if not isinstance(hashes, list) or not isinstance(environment, dict):
        raise ContainerError(f"unexpected output from the container: {result}")
    return ContainerComparison(
        host_hash=host.hashes[0],
        container_hash=str(hashes[0]),
        container_identical=bool(result["identical"]),
        container_environment=environment,
    )
