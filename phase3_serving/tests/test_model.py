"""Loading refuses a model whose run does not say at which threshold it decides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.params import load_params
from phase2_pipelines.registry import CHECKSUM_TAG, Registry, artifact_checksum
from phase2_pipelines.tests.conftest import state
from phase2_pipelines.tracking import configure_mlflow
from phase2_pipelines.train import fit_model
from phase3_serving.model import THRESHOLD_PARAM, ModelLoadError, load_model

__all__ = ["state"]
NAME = "churn-model"
pytestmark = pytest.mark.slow


def _register(telco_sample: pd.DataFrame, params: dict[str, str]) -> str:
    """A verified registered version whose run logged exactly ``params``."""
    import mlflow
    import mlflow.sklearn
    import skops.io

    model = fit_model(telco_sample, load_params().train)
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    with mlflow.start_run():
        mlflow.log_params(params)
        info = mlflow.sklearn.log_model(
            model, name="model", serialization_format="skops", skops_trusted_types=trusted
        )
    version = str(mlflow.register_model(info.model_uri, NAME).version)
    registry = Registry(NAME)
    checksum = artifact_checksum(Path(mlflow.artifacts.download_artifacts(info.model_uri)))
    registry.client.set_model_version_tag(NAME, version, CHECKSUM_TAG, checksum)
    registry.promote(version, "test")
    return version


@pytest.mark.parametrize("logged", [{}, {THRESHOLD_PARAM: "high"}, {THRESHOLD_PARAM: "1.5"}])
def test_a_version_without_a_usable_threshold_is_not_served(
    state: Settings, telco_sample: pd.DataFrame, logged: dict[str, str]
) -> None:
    configure_mlflow(state)
    version = _register(telco_sample, logged)
    with pytest.raises(ModelLoadError, match=THRESHOLD_PARAM) as refused:
        load_model(NAME, "champion")
    assert f"v{version}" in str(refused.value)  # the log says which version and why
    assert refused.value.public == "the model has no decision threshold"  # the public, no more


def test_the_threshold_is_the_runs(state: Settings, telco_sample: pd.DataFrame) -> None:
    configure_mlflow(state)
    _register(telco_sample, {THRESHOLD_PARAM: "0.42"})
    assert load_model(NAME, "champion").threshold == 0.42
