"""Where the pipeline's stages read and write: one work directory, one folder per stage.

A run in this process (``run``) works under the state directory (``MLOPS_STATE_DIR``); DVC's
stages work where ``dvc.yaml`` declares their outputs, since DVC keeps outputs inside the
repository. With the default state directory the two are the same folder, ``var/pipeline``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from phase1_foundations.settings import PROJECT_ROOT, Settings

DVC_FILE = PROJECT_ROOT / "dvc.yaml"
STAGES = ("ingest", "validate", "train", "evaluate", "gate", "register")
SCORE_COLUMN = "score"  # the candidate's score per holdout row, in evaluate/scores.parquet
WEIGHTS_FILE = "weights.parquet"  # optional, in ingest/: a weight per row of train, then holdout
WEIGHT_COLUMN = "weight"


class StageError(RuntimeError):
    """A stage refused its input; the message says why and what to do. Nothing was written on."""


@dataclass(frozen=True)
class WorkDir:
    """Where each stage's outputs live (the paths ``dvc.yaml`` declares)."""

    root: Path

    @property
    def ingest(self) -> Path:
        return self.root / "ingest"

    @property
    def validate(self) -> Path:
        return self.root / "validate"

    @property
    def train(self) -> Path:
        return self.root / "train"

    @property
    def evaluate(self) -> Path:
        return self.root / "evaluate"

    @property
    def gate(self) -> Path:
        return self.root / "gate"

    @property
    def register(self) -> Path:
        return self.root / "register"


def state_workdir(settings: Settings) -> WorkDir:
    """The work directory of a run in this process: under the state directory."""
    return WorkDir(settings.state_dir / "pipeline")


def dvc_workdir(dvc_file: Path = DVC_FILE) -> WorkDir:
    """The work directory ``dvc.yaml`` declares: each stage's output is ``<root>/<stage>``."""
    stages = (yaml.safe_load(dvc_file.read_text()) or {}).get("stages") or {}
    roots = {
        Path(out).parent
        for name, body in stages.items()
        for out in body.get("outs") or []
        if isinstance(out, str) and Path(out).name == name
    }
    if len(roots) != 1:
        found = ", ".join(sorted(map(str, roots))) or "none"
        raise StageError(f"{dvc_file}: the stages' outputs are not in one directory ({found})")
    return WorkDir(dvc_file.parent / roots.pop())


def write_json(path: Path, payload: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_json(path: Path) -> dict[str, object]:
    payload: dict[str, object] = json.loads(path.read_text())
    return payload


def read_weights(work: WorkDir, train_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The (train, holdout) weights ingest wrote, or None when rows are unweighted."""
    path = work.ingest / WEIGHTS_FILE
    if not path.exists():
        return None
    weights = pd.read_parquet(path)[WEIGHT_COLUMN].to_numpy(dtype=np.float64)
    return weights[:train_rows], weights[train_rows:]
