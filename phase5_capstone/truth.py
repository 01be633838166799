"""What the world knows and the system never sees: the yardsticks a run is judged by.

The simulated world knows every customer's true churn probability, so for each week it can say
what the best possible campaign would have earned on that week's customers (the **oracle**:
contact exactly those whose expected saving beats the contact cost), what the models that
actually served earned at their own thresholds, and what the two naive campaigns earn (contact
nobody: $0; contact everybody). It also refits a model on plenty of current data, so a week can
be called **degraded** when the served model ranks customers significantly worse than a refit
would.

Nothing here feeds a decision: the trigger, the gate and the rollout read only the event log's
evidence and released labels. The ``truth`` step writes this week's figures once the week is
scored, for the summary, the timeline and ``make bench-policy``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.scenarios import Corruption, Scenario
from phase1_foundations.world import World
from phase2_pipelines.params import BusinessParams, TrainParams
from phase2_pipelines.stats import auc_delong, paired_auc_delong
from phase2_pipelines.train import fit_model, predict_scores
from phase5_capstone.params import YardstickParams

REFIT_SEED_OFFSET = 2_000_003  # the refit's customers: same world and week, other people
REFITS_KEPT = 128  # refitted weeks one process keeps (a benchmark's 52 weeks, twice over)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeekTruth(_Frozen):
    """One week, judged with the world's knowledge (dollars are expected values under the true
    churn probabilities, so they carry no label noise)."""

    week: int
    customers: int
    scored: int
    oracle_usd: float
    earned_usd: float
    always_usd: float
    served_auc: float | None = None
    refit_auc: float | None = None
    refit_gap_low: float | None = None  # lower bound of refit AUC - served AUC
    degraded: bool = False

    @property
    def regret_usd(self) -> float:
        return self.oracle_usd - self.earned_usd


def contact_value(probability: np.ndarray, business: BusinessParams) -> np.ndarray:
    """Expected net value of contacting each customer: their saved value less the contact cost."""
    saved = business.save_rate * business.retained_value * probability
    return np.asarray(saved - business.contact_cost, dtype=np.float64)


def clean_scenario(scenario: Scenario) -> Scenario:
    """The same world without its data-quality corruptions (the refit learns from clean rows),
    known by its effects alone (a name simulates nothing): scenarios that differ only in name or
    length are one world, and share their refits."""
    effects = tuple(e for e in scenario.world if not isinstance(e, Corruption))
    return Scenario(name="refit", description="the world's effects, uncorrupted", world=effects)


def refit_scores(
    world: World,
    week: int,
    frame: pd.DataFrame,
    params: TrainParams,
    yardstick: YardstickParams,
) -> np.ndarray:
    """Scores of ``frame`` by a model refitted on other customers of the same world and week."""
    rows = min(yardstick.refit_max_rows, yardstick.refit_weeks_of_rows * world.rows_per_week)
    model = refit_model(
        world.seed,
        clean_scenario(world.scenario).model_dump_json(),
        rows,
        world.label_delay_weeks,
        week,
        params.model_dump_json(),
    )
    return predict_scores(model, frame)


@lru_cache(maxsize=REFITS_KEPT)
def refit_model(
    seed: int, scenario: str, rows: int, label_delay_weeks: int, week: int, params: str
) -> Pipeline:
    """The refit of one week of a world (scenario and params as JSON), fitted once per process:
    every run of the same world has the same yardstick, whatever its policy or its system
    faults, and a benchmark judges many runs of one world."""
    other = World(
        seed + REFIT_SEED_OFFSET,
        Scenario.model_validate_json(scenario),
        rows_per_week=rows,
        label_delay_weeks=label_delay_weeks,
    ).week(week)
    labeled = other.features.merge(other.labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN)
    return fit_model(labeled, TrainParams.model_validate_json(params))


def week_truth(
    world: World,
    week: int,
    scores: pd.DataFrame | None,
    thresholds: dict[str, float],
    business: BusinessParams,
    train: TrainParams,
    yardstick: YardstickParams,
) -> WeekTruth:
    """The week's oracle, earned and naive values, and whether the served model was degraded.

    ``scores`` holds the served answers (customer id, score, model version); customers it lacks
    (a quarantined batch) were not contacted. ``thresholds`` maps each version to its contact
    threshold.
    """
    batch = world.week(week)
    truth = batch.labels[[ID_COLUMN, LABEL_COLUMN]].assign(p=batch.churn_probability)
    value = contact_value(truth["p"].to_numpy(), business)
    oracle = float(np.clip(value, 0.0, None).sum())
    always = float(value.sum())
    if scores is None or scores.empty:
        return WeekTruth(
            week=week,
            customers=len(truth),
            scored=0,
            oracle_usd=round(oracle, 2),
            earned_usd=0.0,
            always_usd=round(always, 2),
        )
    served = scores.drop_duplicates(ID_COLUMN).merge(truth, on=ID_COLUMN, how="inner")
    cutoff = served["model_version"].astype(str).map(thresholds).to_numpy(dtype=np.float64)
    contacted = served["score"].to_numpy(dtype=np.float64) >= cutoff
    earned = float(contact_value(served["p"].to_numpy(), business)[contacted].sum())
    labels = served[LABEL_COLUMN].to_numpy(dtype=np.int64)
    result = WeekTruth(
        week=week,
        customers=len(truth),
        scored=len(served),
        oracle_usd=round(oracle, 2),
        earned_usd=round(earned, 2),
        always_usd=round(always, 2),
    )
    if not 0 < labels.sum() < len(labels):
        return result
    features = batch.features.drop_duplicates(ID_COLUMN).set_index(ID_COLUMN)
    rows = features.loc[served[ID_COLUMN]].reset_index()
    refit = refit_scores(world, week, rows, train, yardstick)
    gap, se = paired_auc_delong(labels, refit, served["score"].to_numpy(dtype=np.float64))
    low = gap - yardstick.degraded_z * se
    served_auc, _ = auc_delong(labels, served["score"].to_numpy(dtype=np.float64))
    return result.model_copy(
        update={
            "served_auc": round(served_auc, 6),
            "refit_auc": round(served_auc + gap, 6),
            "refit_gap_low": round(low, 6),
            "degraded": bool(low > yardstick.degraded_margin),
        }
    )


class Episode(_Frozen):
    """A stretch of degraded weeks: when it began, when labels could first show it, and the
    model change that ended it (if one did)."""

    started: int  # first degraded week
    labeled: int  # the week that week's labels arrived: the first week harm could be seen
    ended: int | None = None  # last degraded week, once a healthy week follows
    fix_version: str | None = None
    fix_week: int | None = None  # the week the fix was promoted (serves everyone from the next)

    @property
    def weeks_to_recover(self) -> int | None:
        """Weeks from the first labeled harm to the promotion of the fix."""
        return None if self.fix_week is None else max(0, self.fix_week - self.labeled)

    def describe(self) -> str:
        where = f"degraded from week {self.started} (its labels arrived in week {self.labeled})"
        if self.fix_week is None:
            if self.ended is not None:
                return f"{where}: ended in week {self.ended} without a model change"
            return f"{where}: not recovered by the end of the run"
        return (
            f"{where}: v{self.fix_version} promoted in week {self.fix_week},"
            f" {self.weeks_to_recover} week(s) after the first labeled harm"
        )


class RunJudgement(_Frozen):
    """A whole run against its yardsticks: dollars, degraded weeks and recoveries."""

    weeks: int
    oracle_usd: float
    earned_usd: float
    always_usd: float
    degraded_weeks: int
    judged_weeks: int
    episodes: tuple[Episode, ...] = ()

    @property
    def regret_usd(self) -> float:
        return self.oracle_usd - self.earned_usd

    @property
    def regret_share(self) -> float:
        return self.regret_usd / self.oracle_usd if self.oracle_usd > 0 else 0.0

    def render(self) -> str:
        lines = [
            f"regret ${self.regret_usd:,.0f} of the oracle's ${self.oracle_usd:,.0f}"
            f" ({self.regret_share:.1%}): earned ${self.earned_usd:,.0f}; contacting everyone"
            f" would have earned ${self.always_usd:,.0f}, contacting nobody $0",
            f"weeks degraded (served AUC significantly below a refit on current data):"
            f" {self.degraded_weeks} of {self.judged_weeks}",
        ]
        if not self.episodes:
            lines.append("time to recover: no degraded stretch")
        for episode in self.episodes:
            lines.append(f"time to recover: {episode.describe()}")
        return "\n".join(lines)


MODEL_CHANGES = ("promoted", "rolled_back")


def judge_run(
    truths: list[WeekTruth], changes: list[tuple[int, str]], release_week: dict[int, int]
) -> RunJudgement:
    """The run's totals and its degraded stretches, each with the model change that ended it.

    ``changes`` are (week, version) of promotions and rollbacks, oldest first; ``release_week``
    maps an event week to the week its labels arrived. A stretch is ended by the first week that
    is judged and not degraded; weeks with nothing judged (a quarantined batch) do not end it.
    """
    ordered = sorted(truths, key=lambda t: t.week)
    episodes: list[Episode] = []
    current: Episode | None = None
    last_degraded = -1
    for truth in ordered:
        if truth.served_auc is None:
            continue
        if truth.degraded:
            if current is None:
                current = Episode(started=truth.week, labeled=release_week[truth.week])
            last_degraded = truth.week
        elif current is not None:
            fix = [(w, v) for w, v in changes if current.started <= w < truth.week]
            update: dict[str, object] = {"ended": last_degraded}
            if fix:
                update |= {"fix_week": fix[-1][0], "fix_version": fix[-1][1]}
            episodes.append(current.model_copy(update=update))
            current = None
    if current is not None:
        episodes.append(current)
    judged = [t for t in ordered if t.served_auc is not None]
    return RunJudgement(
        weeks=len(ordered),
        oracle_usd=round(sum(t.oracle_usd for t in ordered), 2),
        earned_usd=round(sum(t.earned_usd for t in ordered), 2),
        always_usd=round(sum(t.always_usd for t in ordered), 2),
        degraded_weeks=sum(t.degraded for t in judged),
        judged_weeks=len(judged),
        episodes=tuple(episodes),
    )
