"""Runs and packs: the grid expanded into named units of work.

A *run* is one trained network: (dataset, arch, activation, optimizer, depth,
initializer, seed), and its learning rate and width where the grid has those axes
(``grid.learning_rates``, ``grid.widths``; see
:data:`initstudy.study.fields.TRAINING_AXES`). Its ``run_id`` is its folder below
``results/runs/``, so a path and a table row name the same thing. Every seed a run
uses derives from its fields (:func:`derive_seed`), never from a global counter; the
learning rate is not among them, so runs that differ only in rate start from the same
weights and see the same batches (common random numbers).

A *pack* is a list of runs trained together as one stacked model. Members must
share what shapes the model and the data pipeline: dataset, arch, optimizer, depth,
width (and, through the config, the training settings); they may differ in
activation, initializer, seed and learning rate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from typing import Any, Callable, Iterable, Mapping

from initstudy.study import specs as initializers

#: Hex digits of the member digest in a pack id.
PACK_DIGEST_LENGTH = 10
#: The path template of a run's records (its ``run_id``) without the axes of
#: :data:`~initstudy.study.fields.TRAINING_AXES`; a run with a learning rate of its own
#: has ``/lr<rate>`` after its optimizer, one with a width ``/w<width>`` after its depth
#: (:func:`run_path`).
RECORD_TEMPLATE = "{dataset}/{arch}/{activation}/{optimizer}/d{depth}/{initializer}/s{seed}"


def rate_text(rate: float) -> str:
    """A learning rate as a run id spells it: the shortest text that reads back as the
    same float (``0.0003``, ``1e-05``)."""
    return repr(float(rate))


def run_path(fields: Mapping[str, Any], rate: bool = True) -> str:
    """The run id of a run with ``fields``: :data:`RECORD_TEMPLATE`, with ``lr<rate>``
    and ``w<width>`` segments where the run has those fields (``rate=False`` leaves
    the rate out: the key the run's initialization seed derives from)."""
    optimizer = fields["optimizer"]
    if rate and fields.get("learning_rate") is not None:
        optimizer = f"{optimizer}/lr{rate_text(fields['learning_rate'])}"
    depth = f"{fields['depth']}" if fields.get("width") is None else f"{fields['depth']}/w{fields['width']}"
    return RECORD_TEMPLATE.format(**{**fields, "optimizer": optimizer, "depth": depth})


def axis_values(fields: Mapping[str, Any], training: Mapping[str, Any]) -> dict[str, Any]:
    """The run's value of each axis of :data:`~initstudy.study.fields.TRAINING_AXES`
    under the (checked) ``training`` settings: its own field where it has one, else the
    setting's: ``learning_rate`` = ``training.learning_rate[optimizer]``, ``width`` =
    ``training.width`` for an mlp, ``training.filters`` (its layers' width) for a cnn.
    ``fields`` is a run's fields or a record's ``run`` (a record's settings lacking one
    give None)."""
    rate = fields.get("learning_rate")
    if rate is None:
        rate = training.get("learning_rate", {}).get(fields["optimizer"])
    width = fields.get("width")
    if width is None:
        width = training.get("width" if fields["arch"] == "mlp" else "filters")
    return {"learning_rate": None if rate is None else float(rate), "width": None if width is None else int(width)}


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
    #: The run's own learning rate and width, where the grid has those axes; None: the
    #: training setting's (:func:`axis_values`), and no field of that name.
    learning_rate: float | None = None
    width: int | None = None

    @property
    def initializer(self) -> str:
        return self.init.label

    @property
    def run_id(self) -> str:
        return run_path(self.fields())

    def fields(self) -> dict[str, Any]:
        """The run's identifying fields, as they appear in records and tables
        (``learning_rate`` and ``width`` only where the run has them)."""
        fields = {
            "dataset": self.dataset, "arch": self.arch, "activation": self.activation,
            "optimizer": self.optimizer, "depth": self.depth,
            "initializer": self.initializer, "seed": self.seed,
        }
        if self.learning_rate is not None:
            fields["learning_rate"] = self.learning_rate
        if self.width is not None:
            fields["width"] = self.width
        return fields

    def training_settings(self, training: Mapping[str, Any]) -> dict[str, Any]:
        """``training`` as this run trains with it: its own learning rate (for its
        optimizer) and width, where it has them, in place of the settings'."""
        settings = dict(training)
        if self.learning_rate is not None:
            settings["learning_rate"] = {**training["learning_rate"], self.optimizer: self.learning_rate}
        if self.width is not None:
            settings["width"] = self.width
        return settings

    @property
    def init_seed(self) -> int:
        """Seed of the first hidden kernel; layer ``l`` uses ``init_seed + l``. From
        every field but the learning rate: runs that differ only in rate start from the
        same weights (common random numbers, as their data order)."""
        return derive_seed("init", run_path(self.fields(), rate=False))

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
            learning_rate=float(d["learning_rate"]) if d.get("learning_rate") is not None else None,
            width=int(d["width"]) if d.get("width") is not None else None,
        )


