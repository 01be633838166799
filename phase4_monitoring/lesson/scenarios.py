"""World scenarios phase 4 adds to phase 1's catalogue: changes that do, or do not, harm the model.

The catalogue's covariate shifts leave how customers churn alone, so a retrained model would be
the same model; its concept drift makes the ranking better. Deciding when to retrain needs
cases where drift comes with harm, harm comes without drift, and CBPE sees a drop the labels
barely confirm.
"""

from __future__ import annotations

from phase1_foundations.scenarios import (
    CATALOGUE_START_WEEK,
    ConceptDrift,
    CovariateShift,
    Scenario,
)

START = CATALOGUE_START_WEEK

# Harm without drift: the customers the model trusts most start leaving.
LOYAL_CUSTOMERS_LEAVE = Scenario(
    name="loyal_customers_leave",
    description="Two-year customers start leaving: their churn odds rise sharply.",
    effects=(
        ConceptDrift(
            feature="contract", categories=("Two year",), logit_delta=2.0, start_week=START
        ),
    ),
)

# Drift with harm to the ranking: the customers a promotion bought do not stay.
TWO_YEAR_PROMOTION_BACKFIRES = Scenario(
    name="two_year_promotion_backfires",
    description="A promotion moves 30% of customers onto two-year contracts, and two-year"
    " customers start leaving.",
    effects=(
        CovariateShift(
            feature="contract", toward="Two year", fraction=0.3, start_week=START, ramp_weeks=2
        ),
        ConceptDrift(
            feature="contract",
            categories=("Two year",),
            logit_delta=2.0,
            start_week=START,
            ramp_weeks=2,
        ),
    ),
)

# Drift with harm to calibration only: prices rise and fiber customers leave; ranking improves.
FIBER_PRICE_HIKE = Scenario(
    name="fiber_price_hike",
    description="Prices rise 25%, and fiber-optic customers start leaving.",
    effects=(
        CovariateShift(feature="monthlycharges", scale=1.25, start_week=START),
        ConceptDrift(
            feature="internetservice",
            categories=("Fiber optic",),
            logit_delta=1.0,
            start_week=START,
        ),
    ),
)

# CBPE sees a drop: a sales push makes the customers alike, so they are harder to rank.
MONTH_TO_MONTH_FIBER_PUSH = Scenario(
    name="month_to_month_fiber_push",
    description="A sales push moves 80% of customers onto month-to-month fiber-optic plans.",
    effects=(
        CovariateShift(feature="contract", toward="Month-to-month", fraction=0.8, start_week=START),
        CovariateShift(
            feature="internetservice", toward="Fiber optic", fraction=0.8, start_week=START
        ),
    ),
)

PHASE4_SCENARIOS = {
    s.name: s
    for s in (
        LOYAL_CUSTOMERS_LEAVE,
        TWO_YEAR_PROMOTION_BACKFIRES,
        FIBER_PRICE_HIKE,
        MONTH_TO_MONTH_FIBER_PUSH,
    )
}
