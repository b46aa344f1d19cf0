"""BigGAN-128 training on one GPU: images/s and MFU per precision and compilation, peak memory,
the largest batch that fits, bf16-vs-fp32 loss parity, a checkpoint moved GPU → CPU → GPU,
and one Ray Train step on an NCCL worker. Writes every figure to a JSON file.

    python -m benchmarks gpu [--out gpu.json]          # one H100/H200: ≤ 8 minutes
    python -m benchmarks gpu --device cpu --tiny       # the same code on tiny networks, seconds

Rows: fp32 eager, bf16 eager, bf16 compiled, each at 1 and 2 D steps per G step, on
``s3gan.train.step.GanStep`` with the BIGGAN method (reals and fakes in one D pass), per-GPU
batch 256, synthetic uint8 reals already on the device. images/s counts real images, as the
trainer's log does (d_steps × batch per iteration). FLOPs are counted, not estimated:
``torch.utils.flop_counter.FlopCounterMode`` over one D update and one G update of the real
networks (every convolution and matrix product executed, forward and backward, 2 per
multiply-add; D's weight gradients are not computed in the G update and not counted), so an
iteration is ``d_steps × D update + G update``. MFU = counted FLOPs per second / the device's
dense bf16 peak, for every row (fp32 rows included, so rows compare). Where the bf16 compiled
row's MFU is below 40 %, torch.profiler's top kernels are printed and saved.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.train_step import _batches, biggan_spec, machine
from s3gan.methods import build_method
from s3gan.nn.biggan import Discriminator, Generator
from s3gan.train.checkpoint import CheckpointStore, load
from s3gan.train.precision import for_device
from s3gan.train.step import GanStep
from s3gan.train.trainer import Trainer

MFU_TARGET = 0.40
# Dense bf16 peaks (FLOP/s) from the vendors' data sheets; H200 has H100 SXM's compute.
PEAKS = {"H200": 989.4e12, "H100 PCIe": 756.0e12, "H100": 989.4e12, "A100": 312.0e12,
         "L4": 121.0e12}


@dataclass(frozen=True)
class Size:
    resolution: int
    ch: int
    num_classes: int
    batch: int


FULL, TINY = Size(128, 96, 1000, 256), Size(32, 8, 10, 8)


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAKS.items() if key in name), None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.device = torch.device(args.device)
        self.size = TINY if args.tiny else FULL
        self.args, self.started = args, time.monotonic()
        self.accelerator = "gpu" if self.device.type == "cuda" else "cpu"
        self.spec = biggan_spec(self.size, self.size.batch)
        self.method = build_method(self.spec)
        torch.manual_seed(0)
        self.generator = Generator.from_spec(self.spec, self.method.num_classes).to(self.device)
        self.discriminator = Discriminator.from_spec(
            self.spec, self.method.num_classes, self.method.heads).to(self.device)
        self.peak = peak_flops(self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # as the trainer sets it on CUDA
        self.report: dict = {
            "machine": machine(), "device": str(self.device), "peak_bf16_flops": self.peak,
            "size": self.size.__dict__, "compile_backend": args.backend,
            "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32,
                     "cudnn": torch.backends.cudnn.allow_tf32}}

    def left(self) -> float:
        return self.args.budget_s - (time.monotonic() - self.started)

    def step(self, precision: str, compiled: bool, d_steps: int, batch: int) -> GanStep:
        training = self.spec.training.model_copy(update={
            "precision": precision, "compile": compiled, "d_steps": d_steps,
            "global_batch": batch, "channels_last": False})
        rng = torch.Generator(self.device).manual_seed(0)
        return GanStep(self.generator, self.discriminator, self.method,
                       for_device(training, self.accelerator, self.device),
                       self.spec.model.output_range, self.spec.model.z_dim, micro_batch=batch,
                       accumulation=1, rng=rng, compile_backend=self.args.backend)

    def count_flops(self) -> dict:
        """FLOPs of one D update and one G update at the benchmark batch (fp32 eager)."""
        gan_step, batches = self.step("fp32", False, 1, self.size.batch), self._reals()
        counted = {}
        for name, update in (("d_update", lambda: gan_step.discriminator_step(1, [next(batches)])),
                             ("g_update", lambda: gan_step.generator_step(1))):
            with FlopCounterMode(display=False) as counter:
                update()
            counted[name] = counter.get_total_flops()
        per_image = {d: (d * counted["d_update"] + counted["g_update"]) / self.size.batch
                     for d in (1, 2)}
        return {**counted, "per_generated_batch_image_by_d_steps": per_image}

    def _reals(self, batch: int | None = None, size: Size | None = None, device=None):
        size = size or self.size
        return _batches(_Shape(size.resolution, size.num_classes, batch or size.batch),
                        torch.device(device or self.device))

    def row(self, precision: str, compiled: bool, d_steps: int, flops: dict) -> dict:
        gan_step, batches = self.step(precision, compiled, d_steps, self.size.batch), self._reals()
        warm = 3 if compiled else 2
        started = time.perf_counter()
        for i in range(warm):
            gan_step(i + 1, batches)
        synchronize(self.device)
        warm_s = time.perf_counter() - started
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        iterations = self.args.iterations
        started = time.perf_counter()
        for i in range(iterations):
            gan_step(warm + i + 1, batches)
        synchronize(self.device)
        seconds = (time.perf_counter() - started) / iterations
        iteration_flops = d_steps * flops["d_update"] + flops["g_update"]
        achieved = iteration_flops / seconds
        result = {"precision": precision, "compiled": compiled, "d_steps": d_steps,
                  "batch": self.size.batch, "ms_per_iteration": seconds * 1e3,
                  "images_per_s": d_steps * self.size.batch / seconds,
                  "tflops_per_s": achieved / 1e12,
                  "mfu": achieved / self.peak if self.peak else None,
                  "warm_up_s": warm_s, "peak_memory_gib": self._peak_memory()}
        if compiled and d_steps == 2 and (result["mfu"] is None or result["mfu"] < MFU_TARGET):
            result["top_kernels"] = self.profile(gan_step, batches)
        del gan_step
        self._free()
        return result

    def profile(self, gan_step: GanStep, batches) -> list[dict]:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if self.device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as profiler:
            for i in range(2):
                gan_step(100 + i, batches)
            synchronize(self.device)
        # Self time: a kernel's own, not its callers' (on CPU, the aten ops').
        key = "self_device_time_total" if self.device.type == "cuda" else "self_cpu_time_total"
        events = sorted(profiler.key_averages(), key=lambda e: getattr(e, key), reverse=True)
        total = sum(getattr(e, key) for e in events) or 1.0
        print(profiler.key_averages().table(sort_by=key, row_limit=15), flush=True)
        return [{"name": e.key[:120], "ms": getattr(e, key) / 1e3 / 2,
                 "share": getattr(e, key) / total} for e in events[:15]]

    def largest_batch(self) -> dict:
        """bf16 eager, 2 D steps: double from the benchmark batch until an iteration runs out of
        memory, then bisect to a multiple of 32 (eager: compiling every trial would take
        minutes). On the CPU the search stops at 4× (host memory is not the question)."""
        cap = None if self.device.type == "cuda" else 4 * self.size.batch
        fits, fails, self.failures = self.size.batch, None, {}
        while fails is None and (cap is None or fits < cap) and self.left() > 60:
            fits, fails = (2 * fits, None) if self._fits(2 * fits) else (fits, 2 * fits)
        while fails is not None and fails - fits > 32 and self.left() > 60:
            middle = (fits + fails) // 64 * 32
            fits, fails = (middle, fails) if self._fits(middle) else (fits, middle)
        return {"precision": "bf16", "compiled": False, "d_steps": 2, "fits": fits,
                "first_failing": fails, "capped": cap, "failures": self.failures}

    def _fits(self, batch: int) -> bool:
        """One iteration at ``batch`` runs; out of memory (or a kernel's size limit) it does
        not, and the reason is kept."""
        gan_step = None
        try:
            gan_step = self.step("bf16", False, 2, batch)
            gan_step(1, self._reals(batch))
            synchronize(self.device)
            return True
        except RuntimeError as e:  # torch.OutOfMemoryError is one
            self.failures[batch] = f"{type(e).__name__}: {str(e)[:200]}"
            return False
        finally:
            del gan_step
            self._free()

    def parity(self, steps: int) -> dict:
        """fp32 and bf16 eager steps from the same weights, latent stream and reals (2 D
        steps): the gap of each loss term, step by step."""
        losses, initial = {}, (copy.deepcopy(self.generator.state_dict()),
                               copy.deepcopy(self.discriminator.state_dict()))
        for precision in ("fp32", "bf16"):
            self.generator.load_state_dict(initial[0])
            self.discriminator.load_state_dict(initial[1])
            gan_step, batches = self.step(precision, False, 2, self.size.batch), self._reals()
            losses[precision] = [gan_step(i + 1, batches) for i in range(steps)]
            del gan_step
            self._free()
        gaps = {name: [abs(a[name] - b[name]) for a, b in zip(losses["fp32"], losses["bf16"],
                                                              strict=True)]
                for name in losses["fp32"][0]}
        return {"steps": steps, "d_steps": 2,
                "max_gap": {n: max(g) for n, g in gaps.items()},
                "mean_gap": {n: sum(g) / len(g) for n, g in gaps.items()},
                "fp32_last": losses["fp32"][-1], "bf16_last": losses["bf16"][-1]}

    def checkpoint_round_trip(self) -> dict:
        """A trainer's checkpoint loads on the CPU, and the CPU's back on the device (tiny
        networks: what moves between devices does not depend on their size)."""
        spec = biggan_spec(TINY, 4, dSteps=1)
        on_device = Trainer(spec, build_method(spec), self._reals(4, TINY), self.device)
        on_device.train_step()
        with tempfile.TemporaryDirectory() as root:
            store = CheckpointStore(Path(root), keep=2)
            saved = store.save(1, on_device.state_dict())
            on_cpu = Trainer(spec, build_method(spec), self._reals(4, TINY, "cpu"), "cpu")
            on_cpu.load_state_dict(load(saved.path))
            same = all(torch.equal(a.cpu(), b) for a, b in zip(
                on_device.generator.state_dict().values(),
                on_cpu.generator.state_dict().values(), strict=True))
            back = store.save(2, on_cpu.state_dict())
            on_device.load_state_dict(load(back.path))
            terms = on_device.train_step()
        return {"weights_equal_on_cpu": same, "resumed_step_losses": terms}

    def _peak_memory(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**30
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak

    def _free(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


@dataclass(frozen=True)
class _Shape:
    resolution: int
    num_classes: int
    batch: int


def ray_train_step(tiny: bool, steps: int = 2) -> dict:
    """One Ray Train worker (a GPU, in an NCCL group, when the machine has one) running the
    trainer with cross-replica BatchNorm, as the train stage does."""
    from s3gan_workers import ray_session

    ray_session.embedded_on_loopback()
    import ray
    from ray.train.torch import TorchTrainer
    from s3gan_workers.stages.train import worker_group

    gpu = torch.cuda.is_available()
    size = TINY if tiny else FULL
    resources = ({"accelerator": {"kind": "gpu", "type": "nvidia-h200-141gb"}} if gpu else {})
    document = biggan_spec(size, 32 if not tiny else size.batch, ema={"enabled": False})
    spec = document.model_copy(update={"resources": type(document.resources).model_validate(
        {**resources, "cpusPerWorker": 2})})
    with tempfile.TemporaryDirectory() as temp:
        ray_session.connect(temp, num_cpus=4)
        try:
            group = worker_group(spec)
            result = TorchTrainer(_ray_worker, train_loop_config={"spec": spec, "steps": steps},
                                  scaling_config=group["scaling_config"],
                                  torch_config=group["torch_config"],
                                  run_config=ray.train.RunConfig(storage_path=temp)).fit()
        finally:
            ray.shutdown()
    return result.return_value


def _ray_worker(config: dict) -> dict:
    import torch.distributed as dist
    from s3gan_workers.stages import ray_train
    from s3gan_workers.stages.replicas import average_gradients

    from s3gan.nn.cross_replica_bn import cross_replica_batch_norms

    spec = config["spec"]
    replica = ray_train.start_replica(spec)
    device = torch.device(replica.device)
    batches = _batches(_Shape(spec.dataset.resolution, spec.dataset.num_classes,
                              spec.micro_batch), device)
    trainer = Trainer(spec, build_method(spec), batches, device, average_gradients,
                      replica.rank, replica.world)
    cross_replica_batch_norms(trainer.generator)
    seconds = []
    for _ in range(config["steps"]):
        started = time.perf_counter()
        terms = trainer.train_step()
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    # The group's own collective on the device (world 1 skips every all-reduce of the step).
    probe = torch.ones(1, device=device)
    dist.all_reduce(probe)
    return {"device": str(device), "backend": dist.get_backend(), "world": replica.world,
            "all_reduce": probe.item(),
            "precision": trainer.gan_step.training.precision, "batch": spec.micro_batch,
            "seconds_per_step": seconds, "losses": terms}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks gpu")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="32×32, ch 8: the CPU rehearsal")
    parser.add_argument("--out", default="gpu-benchmark.json")
    parser.add_argument("--iterations", type=int, default=None, help="timed per row")
    parser.add_argument("--parity-steps", type=int, default=None, help="50 (10 for --tiny)")
    parser.add_argument("--backend", default=None,
                        help="torch.compile backend (inductor; aot_eager for --tiny on a CPU)")
    parser.add_argument("--budget-s", type=float, default=450.0,
                        help="parts that would start with under a minute left are skipped")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv or [])
    if torch.device(args.device).type == "cpu" and not args.tiny:
        print("skipped: BigGAN-128 at batch 256 needs a GPU (no CUDA device here); "
              "`python -m benchmarks gpu --device cpu --tiny` rehearses it on the CPU")
        return
    cpu_rehearsal = args.tiny and args.device == "cpu"
    args.backend = args.backend or ("aot_eager" if cpu_rehearsal else "inductor")
    args.iterations = args.iterations or (2 if cpu_rehearsal else 10)
    args.parity_steps = args.parity_steps or (10 if args.tiny else 50)
    bench = Bench(args)
    report = bench.report
    print(f"machine: {report['machine']}; peak bf16 {bench.peak}", flush=True)
    report["flops"] = flops = bench.count_flops()
    per_image = flops["per_generated_batch_image_by_d_steps"]
    print(f"FLOPs: D update {flops['d_update'] / 1e12:.3f} T, G update "
          f"{flops['g_update'] / 1e12:.3f} T at batch {bench.size.batch}; per image of the "
          f"batch {per_image[1] / 1e9:.1f} G (1 D step), {per_image[2] / 1e9:.1f} G (2)",
          flush=True)
    report["rows"], report["skipped"] = [], []
    for precision, compiled in (("fp32", False), ("bf16", False), ("bf16", True)):
        for d_steps in (1, 2):
            if bench.left() < 60:
                report["skipped"].append(f"{precision} compiled={compiled} d_steps={d_steps}")
                continue
            try:
                row = bench.row(precision, compiled, d_steps, flops)
            except Exception as e:  # e.g. a compiler failure: the other rows still count
                row = {"precision": precision, "compiled": compiled, "d_steps": d_steps,
                       "error": f"{type(e).__name__}: {e}"}
                bench._free()
                print(f"{row}", flush=True)
            else:
                mfu = f"{row['mfu']:.1%}" if row["mfu"] is not None else "n/a"
                print(f"{precision} {'compiled' if compiled else 'eager'} d_steps {d_steps}: "
                      f"{row['images_per_s']:.1f} img/s, {row['ms_per_iteration']:.0f} "
                      f"ms/iter, MFU {mfu}, peak {row['peak_memory_gib']:.1f} GiB", flush=True)
            report["rows"].append(row)
            write(report, args.out, bench)
    parts = [("parity", lambda: bench.parity(args.parity_steps)),
             ("checkpoint_round_trip", bench.checkpoint_round_trip)]
    if not args.no_ray:
        parts.append(("ray_train_step", lambda: ray_train_step(args.tiny)))
    parts.append(("largest_batch", bench.largest_batch))  # last: it stops when time runs out
    for name, part in parts:
        if bench.left() < 60:
            report["skipped"].append(name)
            continue
        try:
            report[name] = part()
        except Exception as e:  # one device run: a broken part must not cost the others
            report[name] = {"error": f"{type(e).__name__}: {e}"}
            bench._free()
        print(f"{name}: {json.dumps(report[name], default=str)}", flush=True)
        write(report, args.out, bench)
    print(f"wrote {args.out} ({report['seconds']:.0f} s)", flush=True)


def write(report: dict, out: str, bench: Bench) -> None:
    """After every part, so a run stopped at its time limit still leaves its figures."""
    report["seconds"] = time.monotonic() - bench.started
    Path(out).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
