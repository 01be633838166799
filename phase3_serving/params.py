"""Typed view of the ``serving:`` section of ``params.yaml``: decision numbers of the service.

The guardrails' limits, error budget and looks are deployment settings (``config.py``,
``MLOPS_SERVING_GUARDRAIL_*``), tuned per service. What lives here is a property of the
statistic itself, the same for every deployment. Phase 2 ignores this section.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from phase2_pipelines.params import PARAMS_FILE

SECTION = "serving"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardrailParams(_Strict):
    min_latency_calls: int = Field(
        ge=1, description="Calls before a latency verdict; fewer are 'insufficient'."
    )


class ServingParams(_Strict):
    guardrails: GuardrailParams


def load_serving_params(path: Path = PARAMS_FILE) -> ServingParams:
    """Read and validate the ``serving:`` section."""
    raw = yaml.safe_load(path.read_text()) or {}
    return ServingParams.model_validate(raw.get(SECTION) or {})
