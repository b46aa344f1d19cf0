"""The GAN losses of the paper: the hinge loss and the auxiliary terms of eqs. 3, 4 and 5.

Each function takes logits already computed by D's heads; which images they come from (reals,
fakes, rotated copies, labelled reals) is the method's business (``s3gan.methods``).

Optional per-example ``weights`` follow ``tf.losses``' default reduction, which compare_gan
used: the weighted sum divided by the number of non-zero weights, so a boolean mask gives the
mean over the selected examples, and an all-zero mask gives 0 (no selected example, no loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from s3gan.rotation import rotation_cross_entropy


def weighted_mean(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """mean(values), or Σ w·v / #{w ≠ 0} (0 when every weight is 0); at least in float32, so
    bf16 logits are averaged without bf16 rounding."""
    values = values.to(torch.promote_types(values.dtype, torch.float32))
    if weights is None:
        return values.mean()
    weights = weights.to(values.dtype)
    selected = torch.count_nonzero(weights).clamp(min=1)
    return (weights * values).sum() / selected


def _wide(logits: torch.Tensor) -> torch.Tensor:
    """bf16 logits as float32 before the margin: 1 ± D(x) in bf16 rounds to 1/128 near 1."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def discriminator_hinge(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_weights: torch.Tensor | None = None,
    fake_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hinge L_D = -E_x[min(0, -1 + D(x, ŷ))] - E_(z,y)[min(0, -1 - D(G(z, y), y))].

    Also eq. 3's three hinge terms, when ``real_logits`` were computed with the ground-truth
    label for labelled reals and c_CT's label for the others (one expectation over the reals,
    as compare_gan's S3GAN computes it).
    """
    real = weighted_mean(F.relu(1.0 - _wide(real_logits)), real_weights)
    fake = weighted_mean(F.relu(1.0 + _wide(fake_logits)), fake_weights)
    return real + fake


def generator_hinge(fake_logits: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge L_G = -E_(z,y)[D(G(z, y), y)]."""
    return -weighted_mean(fake_logits, weights)


def labelled_class_loss(
    class_logits: torch.Tensor, labels: torch.Tensor, labelled: torch.Tensor, lambda_: float
) -> torch.Tensor:
    """Eq. 3's second term: -λ E_(x,y)∈labelled[log p(c_CT(D~(x)) = y)].

    Only rows where ``labelled`` is True are read (their labels must be class indices); the
    labels of the other rows may be anything, -1 included, and never reach the loss.
    """
    labelled = labelled.bool()
    # One static-shape check: boolean indexing would give a shape that changes with the
    # number of labelled rows, a new compiled graph for each count under torch-xla.
    if bool((labelled & (labels < 0)).any()):
        raise ValueError("labelled_class_loss: a labelled image has no class label (-1)")
    safe_labels = torch.where(labelled, labels, torch.zeros_like(labels))
    per_example = F.cross_entropy(_wide(class_logits), safe_labels, reduction="none")
    return lambda_ * weighted_mean(per_example, labelled)


def real_rotation_loss(
    rotation_logits: torch.Tensor, rotation_labels: torch.Tensor, beta: float
) -> torch.Tensor:
    """Eq. 4, added to D: -β/|R| Σ_r E_x[log p(c_R(D~(x^r)) = r)] on rotated REAL images."""
    return beta * rotation_cross_entropy(rotation_logits, rotation_labels)


def fake_rotation_loss(
    rotation_logits: torch.Tensor, rotation_labels: torch.Tensor, alpha: float
) -> torch.Tensor:
    """Eq. 5, added to G: -α/|R| Σ_r E[log p(c_R(D~(G(z, y)^r)) = r)] on rotated FAKE images."""
    return alpha * rotation_cross_entropy(rotation_logits, rotation_labels)
