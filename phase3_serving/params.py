"""Typed view of the ``serving:`` section of ``params.yaml``: the service's decision numbers.

The guardrails' limits, error budget, look schedule and bins decide whether a challenger is
rolled back, so they live here, beside every other threshold; the settings (``config.py``) hold
only how the service runs. The service reads the file ``MLOPS_SERVING_PARAMS_FILE`` names
(``params.yaml`` by default). Phase 2 ignores this section.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from phase2_pipelines.params import PARAMS_FILE, load_section

SECTION = "serving"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardrailParams(_Strict):
    """One-sided tests at a fixed schedule of looks, the error budget split by Bonferroni."""

    max_error_rate: float = Field(ge=0, lt=1, description="Share of challenger calls failing.")
    max_p95_ms: float = Field(gt=0, description="The p95 of a challenger call's latency.")
    max_score_shift: float = Field(
        gt=0, description="Largest population stability index of the challenger's scores."
    )
    score_bins: int = Field(ge=2, description="Equal-width bins on [0, 1] for the score PSI.")
    alpha: float = Field(
        gt=0, lt=1, description="Chance of rolling back a challenger exactly at the limits."
    )
    looks: tuple[int, ...] = Field(
        description="Challenger requests at which the guardrails are tested, increasing."
    )
    min_latency_calls: int = Field(
        ge=1, description="Calls before a latency verdict; fewer are 'insufficient'."
    )

    @field_validator("looks")
    @classmethod
    def _increasing_looks(cls, looks: tuple[int, ...]) -> tuple[int, ...]:
        if not looks or looks[0] <= 0 or any(b <= a for a, b in pairwise(looks)):
            raise ValueError("must be positive request counts in increasing order, e.g. [200, 500]")
        return looks


class ServingParams(_Strict):
    guardrails: GuardrailParams


def load_serving_params(path: Path = PARAMS_FILE) -> ServingParams:
    """Read and validate the ``serving:`` section."""
    return load_section(ServingParams, SECTION, path)
