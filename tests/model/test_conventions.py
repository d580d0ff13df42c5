"""Neuron conventions, against trajectories worked out by hand (docs/design.md, "Neurons").

One neuron, per timestep: ``V <- beta*V + I`` then the population's threshold,
reset, dropped input and spike count. Each case is also run through a whole
network on both engines in layered mode, which must give the same spikes.
"""

from __future__ import annotations

import dataclasses

import nir
import numpy as np
import pytest
from builders import nir_chain

from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.model import RESET_CODES, Conventions, network_from_nir, timestep
from emulator.runner import run_network
from hw_models.profile import load_profile


def trajectory(currents, beta, theta, **conv):
    """(V after each step, spikes of each step) of one neuron, with ``model.timestep``."""
    c = Conventions(**conv)
    v, debt, dropped = np.zeros(1), None, None
    vs, spikes = [], []
    for i in currents:
        v, _, n, debt, dropped = timestep(v, np.array([i]), np.array([beta]), np.zeros(1), np.array([theta]),
                                       kind=RESET_CODES[c.reset], at_threshold=c.threshold == ">=",
                                       several=c.spikes == "several", drop_input=c.drop_input and c.reset == "zero",
                                       debt=debt, dropped=dropped)
        vs.append(float(v[0]))
        spikes.append(int(n[0]))
    return vs, spikes


# (conventions, currents, beta, theta, V after each step, spikes per step), all worked by hand
CASES = [
    # strict threshold: 1.0 is not above 1, then 0.5*1 + 0.5 = 1.0, twice
    ({}, [1.0, 0.5, 0.5], 0.5, 1.0, [1.0, 1.0, 1.0], [0, 0, 0]),
    # V >= theta: 1.0 fires and resets to 0; 0.5; 0.25 + 0.5 = 0.75
    ({"threshold": ">="}, [1.0, 0.5, 0.5], 0.5, 1.0, [0.0, 0.5, 0.75], [1, 0, 0]),
    # subtract at once: 1.5 -> 0.5; 0.25; 0.125 + 1 = 1.125 fires -> 0.125; 0.0625
    ({"reset": "subtract"}, [1.5, 0.0, 1.0, 0.0], 0.5, 1.0, [0.5, 0.25, 0.125, 0.0625], [1, 0, 1, 0]),
    # snnTorch's subtract at the next step, V[t] = 0.5 V[t-1] + I[t] - S[t-1]:
    # 1.5 fires and stays; 0.75 + 0 - 1 = -0.25; -0.125 + 1 = 0.875 (no spike); 0.4375
    ({"reset": "subtract-next"}, [1.5, 0.0, 1.0, 0.0], 0.5, 1.0, [1.5, -0.25, 0.875, 0.4375], [1, 0, 0, 0]),
    # zero reset: fires every step
    ({}, [1.5, 1.5, 1.5, 1.5], 0.5, 1.0, [0.0, 0.0, 0.0, 0.0], [1, 1, 1, 1]),
    # zero reset that drops the next step's input: the step after a spike stays at 0
    ({"drop_input": True}, [1.5, 1.5, 1.5, 1.5], 0.5, 1.0, [0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0]),
    # several spikes (IF, subtract): 2.5 -> 2 spikes, 0.5; 1.2 -> 1 spike, 0.2; 0.2
    ({"spikes": "several", "reset": "subtract", "threshold": ">="}, [2.5, 0.7, 0.0], 1.0, 1.0,
     [0.5, 0.2, 0.2], [2, 1, 0]),
    # several spikes with a zero reset: 3.2 -> 3 spikes and 0; 0.9
    ({"spikes": "several"}, [3.2, 0.9], 1.0, 1.0, [0.0, 0.9], [3, 0]),
    # several spikes at exactly 2 theta: 2 spikes with >=, and with > also floor(2/1) = 2 (2 > 1 fires)
    ({"spikes": "several", "reset": "subtract"}, [2.0], 1.0, 1.0, [0.0], [2]),
]


@pytest.mark.parametrize("conv, currents, beta, theta, vs, spikes", CASES)
def test_hand_worked_trajectories(conv, currents, beta, theta, vs, spikes):
    got_v, got_s = trajectory(currents, beta, theta, **conv)
    assert got_s == spikes
    np.testing.assert_allclose(got_v, vs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("conv, currents, beta, theta, vs, spikes", CASES)
def test_both_engines_run_the_hand_worked_cases(conv, currents, beta, theta, vs, spikes):
    """One input neuron drives the neuron with weight 1: counts of 0..3 input spikes are its current
    (the currents are scaled to whole spikes, and the threshold with them)."""
    scale = 10  # every current above is a multiple of 1/10
    frames = np.array([[[round(i * scale)] for i in currents]])
    graph = nir_chain([np.array([[1.0]])], beta=min(beta, 0.5), theta=theta * scale)
    if beta == 1.0:  # an IF neuron, with an input scale dt*r of 1
        graph.nodes["lif0"] = nir.IF(r=np.array([1e3]), v_threshold=np.array([theta * scale]))
    net = network_from_nir(graph)
    net.populations[1].conventions = Conventions(**conv)
    ref = simulate(net, frames, RunConfig(mode="layered", trace=True))
    chip = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="m", mode="layered", trace=True))
    per_step = np.bincount(ref.events["step"][ref.events["neuron"] == 1], minlength=len(currents))
    assert per_step.tolist() == spikes
    assert chip.spikes_per_layer["lif0"] == sum(spikes) == int(ref.spikes[0, 1])


def test_conventions_are_checked_and_described():
    with pytest.raises(ValueError, match="reset"):
        Conventions(reset="sometimes")
    assert Conventions(reset="subtract-next", drop_input=True).describe() == \
        "euler leak, V > theta, subtract-next reset, drops the next step's input, one spike"


