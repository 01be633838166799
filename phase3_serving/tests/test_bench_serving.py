"""The serving benchmark runs end to end (tiny durations); its figures are not judged."""

from __future__ import annotations

import pytest

from bench.bench_serving import CASES, SERVERS, lua_long_string, render, run, take_rows

BATCH_ROWS = 20


def test_lua_long_string_never_closes_early() -> None:
    body = '{"data":[[1,"a"]],"x":"]=]"}'  # dataframe_split bodies contain "]]"
    quoted = lua_long_string(body)
    assert quoted == f"[==[{body}]==]"  # the first level absent from the body


def test_take_rows_wraps_around() -> None:
    rows: list[dict[str, object]] = [{"n": i} for i in range(3)]
    assert take_rows(rows, 2, 4) == [{"n": 2}, {"n": 0}, {"n": 1}, {"n": 2}]


@pytest.mark.slow
@pytest.mark.load  # the root conftest skips it without wrk, and fails it so under CI=true
def test_run_loads_both_servers_in_both_cases() -> None:
    result = run(duration_s=1, connections=8, batch_rows=BATCH_ROWS, warmup_s=0)
    check = result["correctness"]
    assert check["passed"], check["detail"]  # both servers answer the same rows correctly
    assert check["max_probability_diff"] <= 1e-9  # ours matches the registered model
    assert check["mlflow_labels_agree"]
    measured = {(c["case"], c["server"]): c for c in result["cases"]}
    assert set(measured) == {(case, server) for case in CASES for server in SERVERS}
    for case in measured.values():
        assert case["requests_per_s"] > 0, case  # every case was actually served
        assert case["non_2xx"] == 0, case  # and without errors
        assert case["p99_ms"] >= case["p50_ms"] > 0, case
    assert measured["batch", "ours"]["rows_per_s"] == pytest.approx(
        measured["batch", "ours"]["requests_per_s"] * BATCH_ROWS
    )
    assert set(result["throughput_ratio"]) == set(CASES)
    assert "ours/mlflow, batch: throughput x" in render(result)
