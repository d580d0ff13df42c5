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
from emulator.model import parse_arch

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


def conv_layers(spec, seed):
    """A CNN of ``spec`` with weights on a grid of 1/4 (exact sums), beta 1/2 and theta 1, and its IR."""
    arch = parse_arch(spec)
    gen = torch.Generator().manual_seed(seed)
    shapes = [(lay.channels, lay.in_shape[0], lay.kernel, lay.kernel) if lay.kind == "conv" else (lay.n_in, lay.size)
              for lay in arch.layers]
    weights = [torch.randint(-3, 6, s, generator=gen).double() / 4 for s in shapes]
    net = train.Layers(weights, [torch.full((n,), 0.5, dtype=torch.float64) for n in arch.sizes[1:]],
                       [torch.full((n,), 1.0, dtype=torch.float64) for n in arch.sizes[1:]], arch=arch)
    return net, train.to_network(net, train.TrainConfig(arch=spec, out="cnn.nir"), 1000)


CNNS = ["1x6x6-3c3-p2-4", "2x5x5-2c3s2-3c2-5"]


@pytest.mark.parametrize("spec", CNNS)
def test_a_convolution_in_torch_gives_the_chips_folded_synapses(spec):
    net, _ = conv_layers(spec, 0)
    for i, lay in enumerate(net.arch.layers):
        s = torch.rand(4, lay.n_in, generator=torch.Generator().manual_seed(i), dtype=torch.float64)
        np.testing.assert_allclose(net.project(i, s).numpy(), s.numpy() @ net.synapses(i).toarray(), rtol=1e-12)


@pytest.mark.parametrize("spec", CNNS)
@pytest.mark.parametrize("mode, F, scheduler", [("layered", None, None), ("async", 1, "fifo"), ("async", 4, "momentum"),
                                                ("async", 4, "random"), ("async", None, "fifo")])
def test_a_cnns_forward_equals_the_reference(spec, mode, F, scheduler):
    layers, net = conv_layers(spec, 1)
    frames = (np.random.default_rng(2).random((3, 4, net.populations[0].size)) < 0.4).astype(np.int64)
    x = torch.tensor(frames, dtype=torch.float64)
    F = F or max(p.size for p in net.populations)
    if mode == "layered":
        _, spikes = train.layered_forward(layers, x, train.atan())
        ref = simulate(net, frames, RunConfig(mode="layered", trace=True))
    else:
        _, spikes, steps = train.async_forward(layers, x, train.atan(), F, scheduler, 0.5, seed=3)
        ref = simulate(net, frames, RunConfig(mode="async", F=F, queue=scheduler, refrac_dropout=0.5, seed=3,
                                              trace=True))
        np.testing.assert_array_equal(steps, ref.forward_steps)
    want = raster(ref.events, net, *frames.shape[:2])
    assert sum(w.sum() for w in want) > 0  # the case spikes
    for got, w in zip(per_layer(spikes), want):
        np.testing.assert_array_equal(got, w)


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


@SETTINGS
@given(cases(bias=False, grid=True), st.sampled_from([1, 3]))
def test_momentum_tie_noise_draws_as_the_reference(case, F):
    net, frames = case
    _, spikes, steps = train.async_forward(layers_of(net), torch.tensor(frames, dtype=torch.float64), train.atan(),
                                           F, "momentum", seed=5, momentum_noise=0.3)
    ref = simulate(net, frames, RunConfig(mode="async", F=F, queue="momentum", momentum_noise=0.3, seed=5,
                                          trace=True))
    for got, w in zip(per_layer(spikes), raster(ref.events, net, *frames.shape[:2])):
        np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(steps, ref.forward_steps)


def test_training_input_dropout_is_the_references():
    """The training batch's dropped input, through the layered pass, gives the reference's spikes when
    the reference drops its input with the same p and seed."""
    net, frames = _fixed_case()
    cfg = train.TrainConfig(arch="4-2", out="m.nir", input_dropout=0.4, seed=7)
    x = train.loop._input_dropout(torch.tensor(frames, dtype=torch.float64), cfg, first_sample=0)
    assert 0 < x.sum() < frames.sum()
    _, spikes = train.layered_forward(layers_of(net), x, train.atan())
    ref = simulate(net, frames, RunConfig(mode="layered", input_dropout=0.4, seed=7, trace=True))
    for got, w in zip(per_layer(spikes), raster(ref.events, net, *frames.shape[:2])):
        np.testing.assert_array_equal(got, w)


def _fixed_case():
    from builders import random_frames, random_net

    net = random_net([6, 5, 3], seed=4, grid=True)
    return net, random_frames(4, 6, 6, 0.5, seed=4, max_count=2)


def test_the_first_spike_loss_by_hand():
    """Two output neurons over 3 timesteps: neuron 0 first fires at t = 1 (1 timestep silent), neuron 1
    at t = 0 (0), a silent neuron counts T; logits are minus those counts."""
    out = torch.tensor([[[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])  # (T=3, B=1, n=3)
    want = torch.nn.functional.cross_entropy(torch.tensor([[-1.0, 0.0, -3.0]]), torch.tensor([1]))
    assert train.loop.first_spike_loss(out, torch.tensor([1])).item() == pytest.approx(want.item())
    x = out.clone().requires_grad_()
    train.loop.first_spike_loss(x, torch.tensor([0])).backward()
    assert x.grad[0, 0, 0] < 0  # firing neuron 0 earlier lowers the loss of class 0


def test_the_spike_penalty_adds_its_share_of_the_spikes():
    out = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    hidden = torch.ones(2, 1, 4)
    base = train.TrainConfig(arch="4-2", out="m.nir")
    pen = train.TrainConfig(arch="4-2", out="m.nir", spike_penalty=0.01)
    labels = torch.tensor([0])
    got = train.loop.objective(out, [hidden, out], labels, pen) - train.loop.objective(out, [hidden, out], labels, base)
    assert got.item() == pytest.approx(0.01 * (8 + 3))
