"""bf16 for GANs on the CPU: what the defaults resolve to per device, bf16 losses tracking fp32's,
float32 where a GAN needs it (Adam's moments, spectral norm, BatchNorm statistics), fused Adam."""

from __future__ import annotations

import pytest
import torch

from s3gan.methods import build_method
from s3gan.nn.spectral_norm import SpectralNorm
from s3gan.train.precision import autocast, decided, for_device, slow_cpu_bf16
from s3gan.train.trainer import Trainer

STEPS = 6  # tiny GANs at batch 4 diverge chaotically later, whatever the precision
TOLERANCE = 0.05  # absolute, per loss term and step; measured max 0.037 (g_adversarial, step 6)


def _trainer(spec, real_batches) -> Trainer:
    return Trainer(spec, build_method(spec), real_batches(), "cpu")


@pytest.mark.parametrize(("kind", "device", "precision", "fused"), [
    ("cpu", "cpu", "fp32", False),
    ("cpu", "cuda", "bf16", True),
    ("gpu", "cuda:0", "bf16", True),
    ("tpu", "cpu", "bf16", False),  # an XLA trainer keeps its host state on the CPU
])
def test_defaults_per_accelerator(spec, kind, device, precision, fused):
    training = for_device(spec.training, kind, torch.device(device))
    assert (training.precision, training.fused_adam) == (precision, fused)


def test_what_the_spec_says_wins_and_a_fused_adam_without_a_kernel_is_named(tiny_spec):
    training = for_device(tiny_spec(precision="fp32", fusedAdam=True).training, "gpu",
                          torch.device("cpu"))
    assert (training.precision, training.fused_adam) == ("fp32", True)
    with pytest.raises(ValueError, match="training.fusedAdam: torch has no fused Adam for xla"):
        for_device(tiny_spec(fusedAdam=True).training, "tpu", torch.device("xla"))


def test_bf16_losses_track_fp32_within_the_tolerance(tiny_spec, real_batches):
    fp32, bf16 = (_trainer(tiny_spec(precision=p), real_batches) for p in ("fp32", "bf16"))
    assert fp32.gan_step.training.precision == "fp32"
    largest = 0.0
    for _ in range(STEPS):
        a, b = fp32.train_step(), bf16.train_step()
        assert a.keys() == b.keys()
        gaps = {name: abs(a[name] - b[name]) for name in a}
        assert max(gaps.values()) <= TOLERANCE, gaps
        largest = max(largest, *gaps.values())
    assert largest > 1e-4  # bf16 really ran: it is not fp32 bit for bit


def test_bf16_keeps_weights_adam_spectral_norm_and_batchnorm_statistics_in_float32(
        tiny_spec, real_batches):
    trainer = _trainer(tiny_spec(precision="bf16"), real_batches)
    trainer.train_step()
    for network in (trainer.generator, trainer.discriminator):
        assert {t.dtype for t in network.state_dict().values() if t.is_floating_point()} == {
            torch.float32}
    for optimizer in (trainer.gan_step.g_optimizer, trainer.gan_step.d_optimizer):
        moments = [s[k] for s in optimizer.state.values() for k in ("exp_avg", "exp_avg_sq")]
        assert moments and {m.dtype for m in moments} == {torch.float32}
    norms = [m for m in trainer.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.running_var.dtype == torch.float32 for m in norms)


def test_spectral_norms_power_iteration_runs_outside_autocast(tiny_spec, real_batches,
                                                              monkeypatch):
    seen = []
    power_method = SpectralNorm._power_method

    def recording(self, weight_mat, n_power_iterations):
        seen.append((torch.is_autocast_enabled("cpu"), weight_mat.dtype))
        return power_method(self, weight_mat, n_power_iterations)

    monkeypatch.setattr(SpectralNorm, "_power_method", recording)
    _trainer(tiny_spec(precision="bf16"), real_batches).train_step()
    assert seen and set(seen) == {(False, torch.float32)}


def test_fused_adam_trains_like_the_for_each_kernel(tiny_spec, real_batches):
    fused, plain = (_trainer(tiny_spec(fusedAdam=f), real_batches) for f in (True, False))
    assert fused.gan_step.d_optimizer.param_groups[0]["fused"] is True
    assert not plain.gan_step.d_optimizer.param_groups[0]["fused"]
    initial = torch.cat([p.detach().flatten() for p in plain.generator.parameters()])
    for _ in range(2):
        a, b = fused.train_step(), plain.train_step()
        assert a == pytest.approx(b, abs=1e-4)
    theirs, ours = (torch.cat([p.detach().flatten() for p in t.generator.parameters()])
                    for t in (plain, fused))
    # Rounding differences only: a small fraction of what the two updates moved G.
    assert (ours - theirs).norm() < 0.02 * (theirs - initial).norm()


def test_precision_helpers_take_device_names_as_ray_train_gives_them():
    assert decided(None, "cpu", "cpu") == "fp32" and decided(None, "gpu", "cpu") == "bf16"
    assert decided("bf16", "cpu", "cpu") == "bf16"
    with autocast("bf16", "cpu"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32
    assert slow_cpu_bf16("bf16", "cpu") == (not torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert not slow_cpu_bf16("fp32", "cpu")
