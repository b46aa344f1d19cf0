"""What every reader yields and every trainer consumes: one batch of real images."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Batch:
    images: torch.Tensor  # uint8 [N, 3, H, W]; converted to float on the worker
    labels: torch.Tensor  # int64 [N]: ground-truth class, -1 where the dataset has none
    index: torch.Tensor  # int64 [N]: the image's stable index within its split
    labelled: torch.Tensor  # bool [N]: the image is in the stored k% labelled mask

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in
                       (self.images, self.labels, self.index, self.labelled)))
