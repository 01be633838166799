"""Batch scoring with the real champion on real files: each row is scored or rejected, none lost.

Every score is checked against the registered pipeline's own ``predict_proba``, loaded with
MLflow apart from phase 3, never against the fast path that batch scoring runs on.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from bench.bench_batch import run as run_bench
from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN
from phase1_foundations.csvtext import CSV_BLOCK_BYTES
from phase1_foundations.telco import clean_telco, load_telco, raw_dir
from phase2_pipelines.registry import CHAMPION
from phase3_serving.__main__ import main
from phase3_serving.batch import load_batch_model, score_file
from phase3_serving.batch_input import BatchInputError
from phase3_serving.batch_output import (
    DECISION_COLUMN,
    PROBABILITY_COLUMN,
    VERSION_COLUMN,
    default_rejects_path,
)
from phase3_serving.batch_validate import (
    EMPTY_ROW_REASON,
    INPUT_ROW_COLUMN,
    LINE_COLUMN,
    RAW_TEXT_COLUMN,
    REASONS_COLUMN,
)
from phase3_serving.config import ServingSettings
from phase3_serving.model import LoadedModel
from phase3_serving.tests.conftest import Trained

pytestmark = pytest.mark.slow  # a real pipeline trains the champion (`trained`)

LESSON_COMMAND = "python -m phase3_serving score data/raw/telco/test.csv var/scores.parquet"
# Rows of the raw sample that get one injected problem each, and the reason the contract gives.
INJECTED = {
    3: ("tenure", "abc", "tenure: wrong type"),
    5: ("totalcharges", "", "totalcharges: null values"),
    8: ("contract", "Three year", "contract: unknown category"),
    13: ("monthlycharges", "999", "monthlycharges: out of range"),
}
# The fast path and the pipeline agree to rounding (see test_compiled); nothing looser.
SCORE_TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def model(trained: Trained) -> LoadedModel:
    return load_batch_model(trained.settings, trained.params.registry.model_name, CHAMPION)


@pytest.fixture(scope="module")
def registered_pipeline(trained: Trained, model: LoadedModel) -> Pipeline:
    """The champion as MLflow stores it, loaded without phase 3: the oracle for every score."""
    import mlflow.sklearn

    assert model.version == trained.champion.version  # batch scoring loaded that very version
    uri = f"models:/{trained.params.registry.model_name}/{trained.champion.version}"
    pipeline: Pipeline = mlflow.sklearn.load_model(uri)
    return pipeline


@pytest.fixture(scope="module")
def serving_settings(trained: Trained) -> ServingSettings:
    return ServingSettings(
        state_dir=trained.settings.state_dir,
        mlflow_tracking_uri=trained.settings.tracking_uri,
        serving_model_name=trained.params.registry.model_name,
    )


def expected_scores(pipeline: Pipeline, customers: pd.DataFrame) -> np.ndarray:
    """What the registered pipeline itself says about contract-typed customers."""
    scores: np.ndarray = pipeline.predict_proba(customers[list(FEATURE_NAMES)])[:, 1]
    return scores


def assert_scored_like_the_pipeline(
    scores: pd.DataFrame, pipeline: Pipeline, customers: pd.DataFrame, threshold: float
) -> None:
    """The scores are the pipeline's for these customers, row for row and in their order."""
    expected = expected_scores(pipeline, customers)
    assert scores[ID_COLUMN].tolist() == customers[ID_COLUMN].tolist()  # same rows, same order
    probabilities = scores[PROBABILITY_COLUMN].astype(float).to_numpy()
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=SCORE_TOLERANCE)
    decisions = scores[DECISION_COLUMN].astype(str).str.lower() == "true"
    assert decisions.tolist() == (expected >= threshold).tolist()  # the run's threshold


