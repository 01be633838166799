"""Every third-party API phase 4 relies on, by name: Evidently 0.7 removed its old API, and an
upgrade that moves these again fails here first."""

from __future__ import annotations

import importlib
import inspect

import pytest

APIS = [
    ("evidently", "Report"),
    ("evidently", "Dataset"),
    ("evidently", "DataDefinition"),
    ("evidently", "BinaryClassification"),
    ("evidently.presets", "DataDriftPreset"),
    ("evidently.presets", "DataSummaryPreset"),
    ("evidently.presets", "ClassificationPreset"),
    ("evidently.core.report", "Snapshot"),
    ("scipy.stats", "chi2"),
    ("scipy.stats", "norm"),
    ("scipy.stats", "rankdata"),
    ("scipy.stats", "ks_2samp"),
    ("sklearn.isotonic", "IsotonicRegression"),
    ("pyarrow.csv", "open_csv"),
    ("pyarrow.csv", "read_csv"),
    ("mlflow.artifacts", "load_dict"),
    ("mlflow.artifacts", "download_artifacts"),
    ("prometheus_client", "CollectorRegistry"),
    ("prometheus_client", "Gauge"),
    ("prometheus_client", "generate_latest"),
    ("prometheus_client", "write_to_textfile"),
    ("prometheus_client.parser", "text_string_to_metric_families"),
]


@pytest.mark.parametrize(("module", "name"), APIS)
def test_api_is_importable(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_drift_preset_takes_the_methods_and_thresholds_we_set() -> None:
    from evidently.presets import DataDriftPreset

    parameters = inspect.signature(DataDriftPreset).parameters
    for argument in ("columns", "num_method", "num_threshold", "cat_method", "cat_threshold"):
        assert argument in parameters, f"DataDriftPreset lost {argument}"


def test_evidently_knows_the_drift_methods_we_name() -> None:
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    wasserstein = get_registered_stattest("wasserstein", ColumnType.Numerical)
    jensenshannon = get_registered_stattest("jensenshannon", ColumnType.Categorical)
    assert wasserstein.display_name == "Wasserstein distance (normed)"  # W1 / reference std
    assert jensenshannon.display_name == "Jensen-Shannon distance"


def test_snapshot_writes_html_and_json_and_exposes_its_results() -> None:
    from evidently.core.report import Snapshot

    for method in ("save_html", "save_json", "dict"):
        assert callable(getattr(Snapshot, method)), f"Snapshot.{method} is gone"


def test_dataset_is_built_from_pandas_with_a_definition() -> None:
    from evidently import BinaryClassification, Dataset

    assert "data_definition" in inspect.signature(Dataset.from_pandas).parameters
    assert "prediction_probas" in inspect.signature(BinaryClassification).parameters
