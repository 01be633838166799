"""Where the pipeline's stages read and write: one work directory, one folder per stage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
