"""Training collapse: the three signals BigGAN (Brock et al. 2019, section 4.2) saw before it.

1. ``d_loss_collapse``: D's loss falls towards zero (it separates reals from fakes perfectly)
   while G's loss rises.
2. ``spectral_norm_growth``: the largest singular value σ0 of a network's (unnormalised) weights
   grows sharply; BigGAN shows σ0 climbing steadily, then exploding at collapse (its Fig. 3).
3. ``fid_jump``: sample quality breaks: FID rises well above the best seen so far.

σ0 is read off each spectrally normalised layer's own power-iteration vectors (Miyato et al. 2018:
σ ≈ uᵀ W v, the estimate the layer divides by), so measuring it costs one matrix-vector
product per layer and one device synchronisation per network; layers without spectral norm get
``POWER_ITERATIONS`` rounds of power iteration.

The detector is pure and stateful: fed one record per G step and one per evaluation, it returns
the signals that fired. Thresholds are plain dataclass defaults, documented beside each field.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import fmean

import torch
from torch import nn
from torch.nn.utils import parametrize

D_LOSS_COLLAPSE = "d_loss_collapse"
SPECTRAL_NORM_GROWTH = "spectral_norm_growth"
FID_JUMP = "fid_jump"
REASONS = (D_LOSS_COLLAPSE, SPECTRAL_NORM_GROWTH, FID_JUMP)


POWER_ITERATIONS = 20  # for layers without spectral norm, which keep no vectors of their own


@torch.no_grad()
def largest_singular_value(network: nn.Module) -> float:
    """σ0: the largest first singular value among the network's weight matrices."""
    sigmas = []
    for module in network.modules():
        if parametrize.is_parametrized(module, "weight"):
            weight = module.parametrizations.weight.original
            normalisation = module.parametrizations.weight[0]
            matrix = weight.movedim(normalisation.dim, 0).flatten(1)
            sigmas.append(torch.dot(normalisation._u, torch.mv(matrix, normalisation._v)))
        elif isinstance(module, nn.Linear | nn.Conv2d):
            sigmas.append(_power_iteration(module.weight.flatten(1).float()))
    return float(torch.stack(sigmas).max()) if sigmas else 0.0  # one device sync


def _power_iteration(matrix: torch.Tensor) -> torch.Tensor:
    """‖W v‖ after power iteration from a fixed start: a lower bound that converges to σ0."""
    v = torch.ones(matrix.shape[1], device=matrix.device, dtype=matrix.dtype)
    v = v / v.norm()
    for _ in range(POWER_ITERATIONS):
        v = torch.nn.functional.normalize(torch.mv(matrix.T, torch.mv(matrix, v)), dim=0)
    return torch.mv(matrix, v).norm()


@dataclass(frozen=True)
class CollapseThresholds:
    # D's loss counts as "near zero" at or below this. The hinge loss of eq. (3)'s first and
    # last terms sits near 2 at the start and settles around 0.5–1.5 in healthy runs.
    d_loss_floor: float = 0.05
    # ... and must stay there this many consecutive G steps (one low batch is noise).
    d_loss_patience: int = 5
    # G's loss "rises" when its mean over those steps exceeds the mean of the window before by
    # this much (the hinge G loss −D(G(z)) is unbounded above once D wins).
    g_loss_rise: float = 0.5
    # G steps of history kept for the loss and σ0 baselines.
    window: int = 50
    # σ0 of either network counts as exploding at this multiple of its smallest value over the
    # window; BigGAN's σ0 grows by a few percent per thousand steps before collapse, then by
    # multiples within a few hundred.
    sigma_growth: float = 2.0
    # FID "jumps" when it exceeds the best FID seen so far by this factor ...
    fid_ratio: float = 1.5
    # ... and by at least this many points (so a run near FID 2 is not flagged for reaching 3).
    fid_margin: float = 5.0

    def __post_init__(self) -> None:
        if self.d_loss_patience < 1 or self.window <= self.d_loss_patience:
            raise ValueError(f"collapse thresholds: d_loss_patience ({self.d_loss_patience}) "
                             f"must be ≥ 1 and below window ({self.window})")
        if self.sigma_growth <= 1 or self.fid_ratio <= 1:
            raise ValueError(f"collapse thresholds: sigma_growth ({self.sigma_growth}) and "
                             f"fid_ratio ({self.fid_ratio}) must exceed 1")


