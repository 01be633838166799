"""Every third-party API phase 3 relies on, by name: an upgrade that moves one fails here."""

from __future__ import annotations

import importlib

import pytest

APIS = [
    ("fastapi", "FastAPI"),
    ("fastapi", "Depends"),
    ("fastapi.responses", "JSONResponse"),
    ("pydantic", "create_model"),
    ("pydantic", "TypeAdapter"),
    ("pydantic_core", "ErrorDetails"),
    ("prometheus_client", "CollectorRegistry"),
    ("prometheus_client", "generate_latest"),
    ("prometheus_client.multiprocess", "MultiProcessCollector"),
    ("orjson", "dumps"),
    ("scipy.special", "expit"),
    ("pyarrow.csv", "open_csv"),
    ("pyarrow.parquet", "ParquetWriter"),
    ("tqdm", "tqdm"),
    ("uvicorn", "run"),
    ("httpx", "AsyncClient"),
]


@pytest.mark.parametrize(("module", "name"), APIS)
def test_api_is_importable(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"
