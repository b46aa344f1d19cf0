"""One GAN training iteration: ``d_steps`` discriminator steps, then one generator step, each
with Adam(β1, β2) and its own learning rate (paper section 4: 2 D steps per G step, lr 2e-4 / 5e-5,
β1 = 0, β2 = 0.999).

The method object (``s3gan.methods``) decides every label and every loss term; this module only
draws latents, runs the networks, accumulates gradients over micro-batches and applies the
optimisers. It is written to be reused as is by a data-parallel trainer: the networks may be
wrapped (e.g. SyncBatchNorm), and ``sync_gradients`` is called on each network after its
micro-batches and before its optimiser step (a no-op in one process, an all-reduce across
replicas otherwise).

``training.precision`` and ``training.fusedAdam`` must be decided for the device already
(:func:`s3gan.train.precision.for_device`, as the trainer does); with ``training.compile`` the
network passes run compiled (:mod:`s3gan.train.compiled`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import nn

from s3gan.augment import diff_augment
from s3gan.data.batch import Batch
from s3gan.methods import GanMethod
from s3gan.nn.ranges import from_uint8, from_unit_range, to_unit_range
from s3gan.spec.model import Training
from s3gan.train.compiled import DEFAULT_BACKEND, compiled
from s3gan.train.orthogonal import orthogonal_penalty
from s3gan.train.precision import autocast

GradientSync = Callable[[nn.Module], None]


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite; the step that produced it was not applied."""

    def __init__(self, step: int, network: str, terms: dict[str, float]):
        bad = {name: value for name, value in terms.items() if not math.isfinite(value)}
        self.step, self.network, self.bad_terms = step, network, bad
        named = ", ".join(f"{name} = {value}" for name, value in bad.items())
        super().__init__(
            f"G step {step}: non-finite {network} loss ({named}); "
            "training stopped before applying it, the last checkpoint is the last good state"
        )
        self._arguments = (step, network, terms)

    def __reduce__(self):
        # Crosses process boundaries (Ray re-raises it in the driver) with its own message.
        return type(self), self._arguments


def no_gradient_sync(network: nn.Module) -> None:
    """One process: gradients are already complete."""
    return None


