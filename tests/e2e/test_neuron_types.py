"""CubaLIF (a synaptic current, two state variables) and LI (a non-spiking readout):
hand-computed trajectories in every mode, the chip against the functional reference,
and the membrane readout."""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest
from builders import chip_spikes

from emulator.cli import main
from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile

DT = 1e-3


def cuba(n, tau_syn=2e-3, tau_mem=4e-3, r=4.0, w_in=2.0, theta=1.2):
    return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem), r=np.full(n, r),
                       v_leak=np.zeros(n), v_threshold=np.full(n, theta), w_in=np.full(n, w_in))


def chain(*layers):
    """Input -> (Linear -> layer)* -> Output; ``layers`` are (weight, neuron node)."""
    n_in = layers[0][0].shape[1]
    nodes, edges, prev = {"input": nir.Input(input_type=np.array([n_in]))}, [], "input"
    for i, (w, node) in enumerate(layers):
        nodes[f"fc{i}"], nodes[f"n{i}"] = nir.Linear(weight=w), node
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"n{i}")]
        prev = f"n{i}"
    nodes["output"] = nir.Output(output_type=np.array([layers[-1][0].shape[0]]))
    edges.append((prev, "output"))
    return network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}))


def one_spike(T):
    frames = np.zeros((1, T, 1), np.int32)
    frames[0, 0, 0] = 1
    return frames


def test_cuba_parameters():
    """alpha = 1 - dt/tau_syn = 0.5, input scale dt*w_in/tau_syn = 1, beta = 1 - dt/tau_mem = 0.75,
    gain dt*r/tau_mem = 1."""
    pop = chain((np.array([[1.0]]), cuba(1))).populations[1]
    assert pop.alpha[0] == pytest.approx(0.5) and pop.gain[0] == pytest.approx(1.0)
    assert pop.beta[0] == pytest.approx(0.75)


@pytest.mark.parametrize("mode", ["layered", "async"])
def test_cuba_trajectory_by_hand(mode):
    """One input spike at t0 (weight 1):
    t0: S = 1,     V = 0 + 1 = 1            (not above 1.2)
    t1: S = 0.5,   V = 0.75 + 0.5 = 1.25    fires, V -> 0
    t2: S = 0.25,  V = 0.25;  t3: S = 0.125, V = 0.3125;  ... the current fades, no more spikes.
    Plain LIF with the same beta would have fired never (V = 1 at t0, then decaying)."""
    net = chain((np.array([[1.0]]), cuba(1)))
    frames = one_spike(6)
    res = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="c", mode=mode, trace=True))
    assert chip_spikes(res, net, 6)[0][:, 0].tolist() == [0, 1, 0, 0, 0, 0]
    ref = simulate(net, frames, RunConfig(mode=mode))
    assert ref.spikes[0, 1] == 1


def test_cuba_timestep_mode_is_one_tick_late():
    net = chain((np.array([[1.0]]), cuba(1)))
    res = run_network(net, load_profile("ideal"), one_spike(5), None, RunConfig(model="c", mode="timestep", trace=True))
    assert chip_spikes(res, net, 6)[0][:, 0].tolist() == [0, 0, 1, 0, 0, 0]


def random_cuba_net(seed, readout_li=False):
    rng = np.random.default_rng(seed)
    hidden = cuba(20, tau_syn=3e-3, tau_mem=5e-3, r=5.0, w_in=3.0, theta=1.0)
    if readout_li:
        last = nir.LI(tau=np.full(4, 5e-3), r=np.full(4, 5.0), v_leak=np.zeros(4))
    else:
        last = nir.LIF(tau=np.full(4, 5e-3), r=np.full(4, 5.0), v_leak=np.zeros(4), v_threshold=np.ones(4))
    return chain((rng.normal(0.4, 0.6, (20, 12)), hidden), (rng.normal(0.2, 0.8, (4, 20)), last))


@pytest.mark.parametrize("mode", ["layered", "timestep"])
def test_cuba_chip_equals_the_functional_reference(mode):
    net = random_cuba_net(1)
    frames = (np.random.default_rng(2).random((4, 10, 12)) < 0.3).astype(np.int32)
    res = run_network(net, load_profile("loihi"), frames, None, RunConfig(model="c", mode=mode, mapping="spread:2"))
    ref = simulate(net, frames, RunConfig(mode=mode))
    assert [r["spikes"] for r in res.per_sample] == ref.spikes[:, 1:].sum(axis=1).tolist()
    assert ref.spikes[:, 1].sum() > 20


def test_cuba_async_chip_on_one_ideal_core_equals_one_spike_per_step():
    net = random_cuba_net(3)
    frames = (np.random.default_rng(4).random((3, 6, 12)) < 0.3).astype(np.int32)
    res = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="c", mode="async"))
    ref = simulate(net, frames, RunConfig(mode="async", F=1, prioritize_input=False))
    assert [r["spikes"] for r in res.per_sample] == ref.spikes[:, 1:].sum(axis=1).tolist()


def test_li_readout_takes_the_highest_final_potential(tmp_path):
    """The LI layer never fires; the prediction is the output neuron with the highest potential
    at the end, recomputed here from the hidden layer's traced spikes: V <- beta V + scale * w @ s."""
    net = random_cuba_net(5, readout_li=True)
    assert net.readout == "membrane" and not net.output.spiking
    frames = (np.random.default_rng(6).random((5, 8, 12)) < 0.3).astype(np.int32)
    for mode in ("layered", "async"):
        res = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="c", mode=mode, trace=True))
        hidden = res.tracer.table().to_pandas()
        hidden = hidden[(hidden.kind == "spike") & (hidden.layer == "n0")]
        w = net.feed_forward(2).weights.toarray()
        out = net.output
        for b in range(len(frames)):
            v = np.zeros(out.size)
            d = hidden[hidden["sample"] == b]
            for t in range(frames.shape[1]):
                s = np.bincount(d.neuron[d.step == t], minlength=20)
                v = out.beta * v + out.bias + s @ w
            assert res.per_sample[b]["prediction"] == int(np.argmax(v))
        assert res.spikes_per_layer["n1"] == 0
    ref = simulate(net, frames, RunConfig(mode="layered"))
    chip = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="c", mode="layered"))
    assert ref.pred_rate.tolist() == [r["prediction"] for r in chip.per_sample]


def test_summary_records_the_readout(tmp_path):
    net_graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([64])), "fc": nir.Linear(weight=np.ones((10, 64)) * 0.05),
               "li": nir.LI(tau=np.full(10, 0.01), r=np.full(10, 10.0), v_leak=np.zeros(10)),
               "output": nir.Output(output_type=np.array([10]))},
        edges=[("input", "fc"), ("fc", "li"), ("li", "output")], metadata={"dt": 1e-3})
    nir.write(str(tmp_path / "li.nir"), net_graph)
    assert main(["run", "--model", str(tmp_path / "li.nir"), "--samples", "3", "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["readout"] == "membrane"
