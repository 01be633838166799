"""Typed view of the ``monitoring:`` section of ``params.yaml``: every threshold of phase 4.

Phase 2 validates its own sections of the same file and ignores this one. Every threshold here
is an effect size (how large a change must be to matter), never a p-value: with a million rows
a p-value flags differences nobody cares about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from phase2_pipelines.params import PARAMS_FILE, load_section

SECTION = "monitoring"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftThresholds(_Strict):
    psi: float = Field(gt=0)
    wasserstein: float = Field(gt=0)
    jensen_shannon: float = Field(gt=0, le=1)


class PredictionThresholds(_Strict):
    psi: float = Field(gt=0)
    jensen_shannon: float = Field(gt=0, le=1)
    mean_shift: float = Field(gt=0, lt=1)


class DataQualityThresholds(_Strict):
    null_rate_increase: float = Field(gt=0, le=1)
    duplicate_share: float = Field(ge=0, le=1)
    contract_violation_share: float = Field(ge=0, le=1)


class QualityThresholds(_Strict):
    auc_drop: float = Field(gt=0, lt=1)
    calibration_gap: float = Field(gt=0, lt=1)
    label_rate_change: float = Field(gt=0, lt=1)
    value_drop_per_customer: float = Field(gt=0)
    # reference: the AUC drop's noise floor is the spread of a week's AUC had nothing changed
    # (the holdout's AUC at this week's class counts); observed: DeLong's at the week's own AUC,
    # which grows as the AUC falls, so the worse the week, the less it can be judged.
    auc_noise_floor: Literal["reference", "observed"]
    segment_calibration_gap: float = Field(gt=0, lt=1)  # per segment value of each slice
    segment_auc_drop: float = Field(gt=0, lt=1)  # per segment value, against its holdout
    min_segment_rows: int = Field(ge=10)  # judge a segment value only with this many labels


class CbpeParams(_Strict):
    max_ece: float = Field(gt=0, lt=1)


HarmCheck = Literal[
    "roc_auc",
    "calibration",
    "segment_calibration",
    "segment_roc_auc",
    "target_drift",
    "business_value",
]


class DriftTrigger(_Strict):
    features: int = Field(ge=1)  # k: features whose drift is an alert ...
    windows: int = Field(ge=1)  # m: ... in this many consecutive windows
    needs_harm: bool  # False: sustained drift alone retrains


class PerformanceTrigger(_Strict):
    auc_floor: float = Field(gt=0, lt=1)
    auc_drop: float = Field(ge=0, lt=1)
    # The champion's latest labeled weeks pooled (inverse-variance weights): a sustained small
    # drop shows in the pool long before any one week is sure of it. 1: the latest week alone.
    pool_weeks: int = Field(ge=1)
    # Realized alerts on the latest labeled week that retrain (a recalibration is one candidate);
    # the others only ask for a look (investigate).
    act_on: tuple[HarmCheck, ...]


class RollbackTrigger(_Strict):
    lookback_weeks: int = Field(ge=1)


class TriggerParams(_Strict):
    """When to retrain, roll back, quarantine, or leave the model alone (``triggers.py``)."""

    schedule_weeks: int = Field(ge=0)  # 0: no scheduled retraining
    cooldown_weeks: int = Field(ge=0)
    # promotion: the cooldown and the schedule's clock start when a model is promoted, so a
    # rejected retrain can be retried next week and never resets the backstop. retrain: they
    # start when any retrain starts, promoted or not.
    clock_from: Literal["promotion", "retrain"]
    escalate_after: int = Field(ge=0)  # rejected retrains in a row before a person must look
    min_labels: int = Field(ge=1)
    confidence: float = Field(ge=0.5, lt=1)  # one-sided, for every interval bound
    harm_checks: tuple[HarmCheck, ...]
    drift: DriftTrigger
    performance: PerformanceTrigger
    rollback: RollbackTrigger


class PrometheusParams(_Strict):
    """Every limit of ``alerts.yml`` that is not a monitor's verdict (a test checks each one
    there against these), and the exporter's port."""

    exporter_port: int = Field(gt=0, lt=65536)
    p99_latency_seconds: float = Field(gt=0)
    error_rate: float = Field(gt=0, lt=1)
    stale_after_days: float = Field(gt=0)


class MonitoringParams(_Strict):
    """Thresholds for every check, and how sure an effect estimate must be before it counts."""

    noise_alpha: float = Field(gt=0, lt=0.5)
    max_floor_ratio: float = Field(gt=0, le=1)
    drift: DriftThresholds
    prediction: PredictionThresholds
    data_quality: DataQualityThresholds
    quality: QualityThresholds
    cbpe: CbpeParams
    triggers: TriggerParams
    prometheus: PrometheusParams


def load_monitoring_params(path: Path = PARAMS_FILE) -> MonitoringParams:
    """Read and validate the ``monitoring:`` section (every key is required: no defaults)."""
    return load_section(MonitoringParams, SECTION, path)
