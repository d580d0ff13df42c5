"""The SimPy chip against hand-computed latencies and energies, and against
independent NumPy oracles (tests/builders.py) for every mode."""

from __future__ import annotations

import numpy as np
import pytest
from builders import (
    SETTINGS,
    chip_spikes,
    nir_chain,
    oracle_async_fifo,
    oracle_layered,
    oracle_timestep,
    profile,
    random_frames,
    random_net,
)
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.cost import CATEGORIES
from hw_models.profile import load_profile

# Base test profile latencies (tests/builders.py), in ns.
L_IN, L_SYN, L_UPD, L_SPK, L_OUT, HOP_EW = 10, 3, 5, 7, 11, 20
E_IN, E_SYN, E_UPD, E_SPK, E_OUT, EHOP_EW = 1, 2, 4, 8, 16, 32  # pJ
P_CORE, P_ROUTER = 1e-3, 2e-3  # W


def chain_run(mode, noc="analytic", **prof):
    """input -> h -> out, weights 2.0, theta 1.0, one core per tile on a 3x1 mesh, one input spike."""
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])], beta=1.0 - 1e-9))
    frames = np.zeros((1, 1, 1), int)
    frames[0, 0, 0] = 1
    return run_network(net, profile(**prof), frames, np.array([0]), RunConfig(model="chain", mode=mode, noc=noc))


