"""World scenarios phase 4 adds to phase 1's catalogue: changes that do, or do not, harm the model.

The catalogue's covariate shifts leave how customers churn alone, so a retrained model would be
the same model; its concept drift makes the ranking better. Deciding when to retrain needs
cases where drift comes with harm, harm comes without drift, and CBPE sees a drop the labels
barely confirm. They are declared in ``worlds/*.yml``, in phase 1's scenario format, and read by
its loader.
"""

from __future__ import annotations

from pathlib import Path

from phase1_foundations.scenarios import Scenario, get_scenario, load_scenarios

WORLDS_DIR = Path(__file__).resolve().parent / "worlds"


def phase4_scenarios() -> dict[str, Scenario]:
    """Every world of ``worlds/``, by name."""
    return load_scenarios(WORLDS_DIR)


def phase4_scenario(name: str) -> Scenario:
    """One world of ``worlds/``; a KeyError lists the known names."""
    scenarios = phase4_scenarios()
    if name not in scenarios:
        raise KeyError(f"unknown phase-4 scenario {name!r}; known: {sorted(scenarios)}")
    return scenarios[name]


def any_scenario(name: str) -> Scenario:
    """A world of ``worlds/`` by name, else phase 1's catalogue scenario of that name."""
    scenarios = phase4_scenarios()
    return scenarios[name] if name in scenarios else get_scenario(name)
