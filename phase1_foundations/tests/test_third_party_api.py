"""Every third-party API phase 1 relies on, imported by name: a moved API fails here."""

from __future__ import annotations

import importlib

import pytest

APIS = [
    ("pandas", "CategoricalDtype"),
    ("pandas.api.types", "is_numeric_dtype"),
    ("pandas.util", "hash_pandas_object"),
    ("numpy.random", "default_rng"),
    ("pydantic", "BaseModel"),
    ("pydantic", "Field"),
    ("pydantic_settings", "BaseSettings"),
    ("pydantic_settings", "SettingsConfigDict"),
    ("sklearn.compose", "ColumnTransformer"),
    ("sklearn.linear_model", "LogisticRegression"),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing", "OneHotEncoder"),
    ("sklearn.preprocessing", "StandardScaler"),
    ("dvc.repo", "Repo"),
]


@pytest.mark.parametrize(("module", "name"), APIS)
def test_api_is_importable(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_pandas_is_below_3() -> None:
    import pandas as pd

    # evidently 0.7.23 fails to import with pandas 3 (infer_dtype_from_object): keep the pin.
    assert int(pd.__version__.split(".")[0]) < 3
