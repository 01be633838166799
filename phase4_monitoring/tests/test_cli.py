"""``python -m phase4_monitoring check`` as a user runs it: a subprocess, a real MLflow registry
with a world-trained champion, real files. Exit codes: 0 clean, 1 alerts, 2 broken or unusable.

Each subprocess costs seconds of imports, so a subprocess shows each exit code once (0 clean,
1 drifted, 2 no champion) and the lesson's command as written; the other cases (a broken schema,
unusable files, an empty log window) call the same ``main`` in this process (the registry
fixture points the settings at the same store), and the drifted week's run with ``--report`` is
shared by the test of its verdict and the test of its report.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import World
from phase3_serving.predlog import PredictionLog
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.tests.conftest import Registered
from phase4_monitoring.tests.helpers import ROWS, run_check, run_main, week_file

pytestmark = pytest.mark.slow  # a real pipeline trains the registered champion (`registered`)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def test_clean_labeled_csv_exits_0(registered: Registered, tmp_path: Path) -> None:
    result = run_check(registered, week_file(tmp_path / "week.csv", "baseline", 9, labels=True))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: OK (exit 0)" in result.stdout
    for name in FEATURE_NAMES:  # the per-feature table
        assert f"\n{name} " in result.stdout
    assert "roc_auc" in result.stdout  # labels were present: realized quality
    assert "CBPE: roc_auc" in result.stdout
    assert "Downloading artifacts" not in result.stderr


def test_the_lesson_checks_the_telco_holdout(registered: Registered) -> None:
    # The lesson's first command, as written: the real Telco customers (labels spelled Yes/No,
    # eleven blank total charges of unbilled customers) against the world-trained champion.
    result = run_check(registered, "data/raw/telco/test.csv")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "window data/raw/telco/test.csv: 2,113 rows" in result.stdout
    assert "totalcharges" in result.stdout
    assert "roc_auc" in result.stdout  # the churn column is read as labels


@pytest.fixture(scope="module")
def drifted(
    registered: Registered, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A drifted labeled parquet week checked once with ``--report``: its verdict and the
    report it wrote are each one test's claim."""
    directory = tmp_path_factory.mktemp("drifted")
    path = week_file(directory / "week.parquet", "covariate_shift", 9, labels=True)
    return run_check(registered, path, "--report", directory / "report"), directory / "report"


def test_drifted_parquet_exits_1(drifted: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = drifted
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict: ALERT (exit 1): drift in monthlycharges" in result.stdout


def test_report_writes_the_evidently_html_and_the_checks(
    drifted: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, report = drifted
    assert result.returncode == 1, result.stdout + result.stderr
    html = (report / "evidently.html").read_text()
    assert "<html" in html[:2_000].lower()
    assert "monthlycharges" in html
    checks = (report / "checks.json").read_text()
    assert '"verdict":"alert"' in checks.replace(" ", "")


def test_broken_schema_exits_2(registered: Registered, tmp_path: Path) -> None:
    result = run_main(week_file(tmp_path / "week.csv", "schema_break", 6))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "monthlycharges renamed to monthly_charges?" in result.stdout
    assert "verdict: FAIL (exit 2)" in result.stdout


def test_a_value_that_is_not_a_number_fails_the_contract_naming_the_column(
    registered: Registered, tmp_path: Path
) -> None:
    path = week_file(tmp_path / "week.csv", "baseline", 2)
    text = path.read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("tenure")] = "twelve"
    path.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    result = run_main(path)
    assert result.returncode == 2
    assert "tenure: wrong type in 1 row(s); e.g. 'twelve'" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("week.txt", "a,b\n1,2\n", ["unknown suffix '.txt'"]),
        ("missing.csv", None, ["no such file"]),
        ("empty.csv", "customerid,tenure\n", ["no rows"]),
        (
            "ragged.csv",
            "customerid,tenure\nw1,3\nw2,4,5\n",
            ["line 3", "row has 3 fields, expected 2"],
        ),
        ("twice.csv", "tenure,tenure\n1,2\n", ["'tenure' appears more than once"]),
        ("bad.parquet", "not parquet at all", ["cannot read it as parquet"]),
    ],
)
def test_an_unusable_file_is_one_line_naming_the_problem(
    registered: Registered, tmp_path: Path, name: str, content: str | None, words: list[str]
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert_one_line_error(run_main(path), *words)


def test_another_model_version_and_a_missing_one(registered: Registered, tmp_path: Path) -> None:
    path = week_file(tmp_path / "week.parquet", "baseline", 3)
    version = registered.champion.version
    chosen = run_main(path, "--model-version", version)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert f"churn-model v{version}" in chosen.stdout
    assert_one_line_error(run_main(path, "--model-version", "99"), "v99")


def test_no_champion_yet_is_one_line(registered: Registered, tmp_path: Path) -> None:
    path = week_file(tmp_path / "week.parquet", "baseline", 3)
    result = run_check(registered, path, state_dir=tmp_path / "empty-state")
    assert_one_line_error(result, "churn-model has no champion")


def write_log(directory: Path, frame: pd.DataFrame, version: str, scores: np.ndarray) -> None:
    """Segments written by the service's own prediction log writer."""
    log = PredictionLog(directory, flush_rows=1_000, flush_seconds=60, max_pending_segments=64)
    log.start()
    rows = frame[[ID_COLUMN, *FEATURE_NAMES]].astype(object).to_dict("records")
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        log.append(
            part,
            {
                "churn_probability": scores[start : start + 500],
                "churn_decision": scores[start : start + 500] >= 0.35,
                "model_version": [version] * len(part),
                "routed_to": ["champion"] * len(part),
                "request_id": [f"r{start + i}" for i in range(len(part))],
                "timestamp": time.time(),
                "shadow_probability": np.nan,
                "shadow_version": None,
            },
        )
    log.close()


def test_a_window_of_the_prediction_log_with_released_labels(
    registered: Registered, tmp_path: Path
) -> None:
    import mlflow.sklearn

    version = registered.champion.version
    model = mlflow.sklearn.load_model(f"models:/churn-model/{version}")
    clean = labeled_week(World(21, "concept_drift", rows_per_week=ROWS).week(2))
    drifted = labeled_week(World(21, "concept_drift", rows_per_week=ROWS).week(9))
    log = tmp_path / "predictions"
    for frame in (clean, drifted):
        scores = model.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
        write_log(log, frame, version, scores)
    labels = tmp_path / "labels.parquet"
    pd.concat([clean, drifted])[[ID_COLUMN, LABEL_COLUMN]].to_parquet(labels, index=False)
    before = run_check(registered, "--log", log, "--weeks", "2", "--labels", labels)
    assert before.returncode == 0, before.stdout + before.stderr
    assert f"{ROWS:,} rows" in before.stdout
    after = run_check(registered, "--log", log, "--weeks", "9:9", "--labels", labels)
    assert after.returncode == 1, after.stdout + after.stderr
    assert "calibration" in after.stdout.split("verdict:")[1]  # concept drift: quality alert
    assert "drift in" not in after.stdout.split("verdict:")[1]  # and no feature drift
    assert_one_line_error(run_main("--log", log, "--weeks", "30:31"), "no logged predictions")
