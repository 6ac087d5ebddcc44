"""Runs and packs: the grid expanded into named units of work.

A *run* is one trained network: (dataset, arch, activation, optimizer, depth,
initializer, seed). Its ``run_id`` is its folder below ``results/runs/``, so a path and a
table row name the same thing. Every seed a run uses derives from its
fields (:func:`derive_seed`), never from a global counter.

A *pack* is a list of runs trained together as one stacked model. Members must
share what shapes the model and the data pipeline: dataset, arch, optimizer, depth
(and, through the config, width and training settings); they may differ in
activation, initializer and seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from typing import Any, Callable, Iterable, Mapping

from initstudy.study import specs as initializers

#: The path template of a record; the Snakefile's wildcards use the same names.
#: Hex digits of the member digest in a pack id.
PACK_DIGEST_LENGTH = 10
RECORD_TEMPLATE = "{dataset}/{arch}/{activation}/{optimizer}/d{depth}/{initializer}/s{seed}"


def derive_seed(*parts: Any) -> int:
    """A 30-bit seed from the SHA-256 of the parts' text (stable across processes and
    platforms, unlike ``hash()``); 30 bits leave room for ``seed + layer``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 2


@dataclasses.dataclass(frozen=True)
class Run:
    dataset: str
    arch: str
    activation: str
    optimizer: str
    depth: int
    init: initializers.InitSpec
    seed: int

    @property
    def initializer(self) -> str:
        return self.init.label

    @property
    def run_id(self) -> str:
        return RECORD_TEMPLATE.format(**self.fields())

    def fields(self) -> dict[str, Any]:
        """The run's identifying fields, as they appear in records and tables."""
        return {
            "dataset": self.dataset, "arch": self.arch, "activation": self.activation,
            "optimizer": self.optimizer, "depth": self.depth,
            "initializer": self.initializer, "seed": self.seed,
        }

    @property
    def init_seed(self) -> int:
        """Seed of the first hidden kernel; layer ``l`` uses ``init_seed + l``."""
        return derive_seed("init", self.run_id)

    @property
    def data_order_seed(self) -> int:
        """Per-epoch batch order. Depends on (dataset, seed) only, so runs that differ
        only in initializer, activation, depth or optimizer see the same batches:
        common random numbers make the seed-paired comparisons sharper."""
        return derive_seed("data_order", self.dataset, self.seed)

    @property
    def split_seed(self) -> int:
        """Train/validation split, fixed by (dataset, seed) like the data order."""
        return derive_seed("split", self.dataset, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {**self.fields(), "initializer_spec": self.init.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Run":
        return cls(
            dataset=d["dataset"], arch=d["arch"], activation=d["activation"],
            optimizer=d["optimizer"], depth=int(d["depth"]),
            init=initializers.parse(d["initializer_spec"]), seed=int(d["seed"]),
        )


@dataclasses.dataclass(frozen=True)
class Pack:
    """Runs trained as one stacked model, in one process."""

    pack_id: str
    runs: tuple[Run, ...]

    def __post_init__(self):
        keys = {pack_key(r) for r in self.runs}
        if len(keys) != 1:
            raise ValueError(f"pack {self.pack_id}: members differ in {sorted(keys)}")

    @property
    def key(self) -> tuple:
        return pack_key(self.runs[0])


def expand(config: dict[str, Any]) -> list[Run]:
    """Every run of the grid, in a stable order (the product of the grid lists)."""
    g = config["grid"]
    specs = [initializers.parse(s, f"grid.initializers[{i}]") for i, s in enumerate(g["initializers"])]
    return [
        Run(dataset=d, arch=a, activation=act, optimizer=o, depth=int(depth), init=spec, seed=int(seed))
        for d, a, act, o, depth, spec, seed in itertools.product(
            g["datasets"], g["architectures"], g["activations"], g["optimizers"],
            g["depths"], specs, g["seeds"],
        )
    ]


def pack_key(run: Run) -> tuple:
    return (run.dataset, run.arch, run.optimizer, run.depth)


def make_packs(runs: Iterable[Run], pack_size: int, tags: Mapping[str, str] | None = None,
               cost: Callable[[Run], float] | None = None, max_cost: float | None = None) -> list[Pack]:
    """Group runs by :func:`pack_key` and cut each group into packs of at most
    ``pack_size`` runs and, given ``cost`` (of one run) and ``max_cost``, of at most
    about ``max_cost`` each: a group of n runs becomes k = max(⌈n / pack_size⌉,
    ⌈cost of the group / max_cost⌉) packs whose sizes differ by at most one (the runs
    of a group cost alike), so that concurrent jobs finish together instead of one
    long pack running alone at the end.

    Members are ordered by activation (a pack applies each activation to one
    contiguous slice of the member axis), then initializer and seed. The pack id names
    the group and its members: ``mnist1d-mlp-adam-d10-<digest>``, the digest of the
    members' ``tags`` (by run id; e.g. their identity hashes; default the run ids), so
    the same members under the same settings always form the same pack, and a pack
    of other members or settings never takes its name.
    """
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(pack_key(run), []).append(run)
    packs = []
    for key, members in groups.items():
        members.sort(key=lambda r: (r.activation, r.initializer, r.seed))
        dataset, arch, optimizer, depth = key
        n_packs = math.ceil(len(members) / pack_size)
        if cost is not None and max_cost:
            n_packs = max(n_packs, math.ceil(sum(map(cost, members)) / max_cost))
        n_packs = min(n_packs, len(members))
        for k in range(n_packs):
            chunk = tuple(members[k * len(members) // n_packs:(k + 1) * len(members) // n_packs])
            names = "|".join(tags[r.run_id] if tags else r.run_id for r in chunk)
            digest = hashlib.sha256(names.encode()).hexdigest()[:PACK_DIGEST_LENGTH]
            packs.append(Pack(f"{dataset}-{arch}-{optimizer}-d{depth}-{digest}", chunk))
    return packs
