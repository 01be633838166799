"""Small in-memory Telco frames built from the committed 300-row sample (no network needed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.telco import clean_telco, read_raw_csv

SAMPLE_CSV = Path(__file__).parent / "data" / "telco_sample.csv"


@pytest.fixture(scope="session")
def telco_sample_raw() -> pd.DataFrame:
    """The sample exactly as stored: every column as text."""
    return read_raw_csv(SAMPLE_CSV)


@pytest.fixture
def telco_sample(telco_sample_raw: pd.DataFrame) -> pd.DataFrame:
    """The sample cleaned into the contract's typed frame (a fresh copy per test)."""
    return clean_telco(telco_sample_raw)
