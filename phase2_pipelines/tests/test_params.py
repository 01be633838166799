"""params.yaml is the one place for thresholds, and a bad value names its field."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from phase2_pipelines.params import PARAMS_FILE, ParamsError, load_params


def test_repository_params_load() -> None:
    params = load_params()
    assert params.train.family in {"logreg", "hgb"}
    assert len(params.experiments.candidates) >= 2  # `make experiments` compares at least two
    assert set(params.gate.slices) <= set(params.evaluate.slices)
    assert set(params.flat()) >= {"gate.floors.roc_auc", "train.logreg.C", "evaluate.threshold"}


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    for dotted, value in change.items():
        *parents, leaf = dotted.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gate.floors.roc_auc": 1.5}, "gate.floors.roc_auc"),
        ({"train.family": "xgboost"}, "train.family"),
        ({"evaluate.threshold": 0}, "evaluate.threshold"),
        ({"data.world.cutoff_week": 5}, "need a later cutoff_week"),
        ({"gate.slices": ["paymentmethod"]}, "gate.slices ['paymentmethod'] are not in"),
        (
            {"gate.protected_attributes": ["partner"]},
            "gate.protected_attributes ['partner'] are not in",
        ),
        ({"gate.confidence": 1.5}, "gate.confidence"),
        ({"gate.min_slice_positives": 0}, "gate.min_slice_positives"),
        ({"gate.floor": {"roc_auc": 0.8}}, "gate.floor"),
    ],
)
def test_bad_value_names_the_field(tmp_path: Path, change: dict[str, object], field: str) -> None:
    with pytest.raises(ParamsError) as error:
        load_params(_write(tmp_path, change))
    assert field in str(error.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "cannot read params {path}: No such file or directory"),
        (
            "gate:\n  confidence: [0.9\n",
            "invalid params in {path}: not valid YAML at line 3, column 1: did not find expected"
            " ',' or ']'",
        ),
        ("- gate\n", "invalid params in {path}: expected sections (a mapping), got list"),
        (
            b"gate: \xff\n",
            "invalid params in {path}: 'utf-8' codec can't decode byte 0xff in position 6:"
            " invalid start byte",
        ),
    ],
    ids=["missing", "not-yaml", "not-a-mapping", "not-text"],
)
def test_a_file_that_cannot_be_used_is_refused_in_one_line(
    tmp_path: Path, text: str | bytes | None, says: str
) -> None:
    path = tmp_path / "params.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(ParamsError) as refused:
        load_params(path)
    assert str(refused.value) == says.format(path=path)


def test_the_refusal_keeps_what_pydantic_found(tmp_path: Path) -> None:
    with pytest.raises(ParamsError) as refused:
        load_params(_write(tmp_path, {"gate.confidence": 1.5}))
    assert isinstance(refused.value.__cause__, ValidationError)  # chained, for a debugger


@pytest.mark.parametrize(
    ("program", "command"),
    [("phase2_pipelines", "experiments"), ("phase2_pipelines.lesson", "selfcheck")],
)
def test_the_command_line_names_the_bad_field_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str, command: str
) -> None:
    main = importlib.import_module(f"{program}.__main__").main

    bad = _write(tmp_path, {"gate.slices": ["paymentmethod"]})
    assert main(["--params", str(bad), command]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: invalid params in {bad}: gate.slices ['paymentmethod'] are not")
    assert len(err.splitlines()) == 1  # one line, no traceback
