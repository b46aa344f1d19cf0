"""What ``training.precision``, ``pretraining.precision`` and ``training.fusedAdam`` mean on the
device a step runs on.

bf16 for GANs: autocast runs the convolutions and matrix products in bf16, while everything
whose rounding a GAN feels stays float32 — the weights and Adam's moments (the parameters are
float32, autocast only casts copies), spectral norm's power iteration and σ
(:mod:`s3gan.nn.spectral_norm` leaves autocast), BatchNorm statistics (torch's kernels
accumulate bf16 inputs in float32, the running statistics are float32, and the cross-replica
sums are taken in float32), and the losses (:mod:`s3gan.losses` promotes logits first).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

from s3gan.spec.model import Training

# torch.optim's fused Adam kernels exist for these device types (not for XLA).
FUSED_ADAM_DEVICES = ("cuda", "cpu", "xpu", "mps")


def for_device(training: Training, accelerator: str, device: torch.device) -> Training:
    """``training`` with ``precision`` and ``fused_adam`` decided: bf16 when the experiment asks
    for a GPU or TPU (``accelerator``) or the step runs on CUDA, else fp32; fused Adam on
    CUDA only unless the spec says otherwise."""
    precision = decided(training.precision, accelerator, device)
    fused = training.fused_adam if training.fused_adam is not None else device.type == "cuda"
    if fused and device.type not in FUSED_ADAM_DEVICES:
        raise ValueError(f"training.fusedAdam: torch has no fused Adam for {device.type} devices "
                         f"(only {', '.join(FUSED_ADAM_DEVICES)})")
    return training.model_copy(update={"precision": precision, "fused_adam": fused})


def decided(precision: str | None, accelerator: str, device: torch.device | str) -> str:
    """An unset precision: bf16 on a GPU or TPU experiment or a CUDA device, else fp32."""
    if precision is not None:
        return precision
    return "bf16" if accelerator != "cpu" or torch.device(device).type == "cuda" else "fp32"


def autocast(precision: str, device: torch.device | str) -> AbstractContextManager:
    """bf16 autocast on ``device`` for "bf16", a no-op for "fp32"."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                          enabled=precision == "bf16")


def slow_cpu_bf16(precision: str, device: torch.device | str) -> bool:
    """bf16 asked of a CPU without native bf16 (AVX512-BF16 or AMX): oneDNN emulates it, and
    that runs slower than fp32."""
    return (precision == "bf16" and torch.device(device).type == "cpu"
            and not torch.ops.mkldnn._is_mkldnn_bf16_supported())