@pytest.mark.parametrize("noc", ["analytic", "routers"])
def test_async_chain_latency_by_hand(noc):
    res = chain_run("async", noc)
    # input core (tile 0): spike_out + 1 packet * message_out, then one hop east
    t = (L_SPK + L_OUT) + HOP_EW
    # h core (tile 1): message_in + 1 syn + 1 update + 1 spike + 1 packet out, then one hop east
    t += (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + HOP_EW
    # out core (tile 2): message_in + 1 syn + 1 update + 1 spike; output spikes make no packet
    t += L_IN + L_SYN + L_UPD + L_SPK
    assert t == 119
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert row["latency_s"] == pytest.approx(t * 1e-9, rel=1e-12)  # drained when out fires
    assert row["hops"] == 2 and row["packets"] == 2 and row["synaptic_events"] == 2


def test_async_chain_energy_by_hand():
    res = chain_run("async")
    dyn_pj = (E_SPK + E_OUT) + (E_IN + E_SYN + E_UPD + E_SPK + E_OUT) + (E_IN + E_SYN + E_UPD + E_SPK)
    noc_pj = 2 * EHOP_EW
    elapsed = 119e-9
    static = elapsed * 3 * (P_CORE + P_ROUTER)  # 3 cores, 3 routers (one core per tile)
    e = dict(zip(CATEGORIES, res.per_core_energy.sum(axis=0)))
    assert e["synaptic"] == pytest.approx(2 * E_SYN * 1e-12)
    assert e["neuron"] == pytest.approx(2 * E_UPD * 1e-12)
    assert e["spike_out"] == pytest.approx(3 * E_SPK * 1e-12)
    assert e["noc"] == pytest.approx((2 * E_IN + 2 * E_OUT + noc_pj) * 1e-12)
    assert e["barrier"] == 0.0
    assert e["static"] == pytest.approx(static)
    assert res.per_sample[0]["energy_j"] == pytest.approx((dyn_pj + noc_pj) * 1e-12 + static)


def test_layered_chain_latency_by_hand():
    res = chain_run("layered")
    bar = 150  # 3 tiles in use: the barrier table's step at 2 tiles applies
    input_phase = (L_SPK + L_OUT) + HOP_EW
    h_phase = (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + HOP_EW
    out_busy = L_IN + L_SYN + L_UPD + L_SPK
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx((input_phase + bar + h_phase + bar + out_busy) * 1e-9)
    assert row["latency_s"] == pytest.approx((input_phase + h_phase + out_busy + 3 * bar) * 1e-9)


def test_timestep_chain_latency_by_hand():
    res = chain_run("timestep")
    bar = 150
    # tick 0: input sends; tick 1: h integrates and sends; tick 2: out integrates and fires.
    tick0 = (L_SPK + L_OUT) + HOP_EW
    tick1 = (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + HOP_EW
    tick2 = L_IN + L_SYN + L_UPD + L_SPK
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx((tick0 + bar + tick1 + bar + tick2) * 1e-9)
    assert row["latency_s"] == pytest.approx((tick0 + tick1 + tick2 + 3 * bar) * 1e-9)


@pytest.mark.parametrize("mode", ["timestep", "layered"])
def test_overlapped_pipelines_take_the_larger_of_receive_and_neuron_work(mode):
    res = chain_run(mode, core__pipeline="overlap")
    bar = 150
    input_phase = max(0, L_SPK + L_OUT) + HOP_EW  # nothing received: the neuron pipeline alone
    h_phase = max(L_IN + L_SYN, L_UPD + L_SPK + L_OUT) + HOP_EW  # 13 ns against 23 ns
    out_busy = max(L_IN + L_SYN, L_UPD + L_SPK)  # 13 ns against 12 ns: the message pipeline
    assert (h_phase, out_busy) == (23 + HOP_EW, 13)
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx((input_phase + bar + h_phase + bar + out_busy) * 1e-9)
    assert row["latency_s"] == pytest.approx((input_phase + h_phase + out_busy + 3 * bar) * 1e-9)
    serial = chain_run(mode)
    assert serial.per_sample[0]["latency_s"] - row["latency_s"] == pytest.approx((36 - 23 + 25 - 13) * 1e-9)
    np.testing.assert_array_equal(serial.per_core_energy[:, :5], res.per_core_energy[:, :5])  # same work


@pytest.mark.parametrize("gating", ["none", "unused"])
def test_power_gating_of_unused_cores_by_hand(tmp_path, gating):
    """All three populations on core 0 of a 3x1 mesh: gated, cores 1 and 2 draw only their routers' power."""
    mapping = tmp_path / "one_core.yaml"
    mapping.write_text("input: [0]\nlif0: [0]\nlif1: [0]\n")
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])], beta=1.0 - 1e-9))
    frames = np.zeros((1, 1, 1), int)
    frames[0, 0, 0] = 1
    res = run_network(net, profile(core__power_gating=gating), frames, None,
                      RunConfig(model="chain", mode="async", mapping=str(mapping)))
    static = res.per_core_energy[:, CATEGORIES.index("static")]
    t = res.elapsed_s
    assert static[0] == pytest.approx(t * (P_CORE + P_ROUTER))
    expected_idle = t * (P_ROUTER + (P_CORE if gating == "none" else 0.0))
    np.testing.assert_allclose(static[1:], expected_idle, rtol=1e-12)
    assert res.per_core_energy[1:, :5].sum() == 0  # no work on the idle cores either way


def test_async_ignores_the_tick_pipeline_option():
    assert chain_run("async", core__pipeline="overlap").per_sample == chain_run("async").per_sample


def test_update_all_neurons_charges_every_neuron_each_timestep():
    net = random_net([6, 5, 3], seed=1)
    frames = random_frames(1, 4, 6, 0.5, seed=2)
    kw = dict(model="r", mode="layered", mapping="layer-fill")
    on = run_network(net, profile(core__update_all_neurons=True, mesh__width=4), frames, None, RunConfig(**kw))
    assert on.counters.neuron_updates.sum() == 4 * (5 + 3)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mapping", ["layer-fill", "spread:2"])
def test_layered_matches_oracle_on_loihi(seed, mapping):
    net = random_net([12, 16, 8, 5], seed, reset="subtract" if seed % 2 else "zero")
    frames = random_frames(1, 8, 12, 0.4, seed + 10, max_count=2)
    res = run_network(net, load_profile("loihi"), frames, None,
                      RunConfig(model="r", mode="layered", mapping=mapping, trace=True))
    for got, want in zip(chip_spikes(res, net, 8), oracle_layered(net, frames[0])):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("hw", ["ideal", "truenorth", "seneca"])
