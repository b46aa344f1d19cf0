"""The GAN step under torch-xla against the eager CPU trainer: the same losses over the first
steps (same initialisation and draws; only XLA's arithmetic differs), a compilation count that
stops growing after warm-up, and checkpoints that move between the two paths."""

from __future__ import annotations

import pytest

pytest.importorskip("torch_xla", reason="torch-xla is not installed: run in .venv-xla "
                                        "(scripts/xla-env.sh)")

import torch  # noqa: E402
import torch_xla  # noqa: E402
import torch_xla.debug.metrics as metrics  # noqa: E402

from s3gan.methods import build_method  # noqa: E402
from s3gan.monitor.exporter import Exporter  # noqa: E402
from s3gan.nn.layers import Layers  # noqa: E402
from s3gan.train.checkpoint import CheckpointStore, load  # noqa: E402
from s3gan.train.trainer import Trainer  # noqa: E402
from s3gan.train.xla_step import (  # noqa: E402
    CompilationsExport,
    XlaTrainer,
    compilations,
    xla_device,
)
from tests.fixtures.threads import one_intra_op_thread
from tests.s3gan.train.conftest import real_batches, tiny_spec  # noqa: E402

# XLA's CPU compiler fuses and reorders float32 arithmetic; over a few Adam steps of the tiny
# networks the loss terms stay this close to the eager ones (measured: see docs/tpu.md).
LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-4
STEPS = 3


@pytest.fixture(autouse=True)
def one_thread():
    # The XLA device must exist before the first eager backward: torch's autograd engine sizes
    # its per-device queues then, and an XLA backward after it fails an internal assert.
    xla_device()
    with one_intra_op_thread():
        yield


def _eager(spec, start: int = 0) -> Trainer:
    return Trainer(spec, build_method(spec), real_batches(start), "cpu")


def _xla(spec, start: int = 0) -> XlaTrainer:
    return XlaTrainer(spec, build_method(spec), real_batches(start))


def _assert_losses_close(eager: dict, xla: dict, step: int) -> None:
    assert eager.keys() == xla.keys()
    for term in eager:
        assert xla[term] == pytest.approx(eager[term], rel=LOSS_RTOL, abs=LOSS_ATOL), (
            f"step {step}: {term}")


def test_losses_match_the_eager_trainer():
    spec = tiny_spec()
    eager, xla = _eager(spec), _xla(spec)
    for step in range(1, STEPS + 1):
        _assert_losses_close(eager.train_step(), xla.train_step(), step)


def test_compilation_stops_after_warm_up():
    xla = _xla(tiny_spec())
    compiled = []
    for _ in range(STEPS + 3):
        xla.train_step()
        compiled.append(compilations())
    # Warm-up: the first iterations compile (first Adam step, the EMA's start at step 2, then
    # the steady D and G updates); afterwards every iteration reuses the cached graphs.
    assert compiled[0] > 0
    assert compiled[-1] == compiled[-2] == compiled[-3] == compiled[-4], compiled


def test_spectral_norm_runs_on_the_device_without_a_cpu_fallback():
    metrics.clear_counters()
    torch.manual_seed(0)
    layer = Layers(init="normal").linear(16, 8).to(xla_device())
    (layer(torch.randn(4, 16, device=xla_device())) ** 2).sum().backward()
    torch_xla.sync()
    # torch-xla counts each aten op it had to run on the CPU as "aten::<op>".
    assert not [name for name in metrics.counter_names() if name.startswith("aten::")]


def test_an_xla_checkpoint_is_the_eager_format_and_resumes_on_the_eager_path(tmp_path):
    spec = tiny_spec()
    straight = _eager(spec)
    expected = [straight.train_step() for _ in range(STEPS)]

    xla = _xla(spec)
    for _ in range(STEPS // 2):
        xla.train_step()
    xla_state = xla.state_dict()
    _assert_same_layout(straight.state_dict(), xla_state)
    saved = CheckpointStore(tmp_path, keep=1).save(xla.step, xla_state)

    state = load(saved.path)
    resumed = _eager(spec, start=state["progress"]["batches_consumed"])
    resumed.load_state_dict(state)
    for step in range(STEPS // 2 + 1, STEPS + 1):
        _assert_losses_close(expected[step - 1], resumed.train_step(), step)


def test_an_eager_checkpoint_resumes_on_the_xla_path(tmp_path):
    spec = tiny_spec()
    straight = _eager(spec)
    expected = [straight.train_step() for _ in range(STEPS)]

    first = _eager(spec)
    for _ in range(STEPS // 2):
        first.train_step()
    saved = CheckpointStore(tmp_path, keep=1).save(first.step, first.state_dict())

    state = load(saved.path)
    resumed = _xla(spec, start=state["progress"]["batches_consumed"])
    resumed.load_state_dict(state)
    for step in range(STEPS // 2 + 1, STEPS + 1):
        _assert_losses_close(expected[step - 1], resumed.train_step(), step)
    assert resumed.step == STEPS


def test_bf16_trains_with_finite_losses_near_float32():
    spec = tiny_spec(precision="bf16")
    reference = _eager(tiny_spec())
    xla = _xla(spec)
    for step in range(1, 3):
        expected, got = reference.train_step(), xla.train_step()
        for term in expected:
            assert torch.isfinite(torch.tensor(got[term])), term
            # bfloat16 keeps 8 bits of mantissa: the terms agree to about 1%.
            assert got[term] == pytest.approx(expected[term], rel=0.05, abs=0.02), (step, term)


def _assert_same_layout(a, b, where: str = "state") -> None:
    """Same keys, and tensors of the same dtype and shape, all on the CPU."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and b.device.type == "cpu", where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same_layout(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_layout(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b), where


def test_the_compilation_count_is_exported_as_the_catalogues_counter():
    exporter = Exporter()
    export = CompilationsExport(exporter, experiment="tiny", trial="")
    trainer = _xla(tiny_spec())
    trainer.train_step()
    export.update()
    trainer.train_step()
    export.update()
    value = exporter.registry.get_sample_value(
        "s3gan_xla_compilations_total", {"experiment": "tiny", "trial": ""})
    assert value == compilations() > 0
