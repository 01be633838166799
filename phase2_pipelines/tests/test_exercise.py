"""`make check-phase2`: does the gate in your params.yaml block what it should?

The exercise (phase2_pipelines/README.md) asks you to tighten a threshold in params.yaml and
watch the gate block the model. This check trains once against a fresh registry, then replays the
gate with your params.yaml and with a floor just above what the model reaches, and tells you what
your gate decided and why.
"""

from __future__ import annotations

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.params import PipelineParams, load_params
from phase2_pipelines.pipeline import run_pipeline
from phase2_pipelines.registry import CHAMPION, Registry
from phase2_pipelines.tests.conftest import workdir


def _with_floor(params: PipelineParams, roc_auc: float) -> PipelineParams:
    floors = params.gate.floors.model_copy(update={"roc_auc": roc_auc})
    gate = params.gate.model_copy(update={"floors": floors})
    return params.model_copy(update={"gate": gate})


def test_your_gate_and_a_tightened_floor(state: Settings) -> None:
    yours = load_params()
    relaxed = _with_floor(yours, 0.0)
    first = run_pipeline(relaxed, workdir(state, "champion"), state)
    assert first.decision.promote, first.decision.render()
    achieved = first.decision.checks[0].detail.split()[0]

    decision = run_pipeline(yours, workdir(state, "yours"), state).decision
    print(f"\nYour params.yaml, against champion v{first.version}:\n{decision.render()}")
    expected_block = float(achieved) < yours.gate.floors.roc_auc
    assert ("floor roc_auc" in {c.name for c in decision.failures}) == expected_block

    tightened = _with_floor(yours, float(achieved) + 0.01)
    blocked = run_pipeline(tightened, workdir(state, "tightened"), state)
    assert not blocked.decision.promote
    assert "floor roc_auc" in {c.name for c in blocked.decision.failures}
    assert Registry(yours.registry.model_name).version_for(CHAMPION) == first.version
    floor = float(achieved) + 0.01
    print(f"With the floor at {floor:.4f} the gate blocks: {blocked.decision.summary}")


@pytest.mark.parametrize("floor", [0.5, 0.99])
def test_floor_decides_on_its_own(state: Settings, floor: float) -> None:
    params = _with_floor(load_params(), floor)
    decision = run_pipeline(params, workdir(state, f"floor-{floor}"), state).decision
    assert decision.promote == (floor == 0.5)
