"""Every incident scenario played to the end on the real system, with its best response and
wrong ones (``testing.drills.play_branches``: forked at the first signal of its cause, each fork
declares the right diagnosis with another response; the best must score highest, and the debrief
must name the signal that pointed at the cause). The controls are in ``test_engine_controls``.

The slow model's drill spends most of its time waiting (each of its scoring calls sleeps), so it
plays in another process from the module's start, while the other drills use the CPU. One
bootstrapped champion is shared by every drill, and with the run's other drill modules
(``testing.drills``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from phase1_foundations.settings import Settings
from simulator.drills import load_catalogue
from testing.drills import (
    BRANCHES,
    SEED,
    Branches,
    branches_aside,
    check_branches,
    drill_state,
    play_branches,
)

pytestmark = pytest.mark.slow

ASIDE = "heavy_model"  # its calls sleep: played in another process, waited for last
INCIDENTS = sorted(
    (name for name in BRANCHES if load_catalogue().drill(name).incident),
    key=lambda name: name == ASIDE,
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return drill_state(tmp_path_factory, "drills", SEED)


@pytest.fixture(scope="module", autouse=True)
def aside(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Callable[[], Branches]]]:
    """The slow drill's branches, started with the module's first test if it is to run."""
    selected = {
        item.callspec.params.get("name")
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    if ASIDE not in selected:
        yield {}
        return
    with branches_aside(ASIDE, drill_state(tmp_path_factory, "drills-aside", SEED)) as played:
        yield {ASIDE: played}


@pytest.mark.parametrize("name", INCIDENTS)
def test_the_best_response_scores_highest_and_the_debrief_names_the_signal(
    name: str, settings: Settings, aside: dict[str, Callable[[], Branches]]
) -> None:
    results = aside[name]() if name in aside else play_branches(name, settings)
    check_branches(name, results)
