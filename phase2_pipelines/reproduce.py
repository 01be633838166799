"""Rebuild a model from its run id and prove the predictions are identical.

A run records its code version (git commit and dirty flag), environment (uv.lock hash), data
(fingerprints, DVC version) and params. Reproducing checks each against the present, refuses with
every difference named, and otherwise retrains and compares holdout prediction hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from phase1_foundations.repro import dataset_fingerprint, git_state, lockfile_hash, prediction_hash
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.stages.ingest import load_window
from phase2_pipelines.tracking import configure_mlflow
from phase2_pipelines.train import fit_model, predict_scores


class ReproduceError(RuntimeError):
    """The run cannot be reproduced here; the message lists every difference."""


@dataclass(frozen=True)
class ReproduceResult:
    run_id: str
    recorded_hash: str
    rebuilt_hash: str
    warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.recorded_hash == self.rebuilt_hash

    def render(self) -> str:
        lines = [f"reproducing run {self.run_id}"]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        lines += [
            f"  recorded holdout predictions sha256 {self.recorded_hash}",
            f"  rebuilt  holdout predictions sha256 {self.rebuilt_hash}",
            "  => IDENTICAL" if self.identical else "  => DIFFERENT",
        ]
        return "\n".join(lines)


def code_differences(tags: dict[str, str], allow_dirty: bool) -> tuple[list[str], list[str]]:
    """(problems, warnings) about the code and environment versions."""
    problems: list[str] = []
    warnings: list[str] = []
    commit, dirty = git_state()
    recorded = tags.get("git_commit")
    if recorded and recorded != "None" and commit != recorded:
        problems.append(f"code version differs: run used commit {recorded}, this is {commit}")
    notes = []
    if dirty:
        notes.append("the working tree has uncommitted changes to tracked files")
    if tags.get("git_dirty") == "True":
        notes.append("the run was trained from a dirty tree, so its exact code is unknown")
    (warnings if allow_dirty else problems).extend(
        f"{note}{' (allowed by --allow-dirty)' if allow_dirty else ''}" for note in notes
    )
    lock = lockfile_hash()
    if tags.get("lock_sha256") not in (None, "None", lock):
        problems.append(
            f"environment differs: run used uv.lock {tags['lock_sha256']}, this is {lock}"
        )
    return problems, warnings


def reproduce_run(
    run_id: str, *, allow_dirty: bool = False, settings: Settings | None = None
) -> ReproduceResult:
    """Retrain the model of ``run_id``; compare its holdout predictions with the recorded ones."""
    settings = settings or get_settings()
    configure_mlflow(settings)
    client = MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise ReproduceError(f"no run {run_id} in {settings.tracking_uri}") from error
    tags = dict(run.data.tags)
    params = PipelineParams.model_validate(
        mlflow.artifacts.load_dict(f"runs:/{run_id}/params.json")
    )
    problems, warnings = code_differences(tags, allow_dirty)
    train, holdout = load_window(params, settings)
    for name, frame in (("train", train), ("holdout", holdout)):
        recorded = tags.get(f"data.{name}_fingerprint")
        actual = dataset_fingerprint(frame)
        if recorded != actual:
            problems.append(
                f"data-hash mismatch on {name}: run recorded {recorded}, the data now is {actual}"
            )
    if problems:
        raise ReproduceError(
            f"run {run_id} cannot be reproduced here:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    model = fit_model(train, params.train)
    rebuilt = prediction_hash(predict_scores(model, holdout))
    return ReproduceResult(
        run_id=run_id,
        recorded_hash=tags.get("holdout_prediction_sha256", ""),
        rebuilt_hash=rebuilt,
        warnings=warnings,
    )
