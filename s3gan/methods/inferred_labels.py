"""Per-image labels inferred for the train split: ŷ = c_CL(F(x)) (CLUSTERING) or
c_S2L(F(x)) (S²GAN, S³GAN).

Produced before GAN training by k-means on F's features or by the S²L classifier (paper
section 3.1), stored by the image's stable index within its split (``Batch.index``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class InferredLabels:
    """``table`` is hard (int64 [N_images], class indices) or soft (float [N_images, C], rows of
    class probabilities); row i belongs to the image whose stable index is i."""

    table: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        t = self.table
        if self.num_classes < 1:
            raise ValueError(f"InferredLabels.num_classes must be ≥ 1, got {self.num_classes}")
        if t.dtype == torch.int64 and t.dim() == 1:
            if t.numel() and not (0 <= int(t.min()) and int(t.max()) < self.num_classes):
                raise ValueError(
                    f"InferredLabels.table: hard labels must lie in [0, {self.num_classes}), "
                    f"found [{int(t.min())}, {int(t.max())}]"
                )
        elif t.is_floating_point() and t.dim() == 2:
            if t.shape[1] != self.num_classes:
                raise ValueError(
                    f"InferredLabels.table: soft labels have {t.shape[1]} columns, "
                    f"num_classes is {self.num_classes}"
                )
            sums = t.sum(dim=1, dtype=torch.float64)
            if bool((t < 0).any()) or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
                raise ValueError("InferredLabels.table: soft labels must be rows of class "
                                 "probabilities (non-negative, summing to 1)")
        else:
            raise ValueError(
                "InferredLabels.table must be int64 [N] (hard) or float [N, C] (soft), "
                f"got {t.dtype} of shape {tuple(t.shape)}"
            )

    @property
    def soft(self) -> bool:
        return self.table.dim() == 2

    def __len__(self) -> int:
        return self.table.shape[0]

    def hard(self) -> InferredLabels:
        """The same labelling with each soft row replaced by its most likely class."""
        if not self.soft:
            return self
        return InferredLabels(self.table.argmax(dim=1), self.num_classes)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """The rows of the images with these stable indices, on ``index``'s device."""
        on_table = index.to(self.table.device)
        if on_table.numel() and (int(on_table.min()) < 0 or int(on_table.max()) >= len(self)):
            raise IndexError(
                f"InferredLabels: image index out of range [0, {len(self)}): the table was "
                "inferred for a different split or dataset"
            )
        return self.table[on_table].to(index.device)

    def class_frequencies(self) -> torch.Tensor:
        """The empirical distribution of the (hard) labels over the split, float [C]."""
        counts = torch.bincount(self.hard().table, minlength=self.num_classes)
        return counts.double().div(counts.sum()).float()
