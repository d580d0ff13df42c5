"""The functional reference against the hand-written oracles (tests/builders.py).

Property-based (hypothesis) over random small networks and inputs; the chip
against the reference is tests/e2e/test_engines_agree.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import (
    SETTINGS,
    assert_same,
    cases,
    nir_chain,
    oracle_async_fifo,
    oracle_async_forward_steps,
    oracle_layered,
    oracle_timestep,
    random_frames,
    random_net,
    raster,
)
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile


@SETTINGS
@given(cases())
def test_layered_equals_the_oracle(case):
    net, frames = case
    res = simulate(net, frames, RunConfig(mode="layered", trace=True))
    got = raster(res.events, net, *frames.shape[:2])
    for b in range(len(frames)):
        assert_same([g[b] for g in got], oracle_layered(net, frames[b]))


@SETTINGS
@given(cases())
def test_timestep_equals_the_oracle(case):
    net, frames = case
    res = simulate(net, frames, RunConfig(mode="timestep", trace=True))
    got = raster(res.events, net, len(frames), frames.shape[1] + net.n_layers)
    for b in range(len(frames)):
        assert_same([g[b] for g in got], oracle_timestep(net, frames[b]))


@SETTINGS
@given(cases(bias=False, binary=True, subtract=False), st.sampled_from(["fifo", "momentum", "random"]))
def test_async_with_wide_forward_steps_equals_layered(case, queue):
    """Binary input, zero reset, no bias: every spike of a layer is emitted in one step,
    so each layer integrates all of its input before its thresholds count. (With a
    subtract reset or a bias, a neuron the leak leaves over threshold fires at the
    first step in async mode, before its layer's input arrives; layered mode sees
    the input first.)"""
    net, frames = case
    widest = max(p.size for p in net.populations)
    asy = simulate(net, frames, RunConfig(mode="async", F=widest, queue=queue, trace=True))
    lay = simulate(net, frames, RunConfig(mode="layered", trace=True))
    T = frames.shape[1]
    assert_same(raster(asy.events, net, len(frames), T), raster(lay.events, net, len(frames), T))


@SETTINGS
@given(cases())
def test_async_fifo_one_spike_per_step_equals_the_oracle(case):
    net, frames = case
    res = simulate(net, frames, RunConfig(mode="async", F=1, prioritize_input=False, trace=True))
    got = raster(res.events, net, *frames.shape[:2])
    for b in range(len(frames)):
        assert_same([g[b] for g in got], oracle_async_fifo(net, frames[b]))


def two_two_one():
    """A 2-2-1 network where the order of two hidden spikes decides the output.

    One input spike reaches both hidden neurons (weights 3.2 and 1.5, thresholds
    3 and 1), so both fire in the same forward step: h0 with overshoot 0.2, h1
    with overshoot 0.5. The output (threshold 1) gets -5 from h0 and +2 from h1.
    - fifo emits h0 first (same step, lower index): V_out = -5, then -3: silent.
    - momentum emits h1 first (larger overshoot): V_out = 2 > 1: it fires, and
      h0's -5 comes after the spike.
    """
    g = nir_chain([np.array([[3.2, 0.0], [1.5, 0.0]]), np.array([[-5.0, 2.0]])], beta=0.5)
    net = network_from_nir(g)
    net.populations[1].theta = np.array([3.0, 1.0])
    return net, np.array([[[1, 0]]])


@pytest.mark.parametrize("queue, out_spikes", [("fifo", 0), ("momentum", 1)])
def test_hand_worked_momentum_against_fifo(queue, out_spikes):
    net, frames = two_two_one()
    res = simulate(net, frames, RunConfig(mode="async", F=1, queue=queue))
    assert res.spikes[0].tolist() == [1, 2, out_spikes]
    chip = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="m", mode="async", queue=queue))
    assert chip.spikes_per_layer["lif1"] == out_spikes


@pytest.mark.parametrize("options", [
    dict(mode="async", F=2, queue="momentum", momentum_noise=0.1),
    dict(mode="layered", spike_dropout=0.3, input_dropout=0.2),
    dict(mode="timestep", spike_dropout=0.3),
    dict(mode="async", F=1, prioritize_input=False, queue="random"),
    dict(mode="async", F=1, stop_on_output=2),
    dict(mode="async", F=3, refractory=False),
    dict(mode="async", F=1, refrac_dropout=0.5, spike_dropout=0.3, input_dropout=0.2),
    dict(mode="async", F=2, max_steps=3),
])
def test_a_batch_equals_its_samples_one_by_one(options):
    """Each sample is computed as if alone: its random draws are keyed by its index."""
    net = random_net([10, 12, 8, 4], seed=3, reset="subtract")
    frames = random_frames(6, 6, 10, 0.5, seed=4, max_count=2)
    cfg = RunConfig(**options)
    whole = simulate(net, frames, cfg)
    for b in range(len(frames)):
        one = simulate(net, frames[b:b + 1], cfg, first_sample=b)
        assert one.spikes[0].tolist() == whole.spikes[b].tolist()
        assert one.sops[0] == whole.sops[b] and one.forward_steps[0] == whole.forward_steps[b]


def test_several_queued_spikes_of_one_neuron_share_the_F_slots():
    """Input 0 with a count of 3 and input 1 with 1, queued: F = 4 emits all four at once."""
    net = network_from_nir(nir_chain([np.array([[0.1, 0.1]])]))
    res = simulate(net, np.array([[[3, 1]]]), RunConfig(mode="async", F=4, prioritize_input=False))
    assert res.sops[0] == 4 and res.forward_steps[0] == 2  # emit all, then integrate
    res = simulate(net, np.array([[[3, 1]]]), RunConfig(mode="async", F=1, prioritize_input=False))
    assert res.sops[0] == 4 and res.forward_steps[0] == 5


def test_synaptic_events_count_only_delivered_spikes():
    """With one forward step per timestep, a spike emitted at the last step is never
    integrated: it is no synaptic event."""
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])]))
    res = simulate(net, np.array([[[1]]]), RunConfig(mode="async", F=1, max_steps=1))
    assert res.spikes[0].tolist() == [1, 1, 0] and res.sops[0] == 1  # the input's, not h's
    res = simulate(net, np.array([[[1], [0]]]), RunConfig(mode="async", F=1, max_steps=1))
    assert res.spikes[0].tolist() == [1, 1, 1] and res.sops[0] == 2  # h's spike carried over


def test_stop_on_output_and_step_limit():
    net = random_net([10, 12, 4], seed=8)
    frames = random_frames(4, 6, 10, 0.6, seed=9)
    full = simulate(net, frames, RunConfig(mode="async", F=1))
    assert (full.pred_rate >= 0).any()
    fired = full.pred_rate >= 0
    steps = {}
    for k in (0, 3):
        stopped = simulate(net, frames, RunConfig(mode="async", F=1, stop_on_output=k))
        assert (stopped.forward_steps[fired] < full.forward_steps[fired]).all()
        np.testing.assert_array_equal(stopped.latency_steps, full.latency_steps)  # the same up to then
        steps[k] = stopped.forward_steps
    # K = 0 ends a sample in the step of its first output spike, K = 3 three steps later
    assert (steps[3][fired] - steps[0][fired] <= 3).all() and (steps[3][fired] > steps[0][fired]).any()
    limited = simulate(net, frames, RunConfig(mode="async", F=1, max_steps=2))
    assert (limited.forward_steps <= 2 * frames.shape[1]).all()


def test_latency_counts_network_spikes_before_the_first_output():
    # input -> h (fires) -> out (fires on h's spike): one network spike is processed first
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])]))
    res = simulate(net, np.array([[[1]]]), RunConfig(mode="async", F=1), labels=np.array([0]))
    assert res.latency_steps[0] == 1 and res.latency_steps_correct[0] == 1
    assert res.pred_first[0] == 0 and res.sops[0] == 2


def test_dropout_is_seeded():
    net = random_net([10, 12, 4], seed=1)
    frames = random_frames(3, 5, 10, 0.6, seed=2)
    runs = [simulate(net, frames, RunConfig(mode="async", F=2, spike_dropout=0.3, refrac_dropout=0.5,
                                                   input_dropout=0.2, seed=s)).spikes for s in (0, 0, 1)]
    assert (runs[0] == runs[1]).all() and not (runs[0] == runs[2]).all()


@SETTINGS
@given(cases(), st.sampled_from([1, 2, 3, None]), st.sampled_from(["fifo", "momentum"]))
def test_async_forward_steps_equal_the_network_wide_queue_oracle(case, F, scheduler):
    """One network-wide queue, output spikes included, F spikes a step (None: the widest layer)."""
    net, frames = case
    F = F or max(p.size for p in net.populations)
    res = simulate(net, frames, RunConfig(mode="async", F=F, queue=scheduler, prioritize_input=False, trace=True))
    got = raster(res.events, net, *frames.shape[:2])
    for b in range(len(frames)):
        assert_same([g[b] for g in got], oracle_async_forward_steps(net, frames[b], F, scheduler))
