"""Queue policies and the two input modes of async mode."""

from __future__ import annotations

import nir
import numpy as np
from builders import nir_chain

from emulator.chip.queues import FifoQueue, MomentumQueue, RandomQueue
from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile


class P:
    def __init__(self, src, prio):
        self.src, self.prio = src, prio


def drain(q):
    return [q.pop().src for _ in range(len(q))]


def test_fifo_keeps_arrival_order():
    q = FifoQueue()
    for s in (5, 1, 3):
        q.push(P(s, 0.0))
    assert drain(q) == [5, 1, 3]


def test_momentum_takes_highest_potential_then_lowest_index():
    q = MomentumQueue()
    for s, v in ((4, 1.2), (2, 3.0), (7, np.inf), (1, 1.2), (9, 2.5)):
        q.push(P(s, v))
    assert drain(q) == [7, 2, 9, 1, 4]


def test_random_is_seeded():
    orders = []
    for seed in (0, 0, 1):
        q = RandomQueue(np.random.default_rng(seed))
        for s in range(10):
            q.push(P(s, 0.0))
        orders.append(drain(q))
    assert orders[0] == orders[1] != orders[2]
    assert sorted(orders[0]) == list(range(10))


def run_inhibition(input_mode):
    """Input 0 excites h by 1.5, input 1 inhibits it by 1.0 (theta 1), both in frame 0.

    Event input: input 0's packet is integrated alone first, so h fires (1.5 > 1).
    Frame input: both are integrated before any threshold: 0.5, no spike.
    """
    net = network_from_nir(nir_chain([np.array([[1.5, -1.0]]), np.array([[2.0]])], beta=0.5))
    frames = np.array([[[1, 1]]])
    res = run_network(net, load_profile("ideal"), frames, None,
                      RunConfig(model="inh", mode="async", input=input_mode))
    return res.spikes_per_layer


def test_event_input_evaluates_thresholds_between_input_spikes():
    assert run_inhibition("event") == {"input": 2, "lif0": 1, "lif1": 1}


def test_frame_input_integrates_the_whole_frame_first():
    assert run_inhibition("frame") == {"input": 2, "lif0": 0, "lif1": 0}


def test_frame_input_from_several_input_cores_is_still_one_batch():
    """Input neurons on two cores (spread:2), or through two I/O ports: the target waits for both parts."""
    net = network_from_nir(nir_chain([np.array([[1.5, -1.0]]), np.array([[2.0]])], beta=0.5))
    for io in ({"io.input_on_cores": True}, {"io.ports": [[0, 0], [3, 2]]}):
        res = run_network(net, load_profile("loihi", io), np.array([[[1, 1]]]), None,
                          RunConfig(model="inh", mode="async", input="frame", mapping="spread:2"))
        assert res.mapping.core_of[0] != res.mapping.core_of[1]
        assert res.spikes_per_layer == {"input": 2, "lif0": 0, "lif1": 0}


def overshoot_net():
    """Hidden neuron 0: V = 3.2 over theta 3 (overshoot 0.2), inhibits the output by 5.
    Hidden neuron 1: V = 1.5 over theta 1 (overshoot 0.5), excites it by 2 (theta 1)."""
    g = nir_chain([np.array([[3.2], [1.5]]), np.array([[-5.0, 2.0]])], beta=0.5)
    tau = 1e-3 / 0.5
    g.nodes["lif0"] = nir.LIF(tau=np.full(2, tau), r=np.full(2, tau / 1e-3), v_leak=np.zeros(2),
                              v_threshold=np.array([3.0, 1.0]))
    return network_from_nir(g)


def test_momentum_serves_the_largest_overshoot_first():
    """fifo serves neuron 0's spike first (index order): -5 then +2, the output stays silent.
    momentum serves neuron 1's first (overshoot 0.5 > 0.2): +2 fires the output. Ordering by
    the raw potential (3.2 > 1.5) would not."""
    spikes = {}
    for queue in ("fifo", "momentum"):
        res = run_network(overshoot_net(), load_profile("ideal"), np.array([[[1]]]), None,
                          RunConfig(model="o", mode="async", queue=queue))
        spikes[queue] = res.spikes_per_layer
    assert spikes["fifo"] == {"input": 1, "lif0": 2, "lif1": 0}
    assert spikes["momentum"] == {"input": 1, "lif0": 2, "lif1": 1}
