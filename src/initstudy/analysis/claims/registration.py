"""Registered rules: a claim's rules are fixed, hashed, dated and committed before its
runs exist (``python -m initstudy register <claim>``), and each verdict says whether
they were.

The *hash* of a claim is the SHA-256 of its canonical JSON (keys sorted, no spaces,
ASCII): its hypothesis (whitespace collapsed), statistic, parameters and rules, with
the statistic's parameter defaults and the rules' defaults (test, alpha, target)
filled in (:func:`initstudy.analysis.claims.registry.resolve`), so writing a default
out or leaving it implicit is the same rule, and changing a default in the code is a
new one.

The registry (:data:`initstudy.study.paths.CLAIM_REGISTRY`, committed with the
configs) has one entry per claim: the hash, the date (UTC), the git commit the
checkout was at, and a status, ``registered`` or ``registered after data``.
Registering refuses (:class:`RegistrationError`) while any of the claim's runs has a
record under its identity; ``after_data`` registers anyway and says so.

A verdict's status (:func:`status`):

``registered``             the claim's rules hash to its entry's, the entry was made
                           before any of its runs' records, and none is older than it
                           (the runs table's ``created``, each record's own time);
``registered after data``  they hash to an entry made with ``--after-data``;
``unregistered``           there is no entry, the rules differ from it, or records older
                           than the registration exist.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from initstudy.analysis.claims.registry import resolve
from initstudy.study import paths

REGISTERED, AFTER_DATA, UNREGISTERED = "registered", "registered after data", "unregistered"
STATUSES = (REGISTERED, AFTER_DATA, UNREGISTERED)
HEADER = """\
# Registered claim rules: one entry per claim (config/claims/<name>.yaml), written by
# `python -m initstudy register <name>` before the claim's runs exist (--after-data when
# they did). hash: SHA-256 of the claim's hypothesis, statistic, parameters and rules
# as canonical JSON (initstudy.analysis.claims.registration); date: UTC; commit: the
# checkout's HEAD then. A verdict whose rules no longer hash to the entry, or whose
# records are older than it, is "unregistered". Commit this file with the configs.
"""


class RegistrationError(ValueError):
    """A registration refused; the message says why in one line."""


def canonical(claim: dict[str, Any]) -> str:
    """The claim's hypothesis, statistic, parameters and rules as canonical JSON."""
    family, params, rules = resolve(claim)
    content = {"hypothesis": " ".join(claim["hypothesis"].split()), "statistic": family.name,
               "params": params, "rules": rules}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def rules_hash(claim: dict[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical`."""
    return hashlib.sha256(canonical(claim).encode("ascii")).hexdigest()


def read(path: str | Path = paths.CLAIM_REGISTRY) -> dict[str, dict[str, Any]]:
    """The registry's entries by claim name (none when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data.get("claims") or {})


def write(entries: dict[str, dict[str, Any]], path: str | Path = paths.CLAIM_REGISTRY) -> Path:
    """Write the registry (entries in name order), atomically."""
    from initstudy.core.atomic import write_text

    body = yaml.safe_dump({"claims": {name: entries[name] for name in sorted(entries)}}, sort_keys=False,
                          allow_unicode=False, width=100)
    write_text(path, HEADER + body)
    return Path(path)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _time(value: Any) -> datetime.datetime:
    """A timestamp (ISO 8601 text or a datetime) as an aware datetime (naive: UTC)."""
    stamp = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)


def existing_records(config: dict[str, Any], root: str | Path = paths.RUNS_ROOT) -> list[Path]:
    """The records of the claim study ``config``'s runs under their identities."""
    from initstudy.train.pending import pending

    state = pending(config, root)
    return [state.records[run.run_id] for run in state.runs if state.records[run.run_id].exists()]


def register(name: str, config: dict[str, Any], registry: str | Path = paths.CLAIM_REGISTRY,
             root: str | Path = paths.RUNS_ROOT, after_data: bool = False, now: str | None = None,
             commit: str | None = None) -> tuple[dict[str, Any], bool]:
    """Register claim ``name`` (its checked study ``config``) in ``registry``: returns its
    entry and whether it was written (an entry with the same hash is kept as it is).
    Refuses while any of its runs has a record below ``root``, unless ``after_data``."""
    digest = rules_hash(config["claim"])
    entries = read(registry)
    if name in entries and entries[name].get("hash") == digest:
        return entries[name], False
    records = existing_records(config, root)
    if records and not after_data:
        raise RegistrationError(
            f"claim {name!r}: {len(records)} of its runs already have records (e.g. {records[0]}); rules are "
            f"registered before the data: register a new claim before training it, or pass --after-data")
    if commit is None:
        from initstudy.core.provenance import git_commit

        commit = git_commit()
    entry = {"hash": digest, "date": now or _now(), "commit": commit, "status": AFTER_DATA if after_data
             else REGISTERED}
    entries[name] = entry
    write(entries, registry)
    return entry, True


def status(name: str, claim: dict[str, Any], entries: dict[str, dict[str, Any]],
           runs: pd.DataFrame | None = None) -> tuple[str, str]:
    """(the claim's hash, its status of :data:`STATUSES`) against the registry's
    ``entries``; ``runs`` (the claim's runs table, with each record's ``created``)
    tells whether records older than the registration exist."""
    digest = rules_hash(claim)
    entry = entries.get(name)
    if entry is None or entry.get("hash") != digest:
        return digest, UNREGISTERED
    if entry.get("status") == AFTER_DATA:
        return digest, AFTER_DATA
    if runs is not None and "created" in runs.columns and runs["created"].notna().any():
        registered = _time(entry["date"])
        if any(_time(c) < registered for c in runs["created"].dropna()):
            return digest, UNREGISTERED
    return digest, REGISTERED
