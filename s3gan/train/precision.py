"""What ``training.precision`` and ``training.fusedAdam`` mean on the device a step runs on.

bf16 for GANs: autocast runs the convolutions and matrix products in bf16, while everything
whose rounding a GAN feels stays float32 — the weights and Adam's moments (the parameters are
float32, autocast only casts copies), spectral norm's power iteration and σ
(:mod:`s3gan.nn.spectral_norm` leaves autocast), BatchNorm statistics (torch's kernels
accumulate bf16 inputs in float32, the running statistics are float32, and the cross-replica
sums are taken in float32), and the losses (:mod:`s3gan.losses` promotes logits first).
"""

from __future__ import annotations

import torch

from s3gan.spec.model import Training

# torch.optim's fused Adam kernels exist for these device types (not for XLA).
FUSED_ADAM_DEVICES = ("cuda", "cpu", "xpu", "mps")


def for_device(training: Training, accelerator: str, device: torch.device) -> Training:
    """``training`` with ``precision`` and ``fused_adam`` decided: bf16 when the experiment asks
    for a GPU or TPU (``accelerator``) or the step runs on CUDA, else fp32; fused Adam on
    CUDA only unless the spec says otherwise."""
    precision = training.precision
    if precision is None:
        precision = "bf16" if accelerator != "cpu" or device.type == "cuda" else "fp32"
    fused = training.fused_adam if training.fused_adam is not None else device.type == "cuda"
    if fused and device.type not in FUSED_ADAM_DEVICES:
        raise ValueError(f"training.fusedAdam: torch has no fused Adam for {device.type} devices "
                         f"(only {', '.join(FUSED_ADAM_DEVICES)})")
    return training.model_copy(update={"precision": precision, "fused_adam": fused})
