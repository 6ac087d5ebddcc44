"""A claim's verdict and figure tables from its study's tidy tables, and the table of
every claim.

``results/claims/<name>/verdict.csv`` (:data:`VERDICT_COLUMNS`): the claim's row
(``level`` = ``claim``) first, then one row per sub-claim (``level`` = ``part``), each
with its statement, n, estimate, (1 − α) interval, two-sided p against its bound, the
smallest p its test can reach with its n values (``min_p``; n counts seeds, or seeds
times the levels the sub-claim pools), the n its test needs to reach α at all
(``n_needed``), verdict and reason, and the p of its contrary test after Holm's
correction over the claim's sub-claims (``p_holm``; 1 before the correction where it
does not fail). The claim's row is the conjunction of its sub-claims
(:func:`initstudy.analysis.claims.rule.combine`: PASS an intersection-union test, FAIL
a contrary test that rejects after Holm): its numbers are those of the sub-claim that
decides it (``deciding``), its p is the conjunction's (PASS) or the adjusted one
(FAIL), its n and min_p the least favourable of its sub-claims, ``p_holm`` the smallest
adjusted p, ``fail_min_p`` the smallest one its values could reach, and it carries the
hash of its rules and their registration status
(:mod:`initstudy.analysis.claims.registration`).

``results/claims/claims.csv`` (:data:`CLAIMS_COLUMNS`): every claim's row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from initstudy.analysis import controls as controls_of
from initstudy.analysis import tuning
from initstudy.analysis.claims import registration
from initstudy.analysis.claims import rule as rules_of
from initstudy.analysis.claims.registry import KEY_COLUMNS, SAMPLE_COLUMNS, ClaimError, Tables, resolve
from initstudy.study import stages

RESULT_COLUMNS = ["n", "estimate", "ci_low", "ci_high", "p_value", "p_holm", "min_p", "fail_min_p", "n_needed",
                  "verdict", "reason"]
VERDICT_COLUMNS = ["claim", "level", "part", "subclaim", *KEY_COLUMNS, "statement", "quantity", "test", "alpha",
                   "direction", "target", "min_effect", *RESULT_COLUMNS, "deciding", "n_parts", "n_pass",
                   "n_fail", "n_fail_holm", "n_inconclusive", "hypothesis", "source_paper", "source_figure",
                   "statistic", "rules_hash", "registration"]
CLAIMS_COLUMNS = ["name", "hypothesis", "source_paper", "source_figure", "statistic", "test", "alpha",
                  "deciding", "statement", "effect", "ci_low", "ci_high", "p_value", "p_holm", "min_p",
                  "fail_min_p", "n", "n_needed", "verdict", "n_parts", "n_pass", "n_fail", "n_fail_holm",
                  "n_inconclusive", "reason", "rules_hash", "registration"]


def claim_name(config_path: str | Path) -> str:
    """A claim is named by its config file: ``config/claims/he2015.yaml`` -> ``he2015``."""
    return Path(config_path).stem


def read_tables(tables_dir: str | Path) -> Tables:
    """A study's tidy tables, ``<tables_dir>/{runs,history,signal}.parquet`` and, where
    present, ``weights.parquet`` and ``jacobian.parquet``."""
    folder = Path(tables_dir)
    optional = {name: pd.read_parquet(folder / f"{name}.parquet") if (folder / f"{name}.parquet").exists()
                else None for name in ("weights", "jacobian")}
    return Tables(*(pd.read_parquet(folder / f"{name}.parquet") for name in ("runs", "history", "signal")),
                  **optional)


def compared_tables(tables: Tables, config: dict[str, Any]) -> Tables:
    """The tables a claim decides on. A two-stage claim (its config's
    ``tuning.selection_seeds``) compares each cell and initializer at its own rate, chosen
    on the selection seeds' validation accuracy (:func:`initstudy.analysis.tuning.tune`,
    the study's protocol), over the evaluation seeds (``grid.seeds``): its runs, and the
    other tables' rows of those runs. Any other claim decides on all its runs (a family
    that tunes does so itself)."""
    if not stages.two_stage(config):
        return tables
    runs = tuning.tune(tables.runs, config["stats"]["diverged_policy"], config["tuning"]["selection_seeds"],
                       config["grid"]["seeds"])["compared_runs"]
    kept = set(runs["run_id"])
    return Tables(*(table if table is None or name == "runs" else table[table["run_id"].isin(kept)]
                    for name, table in zip(Tables._fields, tables._replace(runs=runs))))


def _part_rows(samples: pd.DataFrame, part: str, rule: dict, quantity: str) -> list[dict]:
    rows = []
    ruled = samples[samples["part"] == part]
    if ruled.empty:
        raise ClaimError(f"claim.rules.{part}: the study has no data for this part")
    for subclaim, group in ruled.groupby("subclaim", sort=False):
        keys = {c: "+".join(map(str, sorted(group[c].unique()))) if c in group.columns else ""
                for c in KEY_COLUMNS}
        decided = rules_of.decide(group["value"].to_numpy(float), rule)
        rows.append({"level": "part", "part": part, "subclaim": subclaim, **keys,
                     "statement": f"{subclaim}: {rules_of.statement(quantity, rule)}", "quantity": quantity,
                     **{k: rule[k] for k in ("test", "alpha", "direction", "target", "min_effect")},
                     **decided, "n_needed": rules_of.minimum_seeds(rule["test"], rule["alpha"])})
    return rows


def _reason(combined: dict, deciding: pd.Series) -> str:
    """The claim's reason: the counts, the FAIL test's correction and what decided it."""
    m, alpha = combined["n_parts"], combined["alpha"]
    reason = (f"{combined['n_pass']} of {m} sub-claims pass, {combined['n_fail']} fail at alpha "
              f"({combined['n_fail_holm']} after Holm's correction over {m}); decided by {deciding['subclaim']} "
              f"({deciding['reason']}")
    if combined["verdict"] == "FAIL":
        reason += f"; Holm-adjusted p = {deciding['p_holm']:.3g}"
    elif deciding["verdict"] == "FAIL":
        reason += f"; not after Holm's correction: adjusted p = {deciding['p_holm']:.3g} > {alpha:g}"
    reason += ")"
    if combined["verdict"] != "FAIL" and combined["fail_min_p"] > alpha:
        reason += (f"; FAIL was out of reach: with these values Holm's smallest adjusted p is "
                   f"{combined['fail_min_p']:.3g} > {alpha:g}")
    return reason


def verdicts(name: str, claim: dict[str, Any], tables: Tables,
             registry: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """The claim's verdict table (:data:`VERDICT_COLUMNS`); ``registry`` (the entries of
    :func:`initstudy.analysis.claims.registration.read`) gives its registration status."""
    family, params, rules = resolve(claim)
    samples = family.samples(tables, params)
    missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise ValueError(f"claim statistic {family.name!r} returned no column(s) {missing}")
    parts = []
    for part, rule in rules.items():
        parts += _part_rows(samples, part, rule, family.parts[part])
    parts = pd.DataFrame(parts).reset_index(drop=True)
    combined = rules_of.combine(parts)
    parts["p_holm"] = combined["p_holm"]
    deciding = parts.loc[combined["deciding"]]
    claim_row = {
        "level": "claim", "part": "", "subclaim": "", **{c: "" for c in KEY_COLUMNS},
        "statement": deciding["statement"], "quantity": deciding["quantity"],
        "test": ", ".join(dict.fromkeys(parts["test"])), "alpha": parts["alpha"].max(),
        "direction": deciding["direction"], "target": deciding["target"], "min_effect": deciding["min_effect"],
        "n": combined["n"], "estimate": deciding["estimate"], "ci_low": deciding["ci_low"],
        "ci_high": deciding["ci_high"], "p_value": combined["p_value"], "p_holm": float(parts["p_holm"].min()),
        "min_p": combined["min_p"], "fail_min_p": combined["fail_min_p"],
        "n_needed": int(parts["n_needed"].max()), "verdict": combined["verdict"],
        "reason": _reason(combined, deciding), "deciding": deciding["subclaim"],
        **{k: combined[k] for k in ("n_parts", "n_pass", "n_fail", "n_fail_holm", "n_inconclusive")},
    }
    table = pd.concat([pd.DataFrame([claim_row]), parts], ignore_index=True)
    source = claim["source"]
    digest, status = registration.status(name, claim, registry or {}, tables.runs)
    table = table.assign(claim=name, hypothesis=" ".join(claim["hypothesis"].split()), statistic=family.name,
                         source_paper=source["paper"], source_figure=source.get("figure", ""),
                         rules_hash=digest, registration=status)
    return table.reindex(columns=VERDICT_COLUMNS)


def figure_tables(claim: dict[str, Any], tables: Tables) -> dict[str, pd.DataFrame]:
    """The tables the claim's figure draws, by name (none if its family has no figure)."""
    family, params, rules = resolve(claim)
    if family.figure_tables is None:
        return {}
    return family.figure_tables(tables, params, rules)


def figure_table_names(claim: dict[str, Any]) -> tuple[str, ...]:
    """The names of the tables the claim's figure draws (its statistic's catalog entry)."""
    return resolve(claim)[0].table_names


def controls(tables: Tables) -> None:
    """Every control on the claim study's own runs (the symmetry control on its zeros
    runs, if any, at the default margin): raises
    :class:`~initstudy.analysis.controls.ControlViolation`."""
    controls_of.check(tables.runs)


def claims_table(verdict_tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per claim (:data:`CLAIMS_COLUMNS`) from the claims' verdict tables, in name order."""
    rows = []
    for table in verdict_tables:
        claim = table[table["level"] == "claim"]
        if len(claim) != 1:
            raise ValueError(f"a verdict table needs exactly one claim row, found {len(claim)}")
        rows.append(claim.iloc[0])
    frame = pd.DataFrame(rows).rename(columns={"claim": "name", "estimate": "effect"})
    return frame.sort_values("name").reindex(columns=CLAIMS_COLUMNS).reset_index(drop=True)
