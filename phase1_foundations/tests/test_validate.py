"""`python -m phase1_foundations validate` reads a CSV by the project's one CSV rule, and a file it
cannot read is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from phase1_foundations.__main__ import main
from phase1_foundations.telco import raw_dir


def telco_rows(name: str = "test.csv") -> tuple[list[str], list[dict[str, str]]]:
    with (raw_dir() / name).open(newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def clean(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows the contract takes: billed customers (no blank totalcharges)."""
    return [row for row in rows if row["totalcharges"].strip()]


def test_clean_rows_with_yes_no_labels_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, rows = telco_rows()
    assert {row["churn"] for row in rows} == {"Yes", "No"}  # the raw files spell the label out
    path = write(tmp_path / "clean.csv", header, clean(rows))
    assert main(["validate", str(path), "--label"]) == 0, capsys.readouterr().out


def test_a_cell_the_rule_cannot_read_is_a_wrong_type_not_a_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nan` is a float to pandas.read_csv (a null to the contract); the one rule refuses it."""
    header, rows = telco_rows()
    rows = clean(rows)
    rows[0]["monthlycharges"] = "nan"
    rows[1]["tenure"] = "1,5"
    path = write(tmp_path / "unreadable.csv", header, rows)
    assert main(["validate", str(path), "--label"]) == 1
    out = capsys.readouterr().out
    assert "monthlycharges: wrong type" in out
    assert "tenure: wrong type" in out
    assert "null" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customerid,tenure\nw1,3\nw2,4,5\n", "bad.csv line 3: row has 3 fields, expected 2"),
        ("customerid,tenure,tenure\nw1,3,4\n", "bad.csv: column 'tenure' appears more than once"),
    ],
)
def test_a_file_it_cannot_read_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert expected in err


def test_a_missing_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'absent.csv'}: cannot read it")
    assert err.count("\n") == 1
