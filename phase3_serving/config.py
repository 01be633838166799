"""Serving settings: the phase-1 settings plus what the service needs (env ``MLOPS_SERVING_*``).

Like every setting here they only declare; ``get_serving_settings()`` builds them on first use.
The validator refuses an admin API guarded by an empty or default token.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator

from phase1_foundations.settings import Settings

DEFAULT_TOKENS = frozenset({"", "admin", "changeme", "change-me", "secret", "token", "password"})
MIN_TOKEN_LENGTH = 16


class ServingSettings(Settings):
    serving_model_name: str = "churn-model"
    serving_model_alias: str = "champion"
    serving_challenger_alias: str = "challenger"
    serving_poll_seconds: float = Field(10.0, gt=0, description="How often to check the aliases.")
    serving_max_batch_rows: int = Field(10_000, gt=0)
    serving_batch_max_rows: int = Field(256, gt=0, description="Rows per micro-batched call.")
    serving_batch_wait_ms: float = Field(2.0, ge=0, description="Longest a row waits for company.")
    serving_max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    serving_admin_enabled: bool = False
    serving_admin_token: SecretStr = SecretStr("")
    serving_log_flush_rows: int = Field(5_000, gt=0, description="Rows per log segment.")
    serving_log_flush_seconds: float = Field(2.0, gt=0)
    serving_log_max_pending_segments: int = Field(64, gt=0, description="Bounds log memory.")
    serving_shadow: bool = Field(False, description="Score every request with the challenger too.")
    serving_canary_percent: float = Field(0.0, ge=0, le=100)
    serving_guardrail_min_requests: int = Field(200, gt=0)
    serving_guardrail_max_error_rate: float = Field(0.02, ge=0, le=1)
    serving_guardrail_max_p95_ms: float = Field(250.0, gt=0)
    serving_guardrail_max_score_shift: float = Field(
        0.25, gt=0, description="Largest allowed population stability index vs the champion."
    )

    @model_validator(mode="after")
    def _refuse_default_admin_token(self) -> ServingSettings:
        token = self.serving_admin_token.get_secret_value()
        if self.serving_admin_enabled and (
            token.strip().lower() in DEFAULT_TOKENS or len(token) < MIN_TOKEN_LENGTH
        ):
            raise ValueError(
                "serving_admin_token: admin is enabled but the token is empty, a default or"
                f" shorter than {MIN_TOKEN_LENGTH} characters; set MLOPS_SERVING_ADMIN_TOKEN"
            )
        return self


@lru_cache(maxsize=1)
def get_serving_settings() -> ServingSettings:
    return ServingSettings()
