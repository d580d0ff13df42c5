"""Sensor input through I/O ports (the profile's ``io`` section): hand-computed latencies and energies
on the 3x1 test mesh, the ports' bandwidth, the mapping of the input, and the option that keeps it on
cores (``io.input_on_cores: true``, today's records)."""

from __future__ import annotations

import numpy as np
import pytest
from builders import BASE_PROFILE, changed, nir_chain, profile, random_frames, random_net
from test_chip import E_IN, E_OUT, E_SPK, E_SYN, E_UPD, EHOP_EW, HOP_EW, L_IN, L_OUT, L_SPK, L_SYN, L_UPD, P_CORE

from emulator.cli import main
from emulator.config import RunConfig
from emulator.errors import InputError
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.cost import CATEGORIES
from hw_models.profile import load_profile, profile_from_dict

IO_LAT, IO_GAP, E_IO = 9, 4, 40  # ns, ns (250 M packets/s), pJ
PORT_AT_0 = {"input_on_cores": False, "ports": [[0, 0]], "latency_s": IO_LAT * 1e-9, "energy_j": E_IO * 1e-12,
             "packets_per_s": 1e9 / IO_GAP}


def io_profile(core__max_neurons=64, **io):
    return profile(io={**PORT_AT_0, **io}, core__max_neurons=core__max_neurons)


def chain_mapping(tmp_path) -> str:
    """h (lif0) on core 2 (tile (2,0), two hops east of the port), out (lif1) on core 1 (one hop back west)."""
    path = tmp_path / "chain.yaml"
    path.write_text("lif0: [2]\nlif1: [1]\n")
    return str(path)


def io_chain_run(tmp_path, mode, noc="analytic", hw=None):
    """input -> h -> out, weights 2.0, theta 1.0; one input spike, entering at tile (0,0)."""
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])], beta=1.0 - 1e-9))
    frames = np.zeros((1, 1, 1), int)
    frames[0, 0, 0] = 1
    return run_network(net, hw or io_profile(), frames, np.array([0]),
                       RunConfig(model="chain", mode=mode, noc=noc, mapping=chain_mapping(tmp_path)))


# what each unit of the chain takes: the port (one packet through it, then its latency), two hops east
# to h, h's service, one hop west to out, out's service (its spike makes no packet)
PORT = IO_GAP + IO_LAT
H = L_IN + L_SYN + L_UPD + L_SPK + L_OUT
OUT = L_IN + L_SYN + L_UPD + L_SPK


