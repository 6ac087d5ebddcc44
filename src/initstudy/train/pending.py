"""Which runs of a config need training, and the packs they form.

A finished record whose identity (:mod:`initstudy.train.identity`) matches the
config is a cache entry: its run is done, whatever else changed. A run without one
is *pending*: new, or *stale* when records of the same run with another identity
exist (its settings changed; those records stay on disk but are not read). Pending
runs are packed (:func:`initstudy.study.runs.make_packs`), and each pack's manifest,
the input of its train job, is written below ``results/packs/``.

Records live at ``<root>/<run_id>/record-<identity hash>.json``: two configs that
share runs share their records, and a run under other settings gets a file of its own.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

from initstudy.core.atomic import write_text
from initstudy.study import paths
from initstudy.study.runs import Pack, Run, expand, make_packs
from initstudy.train.cost import run_flops
from initstudy.train.identity import EXECUTION_SETTINGS, differences, identity, identity_hash

RECORD_GLOB = "record-*.json"
#: Stale runs whose old record is read to name what changed (reading is cheap, but a
#: study can have thousands).
STALE_SAMPLE = 20


def record_path(run_id: str, ident_hash: str, root: str | Path = paths.RUNS_ROOT) -> Path:
    """Where the record of ``run_id`` under the identity ``ident_hash`` lives."""
    return Path(root) / run_id / f"record-{ident_hash}.json"


@dataclasses.dataclass(frozen=True)
class Pending:
    """A config's runs, their records, and what is left to train."""

    runs: list[Run]
    identities: dict[str, dict[str, Any]]
    hashes: dict[str, str]
    records: dict[str, Path]
    pending: list[Run]
    stale: dict[str, list[Path]]
    packs: list[Pack]

    @property
    def done(self) -> list[Path]:
        """The records of the finished runs."""
        todo = {run.run_id for run in self.pending}
        return [self.records[run.run_id] for run in self.runs if run.run_id not in todo]


def pending(config: dict[str, Any], root: str | Path = paths.RUNS_ROOT, runs: list[Run] | None = None) -> Pending:
    """The runs of a checked ``config`` (or ``runs``, under its training settings: a
    two-stage study's, :mod:`initstudy.study.stages`), their identities and records,
    and the packs of the runs without a matching record."""
    runs = expand(config) if runs is None else runs
    training = config["training"]
    identities = {run.run_id: identity(run, training) for run in runs}
    hashes = {run_id: identity_hash(ident) for run_id, ident in identities.items()}
    records = {run_id: record_path(run_id, h, root) for run_id, h in hashes.items()}
    todo = [run for run in runs if not records[run.run_id].exists()]
    stale = {}
    for run in todo:
        others = sorted(records[run.run_id].parent.glob(RECORD_GLOB)) if records[run.run_id].parent.exists() else []
        if others:
            stale[run.run_id] = others
    packs = make_packs(todo, training["pack_size"], tags=hashes)
    return Pending(runs, identities, hashes, records, todo, stale, packs)


@dataclasses.dataclass(frozen=True)
class Work:
    """The training a workflow needs for all the studies it builds (the main study
    and its claims): the pending runs of every study, each record once, in packs of
    runs that share their training settings."""

    packs: list[Pack]
    #: Pack id -> the training settings its job runs with.
    training: dict[str, dict[str, Any]]
    #: Pack id -> the records its job writes.
    records: dict[str, set[str]]
    #: Pack id -> its planned FLOPs (:func:`initstudy.train.cost.run_flops` of its runs):
    #: the train rule's priority, so the costliest packs start first (longest
    #: processing time first: the last jobs end close together).
    flops: dict[str, float]


def work(states: list[tuple[Pending, dict[str, Any]]], execution: dict[str, Any], slots: int = 1) -> Work:
    """Pack the pending runs of ``states`` ((study, its training settings) pairs): a
    run pending in two studies under one identity (one record path) is trained once;
    runs are packed only with runs of the same training settings; the execution
    settings (pack size, threads, GPU) are ``execution``'s, the main study's. With
    ``slots`` train jobs running at once, no pack costs more than 1/slots of all the
    training (:func:`initstudy.train.cost.run_flops`), so the slots stay busy to the end."""
    groups: dict[str, tuple[dict[str, Any], list[Run], dict[str, str], dict[str, str]]] = {}
    seen: set[str] = set()
    for state, training in states:
        settings = {k: v for k, v in training.items() if k not in EXECUTION_SETTINGS}
        key = json.dumps(settings, sort_keys=True)
        group = groups.setdefault(key, ({**settings, **{k: execution[k] for k in EXECUTION_SETTINGS}}, [], {}, {}))
        for run in state.pending:
            path = str(state.records[run.run_id])
            if path not in seen:
                seen.add(path)
                group[1].append(run)
                group[2][run.run_id] = state.hashes[run.run_id]
                group[3][run.run_id] = path
    def run_cost(settings: dict[str, Any]) -> Callable[[Run], float]:
        return lambda run: run_flops(run, settings)

    total = sum(run_flops(run, settings) for settings, runs, _, _ in groups.values() for run in runs)
    max_cost = total / slots if slots > 1 else None
    packs, trainings, written, flops = [], {}, {}, {}
    for settings, runs, tags, paths_of in groups.values():
        cost = run_cost(settings)
        for pack in make_packs(runs, execution["pack_size"], tags=tags, cost=cost, max_cost=max_cost):
            packs.append(pack)
            trainings[pack.pack_id] = settings
            written[pack.pack_id] = {paths_of[run.run_id] for run in pack.runs}
            flops[pack.pack_id] = sum(map(cost, pack.runs))
    return Work(packs, trainings, written, flops)


