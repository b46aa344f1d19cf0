import pytest
import torch

from s3gan.methods import InferredLabels


def test_hard_table_lookup_by_stable_index():
    inferred = InferredLabels(torch.tensor([2, 0, 1, 1, 2]), 3)
    assert not inferred.soft and len(inferred) == 5
    assert inferred.lookup(torch.tensor([4, 0, 2])).tolist() == [2, 2, 1]


def test_soft_table_hardens_to_its_argmax():
    table = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
    inferred = InferredLabels(table, 3)
    assert inferred.soft
    assert inferred.hard().table.tolist() == [1, 0]
    assert torch.equal(inferred.lookup(torch.tensor([1])), table[1:])


def test_class_frequencies_are_the_empirical_distribution():
    inferred = InferredLabels(torch.tensor([0, 0, 0, 2]), 4)
    assert inferred.class_frequencies().tolist() == [0.75, 0.0, 0.25, 0.0]


@pytest.mark.parametrize(
    ("table", "classes", "message"),
    [
        (torch.tensor([0, 3]), 3, r"hard labels must lie in \[0, 3\)"),
        (torch.tensor([-1, 0]), 3, "hard labels must lie"),
        (torch.full((2, 4), 0.25), 3, "soft labels have 4 columns"),
        (torch.tensor([[0.5, 0.6], [0.5, 0.5]]), 2, "summing to 1"),
        (torch.tensor([[1.5, -0.5], [0.5, 0.5]]), 2, "non-negative"),
        (torch.tensor([0, 1], dtype=torch.int32), 3, "must be int64"),
        (torch.zeros(2, 2, dtype=torch.int64), 2, "must be int64"),
    ],
)
def test_malformed_tables_are_refused(table, classes, message):
    with pytest.raises(ValueError, match=message):
        InferredLabels(table, classes)


def test_an_index_outside_the_table_is_refused():
    with pytest.raises(IndexError, match="different split"):
        InferredLabels(torch.tensor([0, 1]), 2).lookup(torch.tensor([2]))
