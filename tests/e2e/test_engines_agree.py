"""The chip against the functional reference: the same spikes, timestep by timestep.

Property-based (hypothesis) over random small networks and inputs:
- layered mode: the same spikes on any hardware profile;
- timestep mode: the same spikes with either NoC fidelity;
- async mode on one ideal core with policy P: the reference with F = 1 and scheduler P.
"""

from __future__ import annotations

from builders import SETTINGS, assert_same, cases, chip_events, raster
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.runner import run_network
from hw_models.profile import load_profile


@SETTINGS
@given(cases(), st.sampled_from(["loihi", "truenorth", "seneca", "generic", "ideal"]))
def test_chip_layered_equals_functional_for_any_profile(case, hw):
    net, frames = case
    ref = simulate(net, frames, RunConfig(mode="layered", trace=True))
    chip = run_network(net, load_profile(hw), frames, None, RunConfig(model="m", mode="layered", trace=True))
    T = frames.shape[1]
    assert_same(raster(chip_events(chip), net, len(frames), T), raster(ref.events, net, len(frames), T))


@SETTINGS
@given(cases(), st.sampled_from(["analytic", "routers"]))
def test_chip_timestep_equals_functional(case, noc):
    net, frames = case
    ref = simulate(net, frames, RunConfig(mode="timestep", trace=True))
    chip = run_network(net, load_profile("loihi"), frames, None,
                       RunConfig(model="m", mode="timestep", noc=noc, mapping="spread:2", trace=True))
    T = frames.shape[1] + net.n_layers
    assert_same(raster(chip_events(chip), net, len(frames), T), raster(ref.events, net, len(frames), T))


@SETTINGS
@given(cases(bias=False, binary=True), st.sampled_from([("fifo", "event", False), ("momentum", "frame", True)]))
def test_chip_async_on_one_ideal_core_equals_one_spike_per_step(case, policy):
    queue, input_mode, prioritize = policy
    net, frames = case
    ref = simulate(net, frames, RunConfig(mode="async", F=1, queue=queue, prioritize_input=prioritize, trace=True))
    chip = run_network(net, load_profile("ideal"), frames, None,
                       RunConfig(model="m", mode="async", queue=queue, input=input_mode, trace=True))
    T = frames.shape[1]
    assert_same(raster(chip_events(chip), net, len(frames), T), raster(ref.events, net, len(frames), T))
