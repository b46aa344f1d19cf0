"""The single-process trainer (CPU or one GPU): networks, the iteration, EMA, the RNG streams,
and the complete training state for checkpoints.

Every random draw of training comes from seeded streams that are saved with the state (torch's
global CPU generator, which initialises the networks, and one ``torch.Generator`` on the device
for latents, fake labels and DiffAugment), and the data reader is resumed at the recorded number
of micro-batches consumed, so save → restore → continue equals an uninterrupted run bit for bit.

Checkpoints move between devices: every tensor is loaded onto the CPU and then into the
networks and optimisers wherever they live. A sampling stream saved on another kind of device
(a CUDA generator's Philox state cannot seed a CPU generator, nor the reverse) is not restored
but re-seeded from the seed, the replica and the G step, so the continuation is deterministic,
though not the one the other device would have drawn.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from s3gan.data.batch import Batch
from s3gan.methods import GanMethod
from s3gan.nn.biggan import Discriminator, Generator
from s3gan.spec.model import ExperimentSpec
from s3gan.train.compiled import DEFAULT_BACKEND
from s3gan.train.ema import GeneratorEma
from s3gan.train.precision import for_device
from s3gan.train.standing_stats import standing_statistics
from s3gan.train.step import GanStep, GradientSync, no_gradient_sync

# Offsets keep the streams apart while one seed (spec.seeds.gan) fixes them all.
_SAMPLING_STREAM = 1
_EVALUATION_STREAM = 2
_REPLICA_STRIDE = 1_000
_RESEED_STRIDE = 1_000_003  # a sampling stream re-seeded after a device change, per G step


class Trainer:
    """Trains G and D of ``spec`` with ``method`` on ``batches`` (micro-batches of reals)."""

    def __init__(
        self,
        spec: ExperimentSpec,
        method: GanMethod,
        batches: Iterator[Batch],
        device: torch.device | str,
        sync_gradients: GradientSync = no_gradient_sync,
        replica: int = 0,
        replicas: int = 1,
        compile_backend: str = DEFAULT_BACKEND,
    ):
        self.spec, self.method, self.batches = spec, method, batches
        self.device = torch.device(device)
        self.replica = replica
        if self.device.type == "cuda":
            # Fixed shapes every step: let cuDNN pick its fastest convolution algorithms.
            torch.backends.cudnn.benchmark = True
        seed = spec.seeds.gan
        torch.manual_seed(seed)
        memory_format = (
            torch.channels_last if spec.training.channels_last else torch.contiguous_format
        )
        self.generator = Generator.from_spec(spec, method.num_classes).to(
            self.device, memory_format=memory_format
        )
        self.discriminator = Discriminator.from_spec(spec, method.num_classes, method.heads).to(
            self.device, memory_format=memory_format
        )
        # Each data-parallel replica draws its own latents and fake labels.
        self.rng = torch.Generator(self.device).manual_seed(self._sampling_seed())
        # Global batch = micro-batch × accumulation × replicas (one process: every share).
        self.gan_step = GanStep(
            self.generator,
            self.discriminator,
            method,
            for_device(spec.training, spec.resources.accelerator.kind, self.device),
            spec.model.output_range,
            spec.model.z_dim,
            micro_batch=spec.micro_batch,
            accumulation=spec.training.global_batch // (spec.micro_batch * replicas),
            rng=self.rng,
            sync_gradients=sync_gradients,
            compile_backend=compile_backend,
        )
        ema = spec.training.ema
        self.ema = GeneratorEma(self.generator, ema) if ema.enabled else None
        self.step = 0
        self.batches_consumed = 0
        self.generator.train()
        self.discriminator.train()

    def train_step(self) -> dict[str, float]:
        """One G step with its D steps; returns the loss terms by name."""
        step = self.step + 1
        terms = self.gan_step(step, self.batches)
        self.step = step
        self.batches_consumed += self.gan_step.batches_per_step
        if self.ema is not None:
            self.ema.update(self.generator, step)
        return terms

    @property
    def images_per_step(self) -> int:
        """Real images one G step consumes."""
        return self.gan_step.batches_per_step * self.gan_step.micro_batch

    def evaluation_generator(self, samples: int | None = None) -> nn.Module:
        """A copy of the generator to sample from: the EMA one when enabled, with standing
        BatchNorm statistics over ``evaluation.standingStatsSamples`` samples. Training state
        and its RNG streams are left untouched."""
        source = self.ema.module if self.ema is not None else self.generator
        evaluated = copy.deepcopy(source)
        rng = torch.Generator(self.device).manual_seed(self.spec.seeds.gan + _EVALUATION_STREAM)

        def sample_inputs(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            z = torch.randn(n, self.spec.model.z_dim, generator=g, device=self.device)
            return z, self.method.sample_fake_labels(n, g)

        standing_statistics(
            evaluated,
            sample_inputs,
            samples or self.spec.evaluation.standing_stats_samples,
            self.spec.micro_batch,
            rng,
        )
        return evaluated

    def state_dict(self) -> dict[str, Any]:
        """Everything a bit-identical continuation needs, one entry per checkpoint file."""
        rng = {"torch_cpu": torch.get_rng_state(), "sampling": self.rng.get_state()}
        if self.device.type == "cuda":
            rng["torch_cuda"] = torch.cuda.get_rng_state(self.device)
        state = {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.gan_step.g_optimizer.state_dict(),
            "d_optimizer": self.gan_step.d_optimizer.state_dict(),
            "rng": rng,
            "progress": {"step": self.step, "batches_consumed": self.batches_consumed},
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the data iterator must already start at
        ``state["progress"]["batches_consumed"]``."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(
                f"training state has parts {sorted(state)}, this trainer needs {sorted(expected)}"
                " (was EMA switched on or off since the checkpoint?)"
            )
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.gan_step.g_optimizer.load_state_dict(state["g_optimizer"])
        self.gan_step.d_optimizer.load_state_dict(state["d_optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        torch.set_rng_state(state["rng"]["torch_cpu"])
        if "torch_cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["torch_cuda"], self.device)
        self.step = int(state["progress"]["step"])
        self.batches_consumed = int(state["progress"]["batches_consumed"])
        self.restore_sampling_stream(state["rng"]["sampling"])

    def restore_sampling_stream(self, saved: torch.Tensor) -> None:
        """The sampling stream from its saved state, or, when it was saved by a generator of
        another device type (the states differ in size), re-seeded for the current step."""
        if saved.numel() == self.rng.get_state().numel():
            self.rng.set_state(saved)
        else:
            self.rng.manual_seed(self._sampling_seed() + _RESEED_STRIDE * self.step)

    def _sampling_seed(self) -> int:
        return self.spec.seeds.gan + _SAMPLING_STREAM + _REPLICA_STRIDE * self.replica
