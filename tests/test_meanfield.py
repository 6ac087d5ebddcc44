"""Mean-field fixed points and depth scales against published values and closed forms, and the
Gaussian integrals against independent closed forms (Cho & Saul's arc-cosine kernels) and
Monte Carlo."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from initstudy.analysis import meanfield as mf
from initstudy.models import activations


def test_the_module_imports_neither_keras_nor_tensorflow():
    script = ("import sys, initstudy.analysis.meanfield; "
              "sys.exit(any(m in sys.modules for m in ('keras', 'tensorflow')))")
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0


@pytest.mark.parametrize("name", sorted(activations.DERIVATIVES))
def test_derivatives_match_central_differences_of_the_activations(name):
    x = np.concatenate([np.linspace(-6, -0.01, 300), np.linspace(0.01, 6, 300)])
    step = 1e-6
    numeric = (activations.ACTIVATIONS[name](x + step) - activations.ACTIVATIONS[name](x - step)) / (2 * step)
    np.testing.assert_allclose(activations.DERIVATIVES[name](x), numeric, rtol=1e-6, atol=1e-8)


def test_tanh_edge_of_chaos_with_small_bias_is_schoenholz_et_al_value():
    # Schoenholz et al. (2017), arXiv:1611.01232: tanh, sigma_b2 = 0.05 -> sigma_w2* ~ 1.76
    assert mf.critical_sigma_w2("tanh", 0.05) == pytest.approx(1.76, abs=0.005)


def test_tanh_without_bias_is_critical_at_one():
    # tanh'(0) = 1 and q* = 0 below the transition, so chi_1 = sigma_w2 (Poole et al., 2016)
    assert mf.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)
    point = mf.fixed_point("tanh", 0.8, 0.0)
    assert point.q_star == 0.0 and point.c_star == 1.0
    assert point.xi_c == pytest.approx(-1 / math.log(0.8), rel=1e-9)


@pytest.mark.parametrize("sigma_w2", [0.5, 1.0, 1.9])
def test_relu_chi_1_is_half_sigma_w2_and_he_is_critical(sigma_w2):
    # He et al. (2015): E[relu'(u)**2] = 1/2 at any scale, so chi_1 = sigma_w2 / 2
    sigma_b2 = 0.1
    point = mf.fixed_point("relu", sigma_w2, sigma_b2)
    assert point.q_star == pytest.approx(sigma_b2 / (1 - sigma_w2 / 2), rel=1e-9)
    assert point.chi_1 == pytest.approx(sigma_w2 / 2, rel=1e-9)
    assert point.c_star == 1.0 and point.xi_c == pytest.approx(-1 / math.log(sigma_w2 / 2), rel=1e-9)
    # V(q) = sigma_w2 q / 2 + sigma_b2 is linear: V' = sigma_w2 / 2
    assert point.xi_q == pytest.approx(-1 / math.log(sigma_w2 / 2), rel=1e-8)


def test_relu_transition_is_at_two_with_or_without_bias():
    assert mf.critical_sigma_w2("relu", 0.0) == pytest.approx(2.0, abs=1e-8)
    assert mf.critical_sigma_w2("relu", 0.1) == pytest.approx(2.0, abs=1e-8)


@pytest.mark.parametrize("sigma_w2,sigma_b2", [(0.5, 0.3), (0.9, 0.01), (0.2, 1.0)])
def test_linear_fixed_point_and_depth_scales_have_closed_forms(sigma_w2, sigma_b2):
    point = mf.fixed_point("linear", sigma_w2, sigma_b2)
    assert point.q_star == pytest.approx(sigma_b2 / (1 - sigma_w2), rel=1e-10)
    assert point.chi_1 == pytest.approx(sigma_w2, rel=1e-10)
    assert point.xi_q == pytest.approx(-1 / math.log(sigma_w2), rel=1e-8)
    assert point.xi_c == pytest.approx(-1 / math.log(sigma_w2), rel=1e-10)


def test_selu_keeps_unit_variance_at_lecun_scale():
    # Klambauer et al. (2017), arXiv:1706.02515: q = 1 is SELU's fixed point at sigma_w2 = 1
    assert mf.q_star("selu", 1.0, 0.0) == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize("activation,sigma_w2,sigma_b2,reason", [
    ("relu", 2.5, 0.0, "explodes"),
    ("relu", 2.0, 0.1, "explodes"),
    ("linear", 1.2, 0.0, "explodes"),
    ("relu", 2.0, 0.0, "every q is a fixed point"),
    ("linear", 1.0, 0.0, "every q is a fixed point"),
])
def test_no_fixed_point_is_an_explicit_error(activation, sigma_w2, sigma_b2, reason):
    with pytest.raises(mf.NoFixedPoint, match=reason):
        mf.q_star(activation, sigma_w2, sigma_b2)


def test_critical_point_outside_the_bracket_is_an_error():
    with pytest.raises(ValueError, match="does not change sign"):
        mf.critical_sigma_w2("tanh", 0.05, bracket=(0.1, 1.5))


def test_correlation_depth_scale_diverges_at_the_transition():
    """Schoenholz et al. (2017), Fig. 1: xi_c peaks at sigma_w2* and falls off on both sides.

    In the ordered phase ``chi_c = chi_1 ~ 1 - a (sigma_w2* - sigma_w2)``, so ``xi_c`` grows
    like ``1 / distance``: ten times closer, about ten times deeper.
    """
    critical = mf.critical_sigma_w2("tanh", 0.05)
    far, near = mf.xi_c("tanh", critical - 0.1, 0.05), mf.xi_c("tanh", critical - 0.01, 0.05)
    assert 8 < near / far < 12 and near > 100
    assert mf.xi_c("tanh", critical - 1e-5, 0.05) > 1e5
    chaotic = mf.fixed_point("tanh", critical + 0.01, 0.05)
    assert chaotic.c_star < 1 and chaotic.chi_1 > 1 and chaotic.xi_c > 100
    # deep in either phase the scale is a few layers
    assert mf.xi_c("tanh", 4.0, 0.05) < 10 and mf.xi_c("tanh", 1.0, 0.05) < 5


@pytest.mark.parametrize("c", [-0.9, -0.3, 0.0, 0.5, 0.99, 0.9999])
def test_relu_bivariate_expectations_are_the_arc_cosine_kernels(c):
    """Cho & Saul (2009): with ``theta = arccos c``, ``E[relu(u1) relu(u2)] = q (sin theta +
    (pi - theta) cos theta) / (2 pi)`` (degree 1) and ``E[step(u1) step(u2)] = (pi - theta) /
    (2 pi)`` (degree 0)."""
    q, theta = 1.7, math.acos(c)
    degree1 = q * (math.sin(theta) + (math.pi - theta) * c) / (2 * math.pi)
    degree0 = (math.pi - theta) / (2 * math.pi)
    assert mf.bivariate_expectation(activations.relu, activations.relu, q, c) == pytest.approx(degree1, rel=1e-8)
    step = activations.DERIVATIVES["relu"]
    assert mf.bivariate_expectation(step, step, q, c) == pytest.approx(degree0, rel=1e-8)


def _monte_carlo(f, g, q, c, n=2_000_000, seed=0):
    """Mean of ``f(u1) g(u2)`` over ``n`` correlated Gaussian draws, and its standard error."""
    z = np.random.default_rng(seed).standard_normal((2, n))
    u1 = math.sqrt(q) * z[0]
    u2 = math.sqrt(q) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    values = f(u1) * g(u2)
    return values.mean(), values.std() / math.sqrt(n)


@pytest.mark.parametrize("name,q,c", [("tanh", 1.3, 0.6), ("tanh", 1.0, 0.999), ("gelu", 0.7, -0.4),
                                      ("selu", 2.0, 0.9)])
def test_bivariate_expectation_agrees_with_monte_carlo(name, q, c):
    """Within 5 standard errors of a 2e6-draw Monte Carlo estimate (seed 0): a false alarm
    has probability ~6e-7, while a wrong kink split or correlation would miss by far more."""
    phi, dphi = activations.ACTIVATIONS[name], activations.DERIVATIVES[name]
    for f, g in ((phi, phi), (dphi, dphi)):
        estimate, se = _monte_carlo(f, g, q, c)
        assert abs(mf.bivariate_expectation(f, g, q, c) - estimate) < 5 * se


def test_chaotic_fixed_point_solves_the_correlation_map_by_monte_carlo():
    """tanh at sigma_w2 = 2.5, sigma_b2 = 0.05: ``c*`` is a fixed point of the correlation map and
    ``chi_c`` the mean of ``sigma_w2 phi'(u1) phi'(u2)``, both estimated by Monte Carlo at ``c*``."""
    sigma_w2, sigma_b2 = 2.5, 0.05
    point = mf.fixed_point("tanh", sigma_w2, sigma_b2)
    assert 0 < point.c_star < 1 and point.chi_c < 1 < point.chi_1
    cross, se = _monte_carlo(np.tanh, np.tanh, point.q_star, point.c_star)
    assert abs((sigma_w2 * cross + sigma_b2) / point.q_star - point.c_star) < 5 * sigma_w2 * se / point.q_star
    dphi = activations.DERIVATIVES["tanh"]
    slope, se = _monte_carlo(dphi, dphi, point.q_star, point.c_star)
    assert abs(sigma_w2 * slope - point.chi_c) < 5 * sigma_w2 * se
