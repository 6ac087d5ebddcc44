"""The ``train`` verb: train one pack (a list of runs) and write one record per run."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from initstudy.core import provenance, runtime
from initstudy.data import datasets
from initstudy.inits import resolve
from initstudy.study import config
from initstudy.study.fields import GRID_DIMENSIONS
from initstudy.study.runs import Pack, Run
from initstudy.train import records
from initstudy.train.identity import identity, identity_hash
from initstudy.train.pending import record_path

#: The grid dimensions a run dict holds as plain fields (the initializer is a spec).
GRID_FIELDS = {key: field for key, field in GRID_DIMENSIONS.items() if field != "initializer"}
RUN_KEYS = [*GRID_FIELDS.values(), "initializer_spec"]
#: What makes a record bit-identical on a rerun (see the record schema's ``execution``).
BITWISE = "any pack (size, members, position), any process, the same thread count and loop"
#: How the trainer runs its steps: an epoch per compiled call (the record schema's ``execution.loop``).
LOOP = "compiled"
PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_pack(payload: dict[str, Any]) -> tuple[Pack, dict[str, Any]]:
    """``{"pack_id": ..., "runs": [run dicts], "training": {...}}`` -> (Pack, training).

    The members' fields and the training settings go through the same schema as a
    config (as a grid of the values the members use, their learning rates and widths
    included), so a hand-written pack can
    neither name an unknown dataset nor make a record path outside ``results/``.
    """
    missing = [k for k in ("pack_id", "runs", "training") if k not in payload]
    if missing or not isinstance(payload["runs"], list) or not payload["runs"]:
        raise config.ConfigError(f"--pack: missing {missing or 'runs'}; expected pack_id, runs (a non-empty "
                                 "list of run objects) and training")
    members = payload["runs"]
    try:
        grid = {key: list(dict.fromkeys(m[field] for m in members)) for key, field in GRID_FIELDS.items()}
        grid["initializers"] = list({json.dumps(m["initializer_spec"], sort_keys=True): m["initializer_spec"]
                                     for m in members}.values())
        rates: dict[str, list] = {}
        for m in members:
            if m.get("learning_rate") is not None:
                rates.setdefault(m["optimizer"], []).append(m["learning_rate"])
        if rates:
            grid["learning_rates"] = {name: list(dict.fromkeys(values)) for name, values in rates.items()}
        if any(m.get("width") is not None for m in members):
            grid["widths"] = list(dict.fromkeys(m["width"] for m in members if m.get("width") is not None))
    except (KeyError, TypeError) as exc:
        raise config.ConfigError(f"--pack: a run lacks the field {exc}; expected {', '.join(RUN_KEYS)}") from None
    checked = config.check({"grid": grid, "training": payload["training"]})
    resolve.check_config(checked)  # with Keras: classes and arguments, before anything trains
    runs = tuple(Run.from_dict(r) for r in members)
    if not PACK_ID.match(str(payload["pack_id"])):
        raise config.ConfigError(f"--pack: pack_id {payload['pack_id']!r} must be letters, digits, '_', '.' or '-'")
    return Pack(payload["pack_id"], runs), checked["training"]


def build_record(run: Run, pack: Pack, index: int, training: dict, result: dict, prov: dict,
                 data: dict, ident: dict) -> dict:
    return {
        "schema_version": records.SCHEMA_VERSION,
        "run": {"run_id": run.run_id, **run.to_dict()},
        "identity": {"hash": identity_hash(ident), **ident},
        "training": training,
        "data": data,
        "seeds": {"init": run.init_seed, "data_order": run.data_order_seed, "split": run.split_seed},
        **result,
        "pack": {"id": pack.pack_id, "size": len(pack.runs), "index": index,
                 "wall_time_s": result["wall_time_s"] * len(pack.runs)},
        "execution": {"threads": prov["threads"], "pack_size": len(pack.runs), "loop": LOOP,
                      "bitwise_reproducible_at": BITWISE},
        "provenance": prov,
    }


def padded(pack: Pack) -> Pack:
    """The pack as the trainer gets it: a pack of one trains beside a copy of its run,
    whose results are dropped. With a member axis of 1 the backends take another
    matmul path (the batched kernel collapses to a plain one) whose float summation
    order differs, so without the copy a run alone would not reproduce its bits from
    a pack of two or more; with it, its numbers are those of any pack."""
    return pack if len(pack.runs) > 1 else Pack(pack.pack_id, pack.runs * 2)


def train_pack(pack: Pack, training: dict, *, out_root: str | Path, checkpoint_dir: str | Path | None,
               export_dir: str | Path | None = None, data_dir: str | None = None) -> list[Path]:
    """Train every member of ``pack`` as one stacked model; write each run's record atomically."""
    from initstudy.train.export import export_member
    from initstudy.train.trainer import PackTrainer

    def load(run: Run):
        return datasets.load(run.dataset, validation_split=training["validation_split"],
                             seed=run.split_seed, data_dir=data_dir)

    checkpoint = Path(checkpoint_dir) / f"{pack.pack_id}.npz" if checkpoint_dir else None
    start = time.perf_counter()
    trainer = PackTrainer(padded(pack), training, load, checkpoint=checkpoint, loop=LOOP)
    results = trainer.fit()[:len(pack.runs)]
    elapsed = time.perf_counter() - start
    prov = provenance.collect()
    backend = runtime.backend()
    d = trainer.data.groups[0]
    data_info = {"num_classes": d.num_classes, "input_shape": list(d.input_shape), "n_train": len(d.y_train),
                 "n_val": len(d.y_val), "n_test": len(d.y_test)}
    written = []
    for index, (run, result) in enumerate(zip(pack.runs, results)):
        result["wall_time_s"] = elapsed / len(pack.runs)  # its share, data loading and build included
        if export_dir:
            target = Path(export_dir) / run.run_id / "model.keras"
            target.parent.mkdir(parents=True, exist_ok=True)
            export_member(trainer.model, index, run, d.num_classes, training, str(target))
        ident = identity(run, training, backend=backend, deterministic=prov["deterministic"])
        path = record_path(run.run_id, identity_hash(ident), out_root)
        records.write(path, build_record(run, pack, index, training, result, prov, data_info, ident))
        written.append(path)
    if checkpoint:
        checkpoint.unlink(missing_ok=True)
    return written
