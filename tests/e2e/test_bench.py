"""The benchmark script: one row per mode from a fresh process, and its SANA-FE peer (where installed)
counting the same synaptic events, spikes and packets as snnemu's timestep mode on the same network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.parametrize("config", ["async:analytic", "async:analytic:numpy", "layered:analytic"])
def test_one_row_from_a_fresh_process(config):
    out = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "--one", "20-30-5", config, "--repeat", "1"],
                         capture_output=True, text=True, check=True).stdout
    row = json.loads(out.strip().splitlines()[-1])
    mode, noc = config.split(":", 1)
    assert (row["mode"], row["noc"]) == (mode, noc)
    assert row["synaptic_events"] > 0 and row["packets"] > 0
    assert row["ns_per_syn"] == pytest.approx(row["wall_s"] / row["synaptic_events"] * 1e9)


def test_rounds_measure_each_row_in_turn(tmp_path):
    """``--rounds 2``: the network's rows are measured in two rounds, and one row per mode comes out
    (``--json``). That the faster of the two is kept is not checked: a test cannot set the timings."""
    out = tmp_path / "rows.json"
    run = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "--sizes", "20-30-5", "--modes", "layered:analytic",
                          "--repeat", "1", "--rounds", "2", "--no-peer", "--json", str(out)],
                         capture_output=True, text=True, check=True)
    assert run.stderr.count("round") == 2 and "round 2 of 2" in run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["network"], r["mode"]) for r in rows] == [("20-30-5", "layered")]
    assert rows[0]["ns_per_syn"] > 0


def test_the_sanafe_peer_counts_what_snnemu_counts():
    """SANA-FE's Loihi and snnemu's timestep mode on one seeded network, inputs and placement: the same
    synaptic events, spikes and packets once SANA-FE also runs snnemu's L drain steps."""
    sys.path.insert(0, str(SCRIPTS))
    from sanafe_peer import available, run_network_like_snnemu

    if available():
        pytest.skip(available())
    from bench import AS_SANAFE, build

    from emulator import RunConfig, run_network
    from hw_models.profile import load_profile

    net, frames = build([30, 40, 6])
    res = run_network(net, load_profile("loihi", AS_SANAFE), frames, None,
                      RunConfig(model="b", mode="timestep", mapping="spread:2"))
    peer = run_network_like_snnemu(net, frames, repeat=1)
    assert peer["synaptic_events"] == res.counters.synaptic_events.sum()
    assert peer["spikes"] == res.counters.spikes_out.sum()
    assert peer["packets"] == res.counters.packets_out.sum()


# Where snnemu differs from SANA-FE on purpose (`bench.py --vs-sanafe` prints the sizes): both run with input
# neurons on cores (io.input_on_cores: SANA-FE has no I/O model, and its input units sit on cores); there input spikes pay
# spike_out (SANA-FE: nothing), the whole of the "neuron + spike_out" category's +1 to +9 % on these networks and
# +3 % of E's dynamic energy, so the 2 % target is checked without it; within-tile transfers cost Table 2's
# 1.7 pJ / 2.1 ns (SANA-FE: free); packets queue on each link at the hop latency (SANA-FE's detailed model: a
# congestion estimate); static power is left out of the comparison (SANA-FE has none).
@pytest.mark.parametrize("name", ["A", "B", "C", "D (sparse)", "E (sparse weights)"])
def test_loihi_against_sanafes_loihi_model(tmp_path, name):
    """Same networks, inputs and physical placement (a geometry-matched mapping), T + L steps on both:
    equal spikes, synaptic events and packets; the same synaptic energy (dense synapses, and E's sparse ones
    at SANA-FE's sparse figures) and neuron energy (an access for every neuron, the update where the state
    changed) but for the input spikes' spike_out; dynamic energy without it within 2 %, time within 5 % of
    `detailed`."""
    sys.path.insert(0, str(SCRIPTS))
    from sanafe_peer import available, cross_check

    if available():
        pytest.skip(available())
    r = cross_check(name, tmp_path)
    for count in ("spikes", "synaptic_events", "packets"):
        assert r[count][0] == r[count][1], count
    inputs = r["input_spike_out_j"]
    ours, theirs = r["energy_j"]["dynamic"]
    assert abs((ours - inputs) / theirs - 1) <= 0.02
    ours, theirs = r["energy_j"]["synaptic"]
    assert ours == pytest.approx(theirs, rel=1e-9)  # the same figure on the same events
    ours, theirs = r["energy_j"]["neuron"]
    assert ours - inputs == pytest.approx(theirs, rel=1e-9)
    ours, theirs = r["time_s"]
    assert abs(ours / theirs - 1) <= 0.05
