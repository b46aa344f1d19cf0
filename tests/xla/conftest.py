"""The XLA tests run on XLA's CPU device unless told otherwise (PJRT_DEVICE=TPU on a TPU host).
They need torch-xla, which lives in .venv-xla (scripts/xla-env.sh); elsewhere each module skips."""

from __future__ import annotations

import os

os.environ.setdefault("PJRT_DEVICE", "CPU")
# The tests check numbers and graph counts, not speed: XLA's CPU backend compiles the tiny
# networks' updates several times faster without LLVM optimisation.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
