"""``training.compile``: G and D~ compiled with no graph break, four graphs in the first
iteration and no recompile after it, training as the eager step does.

Counted with torch._dynamo's counters under the ``aot_eager`` backend: graph capture, guards,
breaks and the AOTAutograd forward/backward split are the same as under inductor, without
minutes of C++ code generation for each tiny graph on a CI machine."""

from __future__ import annotations

import pytest
import torch

from s3gan.methods import build_method
from s3gan.train.compiled import compile_counts
from s3gan.train.trainer import Trainer


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    yield
    torch._dynamo.reset()


def test_compiled_bf16_steps_capture_four_graphs_without_breaks_and_never_recompile(
        tiny_spec, real_batches):
    spec = tiny_spec(precision="bf16", channelsLast=True)
    eager = Trainer(spec, build_method(spec), real_batches(), "cpu")
    compiled_spec = tiny_spec(precision="bf16", channelsLast=True, compile=True)
    compiled = Trainer(compiled_spec, build_method(compiled_spec), real_batches(), "cpu",
                       compile_backend="aot_eager")
    before = compile_counts()
    first = compiled.train_step()
    warm = compile_counts()
    # G with and without gradients, D~ trainable (reals + fakes, one pass) and frozen.
    assert warm.since(before).graphs == 4
    assert warm.since(before).graph_breaks == 0
    losses = [first] + [compiled.train_step() for _ in range(2)]
    assert compile_counts().since(warm).frames == 0  # nothing recompiled
    for ours, theirs in zip(losses, (eager.train_step() for _ in range(3)), strict=True):
        assert ours == pytest.approx(theirs, abs=2e-2)
    # The compiled passes updated the real modules' spectral-norm vectors, as eager ones do.
    for (name, ours), theirs in zip(compiled.generator.state_dict().items(),
                                    eager.generator.state_dict().values(), strict=True):
        torch.testing.assert_close(ours, theirs, atol=2e-2, rtol=0, msg=name)
