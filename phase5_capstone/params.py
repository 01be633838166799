"""Typed view of the ``capstone:`` section of ``params.yaml``: how the weekly cycle operates.

The scenario (``scenarios/*.yml``) says what happens to the world and the system; these say how
the system responds: which weeks a retrain learns from, how traffic reaches the service, how long
a challenger shadows and canaries before it is promoted. Phase 2 and phase 4 read their own
sections of the same file.
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from phase2_pipelines.params import PARAMS_FILE, load_section

SECTION = "capstone"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutParams(_Strict):
    """A staged challenger shadows, then serves a canary share, then is promoted."""

    shadow: Literal["replay", "traffic"] = Field(
        description="replay: the shadow scores the week's batch again as soon as the challenger"
        " is staged; traffic: it shadows the next shadow_weeks of live traffic.",
    )
    shadow_weeks: int = Field(ge=1, description="Weeks of traffic scored in the shadow.")
    canary_weeks: int = Field(ge=1, description="Weeks the canary share is served.")
    canary_percent: float = Field(gt=0, lt=100, description="Customers the canary serves.")


class ServiceParams(_Strict):
    """The embedded service: the phase-3 app under uvicorn on 127.0.0.1, in this process."""

    poll_seconds: float = Field(
        gt=0, description="Alias polling (each move is also pushed by POST /admin/reload)."
    )
    guardrail_sync_seconds: float = Field(
        gt=0, description="How soon the service tests a due guardrail look."
    )
    rollout_poll_seconds: float = Field(gt=0)
    settle_timeout_seconds: float = Field(
        gt=0, description="Longest wait for the service to finish a batch's evidence."
    )


class PolicyParams(_Strict):
    """What a retrain learns from and how its candidates are judged (``training.py``)."""

    evaluation: Literal["crossfit", "holdout"] = Field(
        description="crossfit: judge candidates out of fold on the newest (post-change) weeks and"
        " ship a model trained on them too; holdout: hold the latest weeks out.",
    )
    crossfit_folds: int = Field(ge=2)
    max_evaluation_weeks: int = Field(
        ge=1, description="At most this many post-change weeks are cross-fitted."
    )
    pre_change_weight: float = Field(
        gt=0, le=1, description="Weight of a row from before the change, after one."
    )
    min_evaluation_churners: int = Field(
        ge=1, description="Judge candidates only on at least this many churners."
    )
    recalibrate: bool = Field(
        description="On harm, also try the champion recalibrated per segment."
    )
    recalibration_columns: tuple[str, ...]
    recalibration_prior_sd: float = Field(gt=0)
    wait_for_post_change: bool = Field(
        description="Launch no retrain whose window holds no label since the change."
    )
    broken_champion_burden: Literal["non_inferiority", "superiority"] = Field(
        description="The gate's burden when the champion is known to be broken.",
    )


OneSidedConfidence = Annotated[float, Field(gt=0.5, lt=1)]


class YardstickParams(_Strict):
    """How a run is judged against what the world knows (``truth.py``, ``summary.py``): for the
    summary, the timeline and the policy benchmark; no decision of the system reads them."""

    refit_max_rows: int = Field(
        ge=1, description="The refit a week is compared with learns from this many rows..."
    )
    refit_weeks_of_rows: int = Field(ge=1, description="...or this many weeks' worth, if fewer.")
    degraded_confidence: OneSidedConfidence = Field(
        description="A week is degraded when the refit's AUC lead clears its one-sided bound at"
        " this level...",
    )
    degraded_margin: float = Field(ge=0, description="...by at least this much AUC.")
    recovery_confidence: OneSidedConfidence = Field(
        description="A promotion recovered when its realized AUC beats the weeks before it,"
        " one-sided, at this level...",
    )
    recovery_floor: float = Field(
        gt=0, lt=1, description="...and is not shown to be below this AUC."
    )
    recent_label_weeks: int = Field(
        ge=1, description="The closing lines pool the serving model's latest labeled weeks."
    )

    @property
    def degraded_z(self) -> float:
        """Standard errors the refit's one-sided bound steps off its AUC lead."""
        return NormalDist().inv_cdf(self.degraded_confidence)

    @property
    def recovery_z(self) -> float:
        """Standard errors the recovery check's one-sided bounds step off their estimates."""
        return NormalDist().inv_cdf(self.recovery_confidence)


class CapstoneParams(_Strict):
    scenario: str = Field(description="The scenario `make capstone` runs.")
    train_weeks: int = Field(ge=1, description="A retrain learns from this many weeks...")
    holdout_weeks: int = Field(ge=1, description="...and is gated on the later ones.")
    score_chunk_rows: int = Field(
        ge=1, description="Customers per request to the service's batch route."
    )
    max_bad_row_share: float = Field(
        ge=0,
        le=1,
        description="Past this share of rows breaking the contract, the whole batch is held.",
    )
    evidently_on_alert: bool = Field(
        description="Write Evidently's HTML report in a week whose alert begins."
    )
    policy: PolicyParams
    rollout: RolloutParams
    service: ServiceParams
    yardstick: YardstickParams


def load_capstone_params(path: Path = PARAMS_FILE) -> CapstoneParams:
    """Read and validate the ``capstone:`` section (every key is required: no defaults)."""
    return load_section(CapstoneParams, SECTION, path)
