"""The Pennington et al. (2017) claim: its free-probability theory, the config's point on the
critical line, verdicts on synthetic Jacobian spectra with known spreads, a clear error
without spectra, and its figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import yaml
from conftest import REPO

from initstudy.analysis import free_probability, meanfield
from initstudy.analysis.claims import evaluate
from initstudy.analysis.claims.families.pennington2017 import normalized_variance
from initstudy.analysis.claims.registry import ClaimError, Tables
from initstudy.figures import registry as figures
from initstudy.models.activations import ACTIVATIONS, DERIVATIVES
from initstudy.tables.build import JACOBIAN_COLUMNS
from initstudy.train.jacobian import jacobian_singular_values

CONFIG = yaml.safe_load((REPO / "config" / "claims" / "pennington2017.yaml").read_text())
CLAIM = CONFIG["claim"]
INITS = ["orthogonal_critical", "gaussian_critical", "orthogonal_relu", "gaussian_relu"]
COMBINATIONS = {"tanh": INITS, "relu": INITS}
DEPTHS = (4, 16, 32)


def _lognormal_grid(variance: float, n: int) -> np.ndarray:
    """``n - 1`` values ``exp(t (g - 1))`` on a grid ``g`` of [-1, 1] and one 0, with ``t``
    such that their normalized variance is ``variance`` (from ``1 / (n - 1)``, the zero's
    share, to below ``n - 1``)."""
    grid = np.linspace(-1, 1, n - 1) - 1

    def excess(t):
        return normalized_variance(np.sqrt(np.append(np.exp(t * grid), 0.0))) - variance

    t = 0.0 if excess(0.0) >= 0 else scipy.optimize.brentq(excess, 0.0, 1e4, xtol=1e-12)
    return np.append(np.exp(t * grid), 0.0)


def jacobian_study(variance, seeds=range(8), width=128, inputs=2, depths=DEPTHS) -> Tables:
    """Spectra whose squared singular values have the normalized variance
    ``variance(activation, init, depth, seed)`` exactly, one of them 0."""
    rows = []
    for activation, inits in COMBINATIONS.items():
        for init in inits:
            for depth in depths:
                for seed in seeds:
                    run_id = f"mnist1d/mlp/{activation}/sgd/d{depth}/{init}/s{seed}"
                    s2 = _lognormal_grid(variance(activation, init, depth, seed), width)
                    values = np.sort(np.sqrt(s2))[::-1]
                    rows += [{"run_id": run_id, "dataset": "mnist1d", "arch": "mlp", "activation": activation,
                              "optimizer": "sgd", "depth": depth, "width": width, "initializer": init, "seed": seed,
                              "input": i, "index": k, "singular_value": v}
                             for i in range(inputs) for k, v in enumerate(values)]
    jacobian = pd.DataFrame(rows, columns=JACOBIAN_COLUMNS)
    return Tables(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), jacobian=jacobian)


def theory(activation, init, depth):
    """Free probability's V at ``depth`` for the config's predicted combinations; 3 per
    layer for the others."""
    spec = CLAIM["params"]["predicted"].get(f"{activation}/{init}")
    if spec is None:
        return 3.0 * depth
    return free_probability.predicted_variance(activation, spec["q_star"], spec["weights"], depth)


def textbook(activation, init, depth, seed):
    """The theory, scaled by 1 + 0.01 seed (seed noise)."""
    return theory(activation, init, depth) * (1 + 0.01 * seed)


def verdict(study, claim=CLAIM) -> str:
    return evaluate.verdicts("pennington2017", claim, study).iloc[0]["verdict"]


def test_free_probability_adds_normalized_variances_per_layer():
    """k_D at small q (tanh: phi'^2 = 1 - 2 h^2 + ..., so k_D ~ 8 q^2), ReLU's 1 at any q,
    the weights' v_W, and V linear in depth."""
    assert free_probability.derivative_variance("tanh", 1e-3) == pytest.approx(8e-6, rel=0.02)
    for q in (0.01, 1.0, 100.0):
        assert free_probability.derivative_variance("relu", q) == pytest.approx(1.0)
    assert free_probability.derivative_variance("linear", 0.5) == pytest.approx(0.0, abs=1e-12)
    k = free_probability.derivative_variance("tanh", 0.5)
    assert free_probability.layer_slope("tanh", 0.5, "gaussian") == pytest.approx(k + 1)
    assert free_probability.predicted_variance("tanh", 0.5, "orthogonal", 10) == pytest.approx(8 * k)
    assert free_probability.predicted_variance("tanh", 0.5, "gaussian", 10) == pytest.approx(8 * k + 9)
    with pytest.raises(ValueError, match="weights 'uniform'"):
        free_probability.layer_slope("tanh", 0.5, "uniform")


def test_the_critical_point_puts_q_at_its_fixed_point():
    """critical_point gives chi_1 = 1 and q* = q; matched_q_star gives E[phi^2] = r."""
    for q in (0.05, 0.6308, 2.0):
        sigma_w2, sigma_b2 = free_probability.critical_point("tanh", q)
        point = meanfield.fixed_point("tanh", sigma_w2, sigma_b2)
        assert point.q_star == pytest.approx(q, rel=1e-8) and point.chi_1 == pytest.approx(1.0, abs=1e-9)
    q = free_probability.matched_q_star("tanh", 40 / 128)
    assert meanfield.gaussian_second_moment("tanh", q) == pytest.approx(40 / 128, rel=1e-10)
    with pytest.raises(ValueError, match="reaches it at no q"):
        free_probability.matched_q_star("tanh", 1.5)


def test_a_wide_network_matches_free_probability():
    """A mechanism check of the theory code, not of the claim: a numpy network 512 wide at
    the config's point, Jacobians from the first hidden layer's activation, V within 10 %
    of the prediction at depth 8 (L / N = 1/64) for orthogonal and Gaussian weights."""
    q = free_probability.matched_q_star("tanh", 40 / 128)
    sigma_w2, sigma_b2 = free_probability.critical_point("tanh", q)
    width, depth, rng = 512, 8, np.random.default_rng(0)
    for weights in ("orthogonal", "gaussian"):
        measured = []
        for _ in range(4):
            kernels = []
            for _ in range(depth - 1):
                if weights == "orthogonal":
                    o, r = np.linalg.qr(rng.standard_normal((width, width)))
                    kernels.append(math.sqrt(sigma_w2) * o * np.sign(np.diag(r)))
                else:
                    kernels.append(rng.standard_normal((width, width)) * math.sqrt(sigma_w2 / width))
            biases = [rng.standard_normal(width) * math.sqrt(sigma_b2) for _ in kernels]
            first = np.tanh(rng.standard_normal((2, width)) * math.sqrt(q))  # a_1 with h_1 ~ N(0, q*)
            s = jacobian_singular_values(first, kernels, biases, ACTIVATIONS["tanh"], DERIVATIVES["tanh"])
            measured += [normalized_variance(row) for row in s]
        predicted = free_probability.predicted_variance("tanh", q, weights, depth)
        assert np.mean(measured) == pytest.approx(predicted, rel=0.1), weights


def test_the_config_sits_on_the_critical_line_at_the_registered_q_star():
    """The grid's tanh initializers are the critical point of the registered q*, which is
    where standardized MNIST-1D (|x|^2 = 40 on average) enters a 128-wide first layer."""
    inits = {i["label"]: i for i in CONFIG["grid"]["initializers"]}
    orthogonal, gaussian = inits["orthogonal_critical"], inits["gaussian_critical"]
    sigma_w2, sigma_b2 = orthogonal["gain"] ** 2, orthogonal["bias"]["stddev"] ** 2
    assert gaussian["scale"] == pytest.approx(sigma_w2, rel=1e-5) and gaussian["mode"] == "fan_out"
    assert gaussian["bias"] == orthogonal["bias"]
    point = meanfield.fixed_point("tanh", sigma_w2, sigma_b2)
    predicted = CLAIM["params"]["predicted"]
    assert predicted["tanh/orthogonal_critical"]["q_star"] == pytest.approx(point.q_star, abs=1e-4)
    assert predicted["tanh/gaussian_critical"]["q_star"] == pytest.approx(point.q_star, abs=1e-4)
    assert point.chi_1 == pytest.approx(1.0, abs=1e-4)
    q_1 = sigma_w2 * 40 / CONFIG["training"]["width"] + sigma_b2
    assert q_1 == pytest.approx(point.q_star, rel=1e-3)
    assert CONFIG["grid"]["datasets"] == ["mnist1d"] and max(CONFIG["grid"]["depths"]) / CONFIG["training"]["width"] <= 0.25


def test_the_measured_spread_is_the_normalized_variance():
    table = evaluate.verdicts("pennington2017", CLAIM, jacobian_study(lambda a, i, d, s: theory(a, i, d)))
    parts = table[table["level"] == "part"].set_index("subclaim")
    free = parts[parts["part"] == "free_probability"]
    np.testing.assert_allclose(free["estimate"], 0.0, atol=1e-9)
    assert set(free.index) == {"tanh/orthogonal_critical (d4 to d32)", "tanh/gaussian_critical (d4 to d32)",
                               "relu/orthogonal_relu (d4 to d32)"}
    steeper = parts.loc["tanh/gaussian_critical - tanh/orthogonal_critical (d4 to d32)"]
    assert steeper["part"] == "gaussian_steeper" and steeper["estimate"] == pytest.approx(1.0, abs=1e-9)


def test_verdicts():
    assert verdict(jacobian_study(textbook)) == "PASS"
    # orthogonal tanh spreading at the Gaussian rate: the theory fails, with 8 seeds (4
    # sub-claims: Holm's smallest adjusted p is 4 x 2/2**8) and not with 6 (0.125)
    def gaussian_rate(a, i, d, s):
        return textbook(a, "gaussian_critical" if (a, i) == ("tanh", "orthogonal_critical") else i, d, s)
    assert verdict(jacobian_study(gaussian_rate)) == "FAIL"
    assert verdict(jacobian_study(gaussian_rate, seeds=range(6))) == "INCONCLUSIVE"
    # ReLU isometric (flat spectra): FAIL
    flat_relu = lambda a, i, d, s: 0.5 + 0.01 * s if (a, i) == ("relu", "orthogonal_relu") else textbook(a, i, d, s)  # noqa: E731
    assert verdict(jacobian_study(flat_relu)) == "FAIL"
    # a slope near the margin, straddling it across seeds: no decision
    margin = CLAIM["rules"]["free_probability"]["min_effect"]
    near = lambda a, i, d, s: theory(a, i, d) * ((1 + margin + (0.1 if s % 2 else -0.1)) if (a, i) == (  # noqa: E731
        "relu", "orthogonal_relu") else 1.0)
    assert verdict(jacobian_study(near)) == "INCONCLUSIVE"
    # three seeds cannot reach alpha with the exact test
    assert verdict(jacobian_study(textbook, seeds=range(3))) == "INCONCLUSIVE"


def test_the_gaussian_steeper_part_fails_when_the_weights_do_not_matter():
    only = {**CLAIM, "params": {**CLAIM["params"], "predicted": {}}, "rules": {"gaussian_steeper": CLAIM["rules"][
        "gaussian_steeper"]}}
    same = lambda a, i, d, s: textbook(a, "orthogonal_critical" if i == "gaussian_critical" else i, d, s)  # noqa: E731
    assert verdict(jacobian_study(same, seeds=range(6)), only) == "FAIL"
    assert verdict(jacobian_study(textbook, seeds=range(6)), only) == "PASS"


def test_a_study_without_spectra_or_with_a_bad_prediction_is_refused_naming_the_setting():
    empty = Tables(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), jacobian=pd.DataFrame(columns=JACOBIAN_COLUMNS))
    with pytest.raises(ClaimError, match="training.jacobian_inputs"):
        evaluate.verdicts("pennington2017", CLAIM, empty)
    study = jacobian_study(textbook, seeds=range(2))
    missing = {**CLAIM, "params": {**CLAIM["params"], "compared": ["tanh/orthogonal_critical", "tanh/he_normal"]}}
    with pytest.raises(ClaimError, match=r"claim.params.compared: combination\(s\) \['tanh/he_normal'\]"):
        evaluate.verdicts("pennington2017", missing, study)
    bad = {**CLAIM, "params": {**CLAIM["params"], "predicted": {"tanh/orthogonal_critical": {"weights": "uniform",
                                                                                             "q_star": 0.5}}}}
    with pytest.raises(ClaimError, match=r"predicted.tanh/orthogonal_critical.weights: 'uniform'"):
        evaluate.verdicts("pennington2017", bad, study)


def test_the_figure_draws_from_the_family_tables():
    tables = evaluate.figure_tables(CLAIM, jacobian_study(textbook, seeds=range(3)))
    assert set(tables) == {"spread", "spectra"}
    spread = tables["spread"]
    assert set(spread["role"]) == {"predicted", "other"}
    assert spread.loc[spread["role"] == "other", "predicted"].isna().all()
    np.testing.assert_allclose(spread.loc[spread["role"] == "predicted", "mean"],
                               spread.loc[spread["role"] == "predicted", "predicted"], rtol=0.02)
    assert (tables["spectra"]["s2_relative"] > 0).all()  # the zeros are left out
    assert set(tables["spectra"]["combination"]) == set(CLAIM["params"]["predicted"])
    fig = figures.draw(figures.CLAIM_FIGURES["pennington2017"], tables)
    assert len(fig.get_axes()) == 2
