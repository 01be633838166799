"""dvc.yaml lists exactly the code each stage runs, so no edit can leave a stale result behind.

The modules a stage imports are derived from the source (``imports.stage_files``), so a new
import that dvc.yaml does not list fails here, and so does a listed file the stage no longer uses.
"""

from __future__ import annotations

import pytest
import yaml

from phase1_foundations.settings import PROJECT_ROOT
from phase2_pipelines.tests.imports import stage_files
from phase2_pipelines.workdir import STAGES

DVC_YAML = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
REGISTRY_STAGES = {"gate", "register"}  # they read or write the MLflow registry
# Files a module reads when it runs: a stage that runs the module depends on them too.
READ_BY = {"phase1_foundations/scenarios.py": "phase1_foundations/catalogue"}  # the world's YAML


def test_dvc_yaml_has_every_stage_in_order() -> None:
    assert list(DVC_YAML) == list(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_lists_exactly_the_code_it_imports(stage: str) -> None:
    listed = {dep for dep in DVC_YAML[stage]["deps"] if dep.endswith(".py")}
    imported = stage_files(stage)
    assert sorted(imported - listed) == [], f"dvc.yaml stage {stage} misses code it runs"
    assert sorted(listed - imported) == [], f"dvc.yaml stage {stage} lists code it never runs"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_lists_the_files_its_code_reads(stage: str) -> None:
    imported, deps = stage_files(stage), set(DVC_YAML[stage]["deps"])
    for module, data in READ_BY.items():
        assert (module in imported) == (data in deps), f"dvc.yaml stage {stage}: {data}"


def test_the_catalogue_is_read_by_the_stage_that_makes_world_weeks() -> None:
    assert "phase1_foundations/catalogue" in DVC_YAML["ingest"]["deps"]  # a scenario, by name
    assert "phase1_foundations/catalogue" not in DVC_YAML["train"]["deps"]


@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_its_module_and_depends_on_the_environment(stage: str) -> None:
    spec = DVC_YAML[stage]
    assert spec["cmd"] == f"python -m phase2_pipelines stage {stage}"
    assert "uv.lock" in spec["deps"]  # a library upgrade changes the model too
    assert all((PROJECT_ROOT / dep).exists() for dep in spec["deps"] if not dep.startswith("var/"))


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_registry_stages_always_run(stage: str) -> None:
    assert DVC_YAML[stage].get("always_changed", False) == (stage in REGISTRY_STAGES)


def test_derivation_follows_imports_through_the_phases() -> None:
    gate = stage_files("gate")
    assert "phase2_pipelines/stats.py" in gate  # gate.py imports it
    assert "phase2_pipelines/registry.py" in gate  # imported inside a function
    assert "phase1_foundations/telco.py" in gate  # through repro, two modules away
    assert "phase2_pipelines/__main__.py" in gate  # the command itself
    assert "phase2_pipelines/plots.py" not in gate  # only the evaluate stage draws
    assert "phase1_foundations/world.py" in stage_files("ingest")
    assert "phase1_foundations/world.py" not in stage_files("train")
