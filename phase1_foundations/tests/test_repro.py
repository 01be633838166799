"""Fingerprints change exactly when what they describe changes; retraining is deterministic."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.__main__ import main
from phase1_foundations.repro import (
    KEY_PACKAGES,
    check_reproducibility,
    dataset_fingerprint,
    environment_fingerprint,
    prediction_hash,
    seed_everything,
)
from phase1_foundations.settings import Settings
from phase1_foundations.telco import split_without_leakage


def test_dataset_fingerprint_ignores_representation(telco_sample: pd.DataFrame) -> None:
    base = dataset_fingerprint(telco_sample)
    as_text = telco_sample.astype({"contract": object, "tenure": float})
    reindexed = telco_sample.set_index(telco_sample.index + 1000)
    assert dataset_fingerprint(as_text) == base  # dtype is not content
    assert dataset_fingerprint(reindexed) == base  # the index is not content


def test_dataset_fingerprint_sees_every_change(telco_sample: pd.DataFrame) -> None:
    base = dataset_fingerprint(telco_sample)
    one_value = telco_sample.copy()
    one_value.loc[one_value.index[17], "monthlycharges"] += 0.01
    one_null = telco_sample.copy()
    one_null.loc[one_null.index[3], "totalcharges"] = np.nan
    reordered = telco_sample.iloc[::-1]
    renamed = telco_sample.rename(columns={"tenure": "months"})
    changed = [one_value, one_null, reordered, renamed, telco_sample.iloc[:-1]]
    assert all(dataset_fingerprint(frame) != base for frame in changed)


def test_environment_fingerprint_names_what_matters() -> None:
    fingerprint = environment_fingerprint()
    assert fingerprint.python.startswith("3.")
    assert fingerprint.lockfile_sha256 is not None
    assert len(fingerprint.lockfile_sha256) == 64
    assert set(fingerprint.packages) == set(KEY_PACKAGES)
    assert "not installed" not in fingerprint.packages.values()
    assert "uv.lock" in fingerprint.render()


def test_seeding_makes_global_state_repeatable() -> None:
    seed_everything(7)
    first = (np.random.rand(3), np.random.default_rng(7).random(3))  # noqa: NPY002
    seed_everything(7)
    second = (np.random.rand(3), np.random.default_rng(7).random(3))  # noqa: NPY002
    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])


def test_prediction_hash_is_exact() -> None:
    scores = np.array([0.1, 0.2, 0.3])
    assert prediction_hash(scores) != prediction_hash(scores + 1e-12)  # the last bit counts
    assert prediction_hash(scores) == prediction_hash(scores.copy())


def test_baseline_trains_identically_twice(telco_sample: pd.DataFrame) -> None:
    splits = split_without_leakage(telco_sample, telco_sample.iloc[:80])
    result = check_reproducibility(Settings(seed=3), splits)
    assert result.identical
    assert result.seed == 3
    assert result.train_fingerprint != result.test_fingerprint


def test_repro_command_prints_fingerprint_and_two_equal_hashes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["repro", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    first, second = payload["prediction_hashes"]
    assert first == second
    assert payload["identical"] is True
    assert payload["environment"]["packages"]["scikit-learn"]
