"""F's pretraining augmentation: crops are shifted windows of the edge-padded image, flips are
mirror images, and the pretraining loop feeds F the augmented batch."""

import pytest
import torch

from s3gan.data.batch import Batch
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain import pretrain
from s3gan.pretrain.augment import augment, random_crop, random_flip
from s3gan.spec.model import Pretraining


def _distinct(n: int, size: int = 16) -> torch.Tensor:
    return torch.arange(n * 3 * size * size, dtype=torch.float32).view(n, 3, size, size)


def _shift_of(original: torch.Tensor, cropped: torch.Tensor) -> tuple[int, int]:
    """The (dy, dx) whose window of the edge-padded original is ``cropped``."""
    padded = torch.nn.functional.pad(original[None], (2, 2, 2, 2), mode="replicate")[0]
    size = original.shape[-1]
    for top in range(5):
        for left in range(5):
            if torch.equal(padded[:, top:top + size, left:left + size], cropped):
                return top - 2, left - 2
    raise AssertionError("the crop is no window of the padded image")


def test_a_crop_is_a_window_shifted_by_up_to_an_eighth_of_the_size_in_each_direction():
    x = _distinct(400)
    cropped = random_crop(x, torch.Generator().manual_seed(0))
    shifts = {_shift_of(a, b) for a, b in zip(x, cropped, strict=True)}
    assert {dy for dy, _ in shifts} == {dx for _, dx in shifts} == {-2, -1, 0, 1, 2}


def test_edge_padding_invents_no_colour():
    black = torch.full((8, 3, 16, 16), -1.0)
    assert torch.equal(random_crop(black), black)


def test_a_flip_mirrors_about_half_the_images_and_leaves_the_rest():
    x = _distinct(400)
    flipped = random_flip(x, torch.Generator().manual_seed(0))
    mirrored = [torch.equal(b, a.flip(2)) for a, b in zip(x, flipped, strict=True)]
    kept = [torch.equal(a, b) for a, b in zip(x, flipped, strict=True)]
    assert all(m != k for m, k in zip(mirrored, kept, strict=True))
    assert 150 < sum(mirrored) < 250


def test_the_same_generator_seed_gives_the_same_augmentation():
    x = _distinct(16)
    first = augment(x, ("crop", "flip"), torch.Generator().manual_seed(3))
    again = augment(x, ("crop", "flip"), torch.Generator().manual_seed(3))
    assert torch.equal(first, again) and not torch.equal(first, x)


def test_an_unknown_transform_names_the_field():
    with pytest.raises(ValueError, match=r"pretraining\.augment.*'blur'"):
        augment(_distinct(1), ("flip", "blur"))


@pytest.mark.parametrize("policy", [(), ("flip",)])
def test_pretraining_feeds_f_the_augmented_images(policy):
    torch.manual_seed(0)
    f = ResNetV2(26, 1, resolution=16)
    seen = []
    f.stem.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0].detach().clone()))
    # Left half black, right half white: a flip is visible in every rotation.
    images = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    images[..., 8:] = 255
    batch = Batch(images, torch.zeros(4, dtype=torch.long), torch.arange(4),
                  torch.zeros(4, dtype=torch.bool))
    p = Pretraining(depth=26, widening=1, epochs=1, batch_size=4, unlabelled_per_batch=4,
                    warmup_epochs=0, decay_epochs=(), augment=policy)
    pretrain(f, "rotation", iter([batch] * 8), p, steps_per_epoch=8, device="cpu")
    upright = torch.cat([s[:4] for s in seen])  # rotation 0° comes first in each pass
    white_on_the_left = upright[..., :8].mean(dim=(1, 2, 3)) > 0
    assert bool(white_on_the_left.any()) == (policy == ("flip",))
