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
#   bash bench/gpu.sh            # from the repository root, with the project's venv
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv/bin/activate ]; then source .venv/bin/activate; fi
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3
python - <<'PY'
import jax
gpus = [d for d in jax.devices() if d.platform == "gpu"]
if not gpus:
    raise SystemExit(f"bench/gpu.sh: JAX sees no GPU ({jax.devices()}); install jax[cuda12] and check the driver")
print(f"# JAX {jax.__version__} on {[d.device_kind for d in gpus]}")
PY
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/# /' || true
exec timeout 290 python bench/throughput.py --wide --steps 8 --peak-size 8192 "$@"
