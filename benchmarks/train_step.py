"""G+D iteration throughput (2 D steps + 1 G step) of the trainer's step, against a baseline.

The target is "at least as fast as the reference PyTorch BigGAN (ajbrock/BigGAN-PyTorch) at the
same config". That code is not available offline, so the baseline measured here, in the same
run and on the same networks, is a straightforward eager step written the way that reference
writes it: G under no_grad in the D steps, D's weights frozen in the G step, and separate D passes
for reals and fakes, with no channels_last, no reduced precision and no inference-mode tricks.
Ours is ``s3gan.train.step.GanStep`` with the BIGGAN method (one concatenated real+fake pass).

    python -m benchmarks train_step [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from s3gan.data.batch import Batch
from s3gan.methods import build_method
from s3gan.nn.biggan import Discriminator, Generator
from s3gan.nn.ranges import from_uint8
from s3gan.spec import parse_experiment
from s3gan.train.precision import for_device
from s3gan.train.step import GanStep


@dataclass(frozen=True)
class Config:
    resolution: int
    ch: int
    num_classes: int
    batch: int
    timed_iterations: int


CONFIGS = (Config(32, 64, 10, 16, 3), Config(128, 96, 1000, 2, 3))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads{gpu}")


def biggan_spec(size, batch: int, **training):
    """BigGAN's experiment at a size (anything with resolution, ch and num_classes)."""
    return parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "benchmark"},
        "spec": {"method": "biggan",
                 "dataset": {"uri": "unused", "resolution": size.resolution,
                             "numClasses": size.num_classes},
                 "model": {"ch": size.ch},
                 "training": {"globalBatch": batch, **training}},
    }).spec


def _batches(config: Config, device: torch.device):
    g = torch.Generator().manual_seed(0)
    shape = (config.batch, 3, config.resolution, config.resolution)
    batch = Batch(torch.randint(0, 256, shape, generator=g, dtype=torch.uint8),
                  torch.randint(0, config.num_classes, (config.batch,), generator=g),
                  torch.arange(config.batch), torch.ones(config.batch, dtype=torch.bool))
    batch = batch.to(device)
    while True:
        yield batch


class PlainStep:
    """The baseline: the eager update as the reference BigGAN-PyTorch writes it."""

    def __init__(self, generator, discriminator, spec, device):
        t = spec.training
        betas = (t.adam_beta1, t.adam_beta2)
        self.g, self.d, self.spec, self.device = generator, discriminator, spec, device
        self.g_opt = torch.optim.Adam(generator.parameters(), lr=t.g_learning_rate, betas=betas)
        self.d_opt = torch.optim.Adam(discriminator.parameters(), lr=t.d_learning_rate,
                                      betas=betas)

    def _latents(self, n):
        z = torch.randn(n, self.spec.model.z_dim, device=self.device)
        y = torch.randint(0, self.spec.dataset.num_classes, (n,), device=self.device)
        return z, y

    def __call__(self, step, batches):
        for _ in range(self.spec.training.d_steps):
            batch = next(batches)
            reals = from_uint8(batch.images, self.spec.model.output_range)
            self.d_opt.zero_grad(set_to_none=True)
            with torch.no_grad():
                z, y = self._latents(len(batch))
                fakes = self.g(z, y)
            loss = (F.relu(1 - self.d(reals, batch.labels)).mean()
                    + F.relu(1 + self.d(fakes, y)).mean())
            loss.backward()
            self.d_opt.step()
        self.d.requires_grad_(False)
        self.g_opt.zero_grad(set_to_none=True)
        z, y = self._latents(self.spec.micro_batch)
        (-self.d(self.g(z, y), y).mean()).backward()
        self.g_opt.step()
        self.d.requires_grad_(True)


def _seconds(step, batches, iterations: int, device: torch.device) -> list[float]:
    times = []
    for i in range(iterations):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        step(i + 1, batches)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return times


def measure(config: Config, device: torch.device) -> None:
    spec = biggan_spec(config, config.batch, dSteps=2)
    method = build_method(spec)
    torch.manual_seed(0)
    generator = Generator.from_spec(spec, method.num_classes).to(device)
    discriminator = Discriminator.from_spec(spec, method.num_classes, method.heads).to(device)
    rng = torch.Generator(device).manual_seed(0)
    training = for_device(spec.training.model_copy(update={"precision": "fp32"}),
                          "cpu", device)
    ours = GanStep(generator, discriminator, method, training, spec.model.output_range,
                   spec.model.z_dim, micro_batch=config.batch, accumulation=1, rng=rng)
    plain = PlainStep(copy.deepcopy(generator), copy.deepcopy(discriminator), spec, device)
    batches = _batches(config, device)
    images = spec.training.d_steps * config.batch  # reals per G+D iteration
    for step in (ours, plain):  # warm-up: allocator, autotuning, first-call costs
        _seconds(step, batches, 1, device)
    # Interleaved so that drift in machine load hits both alike.
    ours_s, plain_s = [], []
    for _ in range(config.timed_iterations):
        ours_s += _seconds(ours, batches, 1, device)
        plain_s += _seconds(plain, batches, 1, device)
    ours_t, plain_t = statistics.median(ours_s), statistics.median(plain_s)
    print(f"{config.resolution}×{config.resolution}, ch {config.ch}, {config.num_classes} "
          f"classes, batch {config.batch} on {device}: "
          f"ours {images / ours_t:.2f} img/s ({ours_t * 1e3:.0f} ms/iteration), "
          f"plain eager baseline {images / plain_t:.2f} img/s ({plain_t * 1e3:.0f} ms); "
          f"speed ratio ours/baseline {plain_t / ours_t:.2f}× "
          f"(median of {config.timed_iterations})", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks train_step")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv or [])
    device = torch.device(args.device)
    print(f"machine: {machine()}")
    print("baseline: a plain eager G+D iteration written like ajbrock/BigGAN-PyTorch (not that "
          "code itself, which cannot be fetched here): separate real and fake D passes, fp32, "
          "no channels_last; images/s counts real images (2 D steps × batch)")
    for config in CONFIGS:
        measure(config, device)


if __name__ == "__main__":
    main(sys.argv[1:])