def test_layered_spikes_do_not_depend_on_the_profile(hw):
    net = random_net([10, 12, 6], seed=7)
    frames = random_frames(1, 6, 10, 0.5, seed=8)
    res = run_network(net, load_profile(hw), frames, None, RunConfig(model="r", mode="layered", trace=True))
    for got, want in zip(chip_spikes(res, net, 6), oracle_layered(net, frames[0])):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(3))
def test_timestep_matches_oracle(seed):
    net = random_net([10, 14, 9, 4], seed)
    frames = random_frames(1, 6, 10, 0.4, seed + 20)
    res = run_network(net, load_profile("loihi"), frames, None,
                      RunConfig(model="r", mode="timestep", mapping="spread:2", trace=True))
    n_ticks = 6 + 3
    for got, want in zip(chip_spikes(res, net, n_ticks), oracle_timestep(net, frames[0])):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_async_fifo_on_ideal_matches_one_spike_at_a_time_oracle(seed):
    net = random_net([8, 10, 6, 4], seed, reset="subtract" if seed % 2 else "zero")
    frames = random_frames(1, 5, 8, 0.5, seed + 30, max_count=2)
    res = run_network(net, load_profile("ideal"), frames, None,
                      RunConfig(model="r", mode="async", queue="fifo", input="event", trace=True))
    for got, want in zip(chip_spikes(res, net, 5), oracle_async_fifo(net, frames[0])):
        np.testing.assert_array_equal(got, want)


def test_routers_equal_analytic_without_contention():
    a, r = chain_run("async", "analytic"), chain_run("async", "routers")
    assert a.per_sample[0]["first_output_s"] == r.per_sample[0]["first_output_s"]
    assert a.per_sample[0]["latency_s"] == r.per_sample[0]["latency_s"]


def test_routers_close_to_analytic_with_contention():
    net = random_net([40, 60, 10], seed=3)
    frames = random_frames(3, 6, 40, 0.4, seed=4)
    hw = profile(mesh__width=4, mesh__height=2, core__max_neurons=16, core__queue_capacity=4)
    lat = {}
    for noc in ("analytic", "routers"):
        res = run_network(net, hw, frames, None, RunConfig(model="r", mode="async", noc=noc))
        lat[noc] = np.array([r["latency_s"] for r in res.per_sample])
        sent = res.counters.packets_out.sum()
        assert sent == res.counters.packets_received.sum()
    assert lat["analytic"] == pytest.approx(lat["routers"], rel=0.15)


def test_back_pressure_delays_but_never_drops(tmp_path):
    """Input on core 0 feeds hidden cores 1 (3/4 of the layer, slow) and 2 (1/4) on a
    3x1 mesh. Packets for core 2 cross tile 1's link after core 1's: when core 1's
    queue (capacity 1) is full, the router NoC holds core 1's packets on that link
    and core 2's wait behind them; nothing is lost. The output layer is on core 2: on core 0,
    beside the input, it would close a cycle of waits with core 1 (the deadlock test below)."""
    import yaml

    mapping = tmp_path / "map.yaml"
    mapping.write_text(yaml.safe_dump({"input": [0], "lif0": [1, 1, 1, 2], "lif1": [2]}))
    net = random_net([30, 20, 5], seed=5)
    frames = random_frames(1, 4, 30, 0.6, seed=6)
    last_spike, wait = {}, {}
    for cap in (1, None):
        res = run_network(net, profile(core__queue_capacity=cap), frames, None,
                          RunConfig(model="r", mode="async", noc="routers", mapping=str(mapping), trace=True))
        c = res.counters
        assert c.packets_out.sum() == c.packets_received.sum()
        assert c.messages_in.sum() == c.packets_received.sum()
        ev = res.tracer.table().to_pandas()
        last_spike[cap] = ev[(ev.kind == "spike") & (ev.core == 2)].t_s.max()
        wait[cap] = ev[(ev.kind == "packet") & (ev.dst_core == 2)].queue_wait_s.mean()
    assert last_spike[1] > last_spike[None]  # core 2 finishes later: its packets were held
    assert wait[1] < wait[None]  # ...in the network, not in its own queue


