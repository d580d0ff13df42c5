"""Routers that stall their senders (``--noc routers``): back-pressure reaches the producing cores, a cycle of
full buffers deadlocks, and the watchdog names the cycle."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from builders import nir_chain, profile, random_frames, random_net
from hypothesis import given, settings
from hypothesis import strategies as st

import emulator.chip.modes.asyncmode as modes
from emulator.chip import noc as nocmod
from emulator.config import RunConfig
from emulator.errors import DeadlockError
from emulator.model import network_from_nir
from emulator.runner import run_network

# Input and output layer on core 0 (tile 0), the hidden layer on core 1 (tile 1) of a 2x1 mesh: core 0 sends to
# core 1 over tile(0,0).east, and core 1 sends back over tile(1,0).west. The hidden core is slow (0.3 us a
# synapse), so its queue fills, the east link backs up, and core 0 stalls on its next input spike; a stalled
# core 0 serves nothing, so core 1's packets for it wait on the west link and core 1 stalls too.
LOOP = {"input": [0], "lif0": [1], "lif1": [0]}
CYCLE = "core 0 -> tile(0,0).east -> core 1 -> tile(1,0).west -> core 0"


def loop_run(tmp_path, capacity, buffer, samples=1):
    mapping = tmp_path / "loop.yaml"
    mapping.write_text(yaml.safe_dump(LOOP))
    net = network_from_nir(nir_chain([np.full((8, 8), 0.6), np.full((4, 8), 0.6)], beta=0.9))
    hw = profile(mesh__width=2, core__queue_capacity=capacity, noc__buffer_packets=buffer,
                 core__latency_s__synaptic_op=300e-9)
    frames = np.ones((samples, 3, 8), int)
    return run_network(net, hw, frames, None, RunConfig(model="loop", mode="async", noc="routers",
                                                        mapping=str(mapping)))


class StallSpy:
    """Counts the injections that waited, and checks that no core starts a service while its spikes wait."""

    def __init__(self, monkeypatch):
        self.stalls, self.starts_while_stalled = 0, 0
        real_inject, real_serve_run = nocmod.RouterNoC._inject, modes._serve_run
        spy = self

        def inject(noc, core):
            real_inject(noc, core)
            spy.noc = noc
            spy.stalls = max(spy.stalls, noc.stalls)

        def serve_run(chip, core, n, t):
            spy.starts_while_stalled += chip.noc.stalled(core.id) is not None
            return real_serve_run(chip, core, n, t)

        monkeypatch.setattr(nocmod.RouterNoC, "_inject", inject)
        monkeypatch.setattr(modes, "_serve_run", serve_run)


def test_a_cycle_of_full_buffers_deadlocks_and_is_named(tmp_path):
    with pytest.raises(DeadlockError) as err:
        loop_run(tmp_path, capacity=1, buffer=1)
    msg = str(err.value)
    assert f"cycle of waits: {CYCLE}" in msg
    assert msg.index("cycle of waits") < msg.index("core 0 (")  # the cycle first, then what each holds


def test_the_same_loop_with_room_to_spare_stalls_but_finishes(tmp_path, monkeypatch):
    """Queues of 4 and buffers of 2: senders still wait for room (the spy sees it), no cycle closes, and every
    packet sent is received and served."""
    spy = StallSpy(monkeypatch)
    res = loop_run(tmp_path, capacity=4, buffer=2)
    assert spy.stalls > 0 and spy.starts_while_stalled == 0
    c = res.counters
    assert c.packets_out.sum() == c.packets_received.sum() == c.messages_in.sum() > 0


def test_stalls_delay_the_sender(tmp_path, monkeypatch):
    """Without room to spare the loop finishes later than with unlimited buffers and queues, where nothing
    waits; the spikes are the same, since each core still serves its packets in arrival order."""
    spy = StallSpy(monkeypatch)
    tight = loop_run(tmp_path, capacity=4, buffer=2).per_sample[0]
    assert spy.stalls > 0
    spy.stalls = 0
    free = loop_run(tmp_path, capacity=None, buffer=10**6).per_sample[0]
    assert spy.stalls == 0
    assert tight["latency_s"] > free["latency_s"]
    assert tight["spikes"] == free["spikes"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), capacity=st.sampled_from([1, 2, 4]), buffer=st.sampled_from([1, 2, 4]),
       queue=st.sampled_from(["fifo", "momentum"]), frame_input=st.booleans())
def test_no_core_serves_while_its_spikes_wait_and_nothing_is_lost(seed, capacity, buffer, queue, frame_input):
    """Feed-forward networks spread over a 4x2 mesh (no cycle of waits can close): under any buffers and queues
    every packet arrives and is served, and no core starts a service while its own packets wait to enter."""
    with pytest.MonkeyPatch.context() as m:
        spy = StallSpy(m)
        net = random_net([12, 16, 10, 4], seed=seed)
        hw = profile(mesh__width=4, mesh__height=2, core__max_neurons=8, core__queue_capacity=capacity,
                     noc__buffer_packets=buffer)
        frames = random_frames(1, 3, 12, 0.6, seed=seed + 1, max_count=2)
        res = run_network(net, hw, frames, None, RunConfig(model="r", mode="async", noc="routers", queue=queue,
                                                           input="frame" if frame_input else "event",
                                                           mapping="spread:2"))
        c = res.counters
        assert c.packets_out.sum() == c.packets_received.sum() == c.messages_in.sum()
        assert spy.starts_while_stalled == 0
        if capacity == buffer == 1:  # one-packet queues and buffers: senders do wait (the check is not empty)
            assert spy.stalls > 0


def test_a_recurrent_layer_split_over_two_cores_can_deadlock():
    """16 neurons exciting each other, on cores 2 and 3 (spread:2 on a 6x1 mesh), slow, queues and buffers of one
    packet: each core's recurrent packets wait for the other's queue, and both stall."""
    import nir

    def lif(n):
        return nir.LIF(tau=np.full(n, 2e-3), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.ones(n))

    rng = np.random.default_rng(2)
    nodes = {"input": nir.Input(input_type=np.array([8])), "fc": nir.Linear(weight=rng.normal(1.0, 0.5, (16, 8))),
             "lif": lif(16), "w_rec": nir.Linear(weight=np.abs(rng.normal(0.6, 0.2, (16, 16)))),
             "fc2": nir.Linear(weight=rng.normal(0.5, 0.5, (3, 16))), "out": lif(3),
             "output": nir.Output(output_type=np.array([3]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "fc2"), ("fc2", "out"),
             ("out", "output")]
    net = network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}))
    hw = profile(mesh__width=6, core__queue_capacity=1, noc__buffer_packets=1, core__max_neurons=8,
                 core__latency_s__synaptic_op=200e-9)
    with pytest.raises(DeadlockError) as err:
        run_network(net, hw, np.ones((1, 6, 8), int), None,
                    RunConfig(model="rec", mode="async", noc="routers", mapping="spread:2"))
    cycle = str(err.value).split("cycle of waits: ")[1].split(";")[0].split(" -> ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"core 2", "tile(2,0).east", "core 3", "tile(3,0).west"}


@pytest.mark.parametrize("io", [False, True])
def test_a_feed_forward_chain_through_one_tiles_local_port_can_deadlock(io):
    """The input, the hidden and the output layer on one tile (input on core 0, or through an I/O port at that
    tile): the hidden core receives and sends through the tile's one local port. Its queue of one packet full,
    its next spikes wait for the port, whose head packet waits for that queue: a cycle, on a feed-forward
    network. (A router with an ejection port per core would have none.)"""
    net = network_from_nir(nir_chain([np.full((8, 8), 0.6), np.full((4, 8), 0.6)], beta=0.9))
    hw = profile(mesh__width=1, mesh__cores_per_tile=3, core__queue_capacity=1, noc__buffer_packets=1,
                 core__latency_s__synaptic_op=300e-9, io={"input_on_cores": not io})
    hidden = 0 if io else 1  # layer-fill: the hidden layer on the first core not holding the input
    with pytest.raises(DeadlockError) as err:
        run_network(net, hw, np.ones((1, 3, 8), int), None, RunConfig(model="chain", mode="async", noc="routers"))
    cycle = str(err.value).split("cycle of waits: ")[1].split(";")[0]  # where networkx starts it may vary
    assert set(cycle.split(" -> ")) == {f"core {hidden}", "tile(0,0).local"}
