"""The traffic-aware mapper: within capacity, deterministic, at least as good as layer-fill and
spread where a perfect partition exists, and weighing packets by a reference run's spikes."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from builders import SETTINGS, profile, random_frames, random_net
from hypothesis import given
from hypothesis import strategies as st

from emulator.chip import map_network
from emulator.config import RunConfig
from emulator.errors import InputError
from emulator.model import network_from_nir
from emulator.runner import reference_spikes, run_network


def interleaved_blocks(n: int = 8) -> nir.NIRGraph:
    """Input -> A -> B, n neurons each, as two independent halves that are interleaved in index
    order: even neurons feed only even neurons, odd only odd. Cutting by index mixes the halves;
    the perfect two-core partition of each layer is evens / odds."""
    w = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i % 2 == j % 2:
                w[i, j] = 0.6
    nodes = {"input": nir.Input(input_type=np.array([n]))}
    edges, prev = [], "input"
    for name in ("a", "b"):
        tau = np.full(n, 2e-3)
        nodes[f"fc_{name}"] = nir.Linear(weight=w.copy())
        nodes[name] = nir.LIF(tau=tau, r=tau / 1e-3, v_leak=np.zeros(n), v_threshold=np.ones(n))
        edges += [(prev, f"fc_{name}"), (f"fc_{name}", name)]
        prev = name
    nodes["output"] = nir.Output(output_type=np.array([n]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def run_with(net, hw, mapping):
    frames = random_frames(4, 6, net.populations[0].size, 0.5, seed=1)
    return run_network(net, hw, frames, None, RunConfig(model="m", mode="timestep", mapping=mapping))


def test_a_perfect_partition_is_found_and_beats_cutting_by_index():
    net = network_from_nir(interleaved_blocks(), "blocks")
    hw = profile(core__max_neurons=4, mesh__width=6)
    m = map_network(net, hw, "traffic")
    for lo in (8, 16):  # each layer: evens on one core, odds on another (the input's grouping sends the same)
        evens, odds = m.core_of[lo:lo + 8:2], m.core_of[lo + 1:lo + 8:2]
        assert len(set(evens)) == 1 and len(set(odds)) == 1 and evens[0] != odds[0]
    ours, fill, spread = (run_with(net, hw, spec) for spec in ("traffic", "layer-fill", "spread:2"))
    packets = {name: int(r.counters.packets_out.sum()) for name, r in
               (("traffic", ours), ("layer-fill", fill), ("spread", spread))}
    assert packets["traffic"] * 2 == packets["layer-fill"] == packets["spread"]  # each spike reaches one core
    hops = {name: int((r.counters.hops_ew + r.counters.hops_ns).sum()) for name, r in
            (("traffic", ours), ("layer-fill", fill))}
    assert hops["traffic"] <= hops["layer-fill"]
    assert [r["spikes"] for r in ours.per_sample] == [r["spikes"] for r in fill.per_sample]  # same network


def test_the_mapping_is_deterministic():
    net = random_net([10, 12, 6], seed=4, density=0.4)
    hw = profile(core__max_neurons=5, mesh__width=8)
    a, b = (map_network(net, hw, "traffic").core_of for _ in range(2))
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4), seed=st.integers(0, 10**6),
       cap=st.integers(1, 6), max_syn=st.one_of(st.none(), st.integers(12, 40)), k=st.one_of(st.none(),
                                                                                            st.integers(1, 3)))
def test_capacities_are_never_exceeded(sizes, seed, cap, max_syn, k):
    net = random_net(sizes, seed=seed, density=0.5)
    hw = profile(core__max_neurons=cap, core__max_synapses=max_syn, mesh__width=40)
    try:
        m = map_network(net, hw, "traffic" if k is None else f"traffic:{k}")
    except InputError as exc:  # K too small for the capacity, or a neuron with more synapses than a core holds
        assert exc.field in ("core.max_neurons", "core.max_synapses", "mesh")
        return
    per_core = np.bincount(m.core_of, minlength=m.n_cores)
    assert per_core.max() <= cap
    if max_syn is not None:
        fan_in = np.diff((net.global_weights() != 0).tocsc().indptr)
        syn = np.bincount(m.core_of, weights=fan_in, minlength=m.n_cores)
        assert syn.max() <= max_syn or fan_in.max() > max_syn
    pops = np.repeat(np.arange(len(net.populations)), np.diff(net.offsets))
    for c in np.unique(m.core_of):  # a core holds one population
        assert len(set(pops[m.core_of == c])) == 1


def test_a_bad_k_is_one_line():
    net = random_net([4, 3], seed=0)
    with pytest.raises(InputError, match=r"expected traffic or traffic:K with K >= 1, got traffic:0"):
        map_network(net, profile(), "traffic:0")


def hot_and_cold() -> nir.NIRGraph:
    """Input i0..i3 -> A (4) -> B (1). A0 and A2 share i0, A1 and A3 share i1, A0 and A1 share i2, A2 and A3
    share i3: by structure a ring of equal links, which two cores can cut either way (by index order:
    {A0, A1}, {A2, A3}). Only i0 and i1 spike (the frames below), so the cut that keeps each spiking
    source on one core is {A0, A2}, {A1, A3}."""
    w_a = np.zeros((4, 4))
    for a, sources in enumerate(((0, 2), (1, 2), (0, 3), (1, 3))):
        w_a[a, list(sources)] = 0.6
    nodes = {"input": nir.Input(input_type=np.array([4])), "fc_a": nir.Linear(weight=w_a),
             "a": nir.LIF(tau=np.full(4, 2e-3), r=np.full(4, 2.0), v_leak=np.zeros(4), v_threshold=np.ones(4)),
             "fc_b": nir.Linear(weight=np.full((1, 4), 0.6)),
             "b": nir.LIF(tau=np.full(1, 2e-3), r=np.full(1, 2.0), v_leak=np.zeros(1), v_threshold=np.ones(1)),
             "output": nir.Output(output_type=np.array([1]))}
    edges = [("input", "fc_a"), ("fc_a", "a"), ("a", "fc_b"), ("fc_b", "b"), ("b", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def test_the_reference_runs_spikes_weigh_the_partition():
    net = network_from_nir(hot_and_cold(), "hot-and-cold")
    frames = random_frames(8, 6, 4, 0.7, seed=2)
    frames[:, :, 2:] = 0  # i2 and i3 never spike
    spikes = reference_spikes(net, frames)
    assert spikes[:4].tolist() == (frames.sum(axis=(0, 1)) / len(frames)).tolist()  # the input's own counts
    hw = profile(core__max_neurons=2, mesh__width=8)
    a = map_network(net, hw, "traffic:2", spikes).core_of[4:8]
    assert a[0] == a[2] and a[1] == a[3] and a[0] != a[1]
    by_structure = map_network(net, hw, "traffic:2").core_of[4:8]
    assert by_structure[0] == by_structure[1] != by_structure[2]  # the other cut: each hot source on two cores
    # snnemu's run maps by the same reference run: each input spike then reaches one core of A
    res = run_network(net, hw, frames, None, RunConfig(model="m", mode="timestep", mapping="traffic:2"))
    np.testing.assert_array_equal(res.mapping.core_of, map_network(net, hw, "traffic:2", spikes).core_of)
    input_cores = np.unique(res.mapping.core_of[:4])
    assert res.counters.packets_out[input_cores].sum() == frames.sum()  # by structure it would be twice


def test_a_silent_reference_run_leaves_the_structure():
    net = random_net([6, 5, 3], seed=3)
    assert reference_spikes(net, np.zeros((4, 5, 6))) is None  # nothing spikes: nothing to weigh by
    hw = profile(core__max_neurons=3, mesh__width=8)
    np.testing.assert_array_equal(map_network(net, hw, "traffic", None).core_of,
                                  map_network(net, hw, "traffic", np.ones(net.n_neurons)).core_of)
