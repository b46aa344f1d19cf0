#!/usr/bin/env bash
# The one-GPU benchmark (benchmarks/gpu.py) as a device run: ≤ 8 minutes on one H100/H200.
# Figures go to $OUT/gpu.json when $OUT is set (else ./gpu.json), after every part; extra
# options pass through, e.g. `benchmarks/gpu.sh --device cpu --tiny` for the CPU rehearsal.
#
# Python: the project's .venv when there is one, else python3 (a GPU image with torch). Wheels
# in .whl/ are installed first, for an image that lacks the spec's pydantic, e.g. from the repo
# root: pip download --no-deps --only-binary=:all: --python-version 3.12 --platform
# manylinux2014_x86_64 -d .whl pydantic==2.14.3 pydantic_core==2.50.4 annotated-types==0.8.0
# typing-inspection==0.4.5. Without Ray there, the Ray Train part reports why it did not run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/s3gan-site .whl/*.whl
    export PYTHONPATH="/tmp/s3gan-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
OUT_DIR="${OUT:-.}"
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
exec timeout 480 "$PY" -m benchmarks gpu --out "$OUT_DIR/gpu.json" "$@"
