"""A two-tier neuron cost (``core.neuron_access``): with ``update_all_neurons`` every neuron pays an access each
timestep and the update only where its state changes (a potential or bias that is not zero, or input), as in
SANA-FE's Loihi model; without ``neuron_access`` every neuron pays the update, as before."""

from __future__ import annotations

import numpy as np
import pytest
from builders import BASE_PROFILE, changed, nir_chain

from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.cost import CATEGORIES
from hw_models.profile import profile_from_dict

E_UPD, E_ACC, L_UPD, L_ACC = 4, 9, 5, 6  # pJ, ns: the base test profile's update, and the access here


def two_tier(access=True, **changes):
    extra = {"core__neuron_access": {"latency_s": L_ACC * 1e-9, "energy_j": E_ACC * 1e-12}} if access else {}
    return profile_from_dict(changed(BASE_PROFILE, core__update_all_neurons=True, **extra, **changes), "t.yaml")


def chain():
    """input(1) -> h(2) through [2, 0] -> out(1) through [2, 2]; no leak to speak of, zero reset, theta 1."""
    return network_from_nir(nir_chain([np.array([[2.0], [0.0]]), np.array([[2.0, 2.0]])], beta=1.0 - 1e-9))


def run(hw, mode="timestep"):
    frames = np.zeros((1, 1, 1), int)
    frames[0, 0, 0] = 1
    return run_network(chain(), hw, frames, None, RunConfig(model="c", mode=mode))


def neuron_energy(res):
    return dict(zip(CATEGORIES, res.per_core_energy.sum(axis=0)))["neuron"]


def test_timestep_chain_by_hand():
    """T + L = 3 ticks, 3 network neurons: 9 accesses. Updates: h0 at tick 1 (its input), out at tick 2 (h0's
    spike); h1 gets no weight, and h0 is back at 0 after its zero reset: 2 updates."""
    res = run(two_tier())
    c = res.counters
    assert c.neuron_accesses.sum() == 9 and c.neuron_updates.sum() == 2
    assert neuron_energy(res) == pytest.approx((9 * E_ACC + 2 * E_UPD) * 1e-12, rel=1e-12)
    flat = run(two_tier(access=False))  # every neuron pays the update every tick
    assert flat.counters.neuron_updates.sum() == 9 and flat.counters.neuron_accesses.sum() == 0
    assert neuron_energy(flat) == pytest.approx(9 * E_UPD * 1e-12, rel=1e-12)


def test_the_neuron_pipeline_takes_the_access_latency():
    """Serial pipeline: each core's busy time grows by its accesses times L_acc, less the updates it no longer
    pays times L_upd."""
    tiered, flat = run(two_tier()), run(two_tier(access=False))
    a, b = tiered.counters, flat.counters
    want = a.neuron_accesses * L_ACC + (a.neuron_updates - b.neuron_updates) * L_UPD
    np.testing.assert_allclose(a.busy_s - b.busy_s, want * 1e-9, rtol=1e-9, atol=1e-18)


def test_a_bias_or_a_potential_keeps_a_neuron_updating():
    """A neuron with a bias changes every timestep; one left with a potential below threshold too."""
    net = network_from_nir(nir_chain([np.array([[0.5], [0.0]]), np.array([[0.1, 0.1]])], beta=0.5,
                                     biases=[np.array([0.0, 0.2]), np.array([0.0])]))
    frames = np.zeros((1, 3, 1), int)
    frames[0, 0, 0] = 1
    res = run_network(net, two_tier(), frames, None, RunConfig(model="b", mode="timestep"))
    # 3 frames + 2 drain ticks = 5 ticks, 3 neurons accessed in each. h1 (bias 0.2) updates in all 5 ticks and
    # settles at 0.4, under threshold; h0 from its input at tick 1 on (0.5, then leaking by half, never to 0):
    # 4; neither fires, so out stays at 0 and never updates.
    c = res.counters
    assert c.neuron_accesses.sum() == 15
    assert c.neuron_updates.sum() == 5 + 4


def test_async_accesses_every_neuron_at_the_leak_and_each_neuron_a_packet_updates():
    """The leak sweep of the one frame: 3 accesses, no update (every potential is 0, no bias); then the packet
    into h updates h0 (its one synapse; h1's weight is 0) and the packet into out updates out, each an access
    and an update, at both latencies."""
    res, flat = run(two_tier(), mode="async"), run(two_tier(access=False), mode="async")
    c = res.counters
    assert c.neuron_accesses.sum() == 3 + 2 and c.neuron_updates.sum() == 2
    assert neuron_energy(res) == pytest.approx((5 * E_ACC + 2 * E_UPD) * 1e-12, rel=1e-12)
    # without the access tier the sweep updates all 3 neurons and each packet its neuron
    assert flat.counters.neuron_updates.sum() == 3 + 2
    # the input reaches h after the sweeps, so the latency grows by the two packets' accesses only
    assert res.per_sample[0]["latency_s"] - flat.per_sample[0]["latency_s"] == pytest.approx(2 * L_ACC * 1e-9,
                                                                                               rel=1e-9)
