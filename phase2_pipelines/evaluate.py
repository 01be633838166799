"""Evaluation on a later holdout: ranking, calibration, the operating point, business value, slices.

Everything here is a pure function of labels, scores and params; ``plots.py`` draws the figures.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from phase2_pipelines.params import BusinessParams, EvaluateParams

TENURE_BAND = "tenure_band"


@dataclass(frozen=True)
class Metrics:
    """Quality of one set of scores. Ranking metrics are NaN where only one class is present."""

    n: int
    churn_rate: float
    roc_auc: float
    pr_auc: float
    brier: float
    precision: float
    recall: float
    predicted_churn_rate: float
    contacted_share: float
    net_value: float
    net_value_per_customer: float

    def to_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class EvaluationReport:
    """Overall metrics and the same metrics per slice value."""

    overall: Metrics
    slices: dict[str, dict[str, Metrics]] = field(default_factory=dict)
    threshold: float = 0.5

    def flat_metrics(self) -> dict[str, float]:
        """``roc_auc``, ``slice.contract.Two year.roc_auc``, ...: MLflow metric names."""
        flat = dict(self.overall.to_dict())
        for slice_name, values in self.slices.items():
            for value, metrics in values.items():
                for key, number in metrics.to_dict().items():
                    flat[f"slice.{slice_name}.{value}.{key}"] = number
        return flat

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "overall": self.overall.to_dict(),
            "slices": {
                name: {value: m.to_dict() for value, m in values.items()}
                for name, values in self.slices.items()
            },
        }

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> EvaluationReport:
        overall = payload["overall"]
        slices = payload.get("slices", {})
        assert isinstance(overall, dict)
        assert isinstance(slices, dict)
        return cls(
            overall=Metrics(**overall),
            slices={
                name: {value: Metrics(**m) for value, m in values.items()}
                for name, values in slices.items()
            },
            threshold=float(payload.get("threshold", 0.5)),  # type: ignore[arg-type]
        )


def _safe(metric: float) -> float:
    return float(metric) if math.isfinite(metric) else float("nan")


def net_value(labels: np.ndarray, contacted: np.ndarray, business: BusinessParams) -> float:
    """Expected net value of contacting ``contacted`` customers with a retention offer.

    Each contacted churner is kept with probability ``save_rate`` (worth ``retained_value``);
    every contact costs ``contact_cost``. Not contacting anyone is worth 0.
    """
    saved = business.save_rate * business.retained_value * float(labels[contacted].sum())
    return saved - business.contact_cost * float(contacted.sum())


def compute_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, business: BusinessParams
) -> Metrics:
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    contacted = scores >= threshold
    both_classes = 0 < labels.sum() < len(labels)
    true_positives = float((contacted & (labels == 1)).sum())
    value = net_value(labels, contacted, business) if len(labels) else 0.0
    return Metrics(
        n=len(labels),
        churn_rate=float(labels.mean()) if len(labels) else float("nan"),
        roc_auc=_safe(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        pr_auc=_safe(average_precision_score(labels, scores)) if both_classes else float("nan"),
        brier=float(brier_score_loss(labels, scores)) if len(labels) else float("nan"),
        precision=true_positives / contacted.sum() if contacted.any() else float("nan"),
        recall=true_positives / labels.sum() if labels.any() else float("nan"),
        predicted_churn_rate=float(scores.mean()) if len(scores) else float("nan"),
        contacted_share=float(contacted.mean()) if len(scores) else float("nan"),
        net_value=value,
        net_value_per_customer=value / len(labels) if len(labels) else float("nan"),
    )


def break_even_probability(business: BusinessParams) -> float:
    """The churn probability above which a contact is worth its cost."""
    saved = business.save_rate * business.retained_value
    return business.contact_cost / saved if saved > 0 else 1.0


def choose_threshold(labels: np.ndarray, scores: np.ndarray, params: EvaluateParams) -> float:
    """The operating threshold by ``params.contact_rule``, chosen on these rows.

    ``break_even`` maps the scores to probabilities with an isotonic fit on the labels (so a
    miscalibrated candidate is judged by what its scores mean, not what they say) and contacts
    from the lowest score whose probability beats the contact cost.
    """
    if params.contact_rule == "fixed" or len(scores) == 0:
        return params.threshold
    if params.contact_rule == "capacity":
        return float(np.quantile(scores, 1 - params.capacity_share))
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, labels)
    raw = np.asarray(fitted.X_thresholds_, dtype=np.float64)
    probability = np.asarray(fitted.y_thresholds_, dtype=np.float64)
    worth = np.flatnonzero(probability >= break_even_probability(params.business))
    if not len(worth):
        return float(np.nextafter(scores.max(), np.inf))  # no score is worth a contact
    return float(raw[worth[0]])


def slice_columns(frame: pd.DataFrame, params: EvaluateParams) -> pd.DataFrame:
    """The slicing columns, with ``tenure_band`` derived from tenure and the configured edges."""
    columns: dict[str, pd.Series] = {}
    for name in params.slices:
        if name == TENURE_BAND:
            edges = list(params.tenure_bands)
            labels = [f"{lo:03d}-{hi - 1:03d}m" for lo, hi in itertools.pairwise(edges)]
            columns[name] = pd.cut(frame["tenure"], bins=edges, right=False, labels=labels)
        else:
            columns[name] = frame[name]
    return pd.DataFrame(columns, index=frame.index)


def slice_values(frame: pd.DataFrame, params: EvaluateParams) -> dict[str, np.ndarray]:
    """Each row's value of every evaluated slice, as strings (what the gate groups rows by)."""
    columns = slice_columns(frame, params)
    return {name: columns[name].astype(str).to_numpy() for name in params.slices}


def evaluate_scores(
    frame: pd.DataFrame,
    labels: np.ndarray,
    scores: np.ndarray,
    params: EvaluateParams,
    threshold: float | None = None,
) -> EvaluationReport:
    """Overall and per-slice metrics at the operating threshold (``params.threshold`` unless one
    was chosen)."""
    threshold = params.threshold if threshold is None else threshold
    overall = compute_metrics(labels, scores, threshold, params.business)
    slices: dict[str, dict[str, Metrics]] = {}
    groups = slice_columns(frame, params)
    for name in params.slices:
        values = groups[name].astype(str).to_numpy()
        slices[name] = {
            str(value): compute_metrics(
                labels[values == value], scores[values == value], threshold, params.business
            )
            for value in sorted(set(values))
        }
    return EvaluationReport(overall=overall, slices=slices, threshold=threshold)
