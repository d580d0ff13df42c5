"""The records contract: files, columns, invariants, determinism, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from builders import random_frames, random_net

from emulator.cli import main
from emulator.config import RunConfig
from emulator.records import summarize, write_records
from emulator.runner import run_network
from hw_models.profile import load_profile

DEMO = "emulator/data/demo_digits.nir"
MODES = [("timestep", "analytic", "fifo", "event"), ("layered", "analytic", "fifo", "event"),
         ("async", "analytic", "momentum", "event"), ("async", "routers", "random", "event"),
         ("layered", "routers", "fifo", "event"), ("async", "analytic", "fifo", "frame"),
         ("async", "routers", "momentum", "frame"),
         # with an early decision (stop_on_output), which ends samples with work queued and in flight
         ("async", "analytic", "fifo", "event", 1), ("async", "routers", "momentum", "event", 0),
         ("layered", "analytic", "fifo", "event", 0), ("timestep", "routers", "fifo", "event", 2),
         # input through two I/O ports (IO_PORTS) instead of on cores
         ("timestep", "analytic", "fifo", "event", None, "io"), ("layered", "routers", "fifo", "event", None, "io"),
         ("async", "analytic", "fifo", "event", None, "io"), ("async", "routers", "momentum", "frame", None, "io"),
         ("async", "analytic", "fifo", "event", 1, "io")]
# ports on two tiles, one of them holding no core of the mapping; a bandwidth limit and a latency
IO_PORTS = {"io.input_on_cores": False, "io.ports": [[3, 0], [0, 1]], "io.latency_s": 7e-9,
            "io.packets_per_s": 2e8, "io.energy_j": 50e-12}


@pytest.fixture(scope="module", params=MODES, ids=lambda m: "-".join(map(str, m)))
def traced(request, tmp_path_factory):
    mode, noc, queue, input_mode, *more = request.param
    stop, io = (more + [None, None])[:2]
    net = random_net([16, 24, 10, 4], seed=11)
    frames = random_frames(4, 6, 16, 0.4, seed=12, max_count=2)
    res = run_network(net, load_profile("loihi", IO_PORTS if io else None), frames, np.arange(4) % 4,
                      RunConfig(model="r", mode=mode, noc=noc, queue=queue, input=input_mode,
                                mapping="spread:2", trace=True, stop_on_output=stop))
    if stop is not None:
        assert sum(r["stopped"] for r in res.per_sample) > 0  # the case stops early
    if io:
        assert res.mapping.n_ports == 2 and res.counters.io_packets.sum() > 0
    out = write_records(res, tmp_path_factory.mktemp("run") / "out")
    return res, out


def test_energy_categories_cores_and_samples_add_up(traced):
    res, out = traced
    s = json.loads((out / "summary.json").read_text())
    e = s["energy_j"]
    parts = [e[k] for k in ("synaptic", "neuron", "spike_out", "noc", "io", "barrier", "static")]
    assert sum(parts) == pytest.approx(e["total"], rel=1e-12)
    assert pd.read_csv(out / "per_core.csv").energy_j.sum() == pytest.approx(e["total"], rel=1e-12)
    assert pd.read_csv(out / "per_sample.csv").energy_j.sum() == pytest.approx(e["total"], rel=1e-12)
    assert all(p >= 0 for p in parts) and e["total"] > 0


def test_per_core_categories_add_up_to_the_summary(traced):
    _, out = traced
    e = json.loads((out / "summary.json").read_text())["energy_j"]
    cores = pd.read_csv(out / "per_core.csv")
    parts = cores[[c for c in cores.columns if c.startswith("energy_") and c != "energy_j"]]
    assert np.allclose(parts.sum(axis=1), cores.energy_j, rtol=1e-12, atol=0)
    for cat in ("synaptic", "neuron", "spike_out", "noc", "io", "barrier", "static"):
        assert cores[f"energy_{cat}_j"].sum() == pytest.approx(e[cat], rel=1e-12, abs=1e-30)


def test_link_packets_add_up_to_the_hops_of_the_trace(traced):
    """Each packet crosses its route's links: the links' packets equal the hops, direction by
    direction, and a tile's local port carries the packets between cores of that tile."""
    res, out = traced
    links = pd.read_csv(out / "per_link.csv")
    s = json.loads((out / "summary.json").read_text())
    mesh = links[links.direction != "local"]
    assert mesh.packets.sum() == s["hops"] > 0
    ev = pd.read_parquet(out / "events.parquet")
    pk = ev[ev.kind == "packet"]
    # the tiles of the packets' ends: an I/O port's is the profile's, not its unit id's
    (x0, y0), (x1, y1) = (np.array([res.topology.tile_xy(c) for c in pk[end]]).reshape(-1, 2).T
                          for end in ("core", "dst_core"))
    same_tile = (x0 == x1) & (y0 == y1) & (pk.core != pk.dst_core).to_numpy()
    assert links[links.direction == "local"].packets.sum() == same_tile.sum()
    # XY routing: each packet crosses dx links east (or west) and dy north (or south) of its tiles
    w = res.hw.mesh.width
    dx, dy = pd.Series(x1 - x0), pd.Series(y1 - y0)
    per_dir = links.groupby("direction").packets.sum()
    assert per_dir.get("east", 0) == dx.clip(lower=0).sum() and per_dir.get("west", 0) == (-dx).clip(lower=0).sum()
    assert per_dir.get("north", 0) == dy.clip(lower=0).sum() and per_dir.get("south", 0) == (-dy).clip(lower=0).sum()
    # a link's two ends are neighbouring tiles inside the mesh
    assert ((links.to_x - links.tile_x).abs() + (links.to_y - links.tile_y).abs()).isin([0, 1]).all()
    assert links.to_x.between(0, w - 1).all() and links.to_y.between(0, res.hw.mesh.height - 1).all()


