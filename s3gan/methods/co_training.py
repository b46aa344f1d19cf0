"""Co-training (paper section 3.2, eq. 3): S²GAN-CO and S³GAN-CO.

A linear classifier c_CT on D's representation D~ (``D.class_head``) is trained on the labelled
reals with weight λ, and labels the unlabelled reals for the projection:
stop_gradient(softmax(c_CT(D~(x)))) (soft, the paper's choice for every -CO run) or the one-hot
of its argmax (hard, compare_gan's default). Labelled reals keep their ground-truth label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from s3gan.data.batch import Batch
from s3gan.losses import labelled_class_loss
from s3gan.methods.real_labels import LabelledReals


@dataclass(frozen=True)
class CoTraining:
    lambda_: float
    soft: bool = True

    def __call__(self, batch: Batch, features: torch.Tensor, discriminator: nn.Module
                 ) -> LabelledReals:
        class_logits = discriminator.class_head(features)
        labelled = batch.labelled.bool()
        d_class = labelled_class_loss(class_logits, batch.labels, labelled, self.lambda_)
        return LabelledReals(self._projection_labels(class_logits, batch.labels, labelled),
                             {"d_class": d_class})

    def _projection_labels(self, class_logits: torch.Tensor, labels: torch.Tensor,
                           labelled: torch.Tensor) -> torch.Tensor:
        num_classes = class_logits.shape[1]
        predicted = class_logits.detach()
        if self.soft:
            predicted = torch.softmax(predicted, dim=1)
        else:
            predicted = F.one_hot(predicted.argmax(dim=1), num_classes).to(class_logits.dtype)
        # Unlabelled rows carry label -1; clamping keeps one_hot defined, `where` discards them.
        known = F.one_hot(labels.clamp(min=0), num_classes).to(class_logits.dtype)
        return torch.where(labelled.unsqueeze(1), known, predicted)
