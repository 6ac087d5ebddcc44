"""What a run costs, counted before it runs: floating-point operations, and seconds at a
measured rate.

Per example, a network's forward pass costs F = 2 × (multiply-adds): for an MLP
Σ_l 2·fan_in_l·fan_out_l over its Dense layers; for a CNN Σ_l 2·H·W·k²·C_in·C_out over
its 'same' convolutions plus the head. Training an example costs ≈ 3F (forward,
and a backward pass of about twice the forward: gradients with respect to the
activations and to the weights), evaluating one costs F, and probing one costs 3F
(the signal probe takes gradients, for ``grad_norm``). A run of E epochs on n_train
training and n_val validation examples, probed on n_probe at initialization and
after every epoch, and tested on n_test, costs

    E · (3F · n_train + F · n_val + 3F · n_probe) + 3F · n_probe + F · n_test

floating-point operations (biases, activations and the optimizer's element-wise
update are lower-order terms and left out). Time = FLOPs / rate, with the rate
measured on this machine: the XLA-compiled batched matmul of a pack's shape, times
the share of it the trainer reaches (:data:`TRAINER_EFFICIENCY`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from initstudy.data.datasets import DATASETS
from initstudy.study.runs import Run

#: Share of :func:`matmul_rate` (the rate `plan` measures) that the packed trainer, with
#: its compiled epoch loop, reaches at compute-bound shapes: the estimate's stated
#: assumption, checked against finished runs by `plan`. Measured by
#: ``python bench/throughput.py`` (2-core AMD EPYC VM, idle, TF 2.21 with XLA, 2
#: threads, 32-member packs, batch 128, Adam, MNIST-1D), which prints matmul_rate() and
#: the trainer's GFLOP/s (whole epochs with validation and probe, FLOPs counted as
#: here) in one run: 102.2 and 113.5 GFLOP/s at depth 10 and 50, width 128, against
#: 134.7 (0.76, 0.84). On a 2-core Xeon VM shared with other sessions (load 4.5) the
#: same command gave 0.55 and 0.58: a loaded machine reaches less.
TRAINER_EFFICIENCY = 0.8
#: Members of the batched matmul that measures the rate (a pack of this study's size).
RATE_MEMBERS = 32


def forward_flops(arch: str, depth: int, training: dict[str, Any], input_shape: tuple[int, ...],
                  classes: int) -> float:
    """F: floating-point operations of one example's forward pass."""
    if arch == "mlp":
        fans = [math.prod(input_shape), *[training["width"]] * depth, classes]
        return float(sum(2 * a * b for a, b in zip(fans[:-1], fans[1:])))
    height, width, channels = input_shape
    k, filters = training["kernel_size"], training["filters"]
    convs = [channels, *[filters] * depth]
    per_pixel = sum(2 * k * k * a * b for a, b in zip(convs[:-1], convs[1:]))
    return float(height * width * per_pixel + 2 * filters * classes)


def epoch_flops(f: float, n_train: int, n_val: int, n_probe: int) -> float:
    """One epoch of one run whose forward pass costs ``f``: its steps, its validation
    and its signal probe."""
    return 3 * f * n_train + f * n_val + 3 * f * n_probe


def run_flops(run: Run, training: dict[str, Any]) -> float:
    """Floating-point operations to train, validate, probe and test ``run``."""
    spec = DATASETS[run.dataset]
    n_all, n_test = spec.sizes
    n_val = round(training["validation_split"] * n_all)
    n_train = n_all - n_val
    n_probe = min(training["probe_size"], n_train)
    f = forward_flops(run.arch, run.depth, run.training_settings(training), spec.input_shape, spec.num_classes)
    return training["epochs"] * epoch_flops(f, n_train, n_val, n_probe) + 3 * f * n_probe + f * n_test


def matmul_rate(size: int = 128, members: int = RATE_MEMBERS, repeats: int = 20) -> float:
    """GFLOP/s of the compiled batched matmul (members × size×size @ size×size) on this
    machine, with the backend and threads the process was configured with: the best
    of ``repeats`` timed calls after a warm-up."""
    import numpy as np
    from keras import ops

    from initstudy.core import runtime

    matmul = runtime.compile_step(lambda a, b: ops.matmul(a, b))
    a = ops.convert_to_tensor(np.random.default_rng(0).standard_normal((members, size, size), "float32"))
    ops.convert_to_numpy(matmul(a, a))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ops.convert_to_numpy(matmul(a, a))
        best = min(best, time.perf_counter() - start)
    return 2 * members * size**3 / best / 1e9
