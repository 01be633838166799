"""Forks get the project's own checks: the GitHub workflow runs `.ci/run`, and nothing else
stands in for it."""

from __future__ import annotations

import yaml

from phase1_foundations.settings import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def test_the_workflow_runs_the_ci_entry_point() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert {"push", "pull_request"} <= set(triggers)
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(run.split()[-2:] == ["bash", ".ci/run"] for run in runs), runs
    assert (PROJECT_ROOT / ".ci" / "run").is_file()
    # The suite is .ci/run's job: no step runs pytest or make test itself and skips its setup.
    assert not any("pytest" in run or "make test" in run for run in runs)