@pytest.mark.parametrize("noc", ["analytic", "routers"])
def test_async_first_output_is_the_io_latency_plus_the_hops_plus_the_pipeline(tmp_path, noc):
    res = io_chain_run(tmp_path, "async", noc)
    t = PORT + 2 * HOP_EW + H + HOP_EW + OUT
    assert t == 13 + 40 + 36 + 20 + 25
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert row["latency_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    assert row["hops"] == 3 and row["packets"] == 2 and row["synaptic_events"] == 2


def test_tick_modes_take_the_port_as_the_input_phase(tmp_path):
    bar = 150  # tiles 1 and 2 hold the cores in use: the barrier table's 2-tile step
    layered = io_chain_run(tmp_path, "layered").per_sample[0]
    assert layered["first_output_s"] == pytest.approx((PORT + 2 * HOP_EW + bar + H + HOP_EW + bar + OUT) * 1e-9)
    timestep = io_chain_run(tmp_path, "timestep").per_sample[0]
    assert timestep["first_output_s"] == pytest.approx(layered["first_output_s"])
    assert timestep["latency_s"] == pytest.approx((PORT + 2 * HOP_EW + H + HOP_EW + OUT + 3 * bar) * 1e-9)


def test_async_energy_by_hand(tmp_path):
    res = io_chain_run(tmp_path, "async")
    e = dict(zip(CATEGORIES, res.per_core_energy.sum(axis=0)))
    assert e["io"] == pytest.approx(E_IO * 1e-12)  # one packet through the port
    assert e["spike_out"] == pytest.approx(2 * E_SPK * 1e-12)  # h's and out's spikes: the input's pays none
    assert e["noc"] == pytest.approx((2 * E_IN + E_OUT + 3 * EHOP_EW) * 1e-12)  # h's message_out only
    assert e["synaptic"] == pytest.approx(2 * E_SYN * 1e-12) and e["neuron"] == pytest.approx(2 * E_UPD * 1e-12)
    elapsed = res.per_sample[0]["latency_s"]
    assert e["static"] == pytest.approx(elapsed * 3 * (P_CORE + 2e-3))  # the 3 cores and routers; the port: none
    port = res.per_core_energy[3]
    assert port[CATEGORIES.index("io")] == pytest.approx(E_IO * 1e-12)
    assert port[CATEGORIES.index("noc")] == pytest.approx(2 * EHOP_EW * 1e-12)  # its packet's two hops
    assert port[CATEGORIES.index("static")] == 0.0


def test_the_ports_bandwidth_spaces_the_input_spikes(tmp_path):
    """Three input spikes through one port, in neuron order, each to one core: they leave one gap apart,
    the first one gap and the latency after the frame starts."""
    net = random_net([3, 2], seed=0)
    frames = np.ones((1, 1, 3), int)
    res = run_network(net, io_profile(), frames, None, RunConfig(model="r", mode="async", trace=True))
    spikes = res.tracer.table().to_pandas().query("kind == 'spike' and layer == 'input'")
    assert spikes.neuron.tolist() == [0, 1, 2]
    np.testing.assert_allclose(spikes.t_s, [(k * IO_GAP + PORT) * 1e-9 for k in range(3)], rtol=1e-12)
    assert res.counters.io_packets.sum() == 3 and res.counters.io_packets[-1] == 3
    assert res.counters.spikes_out[-1] == 0 and res.counters.packets_out[-1] == 0


def test_a_tick_phase_sends_the_ports_packets_when_the_last_has_passed():
    """Timestep mode, three input spikes to one core: the port's phase is 3 gaps plus the latency, then
    the three packets cross the tile's local port one after another, and the first output comes a
    barrier and the core's phase later."""
    net = network_from_nir(nir_chain([np.full((1, 3), 2.0)], beta=1.0 - 1e-9))
    frames = np.ones((1, 1, 3), int)
    res = run_network(net, io_profile(), frames, np.array([0]), RunConfig(model="r", mode="timestep"))
    local = 2  # ns: the port's tile holds the core (layer-fill puts the output on core 0)
    out_phase = 3 * L_IN + 3 * L_SYN + L_UPD + L_SPK
    bar = 100
    port_phase = 3 * IO_GAP + IO_LAT + 3 * local
    assert res.per_sample[0]["first_output_s"] == pytest.approx((port_phase + bar + out_phase) * 1e-9)


def test_input_neurons_take_no_core_and_fit_where_they_would_not():
    net = random_net([100, 20, 4], seed=1)  # 100 inputs: three cores of 40 neurons if they sat on cores
    frames = random_frames(1, 3, 100, 0.3, seed=2)
    cfg = RunConfig(model="r", mode="async")
    on_cores = run_network(net, profile(mesh__width=5, core__max_neurons=40), frames, None, cfg)
    assert on_cores.mapping.used_cores.tolist() == [0, 1, 2, 3, 4]
    through = run_network(net, io_profile(core__max_neurons=40), frames, None, cfg)
    assert through.mapping.used_cores.tolist() == [0, 1] and through.mapping.n_ports == 1
    assert (through.mapping.core_of[:100] == 3).all()  # the port's unit follows the 3 cores
    with pytest.raises(InputError, match="mesh"):  # on cores, the 3x1 mesh cannot hold it, even packed
        run_network(net, profile(core__max_neurons=40), frames, None, cfg)


def test_input_is_split_evenly_over_the_ports_in_their_order():
    net = random_net([6, 4], seed=0)
    res = run_network(net, io_profile(ports=[[2, 0], [0, 0]]), random_frames(1, 1, 6, 0.5, seed=0), None,
                      RunConfig(model="r", mode="timestep"))
    assert res.mapping.core_of[:6].tolist() == [3, 3, 3, 4, 4, 4]
    assert [res.topology.tile_xy(u) for u in (3, 4)] == [(2, 0), (0, 0)]


def test_input_on_cores_keeps_the_records_of_a_profile_without_io():
    """``io.input_on_cores: true`` with other io figures set changes nothing: they apply only to ports."""
    net = random_net([10, 12, 4], seed=3)
    frames = random_frames(3, 4, 10, 0.4, seed=4, max_count=2)
    on_cores = io_profile(input_on_cores=True)
    for mode in ("timestep", "layered", "async"):
        cfg = RunConfig(model="r", mode=mode, mapping="spread:1")
        a, b = (run_network(net, hw, frames, None, cfg) for hw in (profile(), on_cores))
        assert a.per_sample == b.per_sample and a.elapsed_s == b.elapsed_s
        np.testing.assert_array_equal(a.per_core_energy, b.per_core_energy)
        assert a.per_core_energy[:, CATEGORIES.index("io")].sum() == 0.0


def test_traffic_mapper_puts_the_first_layer_by_the_port():
    """The port at the east end of the 3x1 mesh: the layer it feeds goes to the core of that tile."""
    net = random_net([8, 6, 3], seed=5)
    res = run_network(net, io_profile(ports=[[2, 0]]), random_frames(1, 2, 8, 0.5, seed=0), None,
                      RunConfig(model="r", mode="timestep", mapping="traffic"))
    assert set(res.mapping.core_of[8:14].tolist()) == {2}


def test_io_section_is_checked_like_the_rest():
    def bad(io):
        with pytest.raises(InputError) as err:
            profile_from_dict(changed(BASE_PROFILE, io=io), "p.yaml")
        return str(err.value)

    assert "io.ports" in bad({"input_on_cores": False, "ports": [[3, 0]]}) and "outside" in bad({"ports": [[3, 0]]})
    assert "twice" in bad({"ports": [[0, 0], [0, 0]]})
    assert "io.ports" in bad({"ports": "up"})
    assert "io.packets_per_s" in bad({"packets_per_s": 0})
    assert "io.latency_s" in bad({"latency_s": -1e-9})
    assert "io.input_on_cores" in bad({"input_on_cores": 1})
    assert "io.colour" in bad({"colour": 1})
    edge = profile(io={"input_on_cores": False, "ports": "east"}, mesh__height=2)
    assert edge.io.ports == ((2, 0), (2, 1)) and edge.io.n_ports == 2 and edge.io.gap_s == 0.0


def test_hw_set_may_route_the_input_through_a_port_on_a_profile_without_io():
    hw = load_profile("generic", {"io.input_on_cores": False, "io.ports": "north"})
    assert hw.io.n_ports == hw.mesh.width and hw.io.ports[0] == (0, hw.mesh.height - 1)


def test_a_mapping_file_may_not_place_the_input(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    path.write_text("input: [0]\nlif1: [1]\nlif2: [2]\n")
    code = main(["run", "--model", "emulator/data/demo_digits.nir", "--data", "digits", "--samples", "1",
                 "--hw", "loihi", "--hw-set", "io.input_on_cores=false", "--mapping", str(path),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(path) in err[0] and "input" in err[0] and "I/O ports" in err[0]


def test_realtime_frames_wait_for_the_port_to_pass_the_last_frames_packets():
    """Frames 5 ns apart, three packets of 4 ns each: frame 1's input waits until frame 0's has passed (12 ns)."""
    net = random_net([3, 2], seed=0)
    frames = np.ones((1, 2, 3), int)
    res = run_network(net, io_profile(), frames, None, RunConfig(model="r", mode="async", realtime=True, trace=True),
                      frame_s=5e-9)
    spikes = res.tracer.table().to_pandas().query("kind == 'spike' and layer == 'input'")
    frame0 = [(k * IO_GAP + PORT) * 1e-9 for k in range(3)]
    frame1 = [(3 * IO_GAP + k * IO_GAP + PORT) * 1e-9 for k in range(3)]
    np.testing.assert_allclose(spikes.t_s, frame0 + frame1, rtol=1e-12)
    assert res.counters.busy_s[-1] == pytest.approx(6 * IO_GAP * 1e-9)  # never more than the elapsed time


def test_an_early_decision_stops_the_ports_work_with_its_packets():
    """A slow port (one packet per 40 ns): the output fires on the first input packet, before the second
    leaves; the port counts one packet and one passage."""
    net = network_from_nir(nir_chain([np.full((1, 3), 2.0)], beta=1.0 - 1e-9))
    hw = io_profile(packets_per_s=1 / 40e-9)
    res = run_network(net, hw, np.ones((1, 1, 3), int), np.array([0]),
                      RunConfig(model="r", mode="async", stop_on_output=0))
    assert res.per_sample[0]["stopped"] == 1
    assert res.counters.io_packets[-1] == 1 and res.counters.busy_s[-1] == pytest.approx(40e-9)
    assert res.spikes_per_layer["input"] == 1


@pytest.mark.parametrize("mode", ["timestep", "async"])
def test_a_port_without_input_neurons_sends_nothing(mode):
    net = random_net([2, 4], seed=0)  # two input neurons over three ports: the last gets none
    res = run_network(net, io_profile(ports=[[0, 0], [1, 0], [2, 0]]), np.ones((1, 2, 2), int), None,
                      RunConfig(model="r", mode=mode, input="frame" if mode == "async" else "event"))
    assert res.mapping.core_of[:2].tolist() == [3, 4]
    c = res.counters
    assert c.io_packets[3:].tolist() == [2, 2, 0] and c.packets_received.sum() == c.io_packets.sum()
    assert res.per_core_energy[5].sum() == 0.0
