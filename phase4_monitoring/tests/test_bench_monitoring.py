"""The monitoring benchmark still runs end to end (tiny sizes); its timings are not judged."""

from __future__ import annotations

import subprocess

import pytest

from bench.bench_monitoring import NANNYML_PYTHON, main
from phase1_foundations.settings import PROJECT_ROOT


@pytest.mark.slow
def test_bench_prints_times_ratio_agreement_and_the_cbpe_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--sizes", "5000", "--repeats", "2", "--cbpe-weeks", "6:8"]) == 0
    out = capsys.readouterr().out
    assert "all 19 features" in out
    assert "Evidently / fast drift:" in out
    assert "drifted columns: fast ['monthlycharges'], Evidently ['monthlycharges']: agree" in out
    assert "p50" in out
    assert "p99" in out
    assert "mean absolute error of CBPE" in out
    if NANNYML_PYTHON.exists():
        assert "NannyML" in out.split("mean absolute error")[1]


def test_make_targets_run_the_benchmark_and_build_the_nannyml_env() -> None:
    for target, command in (
        ("bench-monitoring", "-m bench.bench_monitoring"),
        ("nannyml-env", "pip install --quiet --python .tools/nannyml-env/bin/python nannyml=="),
    ):
        dry = subprocess.run(
            ["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        )
        assert command in dry.stdout, f"make {target} no longer runs {command}"
