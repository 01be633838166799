"""Every command the phase-3 lesson shows is exercised by a test; the example request is valid."""

from __future__ import annotations

import json
import subprocess

from phase1_foundations.settings import PROJECT_ROOT
from phase3_serving.schemas import ROW_ADAPTER
from phase3_serving.tests.exercise import exercise_commands, run_block_curls
from testing.readme import assert_make_runs, missing_coverage

T = "phase3_serving.tests."
EXAMPLE = PROJECT_ROOT / "phase3_serving" / "examples" / "customer.json"
EXERCISE = T + "test_lesson_exercise::test_the_exercise_runs_as_written"
CHECK = T + "test_exercise_check::"
COVERED_BY = {
    "make phase3": "tests.test_root_readme::test_make_phase3_trains_then_serves",
    "make serve": EXERCISE,  # it serves the whole exercise, and the two curls below ask it
    "python -m phase3_serving score data/raw/telco/test.csv var/scores.parquet": T
    + "test_batch::test_cli_scores_a_file_and_prints_rows_per_second",
    "make bench-serving": T + "test_bench_serving::test_run_loads_both_servers_in_both_cases",
    "make serving-image": T
    + "test_deploy::test_serving_image_holds_the_serving_stack_and_nothing_more",
    "make check-phase3": CHECK + "test_fixed_state_passes",
    "sed 's/max_score_shift: 0.25/max_score_shift: 10/' params.yaml > var/loose.yaml": CHECK
    + "test_a_loose_limit_fails_and_says_what_to_change",
    "MLOPS_SERVING_PARAMS_FILE=var/loose.yaml make check-phase3": CHECK
    + "test_a_loose_limit_fails_and_says_what_to_change",
    "sed 's/max_p95_ms: 250.0/max_p95_ms: 5.0/' params.yaml > var/tight.yaml": CHECK
    + "test_a_limit_inside_the_noise_fails_and_says_what_to_change",
    "MLOPS_SERVING_PARAMS_FILE=var/tight.yaml make check-phase3": CHECK
    + "test_a_limit_inside_the_noise_fails_and_says_what_to_change",
    "sed 's/max_score_shift: 0.25/max_score_shift: 0.01/' params.yaml > var/tight-skew.yaml": CHECK
    + "test_a_tight_skew_limit_passes_there_is_no_noise_to_be_inside",
    "MLOPS_SERVING_PARAMS_FILE=var/tight-skew.yaml make check-phase3": CHECK
    + "test_a_tight_skew_limit_passes_there_is_no_noise_to_be_inside",
}
# The exercise's other commands run in order, for real, in one test.
COVERED_BY |= {
    command: EXERCISE
    for command in exercise_commands() + run_block_curls()
    if command not in COVERED_BY
}


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(PROJECT_ROOT / "phase3_serving" / "README.md", COVERED_BY) == []


def test_example_request_passes_the_schema() -> None:
    row = ROW_ADAPTER.validate_json(EXAMPLE.read_bytes())
    assert row.__dict__["customerid"] == json.loads(EXAMPLE.read_text())["customerid"]


def test_make_serve_runs_the_app_on_loopback() -> None:
    dry = subprocess.run(
        ["make", "-n", "serve", "PORT=8123"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "uvicorn phase3_serving.app:app --host 127.0.0.1 --port 8123" in dry.stdout
    assert "--no-access-log" in dry.stdout  # requests are in /metrics and the prediction log


def test_make_targets_run_the_tested_commands() -> None:
    recipes = {
        "bench-serving": "-m bench.bench_serving",
        "serving-image": "phase3_serving/deploy/build-serving-image.sh",
        "check-phase3": "-m phase3_serving.lesson selfcheck",
    }
    assert_make_runs(recipes)