def test_deadlock_watchdog_names_the_stuck_core(monkeypatch):
    import emulator.chip.modes.asyncmode as modes
    from emulator.errors import DeadlockError

    real = modes._async_core

    def broken(chip, core, *args):
        if core.id == 1:
            yield chip.env.event()  # never served: its queue fills and nothing moves
        else:
            yield from real(chip, core, *args)

    monkeypatch.setattr(modes, "_async_core", broken)
    with pytest.raises(DeadlockError, match="core 1"):
        chain_run("async")


@pytest.mark.parametrize("mode, oracle, steps", [("layered", oracle_layered, 0), ("timestep", oracle_timestep, 3),
                                                 ("async", oracle_async_fifo, 0)])
def test_bias_driven_spikes_match_the_oracles(mode, oracle, steps):
    """Affine biases lift neurons over threshold without input; every mode fires them."""
    net = random_net([6, 8, 5, 3], seed=9, bias=True)
    frames = random_frames(1, 5, 6, 0.3, seed=10, max_count=2)
    hw = load_profile("ideal" if mode == "async" else "loihi")
    res = run_network(net, hw, frames, None, RunConfig(model="b", mode=mode, trace=True))
    want = oracle(net, frames[0])
    assert sum(w.sum() for w in want) > 0
    for got, w in zip(chip_spikes(res, net, 5 + steps), want):
        np.testing.assert_array_equal(got, w)


def test_a_sample_does_not_depend_on_its_position_in_the_run():
    net = random_net([12, 16, 6], seed=4)
    frames = random_frames(3, 5, 12, 0.4, seed=5)
    hw = load_profile("truenorth")
    for mode, noc in (("async", "routers"), ("async", "analytic"), ("layered", "analytic")):
        cfg = RunConfig(model="p", mode=mode, noc=noc, queue="momentum", input="frame")
        whole = run_network(net, hw, frames, None, cfg).per_sample[2]
        alone = run_network(net, hw, frames[2:], None, cfg).per_sample[0]
        whole.pop("sample"), alone.pop("sample")
        assert whole == alone


def test_async_leak_sweep_takes_time_even_without_input():
    """With update_all_neurons every core pays an update per neuron each timestep."""
    net = random_net([4, 6, 3], seed=1)
    hw = profile(core__update_all_neurons=True)
    res = run_network(net, hw, np.zeros((1, 2, 4), int), None, RunConfig(model="e", mode="async"))
    # 2 timesteps; the slowest core (6 neurons) sweeps for 6 * 5 ns each time
    assert res.per_sample[0]["latency_s"] == pytest.approx(2 * 6 * L_UPD * 1e-9)
    assert res.counters.neuron_updates.sum() == 2 * (6 + 3)


@pytest.mark.parametrize("queue", ["fifo", "momentum"])
def test_held_packet_gets_in_when_a_service_starts(tmp_path, monkeypatch, queue):
    """Router NoC, queue capacity 1, a slow core: a packet held in the network enters
    the queue at the first service start after it arrived (a slot frees then)."""
    import yaml

    import emulator.chip.chip as chipmod
    import emulator.chip.modes.asyncmode as modes

    starts, accepted = [], []
    real_intake, real_serve = chipmod.Chip.intake, modes._serve

    def intake(self, core):
        held = [e[2] for e in core.inbox if e[3] is not None]
        real_intake(self, core)
        inside = {id(e[2]) for e in core.inbox}
        accepted.extend((p.t_arrival, self.env.now) for p in held if id(p) not in inside)

    def serve(chip, core, pkt, t):
        if core.id == 1:
            starts.append(t)
        return real_serve(chip, core, pkt, t)

    monkeypatch.setattr(chipmod.Chip, "intake", intake)
    monkeypatch.setattr(modes, "_serve", serve)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(yaml.safe_dump({"input": [0], "lif0": [1], "lif1": [2]}))
    net = network_from_nir(nir_chain([np.full((1, 4), 0.1), np.array([[0.1]])]))
    hw = profile(core__queue_capacity=1, core__latency_s__synaptic_op=100e-9)
    run_network(net, hw, np.ones((1, 1, 4), int), None,
                RunConfig(model="c", mode="async", noc="routers", queue=queue, mapping=str(mapping)))
    assert len(accepted) >= 2
    for arrival, accept in accepted:  # the first service start after it arrived
        assert accept == min(s for s in starts if s >= arrival)


