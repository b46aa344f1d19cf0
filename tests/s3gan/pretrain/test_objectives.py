"""Eqs. 1 and 2 against their definitions computed one rotation at a time."""

import pytest
import torch
import torch.nn.functional as F

from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.pretrain.objectives import rotation_loss, s2l_loss


@pytest.fixture(scope="module")
def f():
    torch.manual_seed(0)
    # Inference-mode BatchNorm makes one concatenated pass equal four separate ones.
    return ResNetV2(26, 1, resolution=16, num_classes=5).eval()


def _per_rotation(f, x, head, targets):
    return [F.cross_entropy(head(f(torch.rot90(x, r, dims=(2, 3)))), targets(r)) for r in range(4)]


def test_eq1_is_the_mean_over_four_rotations_of_the_rotation_cross_entropy(f):
    x = torch.randn(6, 3, 16, 16)
    with torch.no_grad():
        loss = rotation_loss(f, x)
        terms = _per_rotation(f, x, f.rotation_head, lambda r: torch.full((6,), r))
    assert loss.total.item() == pytest.approx(sum(terms).item() / 4, rel=1e-4)
    assert loss.classification is None
    assert 0.0 <= loss.rotation_accuracy <= 1.0


def test_eq2_adds_gamma_times_the_class_term_over_labelled_images_in_all_rotations(f):
    x = torch.randn(6, 3, 16, 16)
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    labelled = torch.tensor([False, True, False, True, True, False])
    with torch.no_grad():
        loss = s2l_loss(f, x, labels, labelled, gamma=0.5)
        rotation = sum(_per_rotation(f, x, f.rotation_head, lambda r: torch.full((6,), r))) / 4
        classes = sum(_per_rotation(f, x[labelled], f.class_head, lambda r: labels[labelled])) / 4
    assert loss.rotation.item() == pytest.approx(rotation.item(), rel=1e-4)
    assert loss.classification.item() == pytest.approx(classes.item(), rel=1e-4)
    assert loss.total.item() == pytest.approx(rotation.item() + 0.5 * classes.item(), rel=1e-4)


def test_eq2_never_reads_the_labels_of_unlabelled_images(f):
    x = torch.randn(4, 3, 16, 16)
    labelled = torch.tensor([True, False, True, False])
    with torch.no_grad():
        a = s2l_loss(f, x, torch.tensor([1, 2, 3, 4]), labelled, gamma=1.0)
        b = s2l_loss(f, x, torch.tensor([1, 0, 3, 0]), labelled, gamma=1.0)
        none = s2l_loss(f, x, torch.tensor([1, 2, 3, 4]), torch.zeros(4, dtype=torch.bool), 1.0)
    assert a.total.item() == b.total.item()
    assert none.classification.item() == 0.0 and none.total.item() == none.rotation.item()


def test_eq2_needs_the_class_head():
    with pytest.raises(ValueError, match="num_classes"):
        s2l_loss(ResNetV2(26, 1, 16), torch.randn(2, 3, 16, 16), torch.zeros(2, dtype=torch.long),
                 torch.ones(2, dtype=torch.bool), gamma=0.5)
