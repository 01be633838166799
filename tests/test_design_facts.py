"""The design notes' facts about the real data hold for the raw CSVs (read here with pandas
alone, not with the project's own loader)."""

from __future__ import annotations

import pandas as pd

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.telco import raw_dir

DESIGN = (PROJECT_ROOT / "docs" / "design.md").read_text()


def _raw(name: str) -> pd.DataFrame:
    frame = pd.read_csv(raw_dir() / name, dtype=str, keep_default_na=False)
    frame.columns = [column.lower() for column in frame.columns]
    return frame


def test_test_csv_is_a_subset_of_train_csv() -> None:
    train, test = _raw("train.csv"), _raw("test.csv")
    assert (len(train), len(test)) == (4930, 2113)
    assert "(4,930 rows) and `test.csv` (2,113 rows)" in DESIGN
    rows_in_train = set(train.itertuples(index=False))
    assert all(row in rows_in_train for row in test.itertuples(index=False))  # whole rows, not ids
    assert "Every row of `test.csv` also appears in `train.csv`" in DESIGN


def test_distinct_customers_and_the_training_split() -> None:
    train, test = _raw("train.csv"), _raw("test.csv")
    customers = set(train["customerid"]) | set(test["customerid"])
    assert len(customers) == 4930
    assert "there are 4,930 distinct customers" in DESIGN
    training = train[~train["customerid"].isin(set(test["customerid"]))]
    assert len(training) == 2817
    assert "Training uses the 2,817 train rows whose customers are not in test" in DESIGN
