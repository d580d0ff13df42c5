"""Every neuron convention on both engines, over random networks (hypothesis):

- the reference in layered mode against a neuron-by-neuron oracle;
- the chip in layered and timestep mode against the reference, spike for spike;
- the chip in async mode on one ideal core against the reference with F = 1
  (several spikes per step do not run in async mode: refused, as tested here).
"""

from __future__ import annotations

import pytest
from builders import (
    SETTINGS,
    assert_same,
    cases,
    chip_events,
    conventions,
    oracle_layered_conventions,
    raster,
    with_conventions,
)
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import RunConfig, check_network
from emulator.errors import InputError
from emulator.functional import simulate
from emulator.runner import run_network
from hw_models.profile import load_profile


@SETTINGS
@given(cases(grid=True), st.lists(conventions(), min_size=1, max_size=3))
def test_reference_layered_equals_the_oracle(case, convs):
    net, frames = case
    with_conventions(net, convs)
    got = raster(simulate(net, frames, RunConfig(mode="layered", trace=True)).events, net, *frames.shape[:2])
    for b in range(len(frames)):
        assert_same([g[b] for g in got], oracle_layered_conventions(net, frames[b]))


@SETTINGS
@given(cases(grid=True), st.lists(conventions(), min_size=1, max_size=3), st.sampled_from(["layered", "timestep"]),
       st.sampled_from(["analytic", "routers"]))
def test_chip_tick_modes_equal_the_reference(case, convs, mode, noc):
    net, frames = case
    with_conventions(net, convs)
    ref = simulate(net, frames, RunConfig(mode=mode, trace=True))
    chip = run_network(net, load_profile("loihi"), frames, None,
                       RunConfig(model="m", mode=mode, noc=noc, mapping="spread:2", trace=True))
    T = frames.shape[1] + (net.n_layers if mode == "timestep" else 0)
    assert_same(raster(chip_events(chip), net, len(frames), T), raster(ref.events, net, len(frames), T))


@SETTINGS
@given(cases(bias=False, binary=True, grid=True), st.lists(conventions(several=False), min_size=1, max_size=3))
def test_chip_async_on_one_ideal_core_equals_one_spike_per_step(case, convs):
    net, frames = case
    with_conventions(net, convs)
    ref = simulate(net, frames, RunConfig(mode="async", F=1, prioritize_input=False, trace=True))
    chip = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="m", mode="async", trace=True))
    T = frames.shape[1]
    assert_same(raster(chip_events(chip), net, len(frames), T), raster(ref.events, net, len(frames), T))


def test_what_async_mode_cannot_run_is_refused():
    from builders import random_net

    from emulator.model import Conventions

    net = with_conventions(random_net([3, 4, 2], seed=1), [Conventions(spikes="several")])
    with pytest.raises(InputError, match="m.nir: nodes.lif0: several spikes per step run in the timestep"):
        check_network(net, RunConfig(model="m.nir", mode="async"), "m.nir")
    check_network(net, RunConfig(model="m.nir", mode="layered"), "m.nir")
    net = with_conventions(random_net([3, 4, 2], seed=1), [Conventions(reset="subtract-next")])
    with pytest.raises(InputError, match="--no-refractory: refractory: layer lif0 resets at the next step"):
        check_network(net, RunConfig(model="m.nir", mode="async", refractory=False), "m.nir")
    with pytest.raises(InputError, match="--refrac-dropout: refrac_dropout: layer lif0 resets at the next step"):
        check_network(net, RunConfig(model="m.nir", engine="functional", mode="async", refrac_dropout=0.5), "m.nir")
    check_network(net, RunConfig(model="m.nir", mode="async"), "m.nir")