def stopped_async(res) -> bool:
    """An early decision in async mode ends samples with packets in flight or queued: never integrated."""
    return res.config.mode == "async" and res.config.stop_on_output is not None


def test_packets_sent_equal_received(traced):
    res, out = traced
    cores = pd.read_csv(out / "per_core.csv")
    if stopped_async(res):  # every packet served was received, every one received was sent
        served = pd.read_parquet(out / "events.parquet").query("kind == 'packet'").queue_wait_s.notna().sum()
        assert 0 < served <= cores.packets_in.sum() <= cores.packets_out.sum()
    else:
        assert cores.packets_out.sum() == cores.packets_in.sum() > 0
    s = json.loads((out / "summary.json").read_text())
    assert s["packets"] == cores.packets_out.sum()
    ev = pd.read_parquet(out / "events.parquet")
    assert (ev.kind == "packet").sum() == s["packets"]


def test_synaptic_events_equal_fan_out_of_packets(traced):
    res, out = traced
    ev = pd.read_parquet(out / "events.parquet")
    net, core_of = res.network, res.mapping.core_of
    w = net.global_weights()
    offsets = dict(zip([p.name for p in net.populations], net.offsets[:-1]))

    def fan_out(src, dst_core):
        targets = w.indices[w.indptr[src]:w.indptr[src + 1]]
        return int((core_of[targets] == dst_core).sum())

    inputs = ev[(ev.kind == "spike") & (ev.layer == net.populations[0].name)]
    total = 0
    packets = ev[ev.kind == "packet"]
    if stopped_async(res):  # only the packets served before the early decision were integrated
        packets = packets[packets.queue_wait_s.notna()]
    for row in packets.itertuples():
        if row.neuron >= 0:
            total += fan_out(offsets[row.layer] + row.neuron, row.dst_core)
        else:  # an input batch: every input spike of that step on that input core
            frame = inputs[(inputs["sample"] == row.sample) & (inputs.step == row.step) & (inputs.core == row.core)]
            total += sum(fan_out(n, row.dst_core) for n in frame.neuron)
    s = json.loads((out / "summary.json").read_text())
    assert s["synaptic_events"] == total == pd.read_csv(out / "per_sample.csv").synaptic_events.sum()


def test_spike_counts_agree_across_files(traced):
    _, out = traced
    s = json.loads((out / "summary.json").read_text())
    ev = pd.read_parquet(out / "events.parquet")
    spikes = ev[(ev.kind == "spike") & (ev.layer != "input")]
    assert len(spikes) == s["spikes"]["total"] == pd.read_csv(out / "per_sample.csv").spikes.sum()
    assert s["spikes"]["per_layer"] == spikes.layer.value_counts().reindex(list(s["spikes"]["per_layer"])).fillna(0).astype(int).to_dict()


