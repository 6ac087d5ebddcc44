"""What a run's record keeps of its weights and signals besides its metrics.

- :class:`SignalLog`: per member, the per-layer signal statistics of
  :mod:`initstudy.train.probes` on the fixed probe batch, at initialization
  (epoch 0) and after every epoch the member trained;
- :class:`WeightHistograms`: per member, histograms of the first, middle and last
  hidden kernels at initialization and at the end of training;
- :class:`JacobianSpectra`: per member of an MLP pack, the singular values of its
  Jacobian at initialization on a few probe examples.

Each holds what a checkpoint must carry (``rows``, ``initial``) as plain attributes.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from keras import ops

from initstudy.models.activations import ACTIVATIONS, DERIVATIVES
from initstudy.train import probes
from initstudy.train.jacobian import jacobian_singular_values


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


class JacobianSpectra:
    """Per member, at initialization: the singular values of ``J = d h_L / d a_1``, the
    Jacobian of the last hidden layer's pre-activation with respect to the first hidden
    layer's activation ``a_1 = phi(x W_1 + b_1)``, at each of the first ``inputs``
    examples of the probe batch (:mod:`initstudy.train.jacobian`, in float64).

    Why from ``a_1`` and not from the input: the hidden layers from the second on are
    square (width x width), as in Pennington et al. (2017), so ``J`` has ``width``
    singular values, whereas the input's few features (MNIST-1D: 40) would cap them at
    that number. ``J`` spans ``depth - 1`` layers; a network of one hidden layer has
    none, and a CNN records none. ``rows[m]``: ``[{"input": i, "singular_values": [...]}]``.
    """

    def __init__(self, kernel_positions: list[int], bias_positions: list[int], probe_x: np.ndarray,
                 activations: Sequence[str], inputs: int):
        self.kernel_positions, self.bias_positions = kernel_positions, bias_positions
        x = np.asarray(probe_x, dtype=np.float64)  # (members, batch, *input_shape): each member's rows
        self.x = x[:, :inputs].reshape(x.shape[0], min(inputs, x.shape[1]), -1)
        self.activations = list(activations)
        self.rows: list[list[dict[str, Any]]] = [[] for _ in self.activations]

    def measure(self, params: list) -> None:
        if len(self.kernel_positions) < 2:
            return
        kernels = [ops.convert_to_numpy(params[i]).astype(np.float64) for i in self.kernel_positions]
        biases = [ops.convert_to_numpy(params[i]).astype(np.float64) for i in self.bias_positions]
        for m, name in enumerate(self.activations):
            phi = ACTIVATIONS[name]
            first = phi(self.x[m] @ kernels[0][m] + biases[0][m])
            values = jacobian_singular_values(first, [k[m] for k in kernels[1:]], [b[m] for b in biases[1:]],
                                              phi, DERIVATIVES[name])
            self.rows[m] = [{"input": i, "singular_values": s.tolist()} for i, s in enumerate(values)]
