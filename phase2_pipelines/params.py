"""Typed view of ``params.yaml``: the pipeline's thresholds, windows and hyperparameters.

DVC reads the same file to decide which stages a change re-runs, so every number lives there and
nowhere in code: no field the file sets has a default here (a default would be a second home for
its number), only the few the file leaves out on purpose (``gate.burden_reason``, set per run;
an experiment's other family). Loading validates it, and a missing or bad value names its field.

Learners edit this file. Every loader of it (this one, and each later phase's for its own
section) refuses a file that cannot be read, is not YAML or does not validate with one
``ParamsError`` (a ``ConfigError``), and every command line answers that with its one line and
exit code 2 (phase 1's ``refuse_bad_config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from phase1_foundations.settings import PROJECT_ROOT, ConfigError, field_problems

PARAMS_FILE = PROJECT_ROOT / "params.yaml"
# Sections of the same file that later phases validate with their own models.
LATER_PHASE_SECTIONS = frozenset({"serving", "monitoring", "capstone"})

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldWindow(_Strict):
    """Which simulated weeks the pipeline learns from, as seen at the end of ``cutoff_week``.

    Only labels already released by the cutoff are used (a week's labels arrive
    ``label_delay_weeks`` later). Of the event weeks whose labels are out, the latest
    ``holdout_weeks`` are held out for evaluation and the gate, and the ``train_weeks`` before them
    are trained on: the holdout is later in time than training, and both were known at the cutoff.
    """

    seed: int
    scenario: str
    rows_per_week: int = Field(gt=0)
    label_delay_weeks: int = Field(ge=0)
    cutoff_week: int = Field(ge=0)
    train_weeks: int = Field(gt=0)
    holdout_weeks: int = Field(gt=0)

    @property
    def first_serving_week(self) -> int:
        """The first week a model trained at the end of ``cutoff_week`` serves: the next one."""
        return self.cutoff_week + 1

    @model_validator(mode="after")
    def _enough_released_weeks(self) -> WorldWindow:
        released = self.cutoff_week - self.label_delay_weeks + 1
        if released < self.train_weeks + self.holdout_weeks:
            raise ValueError(
                f"by week {self.cutoff_week} the labels of {max(released, 0)} event week(s) are"
                f" released (delay {self.label_delay_weeks}); train_weeks + holdout_weeks ="
                f" {self.train_weeks + self.holdout_weeks} need a later cutoff_week"
            )
        return self


class DataParams(_Strict):
    source: Literal["telco", "world"]
    world: WorldWindow


class LogRegParams(_Strict):
    C: float = Field(gt=0)
    max_iter: int = Field(gt=0)


class HgbParams(_Strict):
    learning_rate: float = Field(gt=0, le=1)
    max_iter: int = Field(gt=0)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0)


class TrainParams(_Strict):
    family: Literal["logreg", "hgb"]
    seed: int
    profile_folds: int = Field(ge=2)
    profile_bins: int = Field(ge=2)
    profile_score_bins: int = Field(ge=2)
    logreg: LogRegParams
    hgb: HgbParams


class BusinessParams(_Strict):
    contact_cost: float = Field(ge=0)
    retained_value: float = Field(ge=0)
    save_rate: float = Field(ge=0, le=1)


class EvaluateParams(_Strict):
    """How a candidate is judged: its operating threshold, slices, and how its scores are had."""

    threshold: float = Field(gt=0, lt=1)
    # fixed: contact at ``threshold``; break_even: contact where the candidate's own calibrated
    # probability beats contact_cost / (save_rate x retained_value), chosen on its evaluation
    # rows; capacity: contact the top ``capacity_share`` of customers.
    contact_rule: Literal["fixed", "break_even", "capacity"]
    capacity_share: float = Field(gt=0, le=1)
    # 0: score the holdout with the model fitted on the training rows. k > 1: cross-fit the
    # holdout in k folds and fit the shipped model on training and holdout rows together.
    crossfit_folds: int = Field(ge=0)
    tenure_bands: tuple[int, ...]
    slices: tuple[str, ...]
    calibration_bins: int = Field(ge=2)
    business: BusinessParams


class Floors(_Strict):
    roc_auc: float = Field(ge=0, le=1)
    pr_auc: float = Field(ge=0, le=1)
    max_brier: float = Field(ge=0, le=1)


class GateParams(_Strict):
    """The promotion gate. Champion comparisons are judged on paired bootstrap intervals."""

    floors: Floors
    churn_rate_bounds: tuple[float, float]
    confidence: float = Field(gt=0.5, lt=1)
    resamples: int = Field(ge=200)
    seed: int
    superiority_margin: float = Field(ge=0, lt=1)
    # superiority: beat the champion by the margin and clear the floors. non_inferiority: the
    # champion is known to be broken (its realized AUC's upper bound is below the floor), so a
    # candidate need only not be worse than it by more than non_inferiority_margin; the floors
    # are reported, not blocking. The capstone sets it per run, with the reason.
    # calibration: the harm is to the probabilities, not the ranking (a base-rate shift, one
    # segment's churn moving); a candidate must rank no worse (non-inferiority) and have a Brier
    # score lower than the champion's by more than calibration_margin (lower bound).
    burden: Literal["superiority", "non_inferiority", "calibration"]
    burden_reason: str = ""
    non_inferiority_margin: float = Field(ge=0, lt=1)
    calibration_margin: float = Field(ge=0, lt=1)
    slices: tuple[str, ...]
    protected_attributes: tuple[str, ...] = Field(
        description="Gated like slices; protected: measured for fairness, never for targeting.",
    )
    slice_tolerance: float = Field(ge=0, lt=1)
    min_slice_positives: int = Field(ge=1)


class RegistryParams(_Strict):
    model_name: str
    promote_to: Literal["champion", "challenger"]


class Experiment(_Strict):
    """A candidate: its family's hyperparameters; the other family's are ``train``'s."""

    name: str
    family: Literal["logreg", "hgb"]
    logreg: LogRegParams | None = None  # a candidate sets only its own family's
    hgb: HgbParams | None = None


