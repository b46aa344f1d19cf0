#!/usr/bin/env bash
# Creates .venv-xla: torch 2.9.0 with torch-xla 2.9.0 (PJRT; runs on the CPU with PJRT_DEVICE=CPU
# and on TPU hosts with PJRT_DEVICE=TPU) plus this project, editable. About 7 GB and two minutes.
# torch stays at 2.9.0 because every install goes through constraints/xla.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV_XLA:-.venv-xla}
PYTHON=${PYTHON:-python3}

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c constraints/xla.txt torch torch-xla torchvision
"$VENV/bin/python" -m pip install -q -c constraints/xla.txt -e '.[train,dev]'
"$VENV/bin/python" - <<'PY'
import torch
import torch_xla

assert torch.__version__.startswith("2.9.0"), f"torch is {torch.__version__}, expected 2.9.0"
print(f"torch {torch.__version__}, torch_xla {torch_xla.__version__}")
PY
