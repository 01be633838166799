"""Why the thresholds are effect sizes: a KS test on a big, harmless change.

Two clean world weeks of a million rows each; in the second, prices are up 1%, a change no
retention campaign would notice. The Kolmogorov-Smirnov test's p-value is astronomically small
all the same, because with this many rows it detects any difference at all. The effect size
(Wasserstein distance in reference standard deviations) says how big the change is, and it is
far below the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from phase1_foundations.scenarios import CovariateShift, Scenario
from phase1_foundations.world import MONTHLY_CHARGES, World
from phase2_pipelines.params import load_params
from phase2_pipelines.profile import profile_numeric
from phase4_monitoring.drift import numeric_drift
from phase4_monitoring.params import MonitoringParams, load_monitoring_params


@dataclass(frozen=True)
class PValueDemo:
    rows: int
    price_change: float
    ks_statistic: float
    ks_p_value: float
    wasserstein: float
    psi: float
    threshold: float
    verdict: str

    def render(self) -> str:
        return "\n".join(
            [
                f"two clean weeks of {self.rows:,} customers; in the second, monthly charges are"
                f" {self.price_change:+.1%}",
                f"  KS test:     statistic {self.ks_statistic:.4f}, p-value {self.ks_p_value:.3g}"
                f"  -> 'significant' {'yes' if self.ks_p_value < 0.05 else 'no'}",
                f"  effect size: Wasserstein {self.wasserstein:.3f} reference std,"
                f" PSI {self.psi:.4f} (threshold {self.threshold:g})",
                f"  our verdict: {self.verdict}",
            ]
        )


def price_change_scenario(change: float) -> Scenario:
    return Scenario(
        name="harmless_price_change",
        description="Monthly charges change a little, from week 0.",
        world=(CovariateShift(feature=MONTHLY_CHARGES, scale=1 + change),),
    )


def effect_versus_pvalue(
    rows: int, seed: int, price_change: float, params: MonitoringParams | None = None
) -> PValueDemo:
    params = params or load_monitoring_params()
    bins = load_params().train.profile_bins  # the reference profile's, as training fits it
    reference = World(seed, "baseline", rows_per_week=rows).week(0).features[MONTHLY_CHARGES]
    world = World(seed, price_change_scenario(price_change), rows_per_week=rows)
    current = world.week(1).features[MONTHLY_CHARGES]
    ks = stats.ks_2samp(reference.to_numpy(), current.to_numpy())
    check = numeric_drift(
        MONTHLY_CHARGES, current, profile_numeric(reference, bins), len(reference), params
    )
    value = {e.metric: e.value for e in check.evidence}
    return PValueDemo(
        rows=rows,
        price_change=price_change,
        ks_statistic=float(ks.statistic),
        ks_p_value=float(ks.pvalue),
        wasserstein=value["wasserstein"],
        psi=value["psi"],
        threshold=params.drift.wasserstein,
        verdict=f"{check.verdict.value}: {check.reason}",
    )