def stale_reasons(state: Pending, sample: int = STALE_SAMPLE) -> list[str]:
    """What changed for the stale runs, one line per distinct change (each
    ``key: old -> new``), from the old records of up to ``sample`` stale runs."""
    from initstudy.train import records

    reasons: dict[str, None] = {}
    for run_id, others in list(state.stale.items())[:sample]:
        try:
            old = records.read(others[-1])["identity"]
        except (records.RecordError, KeyError):
            reasons["a record of an older format"] = None
            continue
        old = {k: v for k, v in old.items() if k != "hash"}
        for line in differences(old, state.identities[run_id]):
            reasons[line] = None
    return list(reasons)


def describe(state: Pending, name: str = "study") -> str:
    """One paragraph for the user: done, new, stale (with the reasons)."""
    n_stale = len(state.stale)
    lines = [f"initstudy: {name}: {len(state.runs)} runs: {len(state.runs) - len(state.pending)} done, "
             f"{len(state.pending) - n_stale} new, {n_stale} stale"]
    if n_stale:
        lines.append(f"initstudy: {n_stale} runs are retrained because their settings changed:")
        lines += [f"initstudy:   {reason}" for reason in stale_reasons(state)]
    return "\n".join(lines)


def done_path(pack_id: str, root: str | Path = paths.PACKS_DIR) -> Path:
    """The train job's output: the list of the records it wrote."""
    return Path(root) / f"{pack_id}.done"


def table_inputs(state: Pending, pending_work: Work, root: str | Path = paths.PACKS_DIR) -> list[str]:
    """What a study's tables wait for: the ``.done`` list of every pack, finished or
    pending (``pending_work``), that writes a record of the study, then the finished
    records no list names (trained outside the workflow). The same files stand for the
    same records in every later call, so the set of inputs changes only when the
    records do (a Snakemake rule reruns when its set of inputs changes)."""
    current = {str(path) for path in state.records.values()}
    covered: set[str] = set()
    inputs = []
    for marker in sorted(Path(root).glob("*.done")):
        listed = set(marker.read_text().split())
        if listed & current:
            inputs.append(str(marker))
            covered |= listed
    inputs += [str(done_path(pack_id, root)) for pack_id, written in pending_work.records.items()
               if written & current]
    inputs += sorted({str(path) for path in state.done} - covered)
    return inputs


def record_list_path(study: str, root: str | Path = paths.PACKS_DIR) -> Path:
    """The list of a study's records that its tables read (see :func:`write_record_list`)."""
    return Path(root) / f"records-{study}.txt"


def write_record_list(state: Pending, study: str, root: str | Path = paths.PACKS_DIR) -> Path:
    """Write the study's record paths, one a line, unless the file already says so: its
    modification time then changes exactly when the set of records does, which is
    what the tables' rule must rerun on (a grid that shrank, grew, or changed identity)."""
    path = record_list_path(study, root)
    text = "".join(f"{record}\n" for record in sorted(map(str, state.records.values())))
    if not path.exists() or path.read_text() != text:
        write_text(path, text, durable=False)
    return path


def manifest_path(pack_id: str, root: str | Path = paths.PACKS_DIR) -> Path:
    return Path(root) / f"{pack_id}.json"


def manifest(pack: Pack, training: dict[str, Any]) -> dict[str, Any]:
    """What a train job needs: the pack's members and the training settings."""
    return {"pack_id": pack.pack_id, "runs": [run.to_dict() for run in pack.runs], "training": training}


def write_manifests(pending_work: Work, root: str | Path = paths.PACKS_DIR) -> list[Path]:
    """Write each pack's manifest unless it exists with the same content (a pack id
    names its members and their identities, so an existing manifest is that pack's,
    up to execution settings, which are refreshed)."""
    written = []
    for pack in pending_work.packs:
        path = manifest_path(pack.pack_id, root)
        text = json.dumps(manifest(pack, pending_work.training[pack.pack_id]), sort_keys=True, separators=(",", ":"))
        if not path.exists() or path.read_text() != text:
            write_text(path, text, durable=False)
        written.append(path)
    return written
