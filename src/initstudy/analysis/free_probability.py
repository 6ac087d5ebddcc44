"""Free probability's prediction for the Jacobian spectrum of a deep network at initialization
(Pennington, Schoenholz & Ganguli, 2017, arXiv:1711.04735).

For an MLP at the mean-field fixed point ``q*`` (every pre-activation ``h_l ~ N(0, q*)``)
the Jacobian ``J = W_L^T D_{L-1} W_{L-1}^T ... D_2 W_2^T`` (``D_l = diag(phi'(h_l))``;
:mod:`initstudy.train.jacobian`, taken from the first hidden layer's activation as
:class:`initstudy.train.observers.JacobianSpectra` records it) is, as the width goes to
infinity at fixed depth, a product of freely independent factors, and S-transforms
multiply. To first order in ``z`` a spectrum of mean ``m1`` and second moment ``m2`` has
``S(z) = (1 - v z + O(z**2)) / m1`` with ``v = m2 / m1**2 - 1``, the *normalized variance*,
so normalized variances add over the factors of a product. The eigenvalues of ``J J^T``
therefore have::

    V(L) = var(s**2) / mean(s**2)**2 = (L - 2) * k_D + (L - 1) * v_W

for ``L`` hidden layers (``L - 1`` weight factors, ``L - 2`` derivative factors), with

- ``k_D = mu_2 / mu_1**2 - 1``, ``mu_k = E[phi'(sqrt(q*) z)**(2 k)]``: the spread that the
  nonlinearity adds per layer, set by ``q*`` (:func:`derivative_variance`). For tanh it
  tends to 0 as ``q* -> 0``; for ReLU ``phi'**2`` is 0 or 1 with probability 1/2, so
  ``k_D = 1`` at every ``q`` (no ReLU network is isometric);
- ``v_W``, the normalized variance of ``W W^T``'s spectrum (:data:`WEIGHT_VARIANCE`): 0 for
  orthogonal weights (every eigenvalue ``sigma_w2``), 1 for Gaussian ones (Marchenko-Pastur
  of ratio 1); the paper's ``-s_1``.

``V`` is linear in depth with slope ``k_D + v_W`` per layer (:func:`layer_slope`), exactly
in the limit; at width ``N`` the corrections are of order ``L / N``. On the critical line
(``chi_1 = sigma_w2 mu_1 = 1``) the mean squared singular value stays 1 and ``V`` is the
variance of the squared singular values itself, the paper's ``sigma^2_{JJ^T}``.

:func:`critical_point` gives the ``(sigma_w2, sigma_b2)`` of the critical line whose fixed
point is a given ``q*``; :func:`matched_q_star` the ``q*`` at which a first layer fed
inputs of mean square ``r`` per unit of width starts at the fixed point (``q_1 = q*``).

numpy and scipy only, on the quadrature of :mod:`initstudy.analysis.meanfield`.
"""

from __future__ import annotations

import scipy.optimize

from initstudy.analysis import meanfield
from initstudy.models.activations import DERIVATIVES, resolve_activation

#: The normalized variance ``var / mean**2`` of the spectrum of ``W W^T`` for square weights,
#: as the width goes to infinity: Haar orthogonal (a scaled identity's spectrum) and i.i.d.
#: Gaussian (Marchenko-Pastur, ratio 1).
WEIGHT_VARIANCE = {"orthogonal": 0.0, "gaussian": 1.0}


def _weights(weights: str) -> float:
    if weights not in WEIGHT_VARIANCE:
        raise ValueError(f"weights {weights!r}: expected one of {', '.join(WEIGHT_VARIANCE)}")
    return WEIGHT_VARIANCE[weights]


def derivative_moments(activation: str, q: float) -> tuple[float, float]:
    """``(mu_1, mu_2) = (E[phi'(sqrt(q) z)**2], E[phi'(sqrt(q) z)**4])``, ``z ~ N(0, 1)``."""
    resolve_activation(activation)
    dphi = DERIVATIVES[activation]
    return (meanfield.gaussian_expectation(lambda x: dphi(x) ** 2, q),
            meanfield.gaussian_expectation(lambda x: dphi(x) ** 4, q))


def derivative_variance(activation: str, q: float) -> float:
    """``k_D = mu_2 / mu_1**2 - 1``: the normalized variance of ``phi'(h)**2``, ``h ~ N(0, q)``."""
    mu1, mu2 = derivative_moments(activation, q)
    return mu2 / mu1**2 - 1.0


def layer_slope(activation: str, q: float, weights: str) -> float:
    """``k_D + v_W``: how much ``V`` (:func:`predicted_variance`) grows per layer."""
    return derivative_variance(activation, q) + _weights(weights)


def predicted_variance(activation: str, q: float, weights: str, depth: int) -> float:
    """``V(L) = (L - 2) k_D + (L - 1) v_W`` for ``L = depth`` hidden layers (``depth >= 2``)."""
    if depth < 2:
        raise ValueError(f"depth {depth}: the Jacobian from the first hidden layer needs 2 layers or more")
    return (depth - 2) * derivative_variance(activation, q) + (depth - 1) * _weights(weights)


def critical_point(activation: str, q: float) -> tuple[float, float]:
    """``(sigma_w2, sigma_b2)`` on the critical line ``chi_1 = 1`` with fixed point ``q* = q``:
    ``sigma_w2 = 1 / mu_1`` and ``sigma_b2 = q - sigma_w2 E[phi(sqrt(q) z)**2]``
    (negative where no such point exists)."""
    sigma_w2 = 1.0 / derivative_moments(activation, q)[0]
    return sigma_w2, q - sigma_w2 * meanfield.gaussian_second_moment(activation, q)


def matched_q_star(activation: str, mean_square: float) -> float:
    """The ``q*`` with ``E[phi(sqrt(q*) z)**2] = mean_square``.

    A first layer whose weights have variance ``sigma_w2 / n`` per unit of output (orthogonal
    with gain ``sqrt(sigma_w2)`` or Gaussian with ``mode=fan_out``, ``n`` the width) and
    biases of variance ``sigma_b2`` maps an input ``x`` to ``q_1 = sigma_w2 |x|**2 / n +
    sigma_b2``; at a point of the critical line ``q* = sigma_w2 E[phi**2] + sigma_b2``, so
    ``q_1 = q*`` exactly when ``E[phi(sqrt(q*) z)**2] = |x|**2 / n``: the input looks like a
    layer's activation at the fixed point. Standardized inputs of ``d`` features have
    ``|x|**2 = d`` on average, so ``mean_square = d / n``."""
    phi = resolve_activation(activation)
    ceiling = meanfield.gaussian_expectation(lambda x: phi(x) ** 2, 1e6)
    if not 0 < mean_square < ceiling:
        raise ValueError(f"mean square {mean_square}: {activation} reaches it at no q (expected in (0, {ceiling:.3g}))")
    return float(scipy.optimize.brentq(lambda q: meanfield.gaussian_second_moment(activation, q) - mean_square,
                                       1e-12, 1e6, xtol=1e-14, rtol=1e-12))