class GanStep:
    """The optimisers and the update rule for one (G, D) pair."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        method: GanMethod,
        training: Training,
        output_range: str,
        z_dim: int,
        micro_batch: int,
        accumulation: int,
        rng: torch.Generator,
        sync_gradients: GradientSync = no_gradient_sync,
        compile_backend: str = DEFAULT_BACKEND,
    ):
        if training.precision is None or training.fused_adam is None:
            raise ValueError("GanStep needs training.precision and training.fusedAdam decided "
                             "for the device (s3gan.train.precision.for_device)")
        self.generator, self.discriminator, self.method = generator, discriminator, method
        self.training, self.output_range, self.z_dim, self.rng = training, output_range, z_dim, rng
        self.micro_batch, self.accumulation = micro_batch, accumulation
        self.sync_gradients = sync_gradients
        betas = (training.adam_beta1, training.adam_beta2)
        # Unfused, torch's default (for-each) kernels: the reference the CPU tests pin.
        fused = {"fused": True} if training.fused_adam else {}
        self.g_optimizer = torch.optim.Adam(
            generator.parameters(), lr=training.g_learning_rate, betas=betas, **fused
        )
        self.d_optimizer = torch.optim.Adam(
            discriminator.parameters(), lr=training.d_learning_rate, betas=betas, **fused
        )
        self.device = rng.device
        self.memory_format = (
            torch.channels_last if training.channels_last else torch.contiguous_format
        )
        self.generate, self.features = generator, discriminator.features
        if training.compile:
            self.generate = compiled(generator, compile_backend)
            self.features = compiled(discriminator.features, compile_backend)

    def _autocast(self):
        return autocast(self.training.precision, self.device)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """D~ on images in G's output range, through DiffAugment (applied in [-1, 1]) when the
        spec asks for it: the same policy for reals and fakes, differentiable for G."""
        policy = self.training.diff_augment
        if policy:
            unit = diff_augment(to_unit_range(x, self.output_range), policy, self.rng)
            x = from_unit_range(unit, self.output_range)
        return self.features(x.contiguous(memory_format=self.memory_format))

    def _fakes(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = self.method.sample_fake_labels(n, self.rng)
        z = torch.randn(n, self.z_dim, generator=self.rng, device=self.device)
        return self.generate(z, labels), labels

    def discriminator_step(self, step: int, micro_batches: list[Batch]) -> dict[str, float]:
        """One D update over the micro-batches (gradients accumulated, then averaged)."""
        self.d_optimizer.zero_grad(set_to_none=True)
        totals: dict[str, torch.Tensor] = {}
        for batch in micro_batches:
            batch = batch.to(self.device)
            reals = from_uint8(batch.images, self.output_range)
            with self._autocast():
                with torch.no_grad():
                    fakes, fake_labels = self._fakes(len(batch))
                losses = self.method.discriminator_loss(
                    self.discriminator, self.critic, reals, batch, fakes, fake_labels
                )
            (losses.total / len(micro_batches)).backward()
            _accumulate(totals, losses.terms, len(micro_batches))
        terms = _checked(totals, step, "discriminator")
        self.sync_gradients(self.discriminator)
        self.d_optimizer.step()
        return terms

    def generator_step(self, step: int) -> dict[str, float]:
        """One G update over ``accumulation`` micro-batches of fakes, D's weights frozen (its
        gradients are neither computed nor disturbed)."""
        self.g_optimizer.zero_grad(set_to_none=True)
        self.discriminator.requires_grad_(False)
        try:
            totals: dict[str, torch.Tensor] = {}
            for _ in range(self.accumulation):
                with self._autocast():
                    fakes, fake_labels = self._fakes(self.micro_batch)
                    losses = self.method.generator_loss(
                        self.discriminator, self.critic, fakes, fake_labels
                    )
                (losses.total / self.accumulation).backward()
                _accumulate(totals, losses.terms, self.accumulation)
            beta = self.training.orthogonal_regularization
            if beta > 0:
                penalty = orthogonal_penalty(self.generator, beta)
                penalty.backward()
                totals["g_orthogonal"] = penalty.detach()
        finally:
            self.discriminator.requires_grad_(True)
        terms = _checked(totals, step, "generator")
        self.sync_gradients(self.generator)
        self.g_optimizer.step()
        return terms

    def __call__(self, step: int, batches: Iterator[Batch]) -> dict[str, float]:
        """G step ``step``: ``d_steps`` D updates, each on ``accumulation`` micro-batches of
        reals from ``batches``, then one G update. Returns the loss terms, the D terms averaged
        over the D updates."""
        d_steps = self.training.d_steps
        d_terms: dict[str, float] = {}
        for _ in range(d_steps):
            micro_batches = [next(batches) for _ in range(self.accumulation)]
            for name, value in self.discriminator_step(step, micro_batches).items():
                d_terms[name] = d_terms.get(name, 0.0) + value / d_steps
        return d_terms | self.generator_step(step)

    @property
    def batches_per_step(self) -> int:
        """Micro-batches of reals one call consumes."""
        return self.training.d_steps * self.accumulation


def _accumulate(totals: dict[str, torch.Tensor], terms: dict[str, torch.Tensor], n: int) -> None:
    for name, value in terms.items():
        value = value.detach().float() / n
        totals[name] = totals[name] + value if name in totals else value


def _checked(totals: dict[str, torch.Tensor], step: int, network: str) -> dict[str, float]:
    """The terms as floats (one device sync); raises before any update if one is not finite."""
    names = list(totals)
    values = torch.stack([totals[n] for n in names]).tolist() if names else []
    terms = dict(zip(names, values, strict=True))
    if not all(math.isfinite(v) for v in values):
        raise NonFiniteLossError(step, network, terms)
    return terms
