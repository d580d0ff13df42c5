"""The training graph's forward passes equal the functional reference, spike for spike and step for
step (float64, exact arithmetic: weights on a grid of 1/4, beta 1/2), over random small networks;
and the surrogates' gradients against finite differences of their smooth relaxations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import SETTINGS, cases, raster
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import RunConfig
from emulator.functional import simulate

torch = pytest.importorskip("torch", reason="the [train] extra (torch) is not installed")
train = pytest.importorskip("emulator.train")


def layers_of(net):
    """The IR's network as the training graph's tensors (float64)."""
    pops = net.populations[1:]
    return train.Layers(weights=[torch.tensor(net.feed_forward(i + 1).weights.toarray()) for i in range(len(pops))],
                        beta=[torch.tensor(p.beta) for p in pops], theta=[torch.tensor(p.theta) for p in pops],
                        subtract=bool(pops[0].subtract.all()))


def per_layer(spikes):
    """``[layer](T, B, n)`` tensors as the reference's raster layout ``[layer](B, T, n)``."""
    return [np.moveaxis(s.detach().numpy(), 0, 1).astype(int) for s in spikes]


@SETTINGS
@given(cases(bias=False, grid=True))
def test_layered_forward_equals_the_reference(case):
    net, frames = case
    _, spikes = train.layered_forward(layers_of(net), torch.tensor(frames, dtype=torch.float64), train.atan())
    ref = simulate(net, frames, RunConfig(mode="layered", trace=True))
    want = raster(ref.events, net, *frames.shape[:2])
    for got, w in zip(per_layer(spikes), want):
        np.testing.assert_array_equal(got, w)


@SETTINGS
@given(cases(bias=False, grid=True), st.sampled_from([1, 4, None]), st.sampled_from(["fifo", "momentum", "random"]),
       st.sampled_from([0.0, 0.5]))
def test_async_forward_equals_the_reference(case, F, scheduler, refrac_dropout):
    net, frames = case
    F = F or max(p.size for p in net.populations)
    _, spikes, steps = train.async_forward(layers_of(net), torch.tensor(frames, dtype=torch.float64), train.atan(),
                                           F, scheduler, refrac_dropout, seed=3)
    ref = simulate(net, frames, RunConfig(mode="async", F=F, queue=scheduler, refrac_dropout=refrac_dropout, seed=3,
                                          trace=True))
    want = raster(ref.events, net, *frames.shape[:2])
    for got, w in zip(per_layer(spikes), want):
        np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(steps, ref.forward_steps)


@pytest.mark.parametrize("name, slope, smooth", [
    ("atan", 2.0, lambda x, a: torch.atan(math.pi * a * x / 2) / math.pi ** 2 * 2 / a),
    ("fast_sigmoid", 25.0, lambda x, k: x / (1 + k * x.abs()) / 1.0),
])
def test_surrogate_gradients_match_finite_differences(name, slope, smooth):
    """The backward of the spike is the derivative of a smooth relaxation: compare to its finite differences."""
    x = torch.linspace(-1, 1, 41, dtype=torch.float64, requires_grad=True)
    train.SURROGATES[name](slope)(x).sum().backward()
    h = 1e-8
    fd = (smooth(x.detach() + h, slope) - smooth(x.detach() - h, slope)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd.numpy(), rtol=1e-6, atol=1e-7)
    assert torch.equal(train.SURROGATES[name](slope)(x.detach()), (x.detach() > 0).double())


def test_gradients_reach_every_layer_and_a_step_lowers_the_loss():
    torch.manual_seed(0)
    sizes = [6, 8, 3]
    weights = [torch.nn.init.xavier_uniform_(torch.empty(a, b, dtype=torch.float64)).requires_grad_()
               for a, b in zip(sizes[:-1], sizes[1:])]
    net = train.Layers(weights, [torch.full((n,), 0.9, dtype=torch.float64) for n in sizes[1:]],
                       [torch.full((n,), 0.3, dtype=torch.float64) for n in sizes[1:]])
    frames = (torch.rand(8, 5, 6, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    labels = torch.arange(8) % 3

    def loss():
        out, _, _ = train.async_forward(net, frames, train.atan(), 4, "fifo")
        return torch.stack([torch.nn.functional.cross_entropy(o, labels) for o in out]).mean()

    before = loss()
    before.backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)
    start = [w.detach().clone() for w in weights]
    after = []
    norm = torch.sqrt(sum((w.grad ** 2).sum() for w in weights))
    for size in (0.05, 0.1, 0.2, 0.4):  # steps of these lengths: spikes are steps, a tiny move changes none
        with torch.no_grad():
            for w, w0 in zip(weights, start):
                w.copy_(w0 - size * w.grad / norm)
            after.append(loss().item())
    assert min(after) < before.item()  # the surrogate gradient points downhill
