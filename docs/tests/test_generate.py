"""`make docs` renders the architecture from the live system, and follows it when it changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from docs.generate import (
    ARCHITECTURE,
    CAPSTONE,
    EXPERIMENTS,
    render_all,
)
from docs.tests.conftest import Live
from phase1_foundations.settings import PROJECT_ROOT, Settings

PARAMS = PROJECT_ROOT / "params.yaml"
# Each module trains two models on the real data through phase 2 (about a minute).
pytestmark = pytest.mark.slow


def client_of(live: Live) -> MlflowClient:
    uri = live.settings.tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def render(live: Live, out: Path, params: Path = PARAMS) -> dict[str, bytes]:
    render_all(live.settings, params, out)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.md"))}


def test_architecture_names_the_registry_champions(live: Live, tmp_path: Path) -> None:
    client = client_of(live)
    name = yaml.safe_load(PARAMS.read_text())["registry"]["model_name"]
    champion = client.get_model_version_by_alias(name, "champion")
    previous = client.get_model_version_by_alias(name, "previous_champion")
    text = render(live, tmp_path)[ARCHITECTURE].decode()
    assert f"served as **v{champion.version}** (alias `champion`)" in text
    assert f"replacing v{previous.version} (alias `previous_champion`)" in text
    auc = client.get_run(champion.run_id).data.metrics["roc_auc"]
    row = next(line for line in text.splitlines() if line.startswith("| `champion` |"))
    assert f"| v{champion.version} |" in row
    assert f"| {auc:.4f} |" in row  # the champion's own logged test AUC


def test_architecture_shows_the_gate_and_monitoring_thresholds_of_params_yaml(
    live: Live, tmp_path: Path
) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    text = render(live, tmp_path)[ARCHITECTURE].decode()
    assert f"> {raw['gate']['superiority_margin']} |" in text
    assert f"ROC AUC >= {raw['gate']['floors']['roc_auc']}" in text
    assert f"| `monitoring.drift.psi` | {raw['monitoring']['drift']['psi']} | " in text
    for stage in yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]:
        assert f"| `{stage}` |" in text  # every DVC stage, from dvc.yaml


def test_architecture_lists_every_route_the_service_serves(live: Live, tmp_path: Path) -> None:
    from phase3_serving.app import create_app

    text = render(live, tmp_path)[ARCHITECTURE].decode()
    # FastAPI includes routers lazily, so the OpenAPI document is where every route is listed.
    paths = create_app().openapi()["paths"]
    assert {"/v1/predict", "/v1/predict/batch", "/health/ready", "/admin/rollout"} <= set(paths)
    for path, operations in paths.items():
        for method in operations:
            assert f"| {method.upper()} | `{path}` |" in text


def test_same_state_renders_the_same_bytes(live: Live, tmp_path: Path) -> None:
    first = render(live, tmp_path / "a")
    second = render(live, tmp_path / "b")
    assert ARCHITECTURE in first
    assert EXPERIMENTS in first
    assert first == second


def test_a_changed_threshold_changes_the_architecture(live: Live, tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    before = render(live, tmp_path / "before")[ARCHITECTURE].decode()
    raw["gate"]["superiority_margin"] = 0.0123
    raw["monitoring"]["drift"]["psi"] = 0.37
    changed = tmp_path / "params.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    after = render(live, tmp_path / "after", changed)[ARCHITECTURE].decode()
    assert after != before
    assert "lower bound of the AUC difference with the champion > 0.0123 |" in after
    assert "0.0123" not in before
    assert "| `monitoring.drift.psi` | 0.37 | " in after
    assert "PSI > 0.37" in after  # the failure-mode table follows too


def test_without_a_champion_make_docs_says_to_run_phase2(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-m", "docs", "render", "--out", str(out)],
        env={**env, "MLOPS_STATE_DIR": str(tmp_path / "var")},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "run `make phase2` (or `make capstone`) first" in done.stderr
    assert "Traceback" not in done.stderr
    # Nothing rendered from the missing state, not even empty tables; the ADRs need only params.
    assert not (out / ARCHITECTURE).exists()
    assert not (out / EXPERIMENTS).exists()
    templates = (PROJECT_ROOT / "docs" / "templates" / "decisions").glob("*.md.j2")
    assert sorted(p.name for p in (out / "decisions").glob("*.md")) == sorted(
        p.name.removesuffix(".j2") for p in templates
    )


def test_the_command_renders_from_the_state_it_is_given(live: Live, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-m", "docs", "render", "--out", str(tmp_path)],
        env={**env, "MLOPS_STATE_DIR": str(live.settings.state_dir)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"served as **v{live.second}**" in (tmp_path / ARCHITECTURE).read_text()
    # No capstone has run in this state: said, not rendered empty.
    assert "capstone.md: no capstone event log" in done.stdout
    assert "run `make capstone` first" in done.stdout
    assert not (tmp_path / CAPSTONE).exists()


def test_after_only_a_capstone_run_the_champion_comes_from_its_store(
    live: Live, tmp_path: Path
) -> None:
    """`make capstone` keeps its own MLflow store under var/capstone/<scenario>/: with no
    champion in the project's store, the documents read the capstone's."""
    state = tmp_path / "var"
    (state / "capstone").mkdir(parents=True)
    (state / "capstone" / "default").symlink_to(live.settings.state_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-m", "docs", "render", "--out", str(tmp_path / "docs")],
        env={**env, "MLOPS_STATE_DIR": str(state)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "docs" / ARCHITECTURE).read_text()
    assert f"served as **v{live.second}**" in text
    assert str(live.settings.state_dir.resolve() / "mlflow.db") in text


def test_make_docs_renders_the_live_state(live: Live, tmp_path: Path) -> None:
    """`make docs` as the lesson shows it (into a scratch folder, from the fixture's store)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        ["make", "--no-print-directory", "docs", f"DOCS_OUT={tmp_path}"],
        env={**env, "MLOPS_STATE_DIR": str(live.settings.state_dir)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"served as **v{live.second}**" in (tmp_path / ARCHITECTURE).read_text()
    assert (tmp_path / EXPERIMENTS).exists()


def test_make_docs_copies_each_postmortem_beside_its_index(live: Live, tmp_path: Path) -> None:
    """The simulator writes postmortems under the state dir; the documents carry each one, as
    written, to ``docs/postmortems/<date>-<scenario>.md``, linked from the index."""
    state = tmp_path / "var"
    (state / "capstone").mkdir(parents=True)
    (state / "capstone" / "default").symlink_to(live.settings.state_dir)
    folder = state / "simulator" / "postmortems"
    folder.mkdir(parents=True)
    body = "# Postmortem: nulls from upstream\n\n&lt;script&gt;alert(1)&lt;/script&gt; escaped\n"
    (folder / "2026-12-04-null_flood.md").write_text(body)
    out = tmp_path / "docs"
    render_all(Settings(state_dir=state), PARAMS, out)
    assert (out / "postmortems" / "2026-12-04-null_flood.md").read_text() == body
    index = (out / "postmortems" / "index.md").read_text()
    assert "[Postmortem: nulls from upstream](2026-12-04-null_flood.md)" in index
