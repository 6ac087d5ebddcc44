#!/usr/bin/env bash
# The throughput benchmark on a GPU, with JAX, in one command (a few minutes on one
# modern GPU): the README table for 32-member packs (depths 2, 10, 50 on MNIST-1D;
# depth 50 width 256 on MNIST-sized input, 8 steps timed) plus depth 50 width 128 on
# MNIST-1D with 128 members, the compiled epoch loop beside the host loop of single
# steps. The peak column is a compiled 8192x8192 float32 matmul at JAX's default
# precision, which on Ampere and later GPUs runs in TF32: "of peak" is the share of
# that measured TF32 rate the trainer reaches (an estimate of the GPU's TF32 peak,
# not its datasheet figure).
#
#   bash bench/gpu.sh            # with the project's venv, where it has JAX with CUDA
#
# On a bare GPU machine (JAX with CUDA, no Keras): fetch the missing packages here
# first with `bash bench/gpu_wheels.sh`, carry .whl/ there, and run this script; it
# installs them into /tmp/site, runs the package from src/, and, where $OUT is set,
# also writes the table to $OUT/gpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv/bin/activate ]; then source .venv/bin/activate; fi
if [ -d .whl ] && ! python3 -c "import keras" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
if [ -n "${OUT:-}" ]; then exec > >(tee "$OUT/gpu.txt") 2>&1; fi
python3 - <<'PY'
import jax
gpus = [d for d in jax.devices() if d.platform == "gpu"]
if not gpus:
    raise SystemExit(f"bench/gpu.sh: JAX sees no GPU ({jax.devices()}); install jax[cuda12] and check the driver")
print(f"# JAX {jax.__version__} on {[d.device_kind for d in gpus]}")
PY
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/# /' || true
timeout 290 python3 bench/throughput.py --wide --steps 8 --peak-size 8192 "$@"
