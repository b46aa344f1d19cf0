import math

import pytest
import torch

from s3gan.rotation import rotate, rotation_batch, rotation_cross_entropy


def test_rotate_turns_a_marked_pixel_counter_clockwise():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 2] = 1.0  # top-right corner
    assert rotate(x, 1)[0, 0, 0, 0] == 1.0  # 90° ccw: top-right → top-left
    assert rotate(x, 2)[0, 0, 2, 0] == 1.0  # 180°: → bottom-left
    assert rotate(x, 3)[0, 0, 2, 2] == 1.0  # 270°: → bottom-right
    assert torch.equal(rotate(x, 4), x)


def test_rotation_batch_is_compare_gans_layout():
    x = torch.arange(5 * 2 * 2, dtype=torch.float32).reshape(5, 1, 2, 2)
    rotated, labels = rotation_batch(x, 2)
    assert rotated.shape == (8, 1, 2, 2)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(rotated[0:2], x[3:5])
    # Image 3 is [[12, 13], [14, 15]]; rotated 90° ccw it reads [[13, 15], [12, 14]].
    assert rotated[2, 0].tolist() == [[13.0, 15.0], [12.0, 14.0]]
    assert rotated[4, 0].tolist() == [[15.0, 14.0], [13.0, 12.0]]
    assert rotated[6, 0].tolist() == [[14.0, 12.0], [15.0, 13.0]]
    assert rotated[7, 0].tolist() == [[18.0, 16.0], [19.0, 17.0]]


@pytest.mark.parametrize("n", [0, 6])
def test_rotation_batch_refuses_a_block_outside_the_batch(n):
    with pytest.raises(ValueError, match="n must be in"):
        rotation_batch(torch.zeros(5, 1, 2, 2), n)


def test_rotation_cross_entropy_by_hand():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, -1.0]])
    labels = torch.tensor([1, 0])
    e = math.e
    p_first = 0.25
    p_second = e**2 / (e**2 + 1 + 1 + e**-1)
    expected = -(math.log(p_first + 1e-10) + math.log(p_second + 1e-10)) / 2
    assert rotation_cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_rotation_cross_entropy_stays_finite_for_confident_wrong_logits():
    loss = rotation_cross_entropy(torch.tensor([[200.0, -200.0, 0.0, 0.0]]), torch.tensor([1]))
    assert loss.item() == pytest.approx(-math.log(1e-10), rel=1e-4)


def test_rotation_cross_entropy_of_bf16_logits_is_float32():
    logits = torch.zeros(2, 4, dtype=torch.bfloat16)
    loss = rotation_cross_entropy(logits, torch.tensor([0, 3]))
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(-math.log(0.25 + 1e-10), rel=1e-6)
