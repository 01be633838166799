"""Phase 1's self-check holds on this checkout, and every self-check reports in one shape.

`make check-phase1` (``python -m phase1_foundations.lesson selfcheck``) is followed step by step,
broken and fixed, in a fresh clone by ``test_exercise_fails.py``; here its promises are checked
on this checkout, in process, as the suite ran them when the check was a pytest file.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phase1_foundations.lesson.findings import Finding, report_findings
from phase1_foundations.lesson.selfcheck import (
    environment_matches_the_lock,
    lockfile_matches_pyproject,
    raw_data_matches_its_dvc_version,
    raw_data_matches_its_pinned_digests,
    training_is_deterministic,
)


@pytest.mark.parametrize(
    "check",
    [
        lockfile_matches_pyproject,
        environment_matches_the_lock,
        raw_data_matches_its_pinned_digests,
        raw_data_matches_its_dvc_version,
    ],
)
def test_this_checkout_keeps_the_promise(check: Callable[[], Finding]) -> None:
    finding = check()
    assert finding.passed, finding.render()


@pytest.mark.parametrize("seed", [42, 7])
def test_training_is_deterministic_here(seed: int) -> None:
    finding = training_is_deterministic(seed)
    assert finding.passed, finding.render()


def test_a_finding_says_what_to_change_only_when_it_fails() -> None:
    met = Finding("the lock matches", True, "uv lock --check passed", "run `uv lock`")
    unmet = Finding("the lock matches", False, "it does not", "run `uv lock`\nthen commit both")
    assert met.render() == "[PASS] the lock matches: uv lock --check passed"
    assert unmet.render().splitlines() == [
        "[FAIL] the lock matches: it does not",
        "  -> run `uv lock`",
        "  -> then commit both",
    ]


def test_the_verdict_fails_when_one_requirement_is_not_met(
    capsys: pytest.CaptureFixture[str],
) -> None:
    findings = [Finding("one", True), Finding("two", False, advice="fix two")]
    assert report_findings("check-phaseN", findings, "fix it, then run the check again") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "check-phaseN: FAIL (1 of 2 requirements not met: two); fix it, then run the check again"
    )
    assert report_findings("check-phaseN", findings[:1], "unused") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "check-phaseN: PASS (all 1 requirements met)"
