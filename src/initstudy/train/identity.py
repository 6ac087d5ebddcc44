"""A run's identity: everything that decides its numbers, and nothing else.

Two runs with the same identity compute the same numbers, so a finished record whose
identity matches the config is never retrained, and one whose identity differs is
stale. The identity is

- the run's grid fields (dataset, arch, activation, optimizer, depth, seed, and its
  learning rate and width where the grid has those axes: see
  :data:`initstudy.study.fields.TRAINING_AXES`);
- its initializer spec with every argument and its biases' spec (not its label,
  which only names it);
- the training settings that change its trajectory: epochs, batch size, validation
  split, probe size, XLA, the width (mlp) or filters and kernel size (cnn), the
  learning rate it trains with and, for ``momentum``, the momentum; the number of
  Jacobian spectra recorded, when not 0 (a record without them cannot stand for one
  with them);
- the Keras backend, op determinism, and the version of what generates its data.

Execution settings (:data:`EXECUTION_SETTINGS`) are not part of it: threads, pack
size, GPU request, checkpoint interval, cluster resources. (A pack's members are independent, and a run trains to the same bits
alone or in any pack; the thread count can change float summation order, which the
record states, but it is a property of the machine, not of the run.)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from typing import Any

from initstudy.data.datasets import DATASETS
from initstudy.study.runs import Run

#: Raise when the meaning of the identity changes (every record becomes stale).
IDENTITY_VERSION = 1
#: Training settings that say how the work is executed, not what it computes.
EXECUTION_SETTINGS = ("threads", "pack_size", "gpu", "checkpoint_every_s")
#: Training settings that change every run's trajectory.
TRAJECTORY_SETTINGS = ("epochs", "batch_size", "validation_split", "probe_size", "xla")
#: Training settings that shape the network, per architecture.
ARCH_SETTINGS = {"mlp": ("width",), "cnn": ("filters", "kernel_size")}
#: Hex digits of the identity hash in record paths.
HASH_LENGTH = 16


@functools.cache
def dataset_version(dataset: str) -> str:
    """What fixes the dataset's values (cached: it asks package metadata)."""
    return DATASETS[dataset].version()


def keras_backend() -> str:
    """The Keras backend a job will use, from the environment as Keras reads it
    (``KERAS_BACKEND``, default tensorflow) without importing Keras."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def identity(run: Run, training: dict[str, Any], backend: str | None = None,
             deterministic: bool = True) -> dict[str, Any]:
    """The identity of ``run`` under the (checked, defaults filled) ``training`` settings.

    A run's own learning rate and width (grid axes) are among its fields and, as the
    values it trains with, its training settings; a run without them has the
    settings' values there, and the identity it had before the axes existed."""
    training = run.training_settings(training)
    settings = {key: training[key] for key in (*TRAJECTORY_SETTINGS, *ARCH_SETTINGS[run.arch])}
    settings["learning_rate"] = training["learning_rate"][run.optimizer]
    if run.optimizer == "momentum":
        settings["momentum"] = training["momentum"]
    if training.get("jacobian_inputs"):  # what the record holds; absent (0) keeps older identities
        settings["jacobian_inputs"] = training["jacobian_inputs"]
    fields = run.fields()
    del fields["initializer"]
    return {
        "version": IDENTITY_VERSION,
        "fields": fields,
        "initializer": run.init.draws(),
        "training": dict(sorted(settings.items())),
        "keras_backend": backend or keras_backend(),
        "deterministic": deterministic,
        "data": dataset_version(run.dataset),
    }


def identity_hash(ident: dict[str, Any]) -> str:
    """The first :data:`HASH_LENGTH` hex digits of the SHA-256 of the identity's
    canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            out |= _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: value}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from ``old`` to ``new``, one ``key: old -> new`` per setting,
    keys in dotted form (``training.epochs: 20 -> 30``)."""
    before, after = _flatten(old), _flatten(new)
    return [f"{key}: {before.get(key, '(none)')} -> {after.get(key, '(none)')}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
