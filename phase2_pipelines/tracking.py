"""MLflow wiring: where runs and artifacts go, and which requirements a logged model pins."""

from __future__ import annotations

from importlib import metadata

import mlflow
from mlflow import MlflowClient

from phase1_foundations.settings import Settings, get_settings

TRAINING_EXPERIMENT = "churn-training"
EXPERIMENTS_EXPERIMENT = "churn-experiments"
# What the fitted pipeline needs to unpickle and predict; pinned to this environment's versions.
MODEL_REQUIREMENTS = ("scikit-learn", "numpy", "pandas", "scipy", "skops")


def model_pip_requirements() -> list[str]:
    """Explicit pins, so MLflow does not spend seconds inferring them."""
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def project_client(settings: Settings | None = None) -> MlflowClient:
    """A client of the project's store: MLflow's configured tracking URI, else the settings'.

    A plain ``MlflowClient()`` in a process that configured nothing uses ``./mlflow.db`` in the
    current directory: a different, empty store.
    """
    from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

    # Set by configure_mlflow in this process, or exported as MLFLOW_TRACKING_URI.
    if is_tracking_uri_set():  # type: ignore[no-untyped-call]
        return MlflowClient()
    settings = settings or get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=settings.tracking_uri)


def configure_mlflow(
    settings: Settings | None = None, experiment: str = TRAINING_EXPERIMENT
) -> str:
    """Point MLflow at the configured store, make ``experiment`` active, and return its id.

    With the default sqlite store, artifacts go under ``<state>/mlartifacts`` rather than MLflow's
    default of ``./mlruns`` relative to whatever directory the process started in.
    """
    settings = settings or get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = (settings.state_dir / "mlartifacts" / experiment).resolve().as_uri()
        experiment_id = str(client.create_experiment(experiment, artifact_location=location))
    else:
        experiment_id = str(found.experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