def test_realtime_frames_enter_on_the_clock():
    """A slow core (100 ns per synapse) and a 1 us frame period: with realtime input,
    frame k enters at k us even though frame k-1 is still being processed."""
    net = random_net([20, 30, 5], seed=2)
    hw = profile(core__latency_s__synaptic_op=100e-9)
    frames = random_frames(1, 4, 20, 0.8, seed=3)
    drained = run_network(net, hw, frames, None, RunConfig(model="r", mode="async", trace=True), frame_s=1e-6)
    clocked = run_network(net, hw, frames, None, RunConfig(model="r", mode="async", realtime=True, trace=True),
                          frame_s=1e-6)  # the frames' width, whatever the model's dt (1 ms here)
    assert clocked.per_sample[0]["latency_s"] < drained.per_sample[0]["latency_s"]
    ev = clocked.tracer.table().to_pandas()
    first_input = ev[(ev.kind == "spike") & (ev.layer == "input")].groupby("step").t_s.min()
    assert list(first_input.index) == [0, 1, 2, 3]
    assert all(t >= k * 1e-6 - 1e-15 for k, t in first_input.items())
    assert first_input[1] < drained.tracer.table().to_pandas().query("kind == 'spike' and layer == 'input' and step == 1").t_s.min()


def two_paths_run(mode="async", stop=None, frames=None):
    """input a -> h0 -> out0 and input b -> h1 -> out1 (weights 2, theta 1), one layer per core on the 3x1
    mesh; by default one frame in which a and b both spike, then two frames in which only a does."""
    w1 = np.array([[2.0, 0.0], [0.0, 2.0]])
    net = network_from_nir(nir_chain([w1, w1], beta=1.0 - 1e-9))
    if frames is None:
        frames = np.array([[[1, 1], [1, 0], [1, 0]]])
    return run_network(net, profile(), frames, np.array([1]),
                       RunConfig(model="paths", mode=mode, stop_on_output=stop))


