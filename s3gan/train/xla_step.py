"""The GAN step (``s3gan.train.step``) under torch-xla: TPU chips, or XLA's CPU device for tests.

XLA records operations lazily and compiles each distinct graph once, so the step keeps every
shape static (fixed micro-batches, the same D/G schedule each iteration) and cuts the graph once
per network update: ``torch_xla.sync()`` runs right after each optimiser step, so a D update and
a G update are one compiled program each, reused from the second iteration on.

- Initialisation and random draws are the eager trainer's: the networks are built on the CPU
  from the same seed and then moved, and the sampling stream (latents, fake labels, DiffAugment)
  stays a CPU ``torch.Generator`` whose draws are sent to the device. XLA has no device
  generator, and this keeps an XLA run's draws identical to an eager CPU run's.
- Data parallelism: each replica is one XLA device (one TPU chip). Gradients are averaged by one
  in-graph ``xm.all_reduce`` per network update; G's BatchNorm statistics span every replica
  through :mod:`s3gan.nn.cross_replica_bn` over the ``xla`` process group (BigGAN's and the
  paper's cross-replica BatchNorm on TPU pods).
- ``training.precision: bf16`` (the default for ``accelerator.kind: tpu``) runs the networks
  under ``torch.autocast("xla", bfloat16)`` (the MXU's native type; weights, optimiser state,
  spectral norm, BatchNorm statistics and losses stay float32, ``s3gan.train.precision``).
- Input: each host reads its own share, and ``MpDeviceLoader`` uploads the next micro-batches
  to the device while the current ones train.
- Checkpoints hold CPU tensors in exactly the eager trainer's format, so a run moves between
  TPU, GPU and CPU by resuming from its checkpoint store.

torch-xla is imported inside the functions: importing this module needs torch only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from s3gan.data.batch import Batch
from s3gan.methods import GanMethod
from s3gan.monitor.exporter import Exporter
from s3gan.nn.cross_replica_bn import cross_replica_batch_norms
from s3gan.spec.model import ExperimentSpec
from s3gan.train.ema import GeneratorEma
from s3gan.train.step import GanStep, no_gradient_sync
from s3gan.train.trainer import Trainer

COMPILATIONS_METRIC = "CompileTime"  # torch_xla.debug.metrics: one sample per compiled graph
EXPORTED_COMPILATIONS = "s3gan_xla_compilations_total"


def xla_device() -> torch.device:
    import torch_xla

    return torch_xla.device()


def average_gradients_in_graph(network: nn.Module) -> None:
    """Each gradient of ``network`` becomes its mean over the replicas: one all-reduce inside
    the update's XLA graph."""
    import torch_xla.core.xla_model as xm
    import torch_xla.runtime as xr

    grads = [p.grad for p in network.parameters() if p.grad is not None]
    if grads:
        xm.all_reduce(xm.REDUCE_SUM, grads, scale=1.0 / xr.world_size())


def compilations() -> int:
    """Graphs torch-xla has compiled in this process so far."""
    import torch_xla.debug.metrics as metrics

    data = metrics.metric_data(COMPILATIONS_METRIC)
    return int(data[0]) if data is not None else 0


class CompilationsExport:
    """Carries torch-xla's compilation count into ``s3gan_xla_compilations_total``; call
    :meth:`update` after each step (a count still growing after warm-up means recompiles)."""

    def __init__(self, exporter: Exporter, **labels: str):
        self.exporter, self.labels, self.exported = exporter, labels, 0

    def update(self) -> None:
        count = compilations()
        self.exporter.inc(EXPORTED_COMPILATIONS, count - self.exported, **self.labels)
        self.exported = count


def on_cpu(value: Any) -> Any:
    """``value`` (nested dicts, lists, tuples of tensors) with every tensor copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: on_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(on_cpu(v) for v in value)
    return value


def device_batches(batches: Iterable[Batch], device: torch.device) -> Iterator[Batch]:
    """``batches`` uploaded to ``device`` ahead of use by torch-xla's background loader."""
    from torch_xla.distributed.parallel_loader import MpDeviceLoader

    fields = ((b.images, b.labels, b.index, b.labelled) for b in batches)
    for images, labels, index, labelled in MpDeviceLoader(fields, device):
        yield Batch(images, labels, index, labelled)


