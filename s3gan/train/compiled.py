"""``training.compile``: G's forward and D~ (``Discriminator.features``) under ``torch.compile``.

The step itself stays eager Python; the two network passes, where the FLOPs are, become graphs
(with their backward, via AOTAutograd). Spectral norm's power iteration, with its in-place
update of the ``_u``/``_v`` buffers, traces into each graph: no graph breaks. Shapes are static
(``dynamic=False``): a G step and a D step each see fixed batch sizes, so after the first
iteration nothing recompiles. One iteration compiles four graphs — G with and without
gradients (the G and D updates), D~ with trainable weights (reals and fakes in one pass) and
with frozen weights (the G update) — which :func:`compile_counts` lets tests and benchmarks
check. The method's heads and losses stay eager: they are small, and their data-dependent
checks would break graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

DEFAULT_BACKEND = "inductor"


def compiled(function: Callable, backend: str = DEFAULT_BACKEND) -> Callable:
    """``function`` (a module or a bound method) compiled for static shapes."""
    return torch.compile(function, dynamic=False, backend=backend)


@dataclass(frozen=True)
class CompileCounts:
    """Process-wide totals from torch._dynamo's counters."""

    frames: int  # frames compiled, recompiles included
    graphs: int  # graphs captured
    graph_breaks: int  # breaks, summed over their reasons

    def since(self, earlier: CompileCounts) -> CompileCounts:
        return CompileCounts(self.frames - earlier.frames, self.graphs - earlier.graphs,
                             self.graph_breaks - earlier.graph_breaks)


def compile_counts() -> CompileCounts:
    from torch._dynamo.utils import counters

    return CompileCounts(int(counters["frames"]["total"]),
                         int(counters["stats"]["unique_graphs"]),
                         int(sum(counters["graph_break"].values())))
