"""NannyML's own CBPE on the same weeks, run by the throwaway nannyml interpreter.

Standalone on purpose: it runs in another environment (``make nannyml-env``), imports nothing
from the project, and talks to the benchmark through files. Usage:

    python nannyml_cbpe.py REFERENCE.parquet ANALYSIS.parquet OUT.json

REFERENCE has ``score``, ``prediction`` and ``churn``; ANALYSIS has ``score``, ``prediction`` and
``chunk`` (one chunk per week). OUT gets {chunk: estimated roc_auc}.
"""

import json
import os
import sys
import warnings

# NannyML reports usage to a web service unless this is set; nothing here leaves the machine.
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"

import nannyml
import pandas as pd


def main(reference_path: str, analysis_path: str, out_path: str) -> None:
    warnings.filterwarnings("ignore")
    reference = pd.read_parquet(reference_path)
    analysis = pd.read_parquet(analysis_path)
    estimator = nannyml.CBPE(
        metrics=["roc_auc"],
        y_pred_proba="score",
        y_pred="prediction",
        y_true="churn",
        problem_type="classification_binary",
        chunk_number=1,
    )
    estimator.fit(reference)
    estimates = {}
    for chunk, rows in analysis.groupby("chunk", sort=False):
        result = estimator.estimate(rows.drop(columns=["chunk"])).filter(period="analysis")
        estimates[str(chunk)] = float(result.to_df()[("roc_auc", "value")].iloc[0])
    estimates["_calibrated"] = float(estimator.needs_calibration)
    with open(out_path, "w") as handle:
        json.dump(estimates, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
