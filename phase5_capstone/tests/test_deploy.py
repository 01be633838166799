"""The weekly CronJob validates offline against the Kubernetes schema and runs a real command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from phase1_foundations.settings import Settings
from phase5_capstone.__main__ import build_parser

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "cronjob.yaml"
K8S_VERSION = "1.33.0"  # as phase 3's manifests


def _documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]


def test_manifests_validate_against_the_kubernetes_schema() -> None:
    kinds = []
    for doc in _documents():
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        kinds.append(doc["kind"])
    assert kinds == ["CronJob", "PersistentVolumeClaim"]


def test_cronjob_runs_one_week_of_the_real_cli_on_the_persistent_state() -> None:
    cronjob = _documents()[0]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"  # one run of one state at a time
    assert cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] >= 1  # retries resume
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "phase5_capstone"]
    args = build_parser().parse_args(container["args"])
    assert args.one_week
    env = {item["name"]: item["value"] for item in container["env"]}
    settings = Settings.model_validate(
        {k.removeprefix("MLOPS_").lower(): v for k, v in env.items()}
    )
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[str(settings.state_dir)] == "state"
    claims = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]
    }
    assert claims["state"] == _documents()[1]["metadata"]["name"]
