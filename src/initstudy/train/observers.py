"""What a run's record keeps of its weights and signals besides its metrics.

- :class:`SignalLog`: per member, the per-layer signal statistics of
  :mod:`initstudy.train.probes` on the fixed probe batch, at initialization
  (epoch 0) and after every epoch the member trained;
- :class:`WeightHistograms`: per member, histograms of the first, middle and last
  hidden kernels at initialization and at the end of training.

Both hold what a checkpoint must carry (``rows``, ``initial``) as plain attributes.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from keras import ops

from initstudy.train import probes


class SignalLog:
    """Signal statistics per member; ``rows[m]`` is what member m's record gets."""

    def __init__(self, forward, kernel_positions: list[int], probe_x: np.ndarray, probe_y: np.ndarray,
                 activations: Sequence[str]):
        self._probe = probes.make_probe(forward, kernel_positions)
        self.probe_x, self.probe_y = probe_x, probe_y
        # On the device once (the probe batch is the same every epoch).
        self._x, self._y = ops.convert_to_tensor(probe_x), ops.convert_to_tensor(probe_y)
        self.activations = list(activations)
        self.rows: list[list[dict[str, Any]]] = [[] for _ in self.activations]

    def measure(self, params: list, epoch: int, members: np.ndarray) -> None:
        """Append the statistics of ``epoch`` for the members flagged in ``members``."""
        stats = self._probe(params, self._x, self._y)
        rows = probes.to_rows(stats, self.activations, epoch)
        for m in np.flatnonzero(members):
            self.rows[m].extend(rows[m])


class WeightHistograms:
    """Kernel histograms of hidden layers 1, ⌈depth/2⌉ and depth (1-based), per member."""

    def __init__(self, kernel_positions: list[int], bins: int = 40):
        depth = len(kernel_positions)
        self.layers = sorted({1, (depth + 1) // 2, depth})
        self.kernel_positions = kernel_positions
        self.bins = bins
        #: The recorded layers' stacked kernels at initialization, by layer.
        self.initial: dict[int, np.ndarray] = {}

    def kernels(self, params: list) -> dict[int, np.ndarray]:
        return {layer: ops.convert_to_numpy(params[self.kernel_positions[layer - 1]]) for layer in self.layers}

    def start(self, params: list) -> None:
        """Keep the initial kernels (after any data-dependent initialization)."""
        self.initial = self.kernels(params)

    def __call__(self, params: list, last_epochs: Sequence[int]) -> list[list[dict[str, Any]]]:
        """Per member, the histograms at init (epoch 0) and now (its ``last_epochs[m]``),
        on common edges spanning both: ±max|w| over the finite weights (±1 if all zero)."""
        now = self.kernels(params)
        out: list[list[dict[str, Any]]] = []
        for m, last in enumerate(last_epochs):
            rows = []
            for layer in self.layers:
                pair = (self.initial[layer][m], now[layer][m])
                finite = [w[np.isfinite(w)] for w in pair]
                limit = max((float(np.abs(w).max()) for w in finite if w.size), default=0.0) or 1.0
                edges = np.linspace(-limit, limit, self.bins + 1)
                for epoch, w in zip((0, last), finite):
                    rows.append({"epoch": epoch, "layer": layer, "bin_edges": edges.tolist(),
                                 "counts": np.histogram(w, edges)[0].tolist()})
            out.append(rows)
        return out
