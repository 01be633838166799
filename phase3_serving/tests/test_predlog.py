"""The prediction log: one declared schema for every segment, so the folder is one data set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN
from phase3_serving.predlog import LOG_SCHEMA, PredictionLog, read_prediction_log


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.drop(columns=[LABEL_COLUMN]).astype(object).to_dict("records")
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


def _results(n: int, shadow: np.ndarray | None, shadow_version: str | None) -> dict[str, Any]:
    return {
        "churn_probability": np.linspace(0.1, 0.9, n),
        "churn_decision": np.linspace(0.1, 0.9, n) >= 0.35,
        "model_version": ["1"] * n,
        "routed_to": ["champion"] * n,
        "request_id": [f"r{i}" for i in range(n)],
        "timestamp": 1_800_000_000.0,
        "shadow_probability": np.nan if shadow is None else shadow,
        "shadow_version": shadow_version,
    }


def test_segments_before_and_during_shadow_read_as_one_data_set(
    telco_sample: pd.DataFrame, tmp_path: Path
) -> None:
    log = PredictionLog(tmp_path, flush_rows=10, flush_seconds=60, max_pending_segments=8)
    log.start()
    before, during = _rows(telco_sample.iloc[:10]), _rows(telco_sample.iloc[10:20])
    log.append(before, _results(10, None, None))  # no shadow: every shadow value null
    log.append(during, _results(10, np.full(10, 0.5), "7"))
    log.close()
    files = sorted(tmp_path.glob("date=*/part-*.parquet"))
    assert len(files) == 2  # two segments, one per flush
    assert all(pq.read_schema(path).equals(LOG_SCHEMA) for path in files)  # one declared schema
    whole = pd.read_parquet(tmp_path)  # as phase 4 reads it: the folder, not file by file
    assert len(whole) == 20
    assert whole["shadow_version"].isna().sum() == 10
    assert set(whole["shadow_version"].dropna()) == {"7"}
    assert whole["shadow_probability"].isna().sum() == 10
    assert list(read_prediction_log(tmp_path)[ID_COLUMN]) == [r[ID_COLUMN] for r in before + during]


def test_the_schema_is_the_contract_then_the_results() -> None:
    assert LOG_SCHEMA.names[: 1 + len(FEATURE_NAMES)] == [ID_COLUMN, *FEATURE_NAMES]
    assert str(LOG_SCHEMA.field("tenure").type) == "int64"
    assert str(LOG_SCHEMA.field("contract").type) == "string"
    assert str(LOG_SCHEMA.field("shadow_version").type) == "string"
    assert str(LOG_SCHEMA.field("shadow_probability").type) == "double"
