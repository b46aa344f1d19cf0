"""Rotation pretraining (eq. 1) on a small Fashion-MNIST subset: the loss falls and frozen
features carry the classes well above chance (10%); micro-batches accumulate the whole batch's
gradient."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from s3gan.data.batch import Batch
from s3gan.data.idx import read_idx
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import fit_linear_probe, pretrain
from s3gan.pretrain.batches import mixed_batches, steps_per_epoch
from s3gan.pretrain.features import extract_features, in_chunks
from s3gan.pretrain.loop import micro_batches
from s3gan.spec.model import Pretraining

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
RESOLUTION = 16  # small enough for a fast test; the measured runs use 32 (docs/pretraining.md)


def _subset(split: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx(FASHION_MNIST, split)
    small = F.interpolate(images[:count, None].float(), size=RESOLUTION, mode="area")
    return small.round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous(), labels[:count]


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist not installed "
                    "(`make tools` installs it)")
def test_rotation_pretraining_lowers_its_loss_and_the_probe_beats_chance():
    torch.manual_seed(0)
    train_x, train_y = _subset("train", 256)
    test_x, test_y = _subset("t10k", 256)
    f = ResNetV2(26, 1, RESOLUTION)
    p = Pretraining(depth=26, widening=1, epochs=6, batch_size=32, unlabelled_per_batch=32,
                    base_learning_rate=0.8, warmup_epochs=1, decay_epochs=())
    pretrained_on = 64  # a few images, seen many times: the loss must fall within seconds
    no_labels = torch.zeros(pretrained_on, dtype=torch.bool)
    batches = mixed_batches(train_x[:pretrained_on], train_y[:pretrained_on], no_labels,
                            32, 32, seed=0)
    history = pretrain(f, "rotation", batches, p, steps_per_epoch(pretrained_on, 32), "cpu")
    assert len(history) == 12
    assert history[0].learning_rate < history[-1].learning_rate == pytest.approx(0.1)
    first = sum(r.rotation for r in history[:3]) / 3
    last = sum(r.rotation for r in history[-3:]) / 3
    assert last < first - 0.1

    probe = fit_linear_probe(extract_features(f, in_chunks(train_x), "cpu"), train_y, 10)
    assert probe.accuracy(extract_features(f, in_chunks(test_x), "cpu"), test_y) > 0.4


def _gradients_after_one_step(micro_batch, batch):
    torch.manual_seed(0)
    f = ResNetV2(26, 1, resolution=8, num_classes=3)
    p = Pretraining(depth=26, widening=1, epochs=1, batch_size=len(batch),
                    unlabelled_per_batch=4, warmup_epochs=0, decay_epochs=(),
                    base_learning_rate=1e-9, micro_batch=micro_batch)
    history = pretrain(f, "s2l", iter([batch]), p, 1, "cpu")
    return history[0], {n: w.grad.clone() for n, w in f.named_parameters()}


def test_micro_batches_accumulate_the_whole_batchs_gradient():
    # Every image twice, side by side: each strided half is then the same images, so BatchNorm
    # sees the same statistics in a micro-batch as in the whole batch and the gradients match.
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=generator)
    labels, labelled = torch.tensor([0, 1, 2, 1]), torch.tensor([False, True, True, False])
    twice = Batch(images.repeat_interleave(2, 0), labels.repeat_interleave(2),
                  torch.arange(8), labelled.repeat_interleave(2))
    whole, whole_grads = _gradients_after_one_step(None, twice)
    halves, half_grads = _gradients_after_one_step(4, twice)
    assert len(micro_batches(twice, 4)) == 2 and len(micro_batches(twice, None)) == 1
    assert halves.loss == pytest.approx(whole.loss, rel=1e-5)
    assert halves.classification == pytest.approx(whole.classification, rel=1e-5)
    for name, gradient in whole_grads.items():
        torch.testing.assert_close(half_grads[name], gradient, rtol=1e-3, atol=1e-5)


def test_bf16_pretraining_follows_fp32_with_fp32_weights_and_losses():
    # The same S²L steps in both precisions: bf16 autocast rounds the convolutions only, so the
    # first loss (same weights) is close, both fall, and every weight is still float32.
    generator = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 3, (16,), generator=generator)
    labelled = torch.arange(16) % 2 == 0
    batch = Batch(images, labels, torch.arange(16), labelled)
    runs = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        f = ResNetV2(26, 1, resolution=8, num_classes=3)
        p = Pretraining(depth=26, widening=1, epochs=4, batch_size=16, unlabelled_per_batch=8,
                        warmup_epochs=0, decay_epochs=(), base_learning_rate=0.8,
                        precision=precision)
        runs[precision] = pretrain(f, "s2l", iter([batch] * 4), p, 1, "cpu")
        assert all(w.dtype == torch.float32 for w in f.state_dict().values()
                   if w.is_floating_point())
    assert runs["bf16"][0].loss == pytest.approx(runs["fp32"][0].loss, abs=0.02)
    assert runs["bf16"][0].loss != runs["fp32"][0].loss  # autocast did round something
    for history in runs.values():
        assert history[-1].loss < history[0].loss - 0.05