def test_files_and_columns(traced):
    _, out = traced
    s = json.loads((out / "summary.json").read_text())
    for key in ("schema", "model", "hw", "mode", "queue", "samples", "accuracy", "spikes", "synaptic_events",
                "neuron_updates", "packets", "hops", "latency_s", "first_output_s", "energy_j", "edp_js", "wall_s"):
        assert key in s
    assert set(s["latency_s"]) == {"mean", "p50", "p95", "max"}
    assert list(pd.read_csv(out / "per_sample.csv").columns) == [
        "sample", "label", "prediction", "correct", "spikes", "synaptic_events", "packets", "hops",
        "latency_s", "first_output_s", "first_correct_s", "energy_j", "decision_s", "decision_energy_j", "stopped"]
    assert list(pd.read_csv(out / "per_core.csv").columns) == [
        "core", "unit", "tile_x", "tile_y", "layer", "neurons", "synapses", "packets_in", "packets_out",
        "synaptic_events", "busy_s", "utilization", "energy_j", "energy_synaptic_j", "energy_neuron_j",
        "energy_spike_out_j", "energy_noc_j", "energy_io_j", "energy_barrier_j", "energy_static_j"]
    assert list(pd.read_csv(out / "per_link.csv").columns) == [
        "link", "tile_x", "tile_y", "direction", "to_x", "to_y", "packets"]
    assert list(pd.read_parquet(out / "events.parquet").columns) == [
        "t_s", "sample", "kind", "layer", "neuron", "core", "dst_core", "hops", "queue_wait_s", "step"]
    assert s["edp_js"] == pytest.approx(s["energy_j"]["total"] / s["samples"] * s["latency_s"]["mean"])


def assert_identical_runs(tmp_path, *variants):
    """Run the demo once per argument list; the records must be byte-identical (wall_s aside)."""
    outs = []
    for i, extra in enumerate(variants):
        out = tmp_path / f"run{i}"
        queue = ["--queue", "random"] if "async" in extra else []  # a queue elsewhere is refused
        assert main(["run", "--model", DEMO, "--data", "digits", *queue, "--trace", "--out", str(out), *extra]) == 0
        outs.append(out)
    for name in ("per_sample.csv", "per_core.csv", "per_link.csv", "events.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    a, b = (json.loads((o / "summary.json").read_text()) for o in outs)
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b


def test_same_seed_gives_byte_identical_records(tmp_path):
    run = ["--samples", "4", "--mode", "async", "--seed", "3"]
    assert_identical_runs(tmp_path, run, run)


def test_random_policy_depends_on_the_seed(tmp_path):
    net = random_net([20, 30, 10], seed=2)
    frames = random_frames(3, 5, 20, 0.5, seed=3)
    hw = load_profile("loihi")
    runs = [summarize(run_network(net, hw, frames, None, RunConfig(model="r", mode="async", queue="random", seed=s)))
            for s in (0, 1)]
    assert runs[0]["latency_s"] != runs[1]["latency_s"]


def test_failed_write_leaves_no_folder(tmp_path, monkeypatch):
    net = random_net([4, 3, 2], seed=0)
    res = run_network(net, load_profile("ideal"), random_frames(1, 2, 4, 0.5, 0), None,
                      RunConfig(model="r", mode="layered"))
    import emulator.records.chip as records

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(records, "per_core_table", boom)
    with pytest.raises(OSError):
        write_records(res, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_out_never_deletes_a_users_files(tmp_path):
    from emulator.errors import InputError

    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    net = random_net([4, 3, 2], seed=0)
    res = run_network(net, load_profile("ideal"), random_frames(1, 2, 4, 0.5, 0), None,
                      RunConfig(model="r", mode="layered"))
    with pytest.raises(InputError, match="--out"):
        write_records(res, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    run_dir = write_records(res, tmp_path / "run")
    write_records(res, run_dir)  # an earlier run folder is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"]


@pytest.mark.parametrize("mode", ["async", "timestep"])
def test_records_do_not_depend_on_the_number_of_workers(tmp_path, mode):
    run = ["--samples", "20", "--mode", mode, "--seed", "5"]
    assert_identical_runs(tmp_path, [*run, "--workers", "1"], [*run, "--workers", "2"])


def test_out_refuses_lookalikes_the_current_folder_and_links(tmp_path, monkeypatch):
    from emulator.errors import InputError
    from emulator.records import check_out_dir

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "summary.json").write_text("{}")
    (mixed / "main.py").write_text("print()")
    link = tmp_path / "link"
    link.symlink_to(mixed)
    monkeypatch.chdir(mixed)
    for bad in (mixed, link, ".", tmp_path):
        with pytest.raises(InputError, match="--out"):
            check_out_dir(bad)
    assert (mixed / "main.py").exists()
