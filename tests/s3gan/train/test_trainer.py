"""The single-process trainer: bit-identical resume, determinism, the NaN guard, the G step's
frozen D, and evaluation that leaves training untouched."""

from __future__ import annotations

import copy

import pytest
import torch

from s3gan.methods import build_method
from s3gan.train.checkpoint import CheckpointStore, load
from s3gan.train.step import NonFiniteLossError
from s3gan.train.trainer import Trainer


@pytest.fixture
def make_trainer(real_batches):
    def make(spec, start: int = 0) -> Trainer:
        return Trainer(spec, build_method(spec), real_batches(start), "cpu")

    return make


def _assert_same_tensors(a, b, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_save_restore_continue_is_bit_identical_to_a_straight_run(precision, tiny_spec, tmp_path,
                                                                  make_trainer):
    spec = tiny_spec(precision=precision)
    straight = make_trainer(spec)
    for _ in range(4):
        straight.train_step()

    first = make_trainer(spec)
    for _ in range(2):
        first.train_step()
    saved = CheckpointStore(tmp_path, keep=1).save(first.step, first.state_dict())
    del first
    torch.manual_seed(999)  # the restore, not luck, must bring back every RNG stream

    state = load(saved.path)
    resumed = make_trainer(spec, start=state["progress"]["batches_consumed"])
    resumed.load_state_dict(state)
    for _ in range(2):
        resumed.train_step()

    assert resumed.step == straight.step == 4
    for name, p in straight.generator.state_dict().items():
        assert torch.equal(p, resumed.generator.state_dict()[name]), name
    for name, p in straight.discriminator.state_dict().items():
        assert torch.equal(p, resumed.discriminator.state_dict()[name]), name
    _assert_same_tensors(straight.state_dict(), resumed.state_dict(), "state")


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not(tiny_spec, make_trainer):
    a, b = make_trainer(tiny_spec()), make_trainer(tiny_spec())
    other = make_trainer(tiny_spec(seed=4))
    for t in (a, b, other):
        t.train_step()
    for (name, p), q in zip(a.generator.named_parameters(), b.generator.parameters(),
                            strict=True):
        assert torch.equal(p, q), name
    assert not all(torch.equal(p, r) for p, r in
                   zip(a.generator.parameters(), other.generator.parameters(), strict=True))


def test_accumulation_reads_d_steps_times_accumulation_micro_batches(spec, make_trainer,
                                                                    real_batches):
    trainer = make_trainer(spec)
    assert spec.training.global_batch // spec.micro_batch == 2
    trainer.train_step()
    assert trainer.batches_consumed == spec.training.d_steps * 2
    assert trainer.images_per_step == spec.training.d_steps * spec.training.global_batch
    # The iterator really advanced that far: the next batch is micro-batch number 4.
    assert torch.equal(next(trainer.batches).index, next(real_batches(4)).index)


def test_non_finite_loss_stops_naming_term_and_step_before_any_update(spec, make_trainer):
    trainer = make_trainer(spec)
    trainer.train_step()
    with torch.no_grad():
        for p in trainer.discriminator.parameters():
            p.fill_(float("nan"))
    generator_before = [p.clone() for p in trainer.generator.parameters()]
    adam_steps_before = trainer.gan_step.d_optimizer.state_dict()["state"][0]["step"].clone()
    with pytest.raises(NonFiniteLossError, match=r"G step 2: non-finite discriminator loss "
                                                 r"\(d_hinge = nan"):
        trainer.train_step()
    assert trainer.step == 1
    assert torch.equal(trainer.gan_step.d_optimizer.state_dict()["state"][0]["step"],
                       adam_steps_before)
    # No optimiser step was applied (forward passes still advance spectral-norm vectors).
    for p, before in zip(trainer.generator.parameters(), generator_before, strict=True):
        assert torch.equal(p, before)


def test_generator_step_leaves_discriminator_gradients_alone(spec, make_trainer):
    trainer = make_trainer(spec)
    trainer.gan_step.discriminator_step(1, [next(trainer.batches) for _ in range(2)])
    d_grads = [p.grad.clone() for p in trainer.discriminator.parameters()]
    trainer.gan_step.generator_step(1)
    for p, before in zip(trainer.discriminator.parameters(), d_grads, strict=True):
        assert torch.equal(p.grad, before) and p.requires_grad
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in trainer.generator.parameters() if p.requires_grad
               and p.grad is not None)


def test_evaluation_generator_leaves_training_state_and_streams_untouched(spec, make_trainer):
    trainer = make_trainer(spec)
    trainer.train_step()
    before = copy.deepcopy(trainer.state_dict())
    rng_before = trainer.rng.get_state().clone()
    evaluated = trainer.evaluation_generator()
    assert not evaluated.training
    _assert_same_tensors(before, trainer.state_dict(), "state")
    assert torch.equal(trainer.rng.get_state(), rng_before)
    norms = [m for m in evaluated.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # Standing statistics: 16 samples in batches of 4, every batch counted.
    assert norms and all(int(m.num_batches_tracked) == 4 for m in norms)


def test_restoring_a_state_without_ema_into_a_trainer_with_it_is_refused(spec, tiny_spec,
                                                                        make_trainer):
    no_ema = tiny_spec(ema={"enabled": False})
    state = make_trainer(no_ema).state_dict()
    with pytest.raises(ValueError, match="EMA"):
        make_trainer(spec).load_state_dict(state)


def test_bf16_channels_last_step_trains_with_finite_losses(tiny_spec, make_trainer):
    trainer = make_trainer(tiny_spec(precision="bf16", channelsLast=True))
    before = [p.clone() for p in trainer.generator.parameters()]
    terms = trainer.train_step()
    assert set(terms) >= {"d_hinge", "d_class", "d_rotation", "g_adversarial", "g_rotation"}
    assert any(not torch.equal(p, b) for p, b in zip(trainer.generator.parameters(), before,
                                                     strict=True))


def test_replicas_share_initial_weights_but_draw_their_own_latents(spec, real_batches):
    method = build_method(spec)
    replicas = [Trainer(spec, method, real_batches(), "cpu", replica=r, replicas=2)
                for r in (0, 1)]
    for (name, p), q in zip(replicas[0].generator.named_parameters(),
                            replicas[1].generator.parameters(), strict=True):
        assert torch.equal(p, q), name
    z0, z1 = (torch.randn(4, 20, generator=t.rng) for t in replicas)
    assert not torch.equal(z0, z1)
    # Two replicas of micro-batch 4 make the global batch of 8: no accumulation on either.
    assert replicas[0].gan_step.accumulation == 1


def test_a_checkpoint_from_another_device_type_resumes_with_a_reseeded_sampling_stream(
        spec, tmp_path, make_trainer):
    trainer = make_trainer(spec)
    trainer.train_step()
    state = trainer.state_dict()
    # What a CUDA trainer writes: a 16-byte Philox sampling state and CUDA's own RNG.
    state["rng"] = {**state["rng"], "sampling": torch.zeros(16, dtype=torch.uint8),
                    "torch_cuda": torch.zeros(16, dtype=torch.uint8)}
    saved = CheckpointStore(tmp_path, keep=1).save(1, state)

    continuations = []
    for _ in range(2):
        resumed = make_trainer(spec, start=2)
        resumed.load_state_dict(load(saved.path))
        assert resumed.rng.get_state().numel() != 16
        continuations.append(resumed.train_step())
    assert continuations[0] == continuations[1]  # deterministic
    straight = make_trainer(spec)
    straight.train_step()
    assert straight.train_step() != continuations[0]  # but drawn from a fresh stream
