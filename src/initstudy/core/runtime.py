"""Process set-up for training: quiet logs, thread counts, determinism, backend glue.

Call :func:`configure` before the first Keras computation. Everything the numbers
depend on (backend, determinism, thread counts) is returned by :func:`settings` and
stored in every record, because each changes the numbers (each is reproducible on
its own).

Keras 3 has no backend-independent "value and gradient" or "compile this step"
function: ``model.fit`` hides them inside per-backend trainers. The packed trainer
needs its own step (per-member losses, masking of diverged members), so the
small backend-specific pieces live here and nowhere else: :func:`value_and_grad`,
:func:`compile_step`, :func:`while_loop` (many steps in one compiled call) and
:func:`barrier` (keeps the loop's bookkeeping out of the step's fusions).
Everything else is ``keras.ops``.
"""

from __future__ import annotations

import os

_STATE: dict[str, object] = {"deterministic": False, "threads": None, "xla": False}


class DeviceError(RuntimeError):
    """The job asked for a device (``training.gpu``) its backend does not see."""


def backend() -> str:
    import keras  # here, not at the top: the CLI imports DeviceError without loading Keras

    return keras.backend.backend()


def configure(threads: int | None = None, deterministic: bool = True, xla: bool = False,
              gpu: bool | None = None) -> dict[str, object]:
    """Set the device, thread counts (from the Snakemake rule's ``threads``), op
    determinism and XLA.

    ``gpu`` (the config's ``training.gpu``): True computes on the backend's first GPU
    and fails with :class:`DeviceError` if it sees none (so a job that asked for a GPU
    never trains on the CPU unnoticed); False hides the GPUs, so a job that was given
    no GPU (Snakemake's ``gpu`` resource) leaves them to the jobs that were; None
    (benchmarks, tools) leaves the backend's default.

    ``xla`` compiles the TensorFlow training step with XLA (``jit_compile``): on this
    2-core CPU it fuses the optimizer's element-wise updates and trains a pack
    1.4–1.7× faster; the numbers differ from the non-XLA ones by float summation
    order and are reproducible run to run. JAX always compiles with XLA.

    Every random draw of a run has its own seed derived from the run's fields; the
    global seed (``keras.utils.set_random_seed``) only guards ops that take none,
    which TensorFlow refuses to run under op determinism otherwise.
    """
    import keras

    if gpu is not None:
        _select_device(gpu)
    keras.utils.set_random_seed(0)
    if backend() == "tensorflow":
        import tensorflow as tf

        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # already initialised in this process: keep the first setting
                pass
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend() == "jax" and deterministic:
        # XLA on GPU picks autotuned (possibly non-deterministic) kernels unless told not to.
        os.environ.setdefault("XLA_FLAGS", "--xla_gpu_deterministic_ops=true")
    _STATE.update(deterministic=deterministic, threads=threads, xla=xla or backend() == "jax")
    return settings()


def _select_device(gpu: bool) -> None:
    """Hide the GPUs (``gpu`` False) or check that there is one (True); before the
    backend computes anything (JAX fixes its platforms at its first computation)."""
    if not gpu:
        if backend() == "tensorflow":
            import tensorflow as tf

            tf.config.set_visible_devices([], "GPU")
        elif backend() == "jax":
            import jax

            jax.config.update("jax_platforms", "cpu")
        return
    if not any(name != "CPU" and not name.startswith("cpu:") for name in devices()):
        hint = ("KERAS_BACKEND=jax with a CUDA build of JAX (pip install 'jax[cuda12]')" if backend() == "jax"
                else "TensorFlow built with CUDA, or KERAS_BACKEND=jax with 'jax[cuda12]'")
        raise DeviceError(f"training.gpu: true, but the {backend()} backend sees no GPU (devices: "
                          f"{', '.join(devices())}); expected a visible GPU: {hint}, a driver that sees the "
                          "card (nvidia-smi), or training.gpu: false to train on the CPU")


#: Environment variables that choose the compiled kernels, and so can change a run's
#: last bits: oneDNN's kernels in TensorFlow's CPU ops (initstudy sets it to "0" unless
#: the environment says otherwise) and XLA's compiler options.
KERNEL_ENV = ("TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS")


