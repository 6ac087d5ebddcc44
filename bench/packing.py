"""Benchmark: solo Keras ``model.fit`` per run (the tutorial way) vs packed training.

Prints run-epochs/s (how many (run, epoch) pairs a second of wall time trains) for
MLPs at depths 10 and 50 on MNIST-1D (width 128) and on MNIST-sized synthetic input
(60000 × 784, width 256), batch 128, Adam. Each configuration is timed on steady
steps after a warm-up step (so the one-off trace is excluded; it is printed
separately): the solo model in ``model.fit``, the pack in the trainer's compiled
loop (``--steps`` steps in one call); run-epochs/s = members / (seconds per step ×
steps per epoch). ``bench/throughput.py`` times the trainer's whole epochs.

Optionally (``--study``) also times the default study end to end with Snakemake,
from an empty results/ to the PDF, with packing off (pack_size 1) and on, side by
side in one run.

    python bench/packing.py [--members 32] [--steps 20] [--study]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from initstudy.core import runtime

REPO = Path(__file__).resolve().parents[1]


def synthetic(n, features, classes=10, seed=0):
    from initstudy.data.datasets import Dataset

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, features, 1)).astype("float32")
    y = rng.integers(0, classes, n).astype("int32")
    return Dataset("synthetic", x, y, x[:512], y[:512], x[:512], y[:512], (1, features, 1), classes)


def mnist1d():
    from initstudy.data.datasets import load

    return load("mnist1d", validation_split=0.1, seed=0)


def pack_for(members, depth, width):
    from initstudy.study import config
    from initstudy.study import runs

    inits = ["he_normal", "glorot_uniform", "lecun_normal", "orthogonal"]
    seeds = list(range(-(-members // len(inits))))
    cfg = {"grid": {"datasets": ["mnist1d"], "architectures": ["mlp"], "activations": ["relu"],
                    "optimizers": ["adam"], "depths": [depth], "initializers": inits, "seeds": seeds},
           "training": {"width": width, "batch_size": 128, "probe_size": 64}}
    config.check(cfg)
    all_runs = runs.expand(cfg)[:members]
    return runs.Pack(f"bench-d{depth}", tuple(all_runs)), cfg["training"]


def time_packed(data, members, depth, width, steps):
    from initstudy.train.trainer import PackTrainer

    pack, training = pack_for(members, depth, width)
    trainer = PackTrainer(pack, training, lambda run: data)
    idx, w = trainer.data.epoch_batches(1, training["batch_size"])
    idx, w = idx[:steps], w[:steps]
    # the trainer's compiled loop: `steps` steps in one call (the first call traces,
    # compiles and runs one step)
    t0 = time.perf_counter()
    trainer.train_step.run(trainer.active, idx, w, count=1)
    trace = time.perf_counter() - t0
    t0 = time.perf_counter()
    trainer.train_step.run(trainer.active, idx, w)
    per_step = (time.perf_counter() - t0) / steps
    steps_per_epoch = -(-len(data.y_train) // training["batch_size"])
    return members / (per_step * steps_per_epoch), trace


def time_solo(data, depth, width, steps):
    import keras

    from initstudy.models.packed import reference_model
    from initstudy.train.optimizers import make_optimizer

    pack, training = pack_for(1, depth, width)
    model = reference_model(pack.runs[0], data.input_shape, data.num_classes, training)
    model.compile(optimizer=make_optimizer("adam", training),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    b = training["batch_size"]
    t0 = time.perf_counter()
    model.fit(data.x_train[:b], data.y_train[:b], batch_size=b, epochs=1, verbose=0)
    trace = time.perf_counter() - t0
    x, y = data.x_train[: b * steps], data.y_train[: b * steps]
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False)
    per_step = (time.perf_counter() - t0) / steps
    steps_per_epoch = -(-len(data.y_train) // b)
    return 1.0 / (per_step * steps_per_epoch), trace


def study_wall_time(pack_size: int) -> float:
    """Default study from empty results/ to the PDF, in a fresh copy of the workflow."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["Snakefile", "workflow", "config", "paper/main.tex", "paper/sections", "src"]:
            src, dst = REPO / name, Path(tmp) / name
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        config_path = Path(tmp) / "config" / "config.yaml"
        study = yaml.safe_load(config_path.read_text())
        study["training"]["pack_size"] = pack_size
        config_path.write_text(yaml.safe_dump(study))
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", "8", "--quiet", "all"],
                       cwd=tmp, env=env, check=True, capture_output=True)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-xla", action="store_true", help="compile the packed step without XLA")
    parser.add_argument("--study", action="store_true", help="also time the default study, packing off vs on")
    args = parser.parse_args()
    runtime.configure(threads=args.threads, xla=not args.no_xla)
    print(f"# {platform.node()}: {runtime.devices()}, {os.cpu_count()} CPUs, {args.threads} threads, "
          f"Keras backend {runtime.backend()}, packed step XLA {runtime.settings()['xla']}, "
          f"op determinism on (so Keras' fit runs without XLA)")
    print(f"{'input':<22}{'depth':>6}{'width':>6}{'solo r-e/s':>12}{'packed r-e/s':>14}{'speed-up':>10}"
          f"{'solo trace s':>14}{'pack trace s':>14}")
    for name, data, width in [("MNIST-1D 4000x40", mnist1d(), 128),
                              ("synthetic 60000x784", synthetic(60000, 784), 256)]:
        for depth in (10, 50):
            solo, solo_trace = time_solo(data, depth, width, args.steps)
            packed, pack_trace = time_packed(data, args.members, depth, width, args.steps)
            print(f"{name:<22}{depth:>6}{width:>6}{solo:>12.2f}{packed:>14.2f}{packed / solo:>9.1f}x"
                  f"{solo_trace:>14.1f}{pack_trace:>14.1f}", flush=True)
    if args.study:
        off = study_wall_time(1)
        on = study_wall_time(64)
        print(f"default study, snakemake --cores 8, empty results/ to PDF: packing off {off:.0f} s, "
              f"on {on:.0f} s ({off / on:.1f}x)")


if __name__ == "__main__":
    main()
