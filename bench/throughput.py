"""Benchmark: the packed trainer's throughput as the study runs it, against this machine's
matmul ceiling.

Per configuration (MLPs, Adam, batch 128) it times whole epochs of one ``PackTrainer``
as ``fit`` runs them: the training steps and validation on the whole validation
split (``run_epoch``) and the signal probe, after a warm-up that compiles and runs
each piece once (the compiled epoch loop called for one step, one host step). The
trainer's ``loop`` is switched between the compiled epoch loop (``"compiled"``, what
the study runs) and the host loop of single steps it replaced (``"host"``); their
timings alternate, so both see the same load on the machine, and the best of
``reps`` is kept. It prints, per loop:

- run-epochs/s: (member, epoch) pairs trained per second of wall time, and the
  speed-up of the compiled loop over the host loop;
- achieved GFLOP/s, counted as :mod:`initstudy.train.cost` counts a run's work
  (3F per training and probe example, F per validation example, F the forward
  FLOPs per example; biases, activations and the optimizer left out);
- the ceiling at the configuration's shape: the compiled batched matmul
  members × (batch×width @ width×width), and the share of it reached; and the
  share of the machine's peak, a compiled square matmul (2048² by default).

The MNIST-sized configuration (synthetic 60000×784 in memory with 2048 validation
examples, depth 50, width 256) is too slow on a CPU for whole epochs: it times
``--steps`` training steps (the compiled loop: one call of that many steps; the host
loop: that many single steps), adds one validation and one probe, and extrapolates
to the epoch's 469 steps.

    python bench/throughput.py [--quick] [--members 32] [--threads N] [--no-xla]
    KERAS_BACKEND=jax python bench/throughput.py --wide --peak-size 8192   # GPU: bench/gpu.sh

On a GPU (JAX) float32 matmuls run in TF32 at JAX's default precision, so the peak
column is a measured TF32 matmul rate, and "of peak" the share of it reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import sys
import time

import numpy as np

from initstudy.core import runtime

BATCH = 128


@dataclasses.dataclass(frozen=True)
class Config:
    label: str
    dataset: str  # "mnist1d" or "synthetic"
    depth: int
    width: int
    members: int
    reps: int = 2  # timings per loop (alternating host / compiled); the best is kept
    steps: int | None = None  # time this many steps and extrapolate (instead of whole epochs)


def configs(members: int, quick: bool, wide: bool, steps: int) -> list[Config]:
    if quick:
        out = [Config("overhead-bound", "mnist1d", 2, 32, members, reps=2),
               Config("compute-bound", "mnist1d", 10, 128, members, reps=1),
               Config("compute-bound", "mnist1d", 50, 128, members, reps=1, steps=2),
               Config("MNIST-sized", "synthetic", 50, 256, members, reps=1, steps=1)]
    else:
        out = [Config("overhead-bound", "mnist1d", 2, 32, members, reps=3),
               Config("compute-bound", "mnist1d", 10, 128, members, reps=2),
               Config("compute-bound", "mnist1d", 50, 128, members, reps=1),
               Config("MNIST-sized", "synthetic", 50, 256, members, reps=2, steps=steps)]
    if wide:
        out.append(Config("wide pack", "mnist1d", 50, 128, 128, reps=1 if quick else 2))
    return out


# ---------------------------------------------------------------------------- data, packs
def synthetic(n=60000, features=784, classes=10, n_val=2048, seed=0):
    """MNIST-sized random data in memory: 60000 training examples of 784 features, and
    2048 validation examples (two evaluation batches; fewer than MNIST's 6000 to keep
    the benchmark short, and counted as they are)."""
    from initstudy.data.datasets import Dataset

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + n_val, 1, features, 1), dtype="float32")
    y = rng.integers(0, classes, n + n_val).astype("int32")
    return Dataset("synthetic", x[:n], y[:n], x[n:], y[n:], x[n:n + 1000], y[n:n + 1000],
                   (1, features, 1), classes)


def mnist1d():
    from initstudy.data.datasets import load

    return load("mnist1d", validation_split=0.1, seed=0)


def pack_for(members: int, depth: int, width: int):
    """``members`` runs (initializers × seeds; one seed's split for all, as the benchmark
    loads one dataset) of a depth × width ReLU MLP with Adam, batch 128."""
    from initstudy.study import config, runs

    inits = ["he_normal", "glorot_uniform", "lecun_normal", "orthogonal"]
    seeds = list(range(-(-members // len(inits))))
    cfg = {"grid": {"datasets": ["mnist1d"], "architectures": ["mlp"], "activations": ["relu"],
                    "optimizers": ["adam"], "depths": [depth], "initializers": inits, "seeds": seeds},
           "training": {"width": width, "batch_size": BATCH}}
    cfg = config.check(cfg)
    return runs.Pack(f"bench-d{depth}-w{width}", tuple(runs.expand(cfg)[:members])), cfg["training"]


def flops_per_pack_epoch(cfg: Config, data, training: dict) -> float:
    """What :mod:`initstudy.train.cost` counts for one epoch of every member."""
    from initstudy.train.cost import epoch_flops, forward_flops

    f = forward_flops("mlp", cfg.depth, training, data.input_shape, data.num_classes)
    n_train = len(data.y_train)
    return cfg.members * epoch_flops(f, n_train, len(data.y_val), min(training["probe_size"], n_train))


# ---------------------------------------------------------------------------- ceilings
def chained_matmul_rate(a_shape: tuple, b_shape: tuple, chain: int = 8, repeats: int = 5,
                        budget_s: float = 3.0) -> float:
    """GFLOP/s of the compiled (batched) matmul a @ b: ``chain`` products per compiled
    call, a ← a @ b (b scaled to keep a's size), summed to a scalar so no large result
    is copied back; best of ``repeats`` calls after a warm-up (fewer if slow)."""
    from keras import ops

    def chained(a, b):
        for _ in range(chain):
            a = ops.matmul(a, b)
        return ops.sum(a)

    fn = runtime.compile_step(chained)
    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.standard_normal(a_shape, dtype="float32"))
    b = ops.convert_to_tensor((rng.standard_normal(b_shape, dtype="float32") / math.sqrt(b_shape[-2])))
    ops.convert_to_numpy(fn(a, b))
    best, spent = math.inf, 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        ops.convert_to_numpy(fn(a, b))
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
        if spent > budget_s:
            break
    flops = 2 * math.prod(a_shape) * b_shape[-1] * chain
    return flops / best / 1e9


def layer_dot_rates(members: int, width: int, batch: int = BATCH, chain: int = 8) -> dict[str, float]:
    """GFLOP/s of the three batched dots of a hidden layer's training step at the
    trainer's shape (activations x, dy: members × batch × width; kernel w: members ×
    width × width), each timed alone: the forward pass y = x·w, the input gradient
    dx = dy·wᵀ and the weight gradient dw = xᵀ·dy, which contracts over the batch (the
    leading axis of both of its operands). Like :func:`chained_matmul_rate`, each call
    chains ``chain`` products (a ← dot(a, b_k)), but every product takes its own b_k,
    as every layer of a step has its own kernel and activations, so the operands come
    from memory rather than from the cache. Chaining dw's output into the next product
    needs batch = width."""
    from keras import ops

    if batch != width:
        raise ValueError(f"layer_dot_rates: batch {batch} != width {width}; the chained weight gradient needs them equal")

    def swap(t):
        return ops.transpose(t, (0, 2, 1))

    dots = {"forward": lambda a, b: ops.matmul(a, b),
            "input_grad": lambda a, b: ops.matmul(a, swap(b)),
            "weight_grad": lambda a, b: ops.matmul(swap(a), b)}
    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.standard_normal((members, batch, width), dtype="float32"))
    bs = ops.convert_to_tensor(rng.standard_normal((chain, members, width, width), dtype="float32")
                               / math.sqrt(width))
    out = {}
    for name, dot in dots.items():
        def chained(a, bs, dot=dot):
            for k in range(chain):
                a = dot(a, bs[k])
            return ops.sum(a)

        seconds = _best(runtime.compile_step(chained), a, bs, repeats=5)
        out[name] = 2 * members * batch * width * width * chain / seconds / 1e9
    return out


# ---------------------------------------------------------------------------- the trainer
LOOPS = ("host", "compiled")


def measure(cfg: Config, data, loops=LOOPS, reps: int = 2) -> dict[str, dict]:
    """Per loop, seconds per pack-epoch of one ``PackTrainer`` (its ``loop`` switched
    between timings, which alternate so both see the same machine load; best of
    ``reps``), and the warm-up (compilation) seconds."""
    from keras import ops

    from initstudy.train.trainer import PackTrainer

    pack, training = pack_for(cfg.members, cfg.depth, cfg.width)
    steps_per_epoch = -(-len(data.y_train) // BATCH)
    k = cfg.steps or steps_per_epoch
    trainer = PackTrainer(pack, training, lambda run: data, steps_per_call=k)
    trainer.initialize()  # LSUV (none here) and the epoch-0 probe: compiles the probe
    idx, w = trainer.data.epoch_batches(1, BATCH)
    out = {loop: {"best": float("inf")} for loop in loops}
    for loop in loops:  # compile and run once: the step (host) / the loop (compiled, one step) and evaluation
        trainer.loop = loop
        start = time.perf_counter()
        if loop == "compiled":  # (a first call also allocates the loop's buffers: slower than the next)
            trainer.train_step.run(trainer.active, idx[:k], w[:k], count=1)
        else:
            trainer.train_step(trainer.active, idx[0], w[0])
        trainer.evaluate("val")
        out[loop]["warmup_s"] = time.perf_counter() - start

    epoch = 0
    for _ in range(reps):
        for loop in loops:
            trainer.loop = loop
            start = time.perf_counter()
            if cfg.steps is None:  # a whole epoch, as fit runs it
                epoch += 1
                active = trainer.active.copy()
                trainer.run_epoch(epoch)
                trainer.signal.measure(trainer.params, epoch, active)
            elif loop == "compiled":
                trainer.train_step.run(trainer.active, idx[:k], w[:k])
            else:
                for step in range(k):
                    keep, _, _ = trainer.train_step(trainer.active, idx[step], w[step])
                    trainer.active = ops.convert_to_numpy(keep).astype(bool)
            out[loop]["best"] = min(out[loop]["best"], time.perf_counter() - start)
    if not trainer.active.all():
        print(f"# warning: {int((~trainer.active).sum())} members diverged; their steps were skipped", flush=True)
    if cfg.steps is None:
        for loop in loops:
            out[loop].update(epoch_s=out[loop]["best"], timed=f"best of {reps} epoch{'s' if reps > 1 else ''}")
        return out
    # k steps timed; one validation per loop and one probe added: the epoch extrapolated
    start = time.perf_counter()
    trainer.signal.measure(trainer.params, 1, trainer.active.copy())
    probe_s = time.perf_counter() - start
    for loop in loops:
        trainer.loop = loop
        start = time.perf_counter()
        trainer.evaluate("val")
        val_s = time.perf_counter() - start
        out[loop].update(epoch_s=out[loop]["best"] / k * steps_per_epoch + val_s + probe_s,
                         timed=f"best of {reps} x {k} of {steps_per_epoch} steps, +val +probe")
    return out


def _ready(values):
    """Wait until ``values`` are computed (JAX dispatches asynchronously; a TensorFlow
    function returns computed tensors on the CPU)."""
    if runtime.backend() == "jax":
        import jax

        jax.block_until_ready(values)
    return values


def _best(fn, *args, repeats: int = 3) -> float:
    _ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        _ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def step_parts(cfg: Config, data, steps: int = 4) -> dict[str, float]:
    """Seconds per training step of a pack, and of its two parts timed alone: the
    trainer's compiled loop over ``steps`` steps (per step), the loss's forward and
    backward pass (one compiled call per batch), and the optimizer's update of every
    member's parameters (one compiled call). Where the step's time goes when it falls
    short of the matmul ceiling."""
    from keras import ops

    from initstudy.train.optimizers import make_optimizer
    from initstudy.train.step import masked_loss
    from initstudy.train.trainer import PackTrainer

    pack, training = pack_for(cfg.members, cfg.depth, cfg.width)
    trainer = PackTrainer(pack, training, lambda run: data, steps_per_call=steps)
    idx, w = trainer.data.epoch_batches(1, BATCH)
    active = trainer.active
    out = {"step": _best(lambda: trainer.train_step.run(active, idx[:steps], w[:steps])[1]) / steps}
    x, y = ops.take(trainer.data.x_train, idx[0], axis=0), ops.take(trainer.data.y_train, idx[0], axis=0)
    params = trainer.params
    loss = masked_loss(trainer.model)
    grads_of = runtime.compile_step(lambda p, x, y, w, a: runtime.value_and_grad(loss)(p, x, y, w, a)[1])
    out["forward_backward"] = _best(grads_of, params, x, y, w[0], active)
    grads = grads_of(params, x, y, w[0], active)
    optimizer = make_optimizer("adam", training)
    variables = trainer.model.trainable_variables
    optimizer.build(variables)
    if runtime.backend() == "tensorflow":  # no stateless update on TensorFlow: the variables move (harmless here)
        update = runtime.compile_step(lambda g: [optimizer.apply(g, variables), variables[0].value][1])
        out["optimizer"] = _best(update, grads)
    else:
        opt_vars = [v.value for v in optimizer.variables]
        update = runtime.compile_step(lambda o, g, p: optimizer.stateless_apply(o, g, p)[0])
        out["optimizer"] = _best(update, opt_vars, grads, params)
    out["parameters"] = sum(math.prod(v.shape) for v in variables)
    return out


# ---------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> str:
    import keras

    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}", f"Keras {keras.__version__}"]
    if runtime.backend() == "tensorflow":
        import tensorflow as tf

        parts.append(f"TensorFlow {tf.__version__}")
    else:
        import jax
        import jaxlib

        parts.append(f"JAX {jax.__version__} (jaxlib {jaxlib.__version__}, "
                     f"matmul precision {jax.config.jax_default_matmul_precision or 'default'})")
    return ", ".join(parts)


def header(threads: int | None) -> list[str]:
    s = runtime.settings()
    physical = None
    try:
        physical = len({tuple(line.split(":")[1].strip() for line in block.splitlines()
                              if line.startswith(("physical id", "core id")))
                        for block in open("/proc/cpuinfo").read().split("\n\n") if block.strip()})
    except OSError:
        pass
    return [f"# {platform.node()}: {cpu_model()}, {physical or '?'} cores, {os.cpu_count()} logical CPUs; "
            f"devices {runtime.devices()}",
            f"# backend {s['keras_backend']}, XLA {s['xla']}, op determinism {s['deterministic']}, "
            f"threads {threads or 'backend default'}; {versions()}",
            f"# load average at start {load()} (other processes share the machine: timings are the best of "
            f"alternating host/compiled runs)"]


def load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timings (about half the time)")
    parser.add_argument("--members", type=int, default=32, help="members per pack (default 32)")
    parser.add_argument("--steps", type=int, default=2,
                        help="steps timed in the MNIST-sized configuration (default 2)")
    parser.add_argument("--wide", action="store_true", help="add depth 50 width 128 MNIST-1D with 128 members")
    parser.add_argument("--peak-size", type=int, default=2048, help="side of the square matmul of the peak")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-xla", action="store_true", help="TensorFlow: compile without XLA")
    parser.add_argument("--no-host", action="store_true", help="time the compiled loop only")
    parser.add_argument("--breakdown", action="store_true",
                        help="also split the compute-bound packs' step into forward+backward and optimizer")
    args = parser.parse_args()
    runtime.configure(threads=args.threads, xla=not args.no_xla)
    for line in header(args.threads):
        print(line, flush=True)
    # the large matmul first: small ones run at about half their rate until a large op has run
    # in the process (see bench/study_floor.py's rates)
    peak = chained_matmul_rate((args.peak_size, args.peak_size), (args.peak_size, args.peak_size), chain=4)
    from initstudy.train.cost import matmul_rate

    print(f"# peak: compiled {args.peak_size}x{args.peak_size} matmul {peak:.1f} GFLOP/s; for reference, "
          f"train/cost.py's matmul_rate() (one 32x128x128 call per timing, result copied back, as `plan` "
          f"measures it): {matmul_rate():.1f} GFLOP/s", flush=True)
    print("# run-epochs/s = members / seconds per pack-epoch (steps + validation + signal probe); "
          "GFLOP/s counted as train/cost.py does; ceiling = compiled batched matmul "
          "members x (batch x width @ width x width)")
    cols = (f"{'configuration':<34}{'loop':>9}{'r-e/s':>9}{'GFLOP/s':>9}{'ceiling':>9}{'of ceil':>8}"
            f"{'of peak':>8}{'speed-up':>9}{'warm-up s':>10}  timed")
    print(cols)
    data_cache: dict[str, object] = {}
    ceilings: dict[Config, float] = {}  # measured once per configuration, for the table and the breakdown
    for cfg in configs(args.members, args.quick, args.wide, args.steps):
        if cfg.dataset not in data_cache:
            data_cache[cfg.dataset] = mnist1d() if cfg.dataset == "mnist1d" else synthetic()
        data = data_cache[cfg.dataset]
        _, training = pack_for(cfg.members, cfg.depth, cfg.width)
        flops = flops_per_pack_epoch(cfg, data, training)
        ceiling = ceilings[cfg] = chained_matmul_rate((cfg.members, BATCH, cfg.width),
                                                      (cfg.members, cfg.width, cfg.width))
        name = (f"{cfg.label} d{cfg.depth} w{cfg.width} "
                f"{'MNIST-1D' if cfg.dataset == 'mnist1d' else '60000x784'} x{cfg.members}")
        rates = {}
        loops = ("compiled",) if args.no_host else LOOPS
        timings = measure(cfg, data, loops, reps=cfg.reps)
        for loop in loops:
            t = timings[loop]
            rates[loop] = cfg.members / t["epoch_s"]
            gflops = flops / t["epoch_s"] / 1e9
            speedup = f"{rates[loop] / rates['host']:.2f}x" if "host" in rates else "-"
            print(f"{name:<34}{loop:>9}{rates[loop]:>9.3g}{gflops:>9.1f}{ceiling:>9.1f}"
                  f"{gflops / ceiling:>7.0%} {gflops / peak:>7.0%} {speedup:>8}{t['warmup_s']:>10.1f}  {t['timed']}",
                  flush=True)
    if args.breakdown:
        from initstudy.train.cost import forward_flops

        print("# step breakdown (compiled loop, per step): the step, and timed alone its forward+backward "
              "pass and its optimizer update (Adam over all members' parameters); 'matmuls' = the step's "
              "3F x batch x members FLOPs at the ceiling; then the rates of a layer's three dots, each timed "
              "alone with its operands from memory (forward x.w, input gradient dy.wT, weight gradient xT.dy)")
        for cfg in configs(args.members, args.quick, args.wide, args.steps):
            if cfg.label != "compute-bound":
                continue
            data = data_cache[cfg.dataset]
            _, training = pack_for(cfg.members, cfg.depth, cfg.width)
            ceiling = ceilings[cfg]
            parts = step_parts(cfg, data)
            f = forward_flops("mlp", cfg.depth, training, data.input_shape, data.num_classes)
            matmuls = 3 * f * BATCH * cfg.members / (ceiling * 1e9)
            traffic = 7 * 4 * parts["parameters"] / parts["optimizer"] / 1e9  # Adam: read p, g, m, v; write p, m, v
            dots = layer_dot_rates(cfg.members, cfg.width)
            print(f"d{cfg.depth} w{cfg.width} x{cfg.members}: step {1e3 * parts['step']:.1f} ms; "
                  f"forward+backward {1e3 * parts['forward_backward']:.1f} ms (matmuls at the ceiling "
                  f"{1e3 * matmuls:.1f} ms, {matmuls / parts['forward_backward']:.0%}); optimizer "
                  f"{1e3 * parts['optimizer']:.1f} ms ({parts['parameters'] / 1e6:.1f}M parameters, "
                  f"{traffic:.0f} GB/s); ceiling {ceiling:.1f} GFLOP/s; the layer's dots alone: "
                  + ", ".join(f"{name} {rate:.1f}" for name, rate in dots.items()) + " GFLOP/s", flush=True)
    print(f"# load average at end {load()}")


if __name__ == "__main__":
    sys.exit(main())
