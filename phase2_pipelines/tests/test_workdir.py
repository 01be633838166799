"""Where the stages write: DVC's stages where dvc.yaml declares, an in-process run under the
state directory (``MLOPS_STATE_DIR``), and no path written down twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import phase2_pipelines.pipeline
from phase1_foundations.settings import PROJECT_ROOT, get_settings
from phase2_pipelines.__main__ import main
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.workdir import STAGES, StageError, WorkDir, dvc_workdir


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield tmp_path / "state"
    get_settings.cache_clear()


def test_the_stages_write_where_dvc_yaml_declares_their_outputs() -> None:
    declared = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    work = dvc_workdir()
    for stage in STAGES:
        assert [PROJECT_ROOT / out for out in declared[stage]["outs"]] == [getattr(work, stage)]


def test_outputs_in_two_places_are_refused(tmp_path: Path) -> None:
    dvc_file = tmp_path / "dvc.yaml"
    stages = {"ingest": {"outs": ["var/a/ingest"]}, "train": {"outs": ["var/b/train"]}}
    dvc_file.write_text(yaml.safe_dump({"stages": stages}))
    with pytest.raises(StageError, match="not in one directory"):
        dvc_workdir(dvc_file)


def test_a_run_works_under_the_state_directory(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    used: list[WorkDir] = []

    def record(params: PipelineParams, work: WorkDir) -> None:
        used.append(work)
        raise StageError("recorded where it would run")

    monkeypatch.setattr(phase2_pipelines.pipeline, "run_pipeline", record)
    assert main(["run"]) == 1
    assert used == [WorkDir(state_dir / "pipeline")]  # MLOPS_STATE_DIR's, not ./var
    assert "recorded where it would run" in capsys.readouterr().err
