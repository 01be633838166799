"""Evaluation figures: ROC curve, calibration curve, confusion matrix at the threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, roc_curve


def _figure(size: float) -> tuple[Figure, Axes]:
    # The object API draws straight to files: no pyplot, no global backend to select.
    figure = Figure(figsize=(size, size))
    return figure, figure.subplots()


def plot_roc(labels: np.ndarray, scores: np.ndarray, path: Path) -> Path:
    fpr, tpr, _ = roc_curve(labels, scores)
    figure, axis = _figure(4.5)
    axis.plot(fpr, tpr, label="model")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axis.legend(loc="lower right")
    figure.savefig(path, dpi=90, bbox_inches="tight")
    return path


def plot_calibration(labels: np.ndarray, scores: np.ndarray, bins: int, path: Path) -> Path:
    observed, predicted = calibration_curve(labels, scores, n_bins=bins, strategy="quantile")
    figure, axis = _figure(4.5)
    axis.plot(predicted, observed, marker="o", label="model")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    axis.set(xlabel="mean predicted churn", ylabel="observed churn", title="Calibration")
    axis.legend(loc="upper left")
    figure.savefig(path, dpi=90, bbox_inches="tight")
    return path


def plot_confusion(labels: np.ndarray, scores: np.ndarray, threshold: float, path: Path) -> Path:
    matrix = confusion_matrix(labels, (scores >= threshold).astype(int), labels=[0, 1])
    figure, axis = _figure(4.0)
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center")
    axis.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["stay", "churn"],
        yticklabels=["stay", "churn"],
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion at threshold {threshold:.2f}",
    )
    figure.savefig(path, dpi=90, bbox_inches="tight")
    return path


def plot_evaluation(
    labels: np.ndarray, scores: np.ndarray, threshold: float, bins: int, directory: Path
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        plot_roc(labels, scores, directory / "roc.png"),
        plot_calibration(labels, scores, bins, directory / "calibration.png"),
        plot_confusion(labels, scores, threshold, directory / "confusion.png"),
    ]
