"""Request bodies for the service's tests and benches: real customers, as JSON sends them."""

from __future__ import annotations

from typing import Any

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.telco import load_telco


def request_rows(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """Real Telco customers as JSON-ready dicts (ints stay ints, charges floats)."""
    test = load_telco().test.drop(columns=[LABEL_COLUMN]).iloc[offset : offset + n]
    rows = test.astype(object).to_dict("records")
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows
    ]