@dataclass(frozen=True)
class Detection:
    """The signals that fired at one observation, each with the numbers behind it."""

    step: int
    reasons: dict[str, str]

    def __str__(self) -> str:
        said = "; ".join(f"{reason}: {why}" for reason, why in self.reasons.items())
        return f"collapse at G step {self.step} ({said})"


@dataclass
class CollapseDetector:
    thresholds: CollapseThresholds = field(default_factory=CollapseThresholds)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the history: after a rollback the networks are another run's."""
        window = self.thresholds.window
        self._d_loss: deque[float] = deque(maxlen=window)
        self._g_loss: deque[float] = deque(maxlen=window)
        self._sigma: dict[str, deque[float]] = {}
        self._best_fid: float | None = None
        self.collapsed = False

    def baseline(self, sigma: dict[str, float]) -> None:
        """σ0 per network before the first observed step (e.g. right after a restore)."""
        for network, value in sigma.items():
            self._sigma.setdefault(network, deque(maxlen=self.thresholds.window)).append(value)

    def observe_step(self, step: int, d_loss: float, g_loss: float,
                     sigma: dict[str, float]) -> Detection | None:
        """One G step's D and G losses and σ0 per network name."""
        reasons = {}
        low_loss = self._d_loss_collapse(d_loss, g_loss)
        if low_loss:
            reasons[D_LOSS_COLLAPSE] = low_loss
        growth = self._sigma_growth(sigma)
        if growth:
            reasons[SPECTRAL_NORM_GROWTH] = growth
        return self._verdict(step, reasons)

    def observe_fid(self, step: int, fid: float) -> Detection | None:
        """One evaluation's FID (mean over sample sets)."""
        t, best = self.thresholds, self._best_fid
        reasons = {}
        if best is not None and fid > best * t.fid_ratio and fid > best + t.fid_margin:
            reasons[FID_JUMP] = f"FID {fid:.2f}, best so far {best:.2f}"
        self._best_fid = fid if best is None else min(best, fid)
        return self._verdict(step, reasons)

    def _verdict(self, step: int, reasons: dict[str, str]) -> Detection | None:
        self.collapsed = bool(reasons)
        return Detection(step, reasons) if reasons else None

    def _d_loss_collapse(self, d_loss: float, g_loss: float) -> str | None:
        t = self.thresholds
        self._d_loss.append(d_loss)
        self._g_loss.append(g_loss)
        if len(self._g_loss) <= t.d_loss_patience:
            return None
        recent_d = list(self._d_loss)[-t.d_loss_patience:]
        g = list(self._g_loss)
        recent_g, before_g = fmean(g[-t.d_loss_patience:]), fmean(g[:-t.d_loss_patience])
        if max(recent_d) <= t.d_loss_floor and recent_g - before_g >= t.g_loss_rise:
            return (f"D loss ≤ {t.d_loss_floor} for {t.d_loss_patience} steps while G loss "
                    f"rose from {before_g:.3f} to {recent_g:.3f}")
        return None

    def _sigma_growth(self, sigma: dict[str, float]) -> str | None:
        grown = []
        for network, value in sigma.items():
            history = self._sigma.setdefault(network, deque(maxlen=self.thresholds.window))
            if history and value >= self.thresholds.sigma_growth * min(history):
                grown.append(f"{network} σ0 {value:.3g}, window minimum {min(history):.3g}")
            history.append(value)
        return ", ".join(grown) or None


def publish(exporter, detection: Detection | None, **run: str) -> None:
    """Export one verdict: ``s3gan_collapse`` (1 while collapsed) and a detection count per
    reason. ``run`` are the catalogue's run labels (experiment, trial)."""
    exporter.set("s3gan_collapse", 1.0 if detection else 0.0, **run)
    for reason in detection.reasons if detection else ():
        exporter.inc("s3gan_collapse_detections_total", reason=reason, **run)
