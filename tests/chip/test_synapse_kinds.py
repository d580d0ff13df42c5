"""Synapses priced by projection kind: dense, sparse (under half the weights non-zero) and convolutional
(folded from convolutions or poolings), each at its own latency and energy where the profile gives them."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from builders import BASE_PROFILE, changed, nir_chain, random_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.cost import CATEGORIES
from hw_models.profile import profile_from_dict

L_IN, L_SYN, L_UPD, L_SPK, L_OUT, HOP = 10, 3, 5, 7, 11, 20  # ns, the base test profile (tests/builders.py)
L_SPARSE, E_SPARSE, L_CONV, E_CONV = 50, 64, 40, 48  # ns, pJ: the kinds' own figures in these tests
E_SYN = 2  # pJ


def kinds_profile(priced=True, **changes):
    kinds = {"core__sparse_synapse": {"latency_s": L_SPARSE * 1e-9, "energy_j": E_SPARSE * 1e-12},
             "core__conv_synapse": {"latency_s": L_CONV * 1e-9, "energy_j": E_CONV * 1e-12}} if priced else {}
    return profile_from_dict(changed(BASE_PROFILE, **kinds, **changes), "kinds.yaml")


def sparse_then_dense():
    """input(1) -> h(3) through [2, 0, 0] (1 of 3 weights: sparse) -> out(1) through [2, 1, 1] (dense)."""
    return network_from_nir(nir_chain([np.array([[2.0], [0.0], [0.0]]), np.array([[2.0, 1.0, 1.0]])],
                                      beta=1.0 - 1e-9))


def conv_net():
    """input 1x3x3 -> 2x2 convolution (kernel of ones) -> LIF 1x2x2 -> Linear(4 -> 1) -> LIF."""
    nodes = {"input": nir.Input(input_type=np.array([1, 3, 3])),
             "conv": nir.Conv2d(input_shape=(3, 3), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                                groups=1, bias=np.zeros(1)),
             "lif0": nir.LIF(tau=np.full((1, 2, 2), 1e3), r=np.full((1, 2, 2), 1e6), v_leak=np.zeros((1, 2, 2)),
                             v_threshold=np.full((1, 2, 2), 1.0)),
             "flat": nir.Flatten(input_type={"input": np.array([1, 2, 2])}, start_dim=0),
             "fc": nir.Linear(weight=np.full((1, 4), 2.0)),
             "lif1": nir.LIF(tau=np.full(1, 1e3), r=np.full(1, 1e6), v_leak=np.zeros(1), v_threshold=np.ones(1)),
             "output": nir.Output(output_type=np.array([1]))}
    edges = [("input", "conv"), ("conv", "lif0"), ("lif0", "flat"), ("flat", "fc"), ("fc", "lif1"),
             ("lif1", "output")]
    return network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}))


def one_spike(n_in=1):
    frames = np.zeros((1, 1, n_in), int)
    frames[0, 0, 0] = 1
    return frames


def test_projection_kinds():
    net = sparse_then_dense()
    assert [pr.kind for pr in net.projections] == ["sparse", "dense"]
    assert [pr.kind for pr in conv_net().projections] == ["conv", "dense"]


def test_async_chain_with_a_sparse_projection_by_hand():
    """The chain of tests/chip/test_chip.py with the h layer fed through a sparse projection: its one synapse
    takes the sparse latency and energy, the dense one into out the dense figures."""
    res = run_network(sparse_then_dense(), kinds_profile(), one_spike(), None, RunConfig(model="k", mode="async"))
    t = (L_SPK + L_OUT) + HOP + (L_IN + L_SPARSE + L_UPD + L_SPK + L_OUT) + HOP + (L_IN + L_SYN + L_UPD + L_SPK)
    assert t == 166
    assert res.per_sample[0]["latency_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert res.counters.sparse_events.sum() == 1 and res.counters.synaptic_events.sum() == 2
    synaptic = dict(zip(CATEGORIES, res.per_core_energy.sum(axis=0)))["synaptic"]
    assert synaptic == pytest.approx((E_SPARSE + E_SYN) * 1e-12, rel=1e-12)


def test_a_profile_without_kind_figures_prices_every_synapse_as_dense():
    res = run_network(sparse_then_dense(), kinds_profile(priced=False), one_spike(), None,
                      RunConfig(model="k", mode="async"))
    t = (L_SPK + L_OUT) + HOP + (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + HOP + (L_IN + L_SYN + L_UPD + L_SPK)
    assert res.per_sample[0]["latency_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert res.counters.sparse_events.sum() == 0


@pytest.mark.parametrize("mode", ["timestep", "layered", "async"])
def test_conv_synapses_take_the_conv_figures_in_every_mode(mode):
    """Against the same run priced all dense: each core's busy time grows by its conv synapses times
    (L_conv - L_syn), and the synaptic energy is conv * E_conv + the rest * E_syn (serial pipeline)."""
    net = conv_net()
    frames = random_frames(1, 4, 9, 0.6, seed=1)
    cfg = RunConfig(model="c", mode=mode, mapping="spread:1")
    hw = dict(mesh__width=3)
    kinds, dense = (run_network(net, kinds_profile(priced, **hw), frames, None, cfg) for priced in (True, False))
    conv = kinds.counters.conv_events
    assert conv.sum() > 0 and kinds.counters.sparse_events.sum() == 0
    np.testing.assert_array_equal(kinds.counters.synaptic_events, dense.counters.synaptic_events)
    np.testing.assert_allclose(kinds.counters.busy_s - dense.counters.busy_s, conv * (L_CONV - L_SYN) * 1e-9,
                               rtol=1e-9, atol=1e-18)
    syn = kinds.counters.synaptic_events
    energy = dict(zip(CATEGORIES, kinds.per_core_energy.sum(axis=0)))["synaptic"]
    assert energy == pytest.approx((conv.sum() * E_CONV + (syn - conv).sum() * E_SYN) * 1e-12, rel=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), mode=st.sampled_from(["timestep", "layered", "async"]),
       frame_input=st.booleans())
def test_kind_counts_add_up_to_the_synaptic_events(seed, mode, frame_input):
    """A random network whose first projection is sparse and second dense: every synaptic event onto the
    first hidden layer is sparse, none onto the second."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.5, 1.0, (12, 10)) * (rng.random((12, 10)) < 0.3)
    w2 = rng.normal(0.5, 1.0, (4, 12))
    net = network_from_nir(nir_chain([w1, w2], beta=0.8))
    frames = random_frames(2, 3, 10, 0.5, seed=seed)
    cfg = RunConfig(model="r", mode=mode, input="frame" if frame_input and mode == "async" else "event")
    res = run_network(net, kinds_profile(mesh__width=3), frames, None, cfg)
    c = res.counters
    h_core = res.mapping.core_of[net.offsets[1]]
    assert [pr.kind for pr in net.projections] == ["sparse", "dense"]
    assert c.sparse_events.sum() == c.synaptic_events[h_core] == c.sparse_events[h_core]
