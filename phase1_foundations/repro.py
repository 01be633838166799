"""Reproducibility: fingerprints of the environment and data, seeding, and proof by retraining.

"If someone else pulls your repository and builds the container, it should behave identically."
``check_reproducibility`` trains the baseline model twice from scratch and hashes both sets of
predictions; the container runs the same check, so identical hashes on the host and in the image
show that the environment, the data and the code fully determine the model.
"""

from __future__ import annotations

import hashlib
import os
import platform
import random
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    LABEL_COLUMN,
    NUMERIC_FEATURES,
)
from phase1_foundations.settings import PROJECT_ROOT, Settings, get_settings
from phase1_foundations.telco import TelcoSplits, load_telco

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

KEY_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "pyarrow", "pydantic")
LOCKFILE = PROJECT_ROOT / "uv.lock"
# Set by the container build, where there is no .git directory to ask.
GIT_COMMIT_ENV = "MLOPS_GIT_COMMIT"
LOCK_SHA_ENV = "MLOPS_LOCK_SHA256"
BASELINE_MAX_ITER = 1000


@dataclass(frozen=True)
class EnvironmentFingerprint:
    """What determines this process's behaviour apart from code and data."""

    python: str
    implementation: str
    platform: str
    machine: str
    lockfile_sha256: str | None
    git_commit: str | None
    git_dirty: bool | None
    packages: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def render(self) -> str:
        lines = [
            f"python        {self.python} ({self.implementation})",
            f"platform      {self.platform} [{self.machine}]",
            f"uv.lock       {self.lockfile_sha256 or 'not found'}",
            f"git commit    {self.git_commit or 'unknown'}"
            + ("" if self.git_dirty is None else (" (dirty)" if self.git_dirty else " (clean)")),
        ]
        lines += [f"{name:<13} {version}" for name, version in self.packages.items()]
        return "\n".join(lines)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state(root: Path = PROJECT_ROOT) -> tuple[str | None, bool | None]:
    """The checked-out commit and whether tracked files differ from it."""
    commit = _git("rev-parse", "HEAD", cwd=root)
    if commit is None:
        return os.environ.get(GIT_COMMIT_ENV) or None, None
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    return commit, None if status is None else bool(status)


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def lockfile_hash(path: Path = LOCKFILE) -> str | None:
    if path.is_file():
        return sha256_bytes(path.read_bytes())
    return os.environ.get(LOCK_SHA_ENV) or None


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def environment_fingerprint() -> EnvironmentFingerprint:
    commit, dirty = git_state()
    return EnvironmentFingerprint(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        lockfile_sha256=lockfile_hash(),
        git_commit=commit,
        git_dirty=dirty,
        packages=package_versions(),
    )


def _column_bytes(values: pd.Series) -> bytes:
    nulls = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        data = values.to_numpy(dtype="<f8", na_value=np.nan)
        body = np.where(nulls, 0.0, data).astype("<f8").tobytes()
    else:
        text = ("" if null else str(v) for v, null in zip(values, nulls, strict=True))
        body = "\x1f".join(text).encode("utf-8")
    return np.packbits(nulls).tobytes() + body


def dataset_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of canonical bytes: column names, then each column's nulls and values.

    Numbers are hashed as little-endian float64 and everything else as UTF-8 text, so the
    fingerprint is the same whether a column is int or float, categorical or plain text, and
    whatever the frame's index is.
    """
    digest = hashlib.sha256()
    digest.update(f"{len(frame)}|{'|'.join(map(str, frame.columns))}".encode())
    for name in frame.columns:
        digest.update(_column_bytes(frame[name]))
    return digest.hexdigest()


def seed_everything(seed: int) -> np.random.Generator:
    """Seed the global generators that libraries fall back on, and return a fresh Generator.

    Project code passes explicit seeds or Generators; this guards against a library call that
    reaches for global state. (PYTHONHASHSEED can only be set before Python starts.)
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - deliberately seeding the legacy global state
    return np.random.default_rng(seed)


def prediction_hash(probabilities: np.ndarray) -> str:
    """sha256 of the predictions' exact little-endian float64 bytes."""
    return sha256_bytes(np.ascontiguousarray(probabilities, dtype="<f8").tobytes())


def build_baseline(seed: int) -> Pipeline:
    """A small, fully deterministic model: one-hot plus scaling into logistic regression.

    scikit-learn is imported here, not with the module: the pipeline's ingest and validate
    stages use this module's fingerprints, and a stage process would spend most of its start-up
    importing it (and scipy) for nothing."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
            ("numeric", StandardScaler(), list(NUMERIC_FEATURES)),
        ]
    )
    model = LogisticRegression(max_iter=BASELINE_MAX_ITER, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def train_and_hash(splits: TelcoSplits, seed: int) -> str:
    """Train the baseline from scratch and hash its test-split probabilities."""
    model = build_baseline(seed).fit(splits.train[list(FEATURE_NAMES)], splits.train[LABEL_COLUMN])
    probabilities = model.predict_proba(splits.test[list(FEATURE_NAMES)])[:, 1]
    return prediction_hash(probabilities)


@dataclass(frozen=True)
class ReproResult:
    """Two independent trainings of the baseline and what they were trained on."""

    hashes: tuple[str, str]
    train_fingerprint: str
    test_fingerprint: str
    seed: int
    environment: EnvironmentFingerprint

    @property
    def identical(self) -> bool:
        return self.hashes[0] == self.hashes[1]

    def to_dict(self) -> dict[str, object]:
        return {
            "identical": self.identical,
            "prediction_hashes": list(self.hashes),
            "train_fingerprint": self.train_fingerprint,
            "test_fingerprint": self.test_fingerprint,
            "seed": self.seed,
            "environment": self.environment.to_dict(),
        }

    def render(self) -> str:
        verdict = "IDENTICAL" if self.identical else "DIFFERENT"
        return "\n".join(
            [
                "Environment fingerprint",
                self.environment.render(),
                "",
                f"train data    sha256 {self.train_fingerprint}",
                f"test data     sha256 {self.test_fingerprint}",
                f"seed          {self.seed}",
                "",
                f"run 1 predictions sha256 {self.hashes[0]}",
                f"run 2 predictions sha256 {self.hashes[1]}",
                f"=> {verdict}",
            ]
        )


def check_reproducibility(
    settings: Settings | None = None, splits: TelcoSplits | None = None
) -> ReproResult:
    """Train the baseline twice on the real data and compare the prediction hashes.

    The process is seeded once, as a real program seeds itself at start-up, and the two trainings
    follow each other. A model that takes the seed explicitly trains the same both times; one that
    falls back on the global generator draws different numbers the second time, so the hashes
    differ. (Re-seeding before each training would hide it: the global stream would replay.)
    """
    settings = settings or get_settings()
    splits = splits or load_telco(settings)
    seed_everything(settings.seed)
    first = train_and_hash(splits, settings.seed)
    second = train_and_hash(splits, settings.seed)
    return ReproResult(
        hashes=(first, second),
        train_fingerprint=dataset_fingerprint(splits.train),
        test_fingerprint=dataset_fingerprint(splits.test),
        seed=settings.seed,
        environment=environment_fingerprint(),
    )
