"""Typed view of ``params.yaml``: the pipeline's thresholds, windows and hyperparameters.

DVC reads the same file to decide which stages a change re-runs, so every number lives there and
nowhere in code. Loading validates it, and a bad value names its field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from phase1_foundations.settings import PROJECT_ROOT

PARAMS_FILE = PROJECT_ROOT / "params.yaml"
# Sections of the same file that later phases validate with their own models.
LATER_PHASE_SECTIONS = frozenset({"monitoring"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldWindow(_Strict):
    seed: int = 42
    scenario: str = "baseline"
    rows_per_week: int = Field(2000, gt=0)
    train_weeks: tuple[int, int] = (0, 8)
    holdout_weeks: tuple[int, int] = (8, 10)

    @model_validator(mode="after")
    def _holdout_is_later(self) -> WorldWindow:
        (train_start, train_stop), (hold_start, hold_stop) = self.train_weeks, self.holdout_weeks
        if not (0 <= train_start < train_stop <= hold_start < hold_stop):
            raise ValueError("need 0 <= train start < train stop <= holdout start < holdout stop")
        return self


class DataParams(_Strict):
    source: Literal["telco", "world"] = "telco"
    world: WorldWindow = WorldWindow()


class LogRegParams(_Strict):
    C: float = Field(0.3, gt=0)
    max_iter: int = Field(2000, gt=0)


class HgbParams(_Strict):
    learning_rate: float = Field(0.02, gt=0, le=1)
    max_iter: int = Field(400, gt=0)
    max_leaf_nodes: int = Field(8, ge=2)
    min_samples_leaf: int = Field(40, ge=1)
    l2_regularization: float = Field(5.0, ge=0)


class TrainParams(_Strict):
    family: Literal["logreg", "hgb"] = "logreg"
    seed: int = 42
    logreg: LogRegParams = LogRegParams()
    hgb: HgbParams = HgbParams()


class BusinessParams(_Strict):
    contact_cost: float = Field(10.0, ge=0)
    retained_value: float = Field(300.0, ge=0)
    save_rate: float = Field(0.3, ge=0, le=1)


class EvaluateParams(_Strict):
    threshold: float = Field(0.35, gt=0, lt=1)
    tenure_bands: tuple[int, ...] = (0, 12, 24, 48, 121)
    slices: tuple[str, ...] = ("contract", "tenure_band", "internetservice")
    min_slice_rows: int = Field(30, ge=1)
    calibration_bins: int = Field(10, ge=2)
    business: BusinessParams = BusinessParams()


class Floors(_Strict):
    roc_auc: float = Field(0.80, ge=0, le=1)
    pr_auc: float = Field(0.55, ge=0, le=1)
    max_brier: float = Field(0.20, ge=0, le=1)


class GateParams(_Strict):
    floors: Floors = Floors()
    primary_metric: Literal["roc_auc", "pr_auc", "net_value_per_customer"] = "roc_auc"
    superiority_margin: float = Field(0.002, ge=0)
    slice_tolerance: float = Field(0.03, ge=0)
    churn_rate_bounds: tuple[float, float] = (0.05, 0.60)


class RegistryParams(_Strict):
    model_name: str = "churn-model"
    promote_to: Literal["champion", "challenger"] = "champion"


class Experiment(_Strict):
    name: str
    family: Literal["logreg", "hgb"]
    logreg: LogRegParams = LogRegParams()
    hgb: HgbParams = HgbParams()


class PipelineParams(_Strict):
    data: DataParams = DataParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    gate: GateParams = GateParams()
    registry: RegistryParams = RegistryParams()
    experiments: tuple[Experiment, ...] = ()

    def flat(self) -> dict[str, str]:
        """Dotted keys to string values, the shape MLflow params take."""
        flat: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            else:
                flat[prefix] = str(value)

        walk("", self.model_dump(mode="json", exclude={"experiments"}))
        return flat


def load_params(path: Path = PARAMS_FILE) -> PipelineParams:
    """Read and validate ``params.yaml``."""
    raw = yaml.safe_load(path.read_text()) or {}
    return PipelineParams.model_validate(
        {key: value for key, value in raw.items() if key not in LATER_PHASE_SECTIONS}
    )
