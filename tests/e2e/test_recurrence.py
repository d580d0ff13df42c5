"""Recurrent layers (``lif -> w_rec -> lif``): a one-timestep delay in every mode, against
hand-computed spike trains and the functional reference; NIR graphs that are refused."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from builders import chip_spikes

from emulator.config import RunConfig
from emulator.errors import InputError
from emulator.functional import simulate
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile


def lif(n, beta=0.5, theta=1.0, dt=1e-3):
    tau = np.full(n, dt / (1 - beta))
    return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n), v_threshold=np.full(n, theta))


def recurrent_graph(w_in, w_rec, w_out, beta=0.5, theta=1.0, delay=None):
    """Input -> fc -> lif (with lif -> w_rec [-> delay] -> lif) -> fc2 -> out -> Output, dt = 1 ms."""
    n_in, n_hid, n_out = w_in.shape[1], w_in.shape[0], w_out.shape[0]
    nodes = {"input": nir.Input(input_type=np.array([n_in])), "fc": nir.Linear(weight=w_in),
             "lif": lif(n_hid, beta, theta), "w_rec": nir.Linear(weight=w_rec), "fc2": nir.Linear(weight=w_out),
             "out": lif(n_out, beta, theta), "output": nir.Output(output_type=np.array([n_out]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "fc2"), ("fc2", "out"),
             ("out", "output")]
    if delay is not None:
        nodes["d"] = nir.Delay(delay=np.full(n_hid, delay))
        edges = [e for e in edges if e != ("w_rec", "lif")] + [("w_rec", "d"), ("d", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def self_exciting():
    """One input drives one neuron (w 1.5, theta 1, beta 0.5) that excites itself (w 1.2) and a
    readout neuron (w 2)."""
    return network_from_nir(recurrent_graph(np.array([[1.5]]), np.array([[1.2]]), np.array([[2.0]])))


def run(net, frames, mode, hw="ideal", **kw):
    res = run_network(net, load_profile(hw), frames, None, RunConfig(model="r", mode=mode, trace=True, **kw))
    return res, chip_spikes(res, net, frames.shape[1] + (net.n_layers if mode == "timestep" else 0))


def test_import_makes_a_delayed_projection_onto_the_layer():
    net = self_exciting()
    assert [(p.src, p.dst, p.delay) for p in net.projections] == [(0, 1, 0), (1, 1, 1), (1, 2, 0)]
    assert net.recurrent(1).weights.toarray()[0, 0] == pytest.approx(1.2)


@pytest.mark.parametrize("mode", ["layered", "async"])
def test_one_input_spike_keeps_a_self_exciting_neuron_firing(mode):
    """By hand: t0: V = 1.5 > 1 fires, resets to 0; each later timestep V = 0.5*0 + 1.2 (its own
    spike of the timestep before) > 1, so it fires every timestep; the readout gets 2 > 1 each time."""
    frames = np.zeros((1, 6, 1), np.int32)
    frames[0, 0, 0] = 1
    _, (hidden, out) = run(self_exciting(), frames, mode)
    assert hidden[:, 0].tolist() == [1, 1, 1, 1, 1, 1]
    assert out[:, 0].tolist() == [1, 1, 1, 1, 1, 1]


def test_timestep_mode_delays_the_loop_by_one_tick():
    """Every projection is one tick late in timestep mode: the input spike of tick 0 reaches the
    hidden neuron at tick 1, its spikes feed it again one tick later and reach the readout one tick later."""
    frames = np.zeros((1, 4, 1), np.int32)
    frames[0, 0, 0] = 1
    _, (hidden, out) = run(self_exciting(), frames, "timestep")
    assert hidden[:, 0].tolist() == [0, 1, 1, 1, 1, 1]
    assert out[:, 0].tolist() == [0, 0, 1, 1, 1, 1]


def test_without_the_loop_the_neuron_fires_once():
    net = network_from_nir(recurrent_graph(np.array([[1.5]]), np.array([[0.0]]), np.array([[2.0]])))
    frames = np.zeros((1, 4, 1), np.int32)
    frames[0, 0, 0] = 1
    _, (hidden, _) = run(net, frames, "layered")
    assert hidden[:, 0].tolist() == [1, 0, 0, 0]


def random_recurrent(seed):
    rng = np.random.default_rng(seed)
    return network_from_nir(recurrent_graph(rng.normal(0, 0.8, (24, 16)), rng.normal(0, 0.5, (24, 24)),
                                            rng.normal(0, 0.8, (6, 24)), beta=0.7))


@pytest.mark.parametrize("mode", ["layered", "timestep"])
@pytest.mark.parametrize("hw", ["loihi", "truenorth"])
def test_chip_equals_the_functional_reference(mode, hw):
    net = random_recurrent(4)
    frames = (np.random.default_rng(5).random((3, 8, 16)) < 0.3).astype(np.int32)
    res = run_network(net, load_profile(hw), frames, None, RunConfig(model="r", mode=mode, mapping="spread:2"))
    ref = simulate(net, frames, RunConfig(mode=mode))
    assert [list(np.atleast_1d(r["spikes"])) for r in res.per_sample] == [[int(x)] for x in ref.spikes[:, 1:].sum(1)]
    assert [r["synaptic_events"] for r in res.per_sample] == ref.sops.astype(int).tolist()
    assert ref.spikes[:, 1].sum() > 10  # the recurrent layer is active


def test_async_chip_equals_the_reference_spike_counts_on_a_quiet_layer():
    """With at most one spike per timestep the order of service cannot matter: the chip in async
    mode and the functional reference's async agree (both release the loop's spikes at the next
    timestep)."""
    net = self_exciting()
    frames = np.zeros((2, 5, 1), np.int32)
    frames[0, 0, 0] = frames[1, 2, 0] = 1
    res = run_network(net, load_profile("loihi"), frames, None, RunConfig(model="r", mode="async"))
    ref = simulate(net, frames, RunConfig(mode="async"))
    assert [r["spikes"] for r in res.per_sample] == ref.spikes[:, 1:].sum(1).tolist() == [10, 6]
    assert [r["synaptic_events"] for r in res.per_sample] == ref.sops.astype(int).tolist()


def test_delay_nodes_and_refused_graphs():
    one = network_from_nir(recurrent_graph(np.array([[1.5]]), np.array([[1.2]]), np.array([[2.0]]), delay=1e-3))
    assert one.recurrent(1) is not None  # a Delay of one dt on the loop is its one-timestep delay
    with pytest.raises(InputError, match="nodes.w_rec: a delay of 2 timesteps"):
        network_from_nir(recurrent_graph(np.array([[1.5]]), np.array([[1.2]]), np.array([[2.0]]), delay=2e-3),
                         file="m.nir")
    # a loop without a neuron
    nodes = {"input": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=np.eye(2)),
             "b": nir.Linear(weight=np.eye(2)), "output": nir.Output(output_type=np.array([2]))}
    g = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "b"), ("b", "a")], metadata={"dt": 1e-3},
                     type_check=False)
    with pytest.raises(InputError, match="nodes.a: a cycle without a neuron layer"):
        network_from_nir(g, file="m.nir")
    g = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "b"), ("b", "a"), ("a", "output")],
                     metadata={"dt": 1e-3}, type_check=False)
    with pytest.raises(InputError, match="m.nir: nodes.a: expected one successor, found 2"):
        network_from_nir(g, file="m.nir")
    # a loop back to an earlier layer
    nodes = {"input": nir.Input(input_type=np.array([1])), "fc": nir.Linear(weight=np.ones((1, 1))), "l1": lif(1),
             "fc2": nir.Linear(weight=np.ones((1, 1))), "l2": lif(1), "back": nir.Linear(weight=np.ones((1, 1))),
             "output": nir.Output(output_type=np.array([1]))}
    edges = [("input", "fc"), ("fc", "l1"), ("l1", "fc2"), ("fc2", "l2"), ("l2", "back"), ("back", "l1"),
             ("l2", "output")]
    with pytest.raises(InputError, match="earlier layer"):
        network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}, type_check=False))


@pytest.mark.parametrize("mode, noc", [("layered", "analytic"), ("layered", "routers"), ("timestep", "routers"),
                                       ("async", "routers")])
def test_a_recurrent_output_layer_sends_what_it_counts(tmp_path, mode, noc):
    """The output layer loops onto itself: its loop packets are sent, received and traced like any."""
    import json

    import pandas as pd

    from emulator.records import write_records

    rng = np.random.default_rng(8)
    nodes = {"input": nir.Input(input_type=np.array([6])), "fc": nir.Linear(weight=rng.normal(1, 0.5, (4, 6))),
             "out": lif(4), "rec": nir.Linear(weight=rng.normal(0.5, 0.5, (4, 4))),
             "output": nir.Output(output_type=np.array([4]))}
    edges = [("input", "fc"), ("fc", "out"), ("out", "rec"), ("rec", "out"), ("out", "output")]
    net = network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}))
    frames = (rng.random((2, 6, 6)) < 0.4).astype(np.int32)
    res = run_network(net, load_profile("loihi"), frames, None,
                      RunConfig(model="r", mode=mode, noc=noc, mapping="spread:2", trace=True))
    out = write_records(res, tmp_path / "run")
    cores = pd.read_csv(out / "per_core.csv")
    s = json.loads((out / "summary.json").read_text())
    assert cores.packets_out.sum() == cores.packets_in.sum() == s["packets"] > 0
    ev = pd.read_parquet(out / "events.parquet")
    assert (ev.kind == "packet").sum() == s["packets"]
    assert pd.read_csv(out / "per_link.csv").query("direction != 'local'").packets.sum() == s["hops"]