def test_async_early_decision_by_hand():
    """K = 0: the sample ends when out0 fires. Input a leaves at 18 ns, b at 36; h serves a 38 -> 74 (h0
    fires) and b 74 -> 110 (h1 fires); out0 is served 94 -> 119 and fires: the stop. h1's packet, sent at
    110, arrives at 130: in flight at the stop, never integrated; the next frames never enter."""
    res = two_paths_run(stop=0)
    row = res.per_sample[0]
    t = 119
    assert (L_SPK + L_OUT) + HOP_EW + (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + HOP_EW + (L_IN + L_SYN + L_UPD + L_SPK) == t
    assert row["decision_s"] == row["latency_s"] == pytest.approx(t * 1e-9, rel=1e-12) and row["stopped"] == 1
    assert row["first_output_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert np.isnan(row["first_correct_s"])  # the label is 1: out1 never fired
    assert row["prediction"] == 0 and row["correct"] == 0
    assert row["synaptic_events"] == 3 and row["packets"] == 4 and row["hops"] == 4 and row["spikes"] == 3
    dyn_pj = (5 * E_SPK + 3 * E_SYN + 3 * E_UPD + 3 * E_IN + 4 * E_OUT + 4 * EHOP_EW)
    static = t * 1e-9 * 3 * (P_CORE + P_ROUTER)
    assert row["decision_energy_j"] == row["energy_j"] == pytest.approx(dyn_pj * 1e-12 + static, rel=1e-12)
    e = dict(zip(CATEGORIES, res.per_core_energy.sum(axis=0)))
    assert e["static"] == pytest.approx(static, rel=1e-12)
    assert e["synaptic"] == pytest.approx(3 * E_SYN * 1e-12) and e["spike_out"] == pytest.approx(5 * E_SPK * 1e-12)


def test_async_early_decision_after_k_more_output_spikes():
    """K = 1: out1 fires at 110 + 20 + 25 = 155 ns, the second output spike: the stop, in frame 0."""
    row = two_paths_run(stop=1).per_sample[0]
    assert row["decision_s"] == pytest.approx(155e-9, rel=1e-12) and row["stopped"] == 1
    assert row["first_correct_s"] == pytest.approx(155e-9, rel=1e-12)
    assert row["synaptic_events"] == 4 and row["spikes"] == 4


def test_layered_early_decision_ends_after_the_timestep():
    """K = 0 in layered mode: the output fires in timestep 0, whose phases end the sample."""
    bar = 150
    # two input spikes, one packet each to h's core: a train of two over one hop takes two hop times
    input_phase = 2 * (L_SPK + L_OUT) + 2 * HOP_EW
    h_phase = 2 * (L_IN + L_SYN + L_UPD + L_SPK + L_OUT) + 2 * HOP_EW
    out_busy = 2 * (L_IN + L_SYN + L_UPD + L_SPK)
    row = two_paths_run("layered", stop=0).per_sample[0]
    assert row["decision_s"] == pytest.approx((input_phase + h_phase + out_busy + 3 * bar) * 1e-9, rel=1e-12)
    assert row["stopped"] == 1 and row["spikes"] == 4 and row["synaptic_events"] == 4


@pytest.mark.parametrize("mode", ["async", "layered", "timestep"])
def test_an_early_decision_that_never_comes_changes_nothing(mode):
    net = random_net([6, 8, 3], seed=5)
    frames = random_frames(3, 5, 6, 0.5, seed=6)
    runs = [run_network(net, load_profile("loihi"), frames, np.arange(3), RunConfig(model="r", mode=mode,
                                                                                     stop_on_output=k))
            for k in (None, 10_000)]
    for a, b in zip(runs[0].per_sample, runs[1].per_sample):
        assert a == b and a["stopped"] == 0
    assert np.array_equal(runs[0].per_core_energy, runs[1].per_core_energy)


@SETTINGS
@given(st.integers(0, 10_000), st.sampled_from(["async", "layered", "timestep"]), st.integers(0, 6),
       st.sampled_from(["event", "frame"]))
def test_an_early_decision_never_costs_more_than_the_whole_sample(seed, mode, k, input_mode):
    """Over random networks: a stop only takes work away. Time, energy, synaptic events and spikes are at
    most the whole sample's, and a sample that stops has fired K + 1 output spikes by then."""
    net = random_net([5, 7, 3], seed=seed)
    frames = random_frames(2, 4, 5, 0.6, seed=seed + 1)
    hw = load_profile("loihi")
    kw = dict(model="r", mode=mode, input=input_mode if mode == "async" else "event")
    whole = run_network(net, hw, frames, np.arange(2), RunConfig(**kw))
    early = run_network(net, hw, frames, np.arange(2), RunConfig(**kw, stop_on_output=k))
    for a, b in zip(whole.per_sample, early.per_sample):
        assert b["decision_s"] <= a["latency_s"] + 1e-15 and b["energy_j"] <= a["energy_j"] * (1 + 1e-12)
        assert b["synaptic_events"] <= a["synaptic_events"] and b["spikes"] <= a["spikes"]
        if not b["stopped"]:
            assert b == {**a, "stopped": 0}
    assert (early.per_core_energy <= whole.per_core_energy * (1 + 1e-12) + 1e-30).all()