@dataclasses.dataclass(frozen=True)
class Pack:
    """Runs trained as one stacked model, in one process."""

    pack_id: str
    runs: tuple[Run, ...]

    def __post_init__(self):
        keys = {pack_key(r) for r in self.runs}
        if len(keys) != 1:
            raise ValueError(f"pack {self.pack_id}: members differ in {sorted(map(str, keys))}")

    @property
    def key(self) -> tuple:
        return pack_key(self.runs[0])


def expand(config: dict[str, Any]) -> list[Run]:
    """Every run of the grid, in a stable order (the product of the grid lists, with
    an optimizer's ``grid.learning_rates`` after it and ``grid.widths`` after the
    depth; widths multiply mlp runs only: a cnn's layers are ``training.filters``
    wide). Without those keys a run has no rate or width of its own (None)."""
    g = config["grid"]
    specs = [initializers.parse(s, f"grid.initializers[{i}]") for i, s in enumerate(g["initializers"])]
    rates = g.get("learning_rates", {})
    widths = g.get("widths")
    return [
        Run(dataset=d, arch=a, activation=act, optimizer=o, depth=int(depth), init=spec, seed=int(seed),
            learning_rate=rate, width=width)
        for d, a, act, o in itertools.product(g["datasets"], g["architectures"], g["activations"], g["optimizers"])
        for rate in ([float(r) for r in rates[o]] if o in rates else [None])
        for depth in g["depths"]
        for width in ([int(w) for w in widths] if widths and a == "mlp" else [None])
        for spec, seed in itertools.product(specs, g["seeds"])
    ]


def pack_key(run: Run) -> tuple:
    """What pack members share: (dataset, arch, optimizer, depth, width); not the
    learning rate, which each member has its own of."""
    return (run.dataset, run.arch, run.optimizer, run.depth, run.width)


def make_packs(runs: Iterable[Run], pack_size: int, tags: Mapping[str, str] | None = None,
               cost: Callable[[Run], float] | None = None, max_cost: float | None = None) -> list[Pack]:
    """Group runs by :func:`pack_key` and cut each group into packs of at most
    ``pack_size`` runs and, given ``cost`` (of one run) and ``max_cost``, of at most
    about ``max_cost`` each: a group of n runs becomes k = max(⌈n / pack_size⌉,
    ⌈cost of the group / max_cost⌉) packs whose sizes differ by at most one (the runs
    of a group cost alike), so that concurrent jobs finish together instead of one
    long pack running alone at the end.

    Members are ordered by activation (a pack applies each activation to one
    contiguous slice of the member axis), then initializer, seed and learning rate. The
    pack id names the group and its members: ``mnist1d-mlp-adam-d10-<digest>``
    (``...-d10-w64-<digest>`` for runs with a width of their own), the digest of the
    members' ``tags`` (by run id; e.g. their identity hashes; default the run ids), so
    the same members under the same settings always form the same pack, and a pack
    of other members or settings never takes its name.
    """
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(pack_key(run), []).append(run)
    packs = []
    for key, members in groups.items():
        members.sort(key=lambda r: (r.activation, r.initializer, r.seed, r.learning_rate is not None,
                                    r.learning_rate or 0.0))
        dataset, arch, optimizer, depth, width = key
        shape = f"d{depth}" if width is None else f"d{depth}-w{width}"
        n_packs = math.ceil(len(members) / pack_size)
        if cost is not None and max_cost:
            n_packs = max(n_packs, math.ceil(sum(map(cost, members)) / max_cost))
        n_packs = min(n_packs, len(members))
        for k in range(n_packs):
            chunk = tuple(members[k * len(members) // n_packs:(k + 1) * len(members) // n_packs])
            names = "|".join(tags[r.run_id] if tags else r.run_id for r in chunk)
            digest = hashlib.sha256(names.encode()).hexdigest()[:PACK_DIGEST_LENGTH]
            packs.append(Pack(f"{dataset}-{arch}-{optimizer}-{shape}-{digest}", chunk))
    return packs