def settings() -> dict[str, object]:
    return {"keras_backend": backend(), **_STATE}


def kernel_env() -> dict[str, str | None]:
    """The values of :data:`KERNEL_ENV` in this process (None where unset), for the record."""
    return {name: os.environ.get(name) for name in KERNEL_ENV}


def devices() -> list[str]:
    """The accelerators (or CPU) the backend computes on, as readable names."""
    if backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.get_visible_devices("GPU")  # not the hidden ones (training.gpu: false)
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return names or ["CPU"]
    if backend() == "jax":
        import jax

        return [f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices()]
    return [backend()]


def value_and_grad(fn):
    """``fn(params, *args) -> (loss, aux)`` becomes ``-> ((loss, aux), grads wrt params)``."""
    if backend() == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)
    if backend() == "tensorflow":
        import tensorflow as tf

        def wrapped(params, *args):
            with tf.GradientTape() as tape:
                tape.watch(params)
                loss, aux = fn(params, *args)
            return (loss, aux), tape.gradient(loss, params)

        return wrapped
    raise RuntimeError(
        f"KERAS_BACKEND={backend()!r} is not supported by the packed trainer; "
        "use 'tensorflow' (default) or 'jax'"
    )


def compile_step(fn, donate: tuple[int, ...] = ()):
    """Compile a step function: ``jax.jit``, or ``tf.function`` (with XLA when configured).

    ``donate``: positions of arguments whose buffers the compiled function may reuse for
    its outputs (JAX's ``donate_argnums``); the caller must not read them afterwards. A
    training step that returns the new state in place of the old one then updates it in
    place instead of copying it in and out on every call (for a large pack, gigabytes a
    call). TensorFlow's state lives in variables, updated in place anyway.
    """
    if backend() == "jax":
        import jax

        return jax.jit(fn, donate_argnums=donate)
    if backend() == "tensorflow":
        import tensorflow as tf

        # autograph off: the compiled functions hold no Python control flow on tensors (loops
        # are explicit, :func:`while_loop`), and converting them cost seconds per job.
        return tf.function(fn, jit_compile=bool(_STATE["xla"]), reduce_retracing=True, autograph=False)
    raise RuntimeError(f"KERAS_BACKEND={backend()!r} is not supported by the packed trainer")


def while_loop(cond, body, carry):
    """``while cond(carry): carry = body(carry)`` inside a compiled function, as one
    loop of the compiled program (no trip back to Python between iterations).

    ``carry`` is a tuple (of tensors, or lists of them); ``body`` returns one of the
    same structure, shapes and dtypes, ``cond`` a scalar boolean. JAX:
    ``jax.lax.while_loop``. TensorFlow: ``tf.while_loop`` with one iteration at a
    time (``parallel_iterations=1``), so a body that updates variables in place sees
    the previous iteration's updates; under XLA it becomes an XLA while loop.
    """
    if backend() == "jax":
        import jax

        return jax.lax.while_loop(cond, lambda c: tuple(body(c)), tuple(carry))
    if backend() == "tensorflow":
        import tensorflow as tf

        (out,) = tf.while_loop(lambda c: cond(c), lambda c: (tuple(body(c)),), (tuple(carry),),
                               parallel_iterations=1)
        return out
    raise RuntimeError(f"KERAS_BACKEND={backend()!r} is not supported by the packed trainer")


def barrier(values):
    """``values`` (a tuple or list of tensors, possibly nested) unchanged, as a fence the
    XLA compiler neither fuses nor moves computation across: it keeps a compiled
    loop's bookkeeping (slicing its inputs, writing its outputs) out of the fusions
    of the step it runs, which then compiles closer to the step alone (XLA may still
    build a loop body differently: other threading, other fusions inside the step).
    Without XLA (a plain TensorFlow graph) nothing is fused: a no-op.
    """
    if backend() == "jax":
        import jax

        return jax.lax.optimization_barrier(values)
    if backend() == "tensorflow" and _STATE["xla"]:
        import tensorflow as tf
        from tensorflow.compiler.tf2xla.python import xla as tf_xla

        flat = tf.nest.flatten(values)
        return tf.nest.pack_sequence_as(values, list(tf_xla.optimization_barrier(*flat)))
    return values
