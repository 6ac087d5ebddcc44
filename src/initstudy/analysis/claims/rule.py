"""A claim's decision rule, fixed before the data, and its verdict.

A rule (``claim.rules.<part>`` of a claim config, defaults from ``claim``) names

- ``test``: a test of :data:`initstudy.analysis.claims.inference.TESTS`;
- ``alpha``: its level; the interval reported has confidence 1 − alpha;
- ``direction`` and ``min_effect`` (the smallest effect that matters, m ≥ 0), about
  the mean μ of the per-seed values, with ``target`` t (default 0):

  ``greater``  the claim is μ > t + m (e.g. accuracy above chance by at least m);
  ``less``     the claim is μ < t + m (e.g. no more above chance than m: "at chance");
  ``within``   the claim is t − m < μ < t + m (equal to t up to m).

The test is two-sided against each boundary θ of the claim (t + m, or t ± m), so p ≤ α
exactly when the (1 − α) interval excludes θ. The verdict:

``PASS``          the interval lies on the claimed side of every boundary (p ≤ α);
``FAIL``          it lies on the other side of a boundary (p ≤ α the other way);
``INCONCLUSIVE``  it straddles a boundary, or the test cannot reach p ≤ α with these
                  seeds at all (its smallest reachable p, ``min_p``, exceeds α), or it
                  is undefined for the data (the reason says why).

A claim with several parts or cells is their conjunction of m sub-claims:

``PASS``          every sub-claim passes at level α: an intersection-union test (Berger
                  1982), which keeps the level α without a multiplicity correction (the
                  conjunction's p is the largest of theirs);
``FAIL``          some sub-claim's contrary test (its interval on the other side of a
                  bound) still rejects after Holm's (1979) correction over the claim's m
                  sub-claims (:func:`initstudy.analysis.paired.holm`; a sub-claim that does
                  not fail enters the family with p = 1), so the chance that a true claim
                  FAILs is at most α however many sub-claims it has. With the exact test,
                  whose smallest p is 2 / 2**n, FAIL needs m · 2 / 2**n ≤ α: more values
                  than PASS (``fail_min_p`` states what each claim could reach);
``INCONCLUSIVE``  otherwise, e.g. a sub-claim that fails at α but not after Holm.

The level of the FAIL test is the smallest of the sub-claims' α.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from initstudy.analysis.claims.inference import MIN_P, TESTS
from initstudy.analysis.paired import holm

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
DIRECTIONS = ("greater", "less", "within")
SYMBOL = {"greater": ">", "less": "<"}


def boundaries(rule: dict) -> tuple[float, ...]:
    """The boundaries θ the rule tests against: (t + m,) or (t − m, t + m)."""
    target, margin = float(rule["target"]), float(rule["min_effect"])
    if rule["direction"] == "within":
        return target - margin, target + margin
    return (target + margin,)


def _number(value: float) -> str:
    return f"{value:.4g}"


def statement(quantity: str, rule: dict) -> str:
    """The sub-claim in words: ``<quantity> > 0.2``, or ``|<quantity> - 0.5| < 0.1``."""
    if rule["direction"] == "within":
        return f"|{quantity} - {_number(rule['target'])}| < {_number(rule['min_effect'])}"
    return f"{quantity} {SYMBOL[rule['direction']]} {_number(boundaries(rule)[0])}"


def decide(values, rule: dict) -> dict:
    """Test the mean of ``values`` (one per seed) by ``rule`` and decide.

    Returns n, estimate (the mean), ci_low, ci_high, p_value (two-sided, against the
    boundary that decides), min_p, verdict and reason."""
    values = np.asarray(values, dtype=float)
    test, alpha = TESTS[rule["test"]], float(rule["alpha"])
    results = [test(values, theta, alpha) for theta in boundaries(rule)]
    first = results[0]
    row = {key: first[key] for key in ("n", "estimate", "ci_low", "ci_high", "min_p")}
    row.update(p_value=math.nan, verdict="INCONCLUSIVE", reason="")
    if first["min_p"] > alpha:
        row["reason"] = (f"with n = {first['n']} the {rule['test']} test cannot reach p <= {alpha:g} "
                         f"(smallest p {first['min_p']:.3g})")
        row["p_value"] = max(r["p_value"] for r in results)
        return row
    if first["reason"]:
        row["reason"] = first["reason"]
        return row
    estimate, bounds = first["estimate"], boundaries(rule)
    if rule["direction"] == "within":
        low, high = bounds
        if low < estimate < high:
            p, claimed = max(r["p_value"] for r in results), True
        else:
            p, claimed = (results[0] if estimate <= low else results[1])["p_value"], False
    else:
        claimed = estimate > bounds[0] if rule["direction"] == "greater" else estimate < bounds[0]
        p = first["p_value"]
        if estimate == bounds[0]:
            claimed = False
    row["p_value"] = p
    if p <= alpha:
        row["verdict"] = "PASS" if claimed else "FAIL"
        row["reason"] = ("the interval lies on the claimed side of the bound" if claimed
                         else "the interval lies on the other side of the bound")
    else:
        row["reason"] = f"the interval contains a bound (p = {p:.3g} > {alpha:g})"
    return row


def contrary_p(parts: pd.DataFrame) -> np.ndarray:
    """Per sub-claim, the p of its contrary test: its p where it FAILs at its own level
    (the interval on the other side of a bound), 1 otherwise (it does not reject)."""
    failed = (parts["verdict"] == "FAIL").to_numpy()
    return np.where(failed, parts["p_value"].fillna(1.0).to_numpy(float), 1.0)


def combine(parts: pd.DataFrame) -> dict:
    """The verdict of a conjunction of sub-claims (rows with verdict, p_value, min_p, n
    and alpha): the rules of the module docstring. ``p_holm`` is each sub-claim's
    contrary p after Holm's correction over all of them; ``fail_min_p`` the smallest
    adjusted p the FAIL test could reach with these values (m times the smallest
    ``min_p``). ``deciding`` is the row whose numbers stand for the claim: with PASS the
    sub-claim of the largest p (the conjunction's p); with FAIL the one of smallest
    adjusted p; otherwise a sub-claim that failed only before the correction (smallest
    adjusted p), else the first inconclusive one of largest p. The claim's p is the
    conjunction's for PASS, the deciding sub-claim's adjusted p for FAIL, its p otherwise."""
    counts = parts["verdict"].value_counts()
    alpha = float(parts["alpha"].min())
    adjusted = pd.Series(holm(contrary_p(parts)), index=parts.index)
    n_fail_holm = int((adjusted <= alpha).sum())
    failed = parts["verdict"] == "FAIL"
    if n_fail_holm:
        verdict, deciding = "FAIL", adjusted.idxmin()
        p = float(adjusted[deciding])
    elif counts.get("PASS", 0) == len(parts):
        verdict, deciding = "PASS", parts["p_value"].idxmax()
        p = float(parts["p_value"].max())
    else:
        verdict = "INCONCLUSIVE"
        if failed.any():
            deciding = adjusted[failed].idxmin()
        else:
            pool = parts[parts["verdict"] == "INCONCLUSIVE"]
            deciding = pool["p_value"].fillna(math.inf).idxmax()
        p = float(parts.loc[deciding, "p_value"])
    return {
        "verdict": verdict,
        "deciding": deciding,
        "p_value": p,
        "p_holm": adjusted,
        "alpha": alpha,
        "min_p": float(parts["min_p"].max()),
        "fail_min_p": min(1.0, len(parts) * float(parts["min_p"].min())),
        "n": int(parts["n"].min()),
        "n_parts": len(parts),
        **{f"n_{v.lower()}": int(counts.get(v, 0)) for v in VERDICTS},
        "n_fail_holm": n_fail_holm,
    }


def minimum_fail_seeds(test: str, alpha: float, subclaims: int) -> int:
    """The fewest values per sub-claim with which ``test`` can FAIL a claim of
    ``subclaims`` sub-claims at ``alpha`` after Holm's correction (m · min p ≤ alpha)."""
    n = 1
    while subclaims * MIN_P[test](n) > alpha:
        n += 1
    return n


def minimum_seeds(test: str, alpha: float) -> int:
    """The fewest seeds with which ``test`` can decide at ``alpha`` (its power statement)."""
    n = 1
    while MIN_P[test](n) > alpha:
        n += 1
    return n
