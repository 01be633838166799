"""System faults: what breaks in the system rather than in the world, by name, with parameters.

The world (phase 1) can shift customers, change how they churn and corrupt batches; it cannot
ship a buggy training job or a bad serving package. These faults do, each for the weeks between
``start_week`` and ``end_week``:

- ``label_shuffle``: a training bug shuffles the labels of a share of the training rows; the
  candidate it yields is crippled, and the gate must reject it.
- ``slow_serving``: the candidate's serving package adds ``delay_ms`` to every model call (an
  expensive feature lookup); offline evaluation does not time it, a live latency guardrail does.
- ``serving_skew``: training-serving skew; the candidate's serving package preprocesses one
  feature differently from training (``factor`` times it, e.g. tenure in years instead of
  months). Offline evaluation scored the training pipeline and saw nothing; the live scores shift.
- ``stale_replica``: a second replica takes ``share_percent`` of the customers and is left on
  the version it started with: it never hot-swaps.

A training or packaging fault applies to a retrain that runs in one of its weeks. The faulty
steps are sklearn transformers put in front of the fitted pipeline, so the service loads and
runs them like any model (by the registered artifact, through its real loader).
"""

from __future__ import annotations

import time
from typing import Annotated, Literal, Self

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.scenarios import NumericFeature, WeekSpan


class SystemFault(WeekSpan):
    """A fault present from ``start_week`` to ``end_week`` (inclusive; empty: for good)."""


class LabelShuffle(SystemFault):
    """A training bug: labels shuffled among a share of the training rows (holdout untouched)."""

    kind: Literal["label_shuffle"] = "label_shuffle"
    fraction: float = Field(1.0, gt=0, le=1, description="Share of training rows shuffled.")


class SlowServing(SystemFault):
    """The serving package adds ``delay_ms`` to every model call; offline metrics are unchanged."""

    kind: Literal["slow_serving"] = "slow_serving"
    delay_ms: float = Field(400.0, gt=0, le=10_000)


class ServingSkew(SystemFault):
    """The serving package multiplies ``feature`` by ``factor`` before the fitted pipeline."""

    kind: Literal["serving_skew"] = "serving_skew"
    feature: NumericFeature
    factor: float = Field(gt=0, allow_inf_nan=False, description="e.g. 1/12: months to years.")

    @model_validator(mode="after")
    def _check_factor(self) -> Self:
        if self.factor == 1.0:
            raise ValueError("factor: 1 changes nothing")
        return self


class StaleReplica(SystemFault):
    """A second replica serves ``share_percent`` of the customers and never hot-swaps."""

    kind: Literal["stale_replica"] = "stale_replica"
    share_percent: float = Field(50.0, gt=0, lt=100)


Fault = Annotated[
    LabelShuffle | SlowServing | ServingSkew | StaleReplica, Field(discriminator="kind")
]
PackagingFault = SlowServing | ServingSkew


def shuffle_labels(frame: pd.DataFrame, fault: LabelShuffle, seed: int) -> pd.DataFrame:
    """A copy of ``frame`` whose labels are permuted among ``fault.fraction`` of its rows."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=round(len(frame) * fault.fraction), replace=False))
    labels = frame[LABEL_COLUMN].to_numpy().copy()
    labels[rows] = rng.permutation(labels[rows])
    out = frame.copy()
    out[LABEL_COLUMN] = labels
    return out


class _Stateless(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A transformer with nothing to learn: fitted as soon as it exists."""

    def fit(self, features: pd.DataFrame, labels: object = None) -> Self:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True


class SlowDown(_Stateless):
    """Waits ``delay_ms`` on every call, then passes the rows on unchanged."""

    def __init__(self, delay_ms: float = 0.0) -> None:
        self.delay_ms = delay_ms

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        time.sleep(self.delay_ms / 1000)
        return features


class RescaleColumn(_Stateless):
    """Multiplies one column by ``factor``: a serving-side preprocessing that training lacked."""

    def __init__(self, column: str = "", factor: float = 1.0) -> None:
        self.column = column
        self.factor = factor

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        out = features.copy()
        out[self.column] = out[self.column].to_numpy(dtype=np.float64) * self.factor
        return out


def package_for_serving(model: Pipeline, faults: list[PackagingFault]) -> Pipeline:
    """The fitted pipeline as the faulty package ships it: each fault's step in front."""
    steps: list[tuple[str, object]] = []
    for fault in faults:
        if isinstance(fault, SlowServing):
            steps.append(("fault_slow_serving", SlowDown(fault.delay_ms)))
        else:
            steps.append(("fault_serving_skew", RescaleColumn(fault.feature, fault.factor)))
    return model if not steps else Pipeline([*steps, *model.steps])
