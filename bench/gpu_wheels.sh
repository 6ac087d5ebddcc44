#!/usr/bin/env bash
# Fetch, here, the Python packages bench/gpu.sh needs that a bare GPU machine lacks,
# as wheels in .whl/ (ignored by git) for its Python 3.12 on x86-64 Linux: Keras and
# its small dependencies, MNIST-1D, and the schema validators the package imports.
# The GPU machine has JAX with CUDA, NumPy, SciPy, pandas, PyYAML and scikit-learn.
# Versions are this checkout's (requirements.lock). About 3.5 MB.
#
#   bash bench/gpu_wheels.sh      # then carry .whl to the GPU machine and run bench/gpu.sh there
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(keras namex optree mnist1d jsonschema jsonschema-specifications referencing rpds-py fastjsonschema)
pins=()
for name in "${PACKAGES[@]}"; do
    pin=$(grep -i -E "^${name}==" requirements.lock || true)
    [ -n "$pin" ] || { echo "bench/gpu_wheels.sh: $name is not pinned in requirements.lock" >&2; exit 2; }
    pins+=("$pin")
done
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${pins[@]}"
ls .whl
