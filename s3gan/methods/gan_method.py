"""A paper method as the composition of its parts: how reals are labelled, how fake labels are
drawn, which heads D carries, and whether D and G add the rotation terms (eqs. 4 and 5).

The D and G losses are the hinge losses of paper section 2 plus each part's terms. Reals and
fakes (with their rotated copies) go through the trainer's ``critic`` (DiffAugment, then D~) in
one concatenated pass: D has no BatchNorm, so this equals separate passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from s3gan.data.batch import Batch
from s3gan.losses import discriminator_hinge, generator_hinge
from s3gan.methods.fake_labels import FakeLabels
from s3gan.methods.real_labels import RealLabels
from s3gan.methods.self_supervision import RotatedInput, RotationSelfSupervision
from s3gan.nn.heads import HeadSet
from s3gan.spec.methods import Method

Critic = Callable[[torch.Tensor], torch.Tensor]  # images in G's range → D~ features [N, F]


@dataclass(frozen=True)
class LossTerms:
    """A network's loss and its named terms (the metric catalogue's ``term`` label values)."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]

    @classmethod
    def of(cls, terms: dict[str, torch.Tensor]) -> LossTerms:
        return cls(sum(terms.values()), terms)


@dataclass(frozen=True)
class GanMethod:
    method: Method
    num_classes: int  # what G and D condition on: dataset classes, k clusters, or 1
    heads: HeadSet
    real_labels: RealLabels
    fake_labels: FakeLabels
    rotation: RotationSelfSupervision | None = None  # eqs. 4 and 5 (the SS and S³ methods)
    reads_only_labelled: bool = False  # BIGGAN-k%: the unlabelled reals are discarded

    def sample_fake_labels(self, n: int, generator: torch.Generator | None = None
                           ) -> torch.Tensor:
        return self.fake_labels.sample(n, generator)

    def discriminator_loss(self, discriminator: nn.Module, critic: Critic,
                           batch_images: torch.Tensor, batch: Batch, fakes: torch.Tensor,
                           fake_labels: torch.Tensor) -> LossTerms:
        """Hinge L_D (+ eq. 3's class term, + eq. 4) for reals ``batch_images`` (G's range)."""
        if batch_images.shape[0] != len(batch):
            raise ValueError(f"batch_images holds {batch_images.shape[0]} images, "
                             f"the batch {len(batch)}")
        rotated = self._rotated(batch_images)
        reals = rotated.images if rotated is not None else batch_images
        features = critic(torch.cat([reals, fakes]))
        real_features, fake_features = features.split([reals.shape[0], fakes.shape[0]])
        upright = real_features[:len(batch)]
        labelled = self.real_labels(batch, upright, discriminator)
        terms = {"d_hinge": discriminator_hinge(
            discriminator.adversarial(upright, labelled.labels),
            discriminator.adversarial(fake_features, fake_labels))}
        terms.update(labelled.terms)
        if rotated is not None:
            terms["d_rotation"] = self.rotation.discriminator_term(
                discriminator, real_features, rotated)
        return LossTerms.of(terms)

    def generator_loss(self, discriminator: nn.Module, critic: Critic, fakes: torch.Tensor,
                       fake_labels: torch.Tensor) -> LossTerms:
        """Hinge L_G (+ eq. 5) for ``fakes`` = G(z, fake_labels)."""
        rotated = self._rotated(fakes)
        features = critic(rotated.images if rotated is not None else fakes)
        upright = features[:fakes.shape[0]]
        terms = {"g_adversarial": generator_hinge(discriminator.adversarial(upright, fake_labels))}
        if rotated is not None:
            terms["g_rotation"] = self.rotation.generator_term(discriminator, features, rotated)
        return LossTerms.of(terms)

    def _rotated(self, images: torch.Tensor) -> RotatedInput | None:
        return self.rotation.append_rotations(images) if self.rotation is not None else None
