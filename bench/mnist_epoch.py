"""How long one epoch of the default study's MLP takes on real-size MNIST, against this
machine's matmul peak measured in the same run.

    python bench/mnist_epoch.py                 # depths 2, 10, 30 (the default study's), ~3 min on 2 cores
    python bench/mnist_epoch.py --depths 2 --threads 2

The data is ``$KERAS_HOME/datasets/mnist.npz`` when ``--real`` is given (the real file),
else a synthetic file of the real shapes and dtypes (60000 and 10000 uint8 images of
28×28) in a temporary folder: the time of an epoch depends on the shapes, not the pixels.

Per depth it trains one pack the way a train job does (``initstudy.train.job.train_pack``:
the default config's training settings and its five initializers at one seed, ReLU,
Adam), once for 1 epoch and once for 3, and prints:

- first: the 1-epoch job's seconds (data loading, model build, compilation, one epoch);
- per epoch: (3-epoch job − 1-epoch job) / 2, what each further epoch costs the pack;
- run-epochs/s: members / per epoch;
- GFLOP/s: the pack's FLOPs of one epoch as :mod:`initstudy.train.cost` counts them
  (3F per training and probe example, F per validation and test example) / per epoch,
  beside a compiled 2048² matmul's rate (bench/throughput.py's ``chained_matmul_rate``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workflow_copy import REPO  # noqa: E402  (bench/ is on the path now)

#: The real file's examples: (training, test).
MNIST_SIZES = (60000, 10000)


def write_synthetic_mnist(folder: Path) -> Path:
    """``mnist.npz`` with the real file's keys, shapes and dtypes, random pixels and labels."""
    rng = np.random.default_rng(0)
    (n_train, n_test) = MNIST_SIZES
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz",
             x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
             x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_test, dtype=np.uint8))
    return folder


def default_config(depth: int, epochs: int) -> dict:
    """config/config.yaml's training settings and initializers, on MNIST at one depth and seed."""
    from initstudy.study import config

    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    grid = {**default["grid"], "datasets": ["mnist"], "activations": ["relu"], "depths": [depth], "seeds": [0]}
    return config.check({"grid": grid, "training": {**default["training"], "epochs": epochs}, "claims": []})


def train_seconds(depth: int, epochs: int, data_dir: Path) -> tuple[float, int, float]:
    """(wall seconds of one train job, members, FLOPs of one epoch of the pack)."""
    from initstudy.study import runs
    from initstudy.train.cost import run_flops
    from initstudy.train.job import train_pack

    checked = default_config(depth, epochs)
    members = runs.expand(checked)
    pack = runs.Pack(f"bench-d{depth}-e{epochs}", tuple(members))
    with tempfile.TemporaryDirectory(prefix="mnist-epoch-") as out:
        start = time.perf_counter()
        train_pack(pack, checked["training"], out_root=out, checkpoint_dir=None, data_dir=str(data_dir))
        took = time.perf_counter() - start
    flops = sum(run_flops(run, checked["training"]) for run in members) / epochs
    return took, len(members), flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 10, 30])
    parser.add_argument("--threads", type=int, default=None, help="default: config/config.yaml's training.threads")
    parser.add_argument("--real", action="store_true", help="train on $KERAS_HOME/datasets/mnist.npz")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    from throughput import chained_matmul_rate, header, load

    from initstudy.core import runtime
    from initstudy.data.datasets import default_data_dir

    threads = args.threads or default_config(2, 1)["training"]["threads"]
    runtime.configure(threads=threads, xla=default_config(2, 1)["training"]["xla"])
    print("\n".join(header(threads)[:2]))
    print(f"# load average at start {load()} (other processes slow both the peak and the training)")
    peak = chained_matmul_rate((2048, 2048), (2048, 2048), chain=4)
    with tempfile.TemporaryDirectory(prefix="mnist-cache-") as tmp:
        data_dir = default_data_dir() if args.real else write_synthetic_mnist(Path(tmp))
        print(f"# data: {data_dir / 'mnist.npz'} ({'real' if args.real else 'synthetic, the real shapes'}); "
              f"2048² matmul peak {peak:.1f} GFLOP/s")
        print(f"{'depth':>5} {'members':>7} {'first s':>8} {'per epoch s':>11} {'run-epochs/s':>12} "
              f"{'GFLOP/s':>8} {'of peak':>7}")
        for depth in args.depths:
            first, members, flops = train_seconds(depth, 1, data_dir)
            three, _, _ = train_seconds(depth, 3, data_dir)
            epoch = (three - first) / 2
            rate = flops / epoch / 1e9
            print(f"{depth:>5} {members:>7} {first:>8.1f} {epoch:>11.2f} {members / epoch:>12.2f} "
                  f"{rate:>8.1f} {rate / peak:>7.0%}", flush=True)
    print(f"# load average at end {load()}")


if __name__ == "__main__":
    main()
