#!/usr/bin/env bash
# The one-GPU benchmark (benchmarks/gpu.py) as a device run: ≤ 8 minutes on one H100/H200.
# Figures go to $OUT/gpu.json when $OUT is set (else ./gpu.json); extra options pass through,
# e.g. `benchmarks/gpu.sh --device cpu --tiny` for the CPU rehearsal.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT_DIR="${OUT:-.}"
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
exec timeout 480 "$PY" -m benchmarks gpu --out "$OUT_DIR/gpu.json" "$@"