class ExperimentsParams(_Strict):
    """``make experiments``: candidates compared on a validation split of the training window."""

    validation_fraction: float = Field(gt=0, lt=1)
    candidates: tuple[Experiment, ...]


class PipelineParams(_Strict):
    data: DataParams
    train: TrainParams
    evaluate: EvaluateParams
    gate: GateParams
    registry: RegistryParams
    experiments: ExperimentsParams

    @model_validator(mode="after")
    def _gated_slices_are_evaluated(self) -> PipelineParams:
        for key in ("slices", "protected_attributes"):
            gated = getattr(self.gate, key)
            missing = [name for name in gated if name not in self.evaluate.slices]
            if missing:
                raise ValueError(
                    f"gate.{key} {missing} are not in evaluate.slices {list(self.evaluate.slices)}"
                )
        return self

    def flat(self) -> dict[str, str]:
        """Dotted keys to string values, the shape MLflow params take."""
        flat: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            else:
                flat[prefix] = str(value)

        walk("", self.model_dump(mode="json", exclude={"experiments"}))
        return flat


class ParamsError(ConfigError):
    """A params file that cannot be read, is not YAML or does not validate; the message is one
    line naming the file, and each bad field by its dotted path in the file."""


def params_problem(path: Path, error: Exception, section: str = "") -> str:
    """One line naming the file, and each field that is wrong and why; a field is named by its
    path in the file (``section`` first: ``capstone.yardstick.degraded_confidence``)."""
    if isinstance(error, ValidationError):
        found = field_problems(error, *([section] if section else []))
        problems = [f"{field}: {message}" if field else message for field, message in found]
        return f"invalid params in {path}: " + "; ".join(problems)
    if isinstance(error, OSError):
        return f"cannot read params {path}: {error.strerror or error}"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return (
            f"invalid params in {path}: not valid YAML at line {mark.line + 1}, column"
            f" {mark.column + 1}: {error.problem or error.context}"
        )
    return f"invalid params in {path}: " + " ".join(str(error).split())


def read_params_file(path: Path) -> dict[str, Any]:
    """The sections of a params file, parsed but not validated."""
    try:
        # libyaml's parser with the safe constructors: a tenth of the pure-Python one's time
        # (later phases read the params again in every process and step that builds a run's
        # context)
        raw = yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParamsError(params_problem(path, error)) from error
    if not isinstance(raw, dict):
        raise ParamsError(
            f"invalid params in {path}: expected sections (a mapping), got {type(raw).__name__}"
        )
    return raw


def validate_params(model: type[ModelT], raw: object, path: Path, section: str = "") -> ModelT:
    """``raw``, read from ``path`` (from its ``section``, if any), as ``model``."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ParamsError(params_problem(path, error, section)) from error


def load_params(path: Path = PARAMS_FILE) -> PipelineParams:
    """Read and validate ``params.yaml`` (the pipeline's sections, at the top of the file)."""
    raw = read_params_file(path)
    mine = {key: value for key, value in raw.items() if key not in LATER_PHASE_SECTIONS}
    return validate_params(PipelineParams, mine, path)


def load_section(model: type[ModelT], section: str, path: Path = PARAMS_FILE) -> ModelT:
    """Read and validate a later phase's section of a params file (a missing one is empty)."""
    return validate_params(model, read_params_file(path).get(section) or {}, path, section)