class XlaGanStep(GanStep):
    """:class:`GanStep` with its networks on an XLA device and its sampling stream on the CPU."""

    def __init__(self, *args, device: torch.device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        for optimizer in (self.d_optimizer, self.g_optimizer):
            optimizer.register_step_post_hook(_cut_graph)
            capture_step_count(optimizer)

    def _fakes(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = self.method.sample_fake_labels(n, self.rng).to(self.device)
        z = torch.randn(n, self.z_dim, generator=self.rng, device=self.rng.device)
        return self.generator(z.to(self.device), labels), labels


def capture_step_count(optimizer: torch.optim.Optimizer) -> None:
    """Adam's step count as a device tensor (``capturable``): otherwise its bias corrections
    enter each update's graph as new constants and every step compiles anew."""
    for group in optimizer.param_groups:
        group["capturable"] = True
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            if "step" in state:
                state["step"] = state["step"].to(parameter.device)


def release_step_count(state: dict[str, Any]) -> dict[str, Any]:
    """An optimiser state dict as the eager (CPU) optimiser keeps it: not ``capturable``."""
    groups = [{**group, "capturable": False} for group in state["param_groups"]]
    return {**state, "param_groups": groups}


def _cut_graph(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    import torch_xla

    torch_xla.sync()


class XlaTrainer(Trainer):
    """The eager :class:`Trainer` on an XLA device: same initialisation, draws, state format.

    ``replica``/``replicas``: this process's XLA ordinal and the number of replicas (one per
    chip of the slice); ``batches`` are this replica's share of the reals, on the CPU.
    ``device`` is the host CPU, where the sampling streams and checkpoints live (as the eager
    trainer's ``device``); the networks train on ``xla_device``.
    """

    def __init__(self, spec: ExperimentSpec, method: GanMethod, batches: Iterable[Batch],
                 replica: int = 0, replicas: int = 1):
        device = xla_device()
        super().__init__(spec, method, device_batches(batches, device), "cpu",
                         replica=replica, replicas=replicas)
        self.xla_device = device
        # Moving to XLA makes new Parameter objects: the optimisers and EMA are built after.
        self.generator.to(device)
        self.discriminator.to(device)
        if replicas > 1:
            cross_replica_batch_norms(self.generator)
        eager = self.gan_step
        self.gan_step = XlaGanStep(
            self.generator, self.discriminator, method, eager.training, eager.output_range,
            eager.z_dim, eager.micro_batch, eager.accumulation, self.rng,
            average_gradients_in_graph if replicas > 1 else no_gradient_sync, device=device)
        if self.ema is not None:
            self.ema = GeneratorEma(self.generator, spec.training.ema)

    def train_step(self) -> dict[str, float]:
        """The eager iteration; the EMA update after it is one more graph of its own."""
        terms = super().train_step()
        if self.ema is not None:
            _cut_graph(self.gan_step.g_optimizer, (), {})
        return terms

    def evaluation_generator(self, samples: int | None = None) -> nn.Module:
        """The eager trainer's evaluation copy, made on the host CPU from the device weights:
        sample grids and FID points are rare, and their draws need a ``torch.Generator``,
        which XLA devices lack."""
        source = self.ema.module if self.ema is not None else self.generator
        on_host = SimpleNamespace(generator=copy.deepcopy(source).cpu(), ema=None,
                                  device=self.device, spec=self.spec, method=self.method)
        return Trainer.evaluation_generator(on_host, samples)

    def state_dict(self) -> dict[str, Any]:
        """The eager trainer's state, every tensor on the CPU."""
        state = on_cpu(super().state_dict())
        for part in ("g_optimizer", "d_optimizer"):
            state[part] = release_step_count(state[part])
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for optimizer in (self.gan_step.d_optimizer, self.gan_step.g_optimizer):
            capture_step_count(optimizer)
