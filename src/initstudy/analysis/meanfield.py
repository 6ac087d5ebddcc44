"""Mean-field signal propagation at initialization: Gaussian expectations, fixed points, depth scales.

A wide MLP with i.i.d. zero-mean weights of variance ``sigma_w2 / fan_in`` and biases
of variance ``sigma_b2`` propagates two quantities layer to layer (Poole et al., 2016,
arXiv:1606.05340; Schoenholz et al., 2017, arXiv:1611.01232):

- the *length map* of one input's pre-activation second moment ``q``::

      q_{l+1} = V(q_l) = sigma_w2 E_z[phi(sqrt(q_l) z)**2] + sigma_b2,     z ~ N(0, 1)

  whose stable fixed point is ``q*`` (:func:`q_star`);
- the *correlation map* of two inputs at ``q*``, with ``u1 = sqrt(q*) z1`` and
  ``u2 = sqrt(q*) (c z1 + sqrt(1 - c**2) z2)``::

      c_{l+1} = C(c_l) = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q*

  whose stable fixed point is ``c*``. ``c = 1`` is always a fixed point; its slope
  there is ``chi_1 = sigma_w2 E[phi'(sqrt(q*) z)**2]`` (:func:`chi_1`), so ``c* = 1``
  (ordered phase) when ``chi_1 <= 1``, and ``c* < 1`` (chaotic phase) otherwise.

Near the fixed points, deviations decay as ``exp(-l / xi)``:

- ``xi_q = -1 / ln V'(q*)``, with ``V'(q) = sigma_w2 E[phi(sqrt(q) z)**2 (z**2 - 1)] / (2 q)``
  (Stein's lemma applied twice: ``d/dq E[f(sqrt(q) z)] = E[f(sqrt(q) z)(z**2 - 1)] / (2 q)``,
  so no second derivative of ``phi`` is needed, and ReLU's kink costs nothing);
- ``xi_c = -1 / ln chi_c`` with ``chi_c = sigma_w2 E[phi'(u1) phi'(u2)]`` at ``c*``
  (``chi_c = chi_1`` when ``c* = 1``). ``xi_c`` diverges at the order-to-chaos
  transition ``chi_1 = 1`` (:func:`critical_sigma_w2`); Schoenholz et al. find networks
  trainable up to a depth of about ``6 xi_c``.

Every expectation is integrated with ``scipy.integrate.quad`` on the two half-lines split
at the activation's kink at 0, not with Gauss-Hermite quadrature: Gauss-Hermite nodes
spread over ``|z| < ~sqrt(4 N)`` and miss the transition of a saturating activation at
large ``q`` (``tanh`` at ``q = 100``: 5 % error with 101 nodes) and converge only
algebraically across the kink at 0 of ReLU-type activations (SELU at ``q = 1``: 1e-4
with 101 nodes), whereas adaptive quadrature with the kink as an end point reaches
``1e-10`` relative for any activation. The two-dimensional expectations nest two such
integrals; the inner one is split where its argument ``u2`` crosses 0.

This module is numpy and scipy only (no Keras), so the theory can be evaluated anywhere
the tables are read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.optimize

from initstudy.models.activations import ACTIVATIONS, DERIVATIVES, resolve_activation

def _derivative(activation: str) -> Callable:
    resolve_activation(activation)  # the same message for an unknown name
    return DERIVATIVES[activation]


_SQRT_2PI = math.sqrt(2 * math.pi)
_HALVES = ((-np.inf, 0.0), (0.0, np.inf))
#: Relative tolerance of every one-dimensional quadrature.
EPSREL = 1e-10


def _density(z: float) -> float:
    return math.exp(-z * z / 2) / _SQRT_2PI


def gaussian_expectation(f: Callable, q: float) -> float:
    """``E_{z~N(0,1)}[f(sqrt(q) z)]`` by adaptive quadrature on ``(-inf, 0]`` and ``[0, inf)``.

    At ``q = 0`` it is the limit ``q -> 0+``: the mean of ``f``'s one-sided values at 0
    (so ``E[relu'(sqrt(q) z)**2] = 1/2`` for every ``q >= 0``).
    """
    if q == 0:
        return 0.5 * float(f(np.nextafter(0.0, 1.0)) + f(np.nextafter(0.0, -1.0)))
    root = math.sqrt(q)

    def integrand(z: float) -> float:
        return float(f(np.float64(root * z))) * _density(z)

    return float(sum(scipy.integrate.quad(integrand, a, b, epsabs=0.0, epsrel=EPSREL, limit=200)[0]
                     for a, b in _HALVES))


def gaussian_second_moment(activation: str | Callable, q: float) -> float:
    """``E_{z~N(0,1)}[phi(sqrt(q) z)**2]`` by adaptive quadrature on ``(-inf, 0]``, ``[0, inf)``."""
    phi = resolve_activation(activation)
    return gaussian_expectation(lambda x: phi(x) ** 2, q)


#: Beyond this many standard deviations a kink is not split at: the normal mass past it
#: (< 1e-32) is below any tolerance used here.
KINK_REACH = 12.0


def _pieces(kink: float) -> list[tuple[float, float]]:
    """``(-inf, a], [a, b], [b, inf)`` with ``a, b`` = 0 and ``kink`` sorted (``kink`` dropped
    beyond ``KINK_REACH``). Each infinite piece starts inside the normal's mass: ``quad``
    maps a half-line ``[b, inf)`` onto ``(0, 1]``, and a bump far from ``b`` becomes a
    spike it can step over (``tanh`` at ``c = 0.999``: 23 % low when split only at the kink)."""
    points = sorted({0.0, kink} if abs(kink) <= KINK_REACH else {0.0})
    return list(zip([-np.inf, *points], [*points, np.inf]))


def bivariate_expectation(f: Callable, g: Callable, q: float, c: float) -> float:
    """``E[f(u1) g(u2)]`` for ``(u1, u2)`` Gaussian with variances ``q`` and correlation ``c``.

    Written ``u1 = sqrt(q) z1``, ``u2 = sqrt(q) (c z1 + s z2)`` with ``s = sqrt(1 - c**2)``
    and independent standard normal ``z1, z2``: an outer quadrature over ``z1`` split at 0,
    of ``f(u1)`` times the inner quadrature over ``z2`` split at 0 and at ``z2 = -c z1 / s``
    (where ``u2`` crosses 0; :func:`_pieces`). ``|c| = 1`` reduces to one dimension (``u2 = c u1``).
    """
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"correlation c = {c} is outside [-1, 1]")
    if abs(c) == 1.0 or q == 0:
        return gaussian_expectation(lambda x: f(x) * g(c * x), q)
    root, s = math.sqrt(q), math.sqrt(1.0 - c * c)

    def inner(z1: float) -> float:
        mean, kink = root * c * z1, -c * z1 / s

        def integrand(z2: float) -> float:
            return float(g(np.float64(mean + root * s * z2))) * _density(z2)

        return sum(scipy.integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=EPSREL, limit=200)[0]
                   for a, b in _pieces(kink))

    def outer(z1: float) -> float:
        return float(f(np.float64(root * z1))) * inner(z1) * _density(z1)

    return float(sum(scipy.integrate.quad(outer, a, b, epsabs=1e-13, epsrel=1e-9, limit=200)[0]
                     for a, b in _HALVES))


class NoFixedPoint(ValueError):
    """The length map has no finite stable fixed point ``q*`` (the signal explodes), or every
    ``q`` is one (a marginal, scale-free network), so ``q*`` and the depth scales are undefined."""


#: ``q`` beyond which the length map is declared divergent.
Q_MAX = 1e12


def length_map(activation: str | Callable, q: float, sigma_w2: float, sigma_b2: float) -> float:
    """``V(q) = sigma_w2 E[phi(sqrt(q) z)**2] + sigma_b2``: the next layer's second moment."""
    return sigma_w2 * gaussian_second_moment(activation, q) + sigma_b2


def q_star(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """The stable fixed point ``q* = V(q*)`` of the length map (:func:`length_map`).

    Found with ``scipy.optimize.brentq`` on ``g(q) = V(q) - q`` in a bracket grown by
    doubling from the smallest candidate, up to the first bracket end where ``g <= 0``:
    the ``q`` where ``g`` turns from positive to negative, which iterating ``V`` from any
    small ``q`` reaches (every activation of the table has one such crossing). When
    ``V(0) = 0`` (``phi(0) = 0`` and ``sigma_b2 = 0``), ``q = 0`` is a fixed point; it is
    the stable one when ``V'(0+) = sigma_w2 E[phi'(0+-)**2] < 1`` (e.g. tanh with
    ``sigma_w2 < 1``). Linear with ``sigma_b2 > 0``: ``sigma_b2 / (1 - sigma_w2)``.

    Raises :class:`NoFixedPoint` when ``V(q) > q`` up to ``Q_MAX`` (the signal explodes:
    ReLU with ``sigma_w2 > 2``, linear with ``sigma_w2 > 1``) or when ``V(q) = q`` for
    every ``q`` (ReLU at ``sigma_w2 = 2``, linear at ``sigma_w2 = 1``, with ``sigma_b2 = 0``).
    """
    def g(q: float) -> float:
        return length_map(activation, q, sigma_w2, sigma_b2) - q

    low = 0.0
    if g(0.0) == 0.0:
        slope = _chi_1(activation, sigma_w2, 0.0)  # V'(0+) = sigma_w2 E[phi'(0+-)**2]
        if slope < 1:
            return 0.0
        if slope == 1 and abs(g(1.0)) <= 1e-9:
            raise NoFixedPoint(f"{activation} at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2}: "
                               "every q is a fixed point (marginal), so q* is undefined")
        low = 1e-8
        if g(low) <= 0:  # V'(0+) = 1 exactly and V bends down: 0 is (marginally) stable
            return 0.0
    high = max(1.0, 2 * low)
    while g(high) > 0:
        low, high = high, 2 * high
        if high > Q_MAX:
            raise NoFixedPoint(f"{activation} at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2}: "
                               f"the length map V(q) > q up to q = {Q_MAX:g}; the signal explodes "
                               "and there is no finite q*")
    return float(scipy.optimize.brentq(g, low, high, xtol=1e-14, rtol=1e-12))


@dataclass(frozen=True)
class FixedPoint:
    """The mean-field fixed point of one ``(activation, sigma_w2, sigma_b2)`` and its depth scales.

    ``q_star``: the length map's fixed point; ``chi_1 = sigma_w2 E[phi'(sqrt(q*) z)**2]``;
    ``c_star``: the correlation map's stable fixed point; ``chi_c = sigma_w2 E[phi'(u1) phi'(u2)]``
    at ``c*``; ``xi_q = -1 / ln V'(q*)``; ``xi_c = -1 / ln chi_c`` (``inf`` when ``chi_c >= 1``).
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi_1: float
    c_star: float
    chi_c: float
    xi_q: float
    xi_c: float


def _depth_scale(slope: float) -> float:
    """``-1 / ln(slope)``: the depth over which a perturbation shrinks by ``e``; ``inf`` at ``slope >= 1``."""
    return math.inf if slope >= 1 else -1.0 / math.log(slope)


def _chi_1(activation: str, sigma_w2: float, q: float) -> float:
    dphi = _derivative(activation)
    return sigma_w2 * gaussian_expectation(lambda x: dphi(x) ** 2, q)


def correlation_map(activation: str, c: float, q: float, sigma_w2: float, sigma_b2: float) -> float:
    """``C(c) = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q`` at second moment ``q``, correlation ``c``."""
    phi = resolve_activation(activation)
    return (sigma_w2 * bivariate_expectation(phi, phi, q, c) + sigma_b2) / q


def c_star(activation: str, sigma_w2: float, sigma_b2: float, q: float, chi_1: float) -> float:
    """The correlation map's stable fixed point at ``q = q*``: 1 when ``chi_1 <= 1`` (ordered).

    In the chaotic phase (``chi_1 > 1``), ``c = 1`` is unstable and ``C(c) - c`` is negative
    just below 1 (slope ``chi_1 > 1`` there) and ``>= 0`` at ``c = 0`` (``C(0) = (sigma_w2
    E[phi]**2 + sigma_b2) / q* >= 0``), so ``brentq`` finds ``c*`` in ``[0, 1)``.
    """
    if chi_1 <= 1:
        return 1.0

    def h(c: float) -> float:
        return correlation_map(activation, c, q, sigma_w2, sigma_b2) - c

    if h(0.0) <= 0:
        return 0.0
    gap = 1e-3
    while h(1.0 - gap) >= 0:
        gap /= 10
        if gap < 1e-9:
            raise NoFixedPoint(f"{activation}: no correlation fixed point below 1 resolved "
                               f"at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2}")
    return float(scipy.optimize.brentq(h, 0.0, 1.0 - gap, xtol=1e-12))


def fixed_point(activation: str, sigma_w2: float, sigma_b2: float) -> FixedPoint:
    """Every mean-field quantity of ``(activation, sigma_w2, sigma_b2)`` at once (:class:`FixedPoint`).

    Raises :class:`NoFixedPoint` when ``q*`` does not exist (:func:`q_star`).
    """
    q = q_star(activation, sigma_w2, sigma_b2)
    chi1 = _chi_1(activation, sigma_w2, q)
    if q == 0:
        slope_q = chi1  # V(q) ~ V'(0+) q = chi_1 q near 0
    else:
        phi = resolve_activation(activation)
        root = math.sqrt(q)
        # d/dq E[phi(sqrt(q) z)**2] = E[phi(sqrt(q) z)**2 (z**2 - 1)] / (2 q)
        slope_q = sigma_w2 * gaussian_expectation(lambda x: phi(x) ** 2 * ((x / root) ** 2 - 1), q) / (2 * q)
    c = c_star(activation, sigma_w2, sigma_b2, q, chi1)
    if c == 1.0:
        chi_c = chi1
    else:
        dphi = _derivative(activation)
        chi_c = sigma_w2 * bivariate_expectation(dphi, dphi, q, c)
    return FixedPoint(activation, sigma_w2, sigma_b2, q, chi1, c, chi_c,
                      _depth_scale(slope_q), _depth_scale(chi_c))


def chi_1(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """``chi_1 = sigma_w2 E[phi'(sqrt(q*) z)**2]``: the mean squared singular value of one layer's
    Jacobian, and the slope of the correlation map at ``c = 1``; 1 at the edge of chaos."""
    return _chi_1(activation, sigma_w2, q_star(activation, sigma_w2, sigma_b2))


def chi_c(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """``chi_c = sigma_w2 E[phi'(u1) phi'(u2)]`` at the correlation fixed point ``c*``."""
    return fixed_point(activation, sigma_w2, sigma_b2).chi_c


def xi_c(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """``xi_c = -1 / ln chi_c``: the correlation depth scale (``inf`` at criticality)."""
    return fixed_point(activation, sigma_w2, sigma_b2).xi_c


def xi_q(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """``xi_q = -1 / ln V'(q*)``: the depth over which the length converges to ``q*``."""
    return fixed_point(activation, sigma_w2, sigma_b2).xi_q


def critical_sigma_w2(activation: str, sigma_b2: float, bracket: tuple[float, float] = (1e-2, 1e3)) -> float:
    """The ``sigma_w2`` at the edge of chaos for bias variance ``sigma_b2``: where ``chi_1 = 1``.

    ``scipy.optimize.brentq`` on ``chi_1(sigma_w2) - 1``, counted ``+1`` where ``q*`` does
    not exist (the signal explodes, which is the far side of the transition): for ReLU
    with ``sigma_b2 > 0``, ``chi_1 = sigma_w2 / 2 < 1`` wherever ``q*`` exists, and the
    transition is where ``q*`` stops existing, ``sigma_w2 = 2``. Raises ``ValueError`` when
    the ordered phase does not end inside ``bracket``.
    """
    def excess(sigma_w2: float) -> float:
        try:
            return chi_1(activation, sigma_w2, sigma_b2) - 1.0
        except NoFixedPoint:
            return 1.0

    low, high = bracket
    if not excess(low) < 0 < excess(high):
        raise ValueError(f"{activation} at sigma_b2 = {sigma_b2}: chi_1 - 1 does not change sign "
                         f"on sigma_w2 in {bracket}")
    return float(scipy.optimize.brentq(excess, low, high, xtol=1e-10, rtol=1e-12))
