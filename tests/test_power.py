"""Power, not only the smallest reachable p: the chance to detect paired
effects d_z = 0.5, 1, 1.5 at Holm's first step, from the non-zero differences each
comparison really had, by a seeded simulation of the exact Wilcoxon test the study
runs; its t-test twin is held against R's ``power.t.test``."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from initstudy.analysis import paired, power

ALPHA = 0.05
RSCRIPT = shutil.which("Rscript")


def mc_tolerance(p: float, replicates: int = power.N_REPLICATES) -> float:
    """Four Monte Carlo standard errors of a simulated probability p (and a floor)."""
    return 4 * np.sqrt(max(p * (1 - p), 1e-4) / replicates)


def test_the_simulation_runs_the_exact_test_as_the_study_does():
    """The simulated p-values are those of paired.wilcoxon_pair (the pairwise tests) on
    the same differences, and the random numbers depend on (seed, n, d_z) alone."""
    diffs = power.simulated_differences(10, 1.0)
    p = power.simulated_p_values(10, 1.0)
    for row in range(5):
        expected = paired.wilcoxon_pair(pd.Series(diffs[row]), pd.Series(np.zeros(10)))["p_value"]
        assert p[row] == pytest.approx(expected, rel=1e-12)
    assert np.array_equal(diffs, power.simulated_differences(10, 1.0))
    assert not np.array_equal(diffs[:, :8], power.simulated_differences(8, 1.0))


def test_wilcoxon_power_of_the_default_design():
    """10 seeds, the 10 pairs of 5 initializers: d_z = 1 is detected about 29 % of the
    time at Holm's first step (the figure the guideline's power statement quotes)."""
    level = ALPHA / 10
    assert power.power(10, 1.0, level) == pytest.approx(0.29, abs=0.01)
    values = [power.power(10, d, level) for d in power.EFFECTS]
    assert values == sorted(values) and values[0] < 0.1 and 0.6 < values[-1] < 0.8
    # no sample of 5 non-zero differences can reach 0.005 (2 / 2**5 = 0.0625): exactly 0
    assert power.power(5, 3.0, level) == 0.0 and power.power(0, 1.0, level) == 0.0


@pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed")
@pytest.mark.parametrize("n, d_z, level", [(10, 0.5, 0.005), (10, 1.0, 0.005), (10, 1.5, 0.005), (6, 1.0, 0.05)])
def test_the_t_twin_of_the_simulation_matches_r(n, d_z, level):
    """The same simulated differences through a one-sample t-test give R's
    power.t.test (two-sided, both tails: strict = TRUE) within simulation error; the
    exact Wilcoxon test, with its discrete levels and an asymptotic efficiency of 3/pi
    relative to the t-test on normal data, detects less."""
    script = (f"cat(sprintf('%.10f', power.t.test(n={n}, delta={d_z}, sd=1, sig.level={level}, "
              "type='one.sample', strict=TRUE)$power))")
    out = subprocess.run([RSCRIPT, "-e", script], capture_output=True, text=True, timeout=60, check=True)
    r_power = float(out.stdout)
    simulated = power.power(n, d_z, level, test="t")
    assert simulated == pytest.approx(r_power, abs=mc_tolerance(r_power))
    assert power.power(n, d_z, level) <= simulated + mc_tolerance(simulated)


def pairwise_table(n_nonzero: list[int], n_pairs: int = 10) -> pd.DataFrame:
    """One cell's pairwise rows with these non-zero counts (no test where 0)."""
    rows = []
    for i, nz in enumerate(n_nonzero):
        rows.append({"dataset": "d", "arch": "mlp", "activation": "relu", "optimizer": "adam", "depth": 2, "width": 128,
                     "initializer_a": f"a{i}", "initializer_b": f"b{i}", "n_pairs": n_pairs, "n_nonzero": nz,
                     "p_value": 0.5 if nz else np.nan})
    return pd.DataFrame(rows)


def test_zero_differences_lower_the_power_and_the_reachable_p():
    """Three initializers (3 pairs) with 10 seeds, but one pair tied at every seed and
    one at four: the Holm family is the 2 pairs with a test, each pair's power uses its
    non-zero count, the tied pair has none."""
    pairs = pairwise_table([10, 6, 0])
    friedman = pd.DataFrame({"k": [3]})
    effects = power.power_effects(friedman, pairs, pd.DataFrame(), ALPHA).set_index("d_z")
    for d in power.EFFECTS:
        row = effects.loc[d]
        assert (row["n_seeds"], row["holm_family"], row["level"]) == (10, 3, pytest.approx(ALPHA / 3))
        assert row["power_design"] == power.power(10, d, ALPHA / 3)
        realised = [power.power(10, d, ALPHA / 2), power.power(6, d, ALPHA / 2), 0.0]
        assert row["power_mean"] == pytest.approx(np.mean(realised))
        assert (row["power_min"], row["power_max"]) == (0.0, realised[0])
        assert row["power_mean"] < row["power_design"]
    table = power.power_table(friedman, pairs, pd.DataFrame(), ALPHA).iloc[0]
    assert (table["n_pairs"], table["n_nonzero_min"], table["n_nonzero_median"], table["n_nonzero_max"]) == (
        10, 0, 6, 10)
    assert table["wilcoxon_min_p"] == 2 / 2**10
    assert table["holm_min_p"] == pytest.approx(2 * 2 / 2**10)  # the family has 2 tests, not 3
    assert table["holm_can_reject"] and table["pairs_can_reject"] == 1  # 2 * 2 / 2**6 > 0.05
    # every pair tied at six of ten seeds: 10 seeds promise p = 0.006, 4 non-zero reach 0.375
    few = power.power_table(friedman, pairwise_table([4, 4, 4]), pd.DataFrame(), ALPHA).iloc[0]
    assert few["wilcoxon_min_p"] == 2 / 2**4 and few["holm_min_p"] == 3 * 2 / 2**4 and not few["holm_can_reject"]
    assert (power.power_effects(friedman, pairwise_table([4, 4, 4]), pd.DataFrame(), ALPHA)["power_mean"] == 0).all()


def test_power_effects_of_a_study_whose_pairs_have_every_seed():
    from test_analysis_tables import synthetic_study

    ten = synthetic_study(depths=(2,), seeds=tuple(range(10)), epochs=2)
    effects = power.power_effects(ten.stats["friedman"], ten.stats["pairwise"], ten.stats["ranks"], ALPHA)
    assert list(effects.columns) == power.POWER_EFFECT_COLUMNS and effects["d_z"].tolist() == list(power.EFFECTS)
    assert (effects["holm_family"] == 6).all() and (effects["n_seeds"] == 10).all()
    np.testing.assert_allclose(effects["power_mean"], effects["power_design"])  # all 10 differences non-zero
    assert effects["power_design"].is_monotonic_increasing
