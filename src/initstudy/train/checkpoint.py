"""The trainer's checkpoint: everything a killed job needs to resume bit-identically.

One ``.npz`` file, written atomically (:func:`initstudy.core.atomic.atomic_path`)
after an epoch, at most every ``training.checkpoint_every_s`` seconds (0: after every
epoch): arrays ``p<i>`` (weights, ``model.trainable_variables`` order),
``o<i>`` (optimizer state, ``optimizer.variables`` order), ``w0_<layer>`` (initial
kernels of the histogram layers), and ``meta``, a JSON text with the signature and
the host-side progress (epochs done, active members, histories...). A checkpoint
whose signature is not the job's (other runs, other settings, other backend) is
ignored rather than trusted; execution settings that leave the numbers alone (pack
size, checkpoint interval, GPU request) are not in it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from keras import ops

from initstudy.core import runtime
from initstudy.core.atomic import atomic_path
from initstudy.study.runs import Pack
from initstudy.train.identity import EXECUTION_SETTINGS


@dataclasses.dataclass
class Saved:
    """A trainer's state: weights and optimizer state (tensors or arrays), the initial
    kernels of the histogram layers, and the JSON-ready ``progress``."""

    params: list
    opt_vars: list
    initial_kernels: dict[int, np.ndarray]
    progress: dict[str, Any]


def signature(pack: Pack, training: dict) -> str:
    """SHA-256 of the runs, the training settings and :func:`runtime.settings` (the
    backend, determinism, XLA and the thread count, which can change the last bits)."""
    settings = {k: v for k, v in training.items() if k not in EXECUTION_SETTINGS}
    payload = json.dumps([[r.to_dict() for r in pack.runs], settings, runtime.settings()],
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def save(path: Path, sign: str, state: Saved) -> None:
    arrays = {f"p{i}": ops.convert_to_numpy(v) for i, v in enumerate(state.params)}
    arrays |= {f"o{i}": ops.convert_to_numpy(v) for i, v in enumerate(state.opt_vars)}
    arrays |= {f"w0_{layer}": w for layer, w in state.initial_kernels.items()}
    meta = {"signature": sign, **state.progress}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)


def load(path: Path, sign: str) -> Saved | None:
    """The state saved at ``path``; ``None`` if there is none or it is not for ``sign``."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.pop("signature") != sign:
            return None
        arrays = {name: z[name] for name in z.files if name != "meta"}

    def numbered(prefix: str) -> list[np.ndarray]:
        return [arrays[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in arrays))]

    initial = {int(k.removeprefix("w0_")): v for k, v in arrays.items() if k.startswith("w0_")}
    return Saved(numbered("p"), numbered("o"), initial, meta)
