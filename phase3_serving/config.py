"""Serving settings: the phase-1 settings plus what the service needs (env ``MLOPS_SERVING_*``).

Settings say how the service runs (where, how fast, with which secrets); what it decides, such as
the guardrails' limits, is in ``params.yaml`` (``params.py``). Like every setting they only
declare; ``get_serving_settings()`` builds them on first use. The validator refuses an admin API
guarded by an empty or default token, and phase 1's ``load_settings`` turns a refusal into the one
line a person starting the server reads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from phase1_foundations.settings import Settings, load_settings
from phase2_pipelines.params import PARAMS_FILE, load_params

# Rows a batch run reads, checks and scores at a time (bounds its memory); `score --chunk-rows`.
# Here, not in batch.py, so the CLI's parser does not import the batch stack for every command.
DEFAULT_CHUNK_ROWS = 50_000
DEFAULT_TOKENS = frozenset({"", "admin", "changeme", "change-me", "secret", "token", "password"})
MIN_TOKEN_LENGTH = 16


class ServingSettings(Settings):
    serving_model_name: str | None = Field(
        None, description="The registered model to serve; default: params.yaml's registry name."
    )
    serving_model_alias: str = "champion"
    serving_challenger_alias: str = "challenger"
    serving_url: str = Field(
        "http://127.0.0.1:8000", description="Where the admin CLI finds the running service."
    )
    serving_poll_seconds: float = Field(10.0, gt=0, description="How often to check the aliases.")
    serving_max_batch_rows: int = Field(10_000, gt=0)
    serving_batch_max_rows: int = Field(256, gt=0, description="Rows per micro-batched call.")
    serving_batch_wait_ms: float = Field(2.0, ge=0, description="Longest a row waits for company.")
    serving_inference_threads: int = Field(
        1, gt=0, description="Threads that call models off the event loop (per worker)."
    )
    serving_model_threads: int = Field(
        1,
        gt=0,
        description="Native threads (OpenMP, BLAS) one model call may use: more than the cores"
        " a worker has makes a gradient-boosting call many times slower.",
    )
    serving_switch_interval_ms: float = Field(
        1.0,
        gt=0,
        description="Longest a thread holds the GIL while another waits (Python: 5 ms): how"
        " long a model call on the inference thread can keep the event loop waiting.",
    )
    serving_inline_max_rows: int = Field(
        512, ge=0, description="A verified fast path scores up to this many rows on the loop."
    )
    serving_shadow_max_pending_rows: int = Field(
        20_000, gt=0, description="Rows waiting for the shadow model before shadowing is skipped."
    )
    serving_max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    serving_admin_enabled: bool = False
    serving_admin_token: SecretStr = SecretStr("")
    serving_log_flush_rows: int = Field(5_000, gt=0, description="Rows per log segment.")
    serving_log_flush_seconds: float = Field(2.0, gt=0)
    serving_log_max_pending_segments: int = Field(64, gt=0, description="Bounds log memory.")
    serving_gc_freeze: bool = Field(
        True, description="Move startup objects out of the collector's sight (shorter pauses)."
    )
    # The rollout plan lives in <state>/rollout/plan.json, shared by every worker.
    serving_shadow: bool = Field(False, description="Start in shadow mode (seeds the shared plan).")
    serving_canary_percent: float = Field(
        0.0, ge=0, le=100, description="Start a canary of this share (seeds the shared plan)."
    )
    serving_rollout_poll_seconds: float = Field(
        0.25, gt=0, description="How often a worker re-reads the shared rollout plan."
    )
    # The guardrails' limits, error budget and looks are decision numbers: params.yaml.
    serving_params_file: Path = Field(
        PARAMS_FILE, description="The params.yaml whose serving section the service reads."
    )
    serving_guardrail_sync_seconds: float = Field(
        0.5, gt=0, description="How often a worker shares its guardrail evidence."
    )

    @model_validator(mode="after")
    def _refuse_default_admin_token(self) -> ServingSettings:
        token = self.serving_admin_token.get_secret_value()
        if self.serving_admin_enabled and (
            token.strip().lower() in DEFAULT_TOKENS or len(token) < MIN_TOKEN_LENGTH
        ):
            raise ValueError(
                "MLOPS_SERVING_ADMIN_TOKEN: admin is enabled but the token is empty, a default or"
                f" shorter than {MIN_TOKEN_LENGTH} characters; set it to a long random value,"
                " e.g. export MLOPS_SERVING_ADMIN_TOKEN=$(openssl rand -hex 16)"
            )
        return self

    def model_name(self) -> str:
        """The registered model to serve: the setting, else ``registry.model_name`` of the
        params file (the name the pipeline registers under, written down once)."""
        if self.serving_model_name:
            return self.serving_model_name
        return load_params(self.serving_params_file).registry.model_name

    @property
    def rollout_dir(self) -> Path:
        return self.state_dir / "rollout"


@lru_cache(maxsize=1)
def get_serving_settings() -> ServingSettings:
    """The process-wide serving settings; a bad value is a ``ConfigError`` naming its variable."""
    return load_settings(ServingSettings)
