"""The monitor's statistics against independent oracles: scipy, and simulation under no change.
(The statistics phase 2 owns, PSI, Wilson and the AUC errors, are tested in phase 2.)"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from phase2_pipelines.stats import population_stability_index
from phase4_monitoring.stats import (
    binned_p_value,
    cdf_l1,
    cdf_l1_noise_floor,
    js_distance,
    js_noise_floor,
    psi_noise_floor,
)

ALPHA = 0.01
SHARES = np.array([0.1, 0.2, 0.3, 0.25, 0.15])


def test_js_distance_is_scipys() -> None:
    window = np.array([0.5, 0.3, 0.2, 0.0])
    reference = np.array([0.25, 0.25, 0.25, 0.25])
    assert js_distance(window, reference) == pytest.approx(jensenshannon(window, reference))


@pytest.mark.parametrize(("n", "n_reference"), [(500, 2_000), (2_000, 16_000)])
def test_binned_noise_floors_are_the_99th_percentile_under_no_change(
    n: int, n_reference: int
) -> None:
    rng = np.random.default_rng(2)
    psis, jss = [], []
    for _ in range(2_000):
        window = rng.multinomial(n, SHARES) / n
        reference = rng.multinomial(n_reference, SHARES) / n_reference
        psis.append(population_stability_index(window, reference))
        jss.append(js_distance(window, reference))
    bins = len(SHARES)
    assert np.quantile(psis, 1 - ALPHA) == pytest.approx(
        psi_noise_floor(bins, n, n_reference, ALPHA), rel=0.25
    )
    assert np.quantile(jss, 1 - ALPHA) == pytest.approx(
        js_noise_floor(bins, n, n_reference, ALPHA), rel=0.25
    )
    # Under no change the p-values are roughly uniform: about 1% fall below 0.01.
    p_values = [binned_p_value(value, bins, n, n_reference) for value in psis]
    assert np.mean(np.array(p_values) < ALPHA) == pytest.approx(ALPHA, abs=0.01)


def test_cdf_distance_floor_is_its_99th_percentile_under_no_change() -> None:
    rng = np.random.default_rng(3)
    knots = np.quantile(rng.gamma(2.0, 20.0, 100_000), np.linspace(0, 1, 11))
    reference_cdf = np.linspace(0, 1, 11)
    n, n_reference = 2_000, 8_000
    gaps = []
    for _ in range(1_000):
        a, b = rng.gamma(2.0, 20.0, n), rng.gamma(2.0, 20.0, n_reference)
        cdf_a = np.array([np.mean(a < k) for k in knots])
        cdf_b = np.array([np.mean(b < k) for k in knots])
        gaps.append(cdf_l1(knots, cdf_a, cdf_b))
    floor = cdf_l1_noise_floor(knots, reference_cdf, n, n_reference, ALPHA)
    assert np.quantile(gaps, 1 - ALPHA) == pytest.approx(floor, rel=0.25)
