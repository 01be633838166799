"""Batch scoring with the real champion on real files: each row is scored or rejected, none lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.bench_batch import run as run_bench
from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN, to_model_frame
from phase2_pipelines.registry import CHAMPION
from phase3_serving.__main__ import main
from phase3_serving.batch import (
    CSV_BLOCK_BYTES,
    DECISION_COLUMN,
    INPUT_ROW_COLUMN,
    PROBABILITY_COLUMN,
    REASONS_COLUMN,
    VERSION_COLUMN,
    BatchInputError,
    SeenIds,
    default_rejects_path,
    load_batch_model,
    parse_chunk,
    score_file,
)
from phase3_serving.config import ServingSettings
from phase3_serving.model import LoadedModel
from phase3_serving.tests.conftest import Trained

# Rows of the raw sample that get one injected problem each, and the reason the contract gives.
INJECTED = {
    3: ("tenure", "abc", "tenure: wrong type"),
    5: ("totalcharges", "", "totalcharges: null values"),
    8: ("contract", "Three year", "contract: unknown category"),
    13: ("monthlycharges", "999", "monthlycharges: out of range"),
}


@pytest.fixture(scope="module")
def model(trained: Trained) -> LoadedModel:
    return load_batch_model(trained.settings, trained.params.registry.model_name, CHAMPION)


@pytest.fixture(scope="module")
def serving_settings(trained: Trained) -> ServingSettings:
    return ServingSettings(
        state_dir=trained.settings.state_dir,
        mlflow_tracking_uri=trained.settings.tracking_uri,
        serving_model_name=trained.params.registry.model_name,
    )


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


def test_clean_csv_is_scored_row_for_row_like_the_model(
    model: LoadedModel, telco_sample: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample.to_csv(source, index=False)  # the label column may ride along
    summary = score_file(model, source, tmp_path / "scores.parquet", progress=False)

    scores = pd.read_parquet(tmp_path / "scores.parquet")
    expected = model.score(to_model_frame(telco_sample))
    assert summary.rows_read == summary.rows_scored == len(telco_sample)  # nothing rejected
    assert scores[ID_COLUMN].tolist() == telco_sample[ID_COLUMN].tolist()  # order kept
    assert scores[PROBABILITY_COLUMN].between(0, 1).all()
    np.testing.assert_array_equal(scores[PROBABILITY_COLUMN].to_numpy(), expected)
    assert (scores[DECISION_COLUMN] == (expected >= model.threshold)).all()
    assert set(scores[VERSION_COLUMN]) == {model.version}
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
    for row in blank_totals:
        assert by_row.loc[row, REASONS_COLUMN] == "totalcharges: null values"
    assert summary.reasons["tenure: wrong type"] == 1
    assert summary.reasons["totalcharges: null values"] == len(blank_totals) + 1


def test_parquet_input_keeps_its_types_and_scores_like_the_model(
    model: LoadedModel, telco_sample: pd.DataFrame, tmp_path: Path
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

    good = telco_sample.drop(index=[2])
    good.to_parquet(source, index=False)
    summary = score_file(model, source, tmp_path / "scores.csv", progress=False)
    scores = read_text(tmp_path / "scores.csv")
    assert summary.rows_scored == len(good)
    assert summary.rows_rejected == 0
    np.testing.assert_array_equal(
        scores[PROBABILITY_COLUMN].astype(float).to_numpy(),
        model.score(to_model_frame(good)),
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


def raw_frame(telco_sample_raw: pd.DataFrame, **cells: str) -> pd.DataFrame:
    """Two clean text rows; the first gets the given cells."""
    blank = telco_sample_raw["totalcharges"].str.strip() == ""
    frame = telco_sample_raw[~blank].head(2).reset_index(drop=True)
    for column, value in cells.items():
        frame.loc[0, column] = value
    return frame


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("tenure", "abc", "tenure: wrong type"),  # not also "null values"
        ("tenure", "nan", "tenure: wrong type"),  # not a number anyone wrote
        ("totalcharges", "1_000", "totalcharges: wrong type"),  # Python's float would take it
        ("totalcharges", "1e400", "totalcharges: NaN or infinity"),
        ("tenure", "1.5", "tenure: not an integer"),
        ("tenure", "", "tenure: null values"),
        ("gender", " ", "gender: null values"),  # blank text is null in every column
        ("gender", "female", "gender: unknown category"),  # no case folding
        (ID_COLUMN, "", "customerid: null values"),
    ],
)
def test_parse_chunk_rejects_text_that_is_not_what_the_contract_says(
    telco_sample_raw: pd.DataFrame, column: str, value: str, reason: str
) -> None:
    parsed = parse_chunk(raw_frame(telco_sample_raw, **{column: value}))
    assert parsed.rejected[REASONS_COLUMN].tolist() == [reason]
    assert parsed.rejected[column].tolist() == [value]
    assert len(parsed.accepted) == 1


def test_parse_chunk_reads_padded_and_signed_numbers(telco_sample_raw: pd.DataFrame) -> None:
    parsed = parse_chunk(raw_frame(telco_sample_raw, tenure=" 12 ", totalcharges="+1.5e2"))
    assert len(parsed.rejected) == 0
    assert parsed.accepted.loc[0, "tenure"] == 12
    assert parsed.accepted.loc[0, "totalcharges"] == 150.0


def test_parse_chunk_checks_typed_columns_as_they_are(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.head(3).reset_index(drop=True)
    frame["tenure"] = pd.Series([12, "12", 7], dtype=object)  # text among numbers: not parsed
    parsed = parse_chunk(frame, from_text=False)
    assert parsed.rejected[REASONS_COLUMN].tolist() == ["tenure: wrong type"]
    assert parsed.rejected["tenure"].tolist() == ["12"]
    assert parsed.accepted["tenure"].tolist() == [12, 7]


def test_seen_ids_flags_only_ids_from_earlier_chunks() -> None:
    seen = SeenIds()
    first = seen.flag_repeats(pd.Series(["a", "b", None, "b"], dtype=object))
    second = seen.flag_repeats(pd.Series(["c", "b", None, "a", "c"], dtype=object))
    assert first.tolist() == [False, False, False, False]  # repeats within: the contract's job
    assert second.tolist() == [False, True, False, True, False]


def test_a_broken_line_stops_the_run_and_leaves_no_output(
    model: LoadedModel, telco_sample_raw: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample_raw.to_csv(source, index=False)
    header, *body = source.read_text().splitlines()
    # Past the reader's first block, so the header check passes and chunks are written first.
    copies = CSV_BLOCK_BYTES // source.stat().st_size + 2
    lines = body * copies
    lines[-10] += ",an extra field"
    source.write_text("\n".join([header, *lines]) + "\n")
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(BatchInputError, match="Expected 21 columns, got 22"):
        score_file(model, source, out, progress=False)
    assert list(out.parent.iterdir()) == []  # no output, no rejects, no partial files


def test_cli_scores_a_file_and_prints_rows_per_second(
    serving_settings: ServingSettings,
    telco_sample_raw: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "customers.csv"
    telco_sample_raw.to_csv(source, index=False)
    out = tmp_path / "scores.parquet"
    code = main(["score", str(source), str(out), "--chunk-rows", "64"], settings=serving_settings)

    printed = capsys.readouterr()
    blank_totals = len(blank_total_rows(telco_sample_raw))
    assert code == 0  # rejected rows are not a failure
    assert f"{len(telco_sample_raw) - blank_totals:>12,} rows -> {out}" in printed.out
    assert f"rejected {blank_totals:>12,} rows" in printed.out
    assert "rows/s" in printed.out
    assert "customers.csv" in printed.err  # the progress bar
    assert len(pd.read_parquet(out)) + len(pd.read_parquet(default_rejects_path(out))) == len(
        telco_sample_raw
    )


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
    results = run_bench(200, seed=3, reference=telco_sample, chunk_rows=64)
    assert set(results) == {"csv", "parquet"}
    for summary in results.values():
        assert summary.rows_read == 200 == summary.rows_scored + summary.rows_rejected
        assert summary.rows_per_second > 0