def read_text(path: Path) -> pd.DataFrame:
    """A CSV exactly as written: every cell as text."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def blank_total_rows(raw: pd.DataFrame) -> set[int]:
    return set(np.flatnonzero(raw["totalcharges"].str.strip() == ""))


def with_injected_problems(raw: pd.DataFrame) -> pd.DataFrame:
    broken = raw.copy()
    for row, (column, value, _) in INJECTED.items():
        broken.loc[row, column] = value
    return broken


def test_clean_csv_is_scored_row_for_row_like_the_registered_pipeline(
    model: LoadedModel,
    registered_pipeline: Pipeline,
    trained: Trained,
    telco_sample: pd.DataFrame,
    tmp_path: Path,
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample.to_csv(source, index=False)  # the label column may ride along
    summary = score_file(model, source, tmp_path / "scores.parquet", progress=False)

    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert summary.rows_read == summary.rows_scored == len(telco_sample)  # nothing rejected
    assert_scored_like_the_pipeline(scores, registered_pipeline, telco_sample, trained.threshold)
    assert set(scores[VERSION_COLUMN]) == {trained.champion.version}
    assert len(pd.read_parquet(tmp_path / "scores.rejected.parquet")) == 0


def test_bad_rows_are_rejected_with_reasons_and_the_rest_scored(
    model: LoadedModel, telco_sample_raw: pd.DataFrame, tmp_path: Path
) -> None:
    raw = with_injected_problems(telco_sample_raw)
    source = tmp_path / "customers.csv"
    raw.to_csv(source, index=False)
    blank_totals = blank_total_rows(telco_sample_raw)  # the real data's own quality problem
    assert blank_totals.isdisjoint(INJECTED)
    summary = score_file(model, source, tmp_path / "scores.csv", progress=False)

    scores = read_text(tmp_path / "scores.csv")
    rejects = read_text(tmp_path / "scores.rejected.csv")
    rejected_rows = set(rejects[INPUT_ROW_COLUMN].astype(int))
    assert rejected_rows == set(INJECTED) | blank_totals  # exactly the bad rows
    assert summary.rows_read == len(raw) == len(scores) + len(rejects)  # nothing lost
    assert (summary.rows_scored, summary.rows_rejected) == (len(scores), len(rejects))
    assert set(scores[ID_COLUMN]).isdisjoint(rejects[ID_COLUMN])
    by_row = rejects.set_index(rejects[INPUT_ROW_COLUMN].astype(int))
    for row, (column, value, reason) in INJECTED.items():
        assert by_row.loc[row, REASONS_COLUMN] == reason  # names the column and the problem
        assert by_row.loc[row, column] == value  # the original text, untouched
        assert by_row.loc[row, ID_COLUMN] == raw.loc[row, ID_COLUMN]
        assert by_row.loc[row, LABEL_COLUMN] == raw.loc[row, LABEL_COLUMN]
        assert by_row.loc[row, LINE_COLUMN] == str(row + 2)  # after the header, one per line
        assert by_row.loc[row, RAW_TEXT_COLUMN] == ""  # split into columns: no raw text
    for row in blank_totals:
        assert by_row.loc[row, REASONS_COLUMN] == "totalcharges: null values"
    assert summary.reasons["tenure: wrong type"] == 1
    assert summary.reasons["totalcharges: null values"] == len(blank_totals) + 1


def test_parquet_input_keeps_its_types_and_scores_like_the_registered_pipeline(
    model: LoadedModel,
    registered_pipeline: Pipeline,
    trained: Trained,
    telco_sample: pd.DataFrame,
    tmp_path: Path,
) -> None:
    frame = telco_sample.copy()
    frame.loc[2, "tenure"] = -1
    frame["monthlycharges"] = frame["monthlycharges"].astype(str)  # stored as text: not parsed
    source = tmp_path / "customers.parquet"
    frame.to_parquet(source, index=False)
    summary = score_file(model, source, tmp_path / "scores.csv", progress=False)

    # The whole monthlycharges column is text in the file, so every row has the wrong type.
    assert summary.rows_rejected == len(frame)
    assert summary.reasons == {"monthlycharges: wrong type": len(frame), "tenure: out of range": 1}
    assert read_text(tmp_path / "scores.rejected.csv")[LINE_COLUMN].eq("").all()  # no lines

    good = telco_sample.drop(index=[2])
    good.to_parquet(source, index=False)
    summary = score_file(model, source, tmp_path / "scores.csv", progress=False)
    assert summary.rows_scored == len(good)
    assert summary.rows_rejected == 0
    assert_scored_like_the_pipeline(
        read_text(tmp_path / "scores.csv"),
        registered_pipeline,
        good,
        trained.threshold,
    )


def test_chunks_give_the_same_output_as_one_chunk(
    model: LoadedModel, telco_sample_raw: pd.DataFrame, tmp_path: Path
) -> None:
    raw = with_injected_problems(telco_sample_raw)
    raw.loc[250, ID_COLUMN] = raw.loc[1, ID_COLUMN]  # a repeat that lands in a later chunk
    source = tmp_path / "customers.csv"
    raw.to_csv(source, index=False)
    outputs = {}
    for rows in (7, 10_000):
        out = tmp_path / f"scores-{rows}.parquet"
        summary = score_file(model, source, out, chunk_rows=rows, progress=False)
        outputs[rows] = (pd.read_parquet(out), pd.read_parquet(default_rejects_path(out)))
        assert summary.reasons["customerid: duplicate id"] == 1

    (chunked_scores, chunked_rejects), (whole_scores, whole_rejects) = outputs.values()
    pd.testing.assert_frame_equal(chunked_rejects, whole_rejects)
    pd.testing.assert_frame_equal(
        chunked_scores.drop(columns=PROBABILITY_COLUMN),
        whole_scores.drop(columns=PROBABILITY_COLUMN),
    )
    # Batch size may change the BLAS summation order, never the result beyond rounding.
    np.testing.assert_allclose(
        chunked_scores[PROBABILITY_COLUMN], whole_scores[PROBABILITY_COLUMN], rtol=1e-12
    )
    assert 250 in set(whole_rejects[INPUT_ROW_COLUMN])


def csv_records(raw: pd.DataFrame, copies: int) -> tuple[str, list[str]]:
    """The header and ``copies`` copies of the rows as CSV lines, with ids unique per copy."""
    header, *body = raw.to_csv(index=False, lineterminator="\n").splitlines()
    return header, [f"{copy}-{line}" for copy in range(copies) for line in body]


def start_lines(records: list[str]) -> list[int]:
    """The line each record starts on, counted here from the text itself (the header is 1)."""
    starts, line = [], 2
    for record in records:
        starts.append(line)
        line += record.count("\n") + 1
    return starts


def test_malformed_lines_are_rejected_with_their_line_and_the_rest_scored(
    serving_settings: ServingSettings,
    registered_pipeline: Pipeline,
    trained: Trained,
    telco_sample_raw: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean = telco_sample_raw.drop(index=list(blank_total_rows(telco_sample_raw)))
    copies = 2 * CSV_BLOCK_BYTES // len(clean.to_csv(index=False)) + 1
    header, records = csv_records(clean, copies)
    # The long row is the file's last: it comes after every well-formed row.
    quoted, empty, short, long = 40, len(records) // 2, len(records) - 500, len(records) - 1
    fields = records[quoted].split(",")
    fields[FEATURE_NAMES.index("paymentmethod") + 1] = '"Electronic\ncheck"'  # a line break
    records[quoted] = ",".join(fields)
    records[empty] = ""
    records[short] = ",".join(records[short].split(",")[:18])
    records[long] += ",an extra field"
    source = tmp_path / "customers.csv"
    source.write_text("\n".join([header, *records]) + "\n")
    out = tmp_path / "scores.parquet"
    code = main(["score", str(source), str(out), "--chunk-rows", "1000"], settings=serving_settings)

    printed = capsys.readouterr().out
    assert code == 0  # one bad line no longer stops the file
    assert len("\n".join(records[:short])) > CSV_BLOCK_BYTES  # past the reader's first block
    scores = pd.read_parquet(out)
    rejects = pd.read_parquet(default_rejects_path(out)).set_index(INPUT_ROW_COLUMN)
    bad = [quoted, empty, short, long]
    assert rejects.index.tolist() == bad  # in file order
    assert len(scores) + len(rejects) == len(records)  # every row in exactly one output
    starts = start_lines(records)
    assert rejects[LINE_COLUMN].tolist() == [starts[row] for row in bad]  # true line numbers
    assert rejects[REASONS_COLUMN].tolist() == [
        "paymentmethod: unknown category",
        EMPTY_ROW_REASON,
        "row has 18 fields, expected 21",
        "row has 22 fields, expected 21",
    ]
    assert rejects[RAW_TEXT_COLUMN].tolist() == [None, None, records[short], records[long]]
    assert rejects.loc[quoted, "paymentmethod"] == "Electronic\ncheck"  # the value as written
    assert rejects.loc[short, ID_COLUMN] is None  # a line that can't be split has no columns
    assert "row has 18 fields, expected 21: 1 row(s)" in printed
    typed = clean_telco(clean).reset_index(drop=True)
    every_copy = pd.concat(
        [typed.assign(**{ID_COLUMN: f"{copy}-" + typed[ID_COLUMN]}) for copy in range(copies)],
        ignore_index=True,
    )
    assert_scored_like_the_pipeline(
        scores, registered_pipeline, every_copy.drop(index=bad), trained.threshold
    )


def test_an_unreadable_file_stops_the_run_and_leaves_no_output(
    model: LoadedModel, telco_sample_raw: pd.DataFrame, tmp_path: Path
) -> None:
    copies = CSV_BLOCK_BYTES // len(telco_sample_raw.to_csv(index=False)) + 2
    header, records = csv_records(telco_sample_raw, copies)
    # Past the reader's first block, so the header check passes and chunks are written first.
    records[-10] = "\udcff" + records[-10]  # a byte that is not UTF-8: no text to keep
    source = tmp_path / "customers.csv"
    source.write_bytes("\n".join([header, *records]).encode("utf-8", "surrogateescape"))
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(BatchInputError, match="invalid UTF8 data"):
        score_file(model, source, out, chunk_rows=1000, progress=False)
    assert list(out.parent.iterdir()) == []  # no output, no rejects, no partial files


def test_cli_scores_a_file_and_prints_rows_per_second(
    trained: Trained, registered_pipeline: Pipeline
) -> None:
    """The lesson's command as written, from a directory laid out like the repository."""
    root = trained.settings.state_dir.parent  # its var/ is the registry's state directory
    (root / "data" / "raw" / "telco").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw_dir() / "test.csv", root / "data" / "raw" / "telco" / "test.csv")
    python, *args = shlex.split(LESSON_COMMAND)
    env = {**os.environ, "MLOPS_STATE_DIR": str(trained.settings.state_dir)}
    done = subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )

    assert python == "python"
    assert done.returncode == 0, done.stderr  # rejected rows are not a failure
    test = load_telco().test
    blank_totals = 3  # the lesson's figure: the raw test file's blank totalcharges
    assert f"scored   {len(test) - blank_totals:>12,} rows -> var/scores.parquet" in done.stdout
    assert f"rejected {blank_totals:>12,} rows" in done.stdout
    assert f"totalcharges: null values: {blank_totals} row(s)" in done.stdout
    assert "rows/s" in done.stdout
    assert "test.csv" in done.stderr  # the progress bar
    scores = pd.read_parquet(root / "var" / "scores.parquet")
    rejects = pd.read_parquet(root / "var" / "scores.rejected.parquet")
    assert len(scores) + len(rejects) == len(test)
    scored = test[~test[ID_COLUMN].isin(rejects[ID_COLUMN])]
    assert_scored_like_the_pipeline(scores, registered_pipeline, scored, trained.threshold)


