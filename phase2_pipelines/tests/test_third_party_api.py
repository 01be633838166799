"""Every third-party API phase 2 relies on, by name: MLflow 3 moved many; an upgrade fails here."""

from __future__ import annotations

import importlib
import inspect

import pytest

APIS = [
    ("mlflow", "set_tracking_uri"),
    ("mlflow", "set_experiment"),
    ("mlflow", "start_run"),
    ("mlflow", "register_model"),
    ("mlflow.artifacts", "download_artifacts"),
    ("mlflow.artifacts", "load_dict"),
    ("mlflow.models", "infer_signature"),
    ("mlflow.sklearn", "log_model"),
    ("mlflow.sklearn", "load_model"),
    ("mlflow.exceptions", "MlflowException"),
    ("mlflow.tracking._tracking_service.utils", "is_tracking_uri_set"),
    # tracking.ensure_store: the schema head, and the engines MLflow caches per store URI
    ("mlflow.store.db.utils", "_get_latest_schema_revision"),
    ("mlflow.store.tracking.sqlalchemy_store", "SqlAlchemyStore"),
    ("mlflow.store.model_registry.sqlalchemy_store", "SqlAlchemyStore"),
    ("sklearn.model_selection", "StratifiedKFold"),
    ("sklearn.model_selection", "cross_val_predict"),
    ("sklearn.model_selection", "train_test_split"),
    ("scipy.stats", "norm"),
    ("skops.io", "get_untrusted_types"),
    ("skops.io", "dumps"),
    ("sklearn.ensemble", "HistGradientBoostingClassifier"),
    ("sklearn.metrics", "average_precision_score"),
    ("sklearn.calibration", "calibration_curve"),
    ("matplotlib.figure", "Figure"),
    ("joblib", "dump"),
    ("threadpoolctl", "ThreadpoolController"),  # train.one_thread
]
CLIENT_METHODS = [
    "set_registered_model_alias",
    "get_model_version_by_alias",
    "delete_registered_model_alias",
    "set_model_version_tag",
    "search_model_versions",
    "get_registered_model",
    "create_experiment",
]


@pytest.mark.parametrize(("module", "name"), APIS)
def test_api_is_importable(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


@pytest.mark.parametrize("method", CLIENT_METHODS)
def test_registry_uses_aliases_not_stages(method: str) -> None:
    from mlflow import MlflowClient

    assert callable(getattr(MlflowClient, method))


def test_log_model_takes_the_arguments_we_pass() -> None:
    import mlflow.sklearn

    parameters = inspect.signature(mlflow.sklearn.log_model).parameters
    for argument in ("name", "pip_requirements", "signature", "serialization_format",
                     "skops_trusted_types"):  # fmt: skip
        assert argument in parameters, f"mlflow.sklearn.log_model lost {argument}"


def test_sqlalchemy_stores_cache_one_engine_per_uri() -> None:
    """``ensure_store`` closes these after a rebuild: the map must still be where it was."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    assert isinstance(TrackingStore._engine_map, dict)
    assert isinstance(RegistryStore._engine_map, dict)
