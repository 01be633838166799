"""Fixtures for the documents: a real MLflow registry with a champion and a previous champion,
trained on the real data through phase 2's own stages, in an isolated state directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.params import PipelineParams, load_params
from phase2_pipelines.pipeline import run_pipeline
from testing.champions import make_champion, register
from testing.store import isolated_mlflow, workdir


@dataclass(frozen=True)
class Live:
    """A state directory whose registry has served two champions (the second serves now)."""

    settings: Settings
    params: PipelineParams
    first: str
    second: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, tmp_path_factory.mktemp("docs") / "var") as settings,
    ):
        params = load_params()
        first = run_pipeline(params, workdir(settings, "first"), settings).version
        # Another model (a stronger regularisation), promoted by hand as the tests of phase 3 do:
        # v1 becomes previous_champion, as after any promotion.
        other = params.model_copy(
            update={
                "train": params.train.model_copy(
                    update={"logreg": params.train.logreg.model_copy(update={"C": 0.02})}
                )
            }
        )
        second = register(settings, other, "second")
        make_champion(params, second)
        yield Live(settings=settings, params=params, first=first, second=second)