def test_cli_exits_2_naming_a_renamed_column(
    serving_settings: ServingSettings,
    telco_sample_raw: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample_raw.rename(columns={"tenure": "tenure_months"}).to_csv(source, index=False)
    out = tmp_path / "scores.parquet"
    code = main(["score", str(source), str(out)], settings=serving_settings)

    error = capsys.readouterr().err
    assert code == 2
    assert "missing column(s): tenure" in error
    assert "unexpected column(s): tenure_months" in error
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.json", b"{}", "unknown suffix '.json'"),
        ("customers.parquet", b"not parquet at all", "cannot read it as parquet"),
        ("customers.csv", b"", "cannot read it as csv"),
        ("absent.csv", None, "no such file"),
    ],
)
def test_cli_exits_2_on_an_unusable_file(
    serving_settings: ServingSettings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content)
    code = main(["score", str(source), str(tmp_path / "s.csv")], settings=serving_settings)
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_exits_1_when_the_model_cannot_be_loaded(
    serving_settings: ServingSettings,
    telco_sample: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample.to_csv(source, index=False)
    out = tmp_path / "scores.csv"
    code = main(["score", str(source), str(out), "--alias", "nobody"], settings=serving_settings)
    assert code == 1
    assert "cannot load" in capsys.readouterr().err
    assert not out.exists()


def test_bench_scores_both_formats(telco_sample: pd.DataFrame) -> None:
    results = run_bench(200, seed=3, reference=telco_sample, chunk_rows=64, repeat=2)
    assert set(results) == {"csv", "parquet"}
    for name, result in results.items():
        assert len(result.runs) == 2
        for summary in result.runs:
            assert summary.rows_read == 200 == summary.rows_scored + summary.rows_rejected
            assert len(summary.chunk_seconds) == 4  # 200 rows in chunks of 64
        assert len(result.chunk_seconds) == 8  # both runs' chunks pooled
        assert 0 < result.chunk_ms(50) <= result.chunk_ms(99)
        printed = result.render(name)
        assert "rows/s" in printed
        assert f"p50 {result.chunk_ms(50):.1f} ms, p99 {result.chunk_ms(99):.1f} ms" in printed