def test_exp_leak_discretises_exactly():
    """tau = 2 ms at dt = 1 ms: beta = e^-0.5 and the input weighs 1 - e^-0.5 (Euler: 0.5 and 0.5)."""
    import emulator.model.nir_import as imp

    g = nir_chain([np.array([[1.0]])], beta=0.5)  # tau = dt/(1 - beta) = 2 ms, r = tau/dt = 2
    node = g.nodes["lif0"]
    pop, scale = imp._population(node, "lif0", (1,), 1e-3, Conventions(leak="exp"), "m.nir", [])
    assert pop.beta[0] == pytest.approx(np.exp(-0.5), rel=1e-15)
    assert scale[0] == pytest.approx((1 - np.exp(-0.5)) * 2.0, rel=1e-15)
    euler, scale_e = imp._population(node, "lif0", (1,), 1e-3, Conventions(), "m.nir", [])
    assert (euler.beta[0], scale_e[0]) == (0.5, pytest.approx(1.0, rel=1e-15))
    assert dataclasses.asdict(Conventions(leak="exp"))["leak"] == "exp"


def async_spike_steps(engine: str, net, frames) -> np.ndarray:
    """The timestep of each spike of the one neuron of ``net`` in async mode: on the chip (one ideal
    core), or in the reference with F = 1 and the input queued spike by spike."""
    if engine == "chip":
        res = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="m", mode="async", trace=True))
        ev = res.tracer.table().to_pandas()
        return ev[(ev.kind == "spike") & (ev.layer == "lif0")].step.to_numpy()
    res = simulate(net, frames, RunConfig(mode="async", F=1, prioritize_input=False, trace=True))
    return res.events["step"][res.events["neuron"] == 1]


@pytest.mark.parametrize("drop, spikes", [(False, [1, 1, 1, 1]), (True, [1, 0, 1, 0])])
@pytest.mark.parametrize("engine", ["chip", "functional"])
def test_dropped_input_in_async_mode(engine, drop, spikes):
    """15 input spikes a timestep of weight 1 against a threshold of 10: the neuron fires at the
    11th and is refractory for the rest of the timestep; with a zero reset that drops the next
    step's input it stays at 0 through the next timestep, so it fires every other one."""
    net = network_from_nir(nir_chain([np.array([[1.0]])], beta=0.5, theta=10.0))
    net.populations[1].conventions = Conventions(drop_input=drop)
    frames = np.full((1, 4, 1), 15)
    steps = async_spike_steps(engine, net, frames)
    assert np.bincount(steps, minlength=4).tolist() == spikes


@pytest.mark.parametrize("reset, spikes", [("subtract-next", [1, 0, 1, 0]), ("subtract", [1, 1, 1, 1])])
@pytest.mark.parametrize("engine", ["chip", "functional"])
def test_subtract_next_in_async_mode(engine, reset, spikes):
    """11 input spikes a timestep of weight 1, threshold 10, beta 0.5. subtract-next: the neuron fires
    at the 11th (V = 11), keeps 11; the next timestep starts at 0.5*11 - 10 = -4.5 and ends at 6.5;
    then 3.25 + 7 spikes = 10.25 fires and keeps it; then -4.875 + 11 = 6.125. An immediate subtract
    leaves 1, and 0.5 + 10 spikes = 10.5 fires in every timestep."""
    net = network_from_nir(nir_chain([np.array([[1.0]])], beta=0.5, theta=10.0))
    net.populations[1].conventions = Conventions(reset=reset)
    frames = np.full((1, 4, 1), 11)
    steps = async_spike_steps(engine, net, frames)
    assert np.bincount(steps, minlength=4).tolist() == spikes


def test_snnemu_export_writes_the_conventions_and_reads_them_back(tmp_path):
    """Every layer's conventions go into the graph's metadata: the file runs as the network did."""
    from builders import random_frames, random_net, with_conventions

    from emulator.model import load_nir, save_nir

    convs = [Conventions(threshold=">=", reset="subtract-next"), Conventions(drop_input=True),
             Conventions(reset="subtract", spikes="several")]
    net = with_conventions(random_net([6, 5, 4, 3], seed=4, grid=True), convs)
    save_nir(net, tmp_path / "m.nir")
    back = load_nir(tmp_path / "m.nir")
    assert back.dialect == "snnemu" and not back.warnings
    assert [p.conventions for p in back.populations[1:]] == convs
    assert all(set(p.convention_sources.values()) == {"graph"} for p in back.populations[1:])
    frames = random_frames(2, 6, 6, 0.5, seed=5)
    a = simulate(net, frames, RunConfig(mode="layered"))
    b = simulate(back, frames, RunConfig(mode="layered"))
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.output_counts, b.output_counts)


@pytest.mark.parametrize("stated, field", [({"reset": "bogus"}, "metadata.conventions.lif0.reset"),
                                           ({"foo": "bar"}, "metadata.conventions.lif0.foo"),
                                           ({"drop_input": "maybe"}, "metadata.conventions.lif0.drop_input")])
def test_bad_conventions_in_the_metadata_are_one_line(stated, field):
    from emulator.errors import InputError

    g = nir_chain([np.ones((2, 3))])
    g.metadata["conventions"] = {"lif0": stated}
    with pytest.raises(InputError, match=f"m.nir: {field}: "):
        network_from_nir(g, "m", "m.nir")
    g.metadata["conventions"] = {"lif0": {"drop_input": "True"}}  # a string read back from a file
    assert network_from_nir(g, "m", "m.nir").populations[1].conventions.drop_input is True
