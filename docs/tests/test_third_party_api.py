"""Every third-party API the documents rely on, by name: an upgrade that moves one fails here."""

from __future__ import annotations

import importlib
import inspect

import pytest

APIS = [
    ("jinja2", "Environment"),
    ("jinja2", "FileSystemLoader"),
    ("jinja2", "StrictUndefined"),
    ("mlflow", "MlflowClient"),
    ("mlflow.entities", "Run"),
    ("fastapi.routing", "APIRoute"),
    ("mkdocs.__main__", "cli"),
    ("material", "__file__"),  # the mkdocs-material theme package
    ("pymdownx.superfences", "fence_code_format"),  # Mermaid fences (mkdocs.yml)
]
CLIENT_METHODS = [
    "get_model_version",
    "get_model_version_by_alias",
    "search_model_versions",
    "get_registered_model",
    "get_experiment_by_name",
    "search_runs",
    "get_run",
]


@pytest.mark.parametrize(("module", "name"), APIS)
def test_api_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


@pytest.mark.parametrize("method", CLIENT_METHODS)
def test_mlflow_client_method_exists(method: str) -> None:
    from mlflow import MlflowClient

    assert callable(getattr(MlflowClient, method, None)), f"MlflowClient.{method} is gone"


def test_search_runs_takes_a_filter_and_a_limit() -> None:
    from mlflow import MlflowClient

    parameters = inspect.signature(MlflowClient.search_runs).parameters
    assert {"experiment_ids", "filter_string", "max_results"} <= set(parameters)


def test_the_material_theme_is_registered_with_mkdocs() -> None:
    from mkdocs.utils import get_theme_names

    assert "material" in get_theme_names()
