"""The training pipeline: six stages, each reading and writing files in one work directory.

DVC runs them one process per stage (``dvc.yaml``), so unchanged stages are skipped;
``run_pipeline`` runs the same functions in this process, for tests and the capstone. Each stage
lives in its own module under ``stages/`` and imports only what it needs, so ``dvc.yaml`` can
list exactly the code each stage depends on. The logic lives in the pure modules (``train``,
``evaluate``, ``gate``, ``stats``, ``profile``).
"""

from __future__ import annotations

import shutil

import pandas as pd

from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.stages.evaluate import evaluate
from phase2_pipelines.stages.gate import gate
from phase2_pipelines.stages.ingest import ingest, load_window
from phase2_pipelines.stages.register import Registration, register
from phase2_pipelines.stages.train import train
from phase2_pipelines.stages.validate import DataRejected, validate
from phase2_pipelines.workdir import STAGES, WorkDir

__all__ = [
    "STAGES",
    "DataRejected",
    "Registration",
    "WorkDir",
    "clear",
    "evaluate",
    "gate",
    "ingest",
    "load_window",
    "register",
    "run_pipeline",
    "train",
    "validate",
]


def run_pipeline(
    params: PipelineParams,
    work: WorkDir,
    settings: Settings | None = None,
    window: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Registration:
    """Every stage in order, in this process (DVC runs the same functions stage by stage)."""
    settings = settings or get_settings()
    ingest(params, work, settings, window)
    validate(work, settings)
    train(params, work)
    evaluate(params, work)
    gate(params, work, settings)
    return register(params, work, settings)


def clear(work: WorkDir) -> None:
    shutil.rmtree(work.root, ignore_errors=True)
