"""``snnemu sweep``: the same store for 1 worker, 2 workers and a Dask LocalCluster; resume after
``kill -9`` and after a lost worker; failures recorded; overrides reach the cost model; bad files refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import stale_scratch_name

from emulator import DEMO_MODEL, RunConfig, run
from emulator.cli import main
from emulator.parallel import DaskPool, LocalPool
from emulator.scratch import PREFIX
from emulator.sweep import ChunkStore, load_sweep, points_of, run_points
from hw_models.cost import CATEGORIES
from hw_models.profile import load_profile

SWEEP = """
data: digits
samples: 40
axes:
  model: [demo, demo-unlayered]
  mode: [layered, async]
  core.queue_capacity: [1, 64]
options:
  mapping: spread:2
  noc: routers
"""


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def files_of(out: Path) -> dict[str, bytes]:
    """Every file a sweep wrote but its chunks, wall_s taken out of the summaries."""
    found = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if not p.is_file() or rel.startswith("chunks/") or p.suffix in (".png", ".html", ".md") \
                or p.name == "sweep_table.csv":  # the report names its folders by path
            continue
        data = p.read_bytes()
        if p.name == "summary.json":
            summary = json.loads(data)
            summary.pop("wall_s")
            data = json.dumps(summary).encode()
        found[rel] = data
    return found


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The reference: the sweep run here, one task after another."""
    tmp = tmp_path_factory.mktemp("clean")
    out = tmp / "out"
    assert main(["sweep", str(write(tmp, SWEEP)), "--out", str(out)]) == 0
    return out


def test_the_sweep_writes_a_folder_per_configuration_and_a_store(clean):
    names = sorted(p.name for p in (clean / "runs").iterdir())
    assert len(names) == 2 * 2 * 2 and "demo-async-queue_capacity=1" in names
    summary = pd.read_parquet(clean / "store" / "summary.parquet")
    assert sorted(summary.config) == names
    assert {"model", "mode", "core.queue_capacity", "accuracy", "energy_per_inference_j"} <= set(summary.columns)
    samples = pd.read_parquet(clean / "store" / "samples")
    assert len(samples) == 8 * 40 and not samples.duplicated(["config", "sample"]).any()
    for name in names:  # each configuration's rows are its run folder's
        rows = pd.read_csv(clean / "runs" / name / "per_sample.csv")
        mine = samples[samples.config == name].sort_values("sample")
        np.testing.assert_array_equal(mine.energy_j.to_numpy(), rows.energy_j.to_numpy())
    # the capacity reaches the chip: with a queue of one packet, packets wait on the routers' links (async
    # mode), which back-pressure delays
    by = summary.set_index("config")
    assert by.loc["demo-async-queue_capacity=1", "latency_s.mean"] > by.loc["demo-async-queue_capacity=64", "latency_s.mean"]
    assert (clean / "sweep.html").is_file()


def test_two_workers_and_a_dask_local_cluster_give_the_same_store(clean, tmp_path):
    points = load_sweep(write(tmp_path, SWEEP))
    for label, pool in (("two", LocalPool(2)), ("dask", DaskPool(local_workers=2))):
        out = tmp_path / label
        outcome = run_points(load_sweep(write(tmp_path, SWEEP)), out, pool)
        assert not outcome.failed and outcome.computed == sum(len(range(0, p.n_samples, 16)) for p in points)
        assert files_of(out) == files_of(clean), label


def test_run_with_workers_equals_one_worker(tmp_path):
    base = RunConfig(model=str(DEMO_MODEL), mode="async", samples=40, mapping="spread:2")
    one, two = run(base), run(RunConfig(**{**base.__dict__, "workers": 2}))
    assert pd.DataFrame(one.per_sample).equals(pd.DataFrame(two.per_sample))  # NaN equals NaN here, not in dicts
    np.testing.assert_array_equal(one.per_core_energy, two.per_core_energy)
    np.testing.assert_array_equal(one.counters.busy_s, two.counters.busy_s)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
def test_a_stopped_sweep_resumes_to_a_clean_runs_results(clean, tmp_path, how):
    sweep, out = write(tmp_path, SWEEP), tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "sweep", str(sweep), "--out", str(out),
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list((out / "chunks").glob("*/*.npz"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(how)
    err = proc.communicate(timeout=60)[1].decode()  # its workers share the pipe: they are gone too
    assert proc.returncode == (-9 if how == signal.SIGKILL else 130)
    if how == signal.SIGINT:
        assert "--resume" in err.splitlines()[-1] and "Traceback" not in err
    done_before = len(list((out / "chunks").glob("*/*.npz")))
    assert 10 <= done_before < 24, "the kill came too late to test a resume"
    assert not (out / "store").exists()
    (out / "chunks" / next((out / "chunks").iterdir()).name / stale_scratch_name("x.npz")).write_bytes(b"half a chunk")
    assert main(["sweep", str(sweep), "--out", str(out)]) == 2  # without --resume: refused
    assert main(["sweep", str(sweep), "--out", str(out), "--resume"]) == 0
    assert files_of(out) == files_of(clean)
    assert not list((out / "chunks").glob(f"*/{PREFIX}*"))


def test_a_worker_killed_mid_task_on_a_local_cluster(clean, tmp_path):
    pool = DaskPool(local_workers=2)
    pids = list(pool.client.run(os.getpid).values())
    killed = []

    def progress(done, total, failed):
        if not killed:  # after the first finished task, while the others run
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    outcome = run_points(load_sweep(write(tmp_path, SWEEP)), tmp_path / "out", pool, progress=progress)
    assert killed and not outcome.failed
    assert files_of(tmp_path / "out") == files_of(clean)


def test_a_failing_configuration_is_recorded_and_the_others_finish(tmp_path, monkeypatch, capsys):
    import emulator.sweep.execute as execute

    real = execute.run_task
    calls = []

    def flaky(task):
        calls.append(task.cfg.mode)
        if task.cfg.mode == "async":
            raise RuntimeError("broken on purpose")
        return real(task)

    monkeypatch.setattr(execute, "run_task", flaky)
    sweep = write(tmp_path, "samples: 20\naxes:\n  model: [demo]\n  mode: [layered, async]\n")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "configuration async failed: samples 0..15: RuntimeError: broken on purpose" in err
    assert calls.count("async") == 2 * 2  # two chunks, each tried twice
    assert [p.name for p in (tmp_path / "out" / "runs").iterdir()] == ["layered"]
    plan = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [c["status"] for c in plan["configurations"]] == ["done", "failed"]


def test_a_doubled_hop_energy_doubles_the_hop_energy_and_nothing_else():
    base = RunConfig(model=str(DEMO_MODEL), mode="layered", samples=10, mapping="spread:2")
    hop = load_profile("loihi").noc.hop_energy_j
    doubled = RunConfig(**{**base.__dict__, "hw_set": (f"noc.hop_energy_j.east_west={2 * hop.east_west!r}",
                                                       f"noc.hop_energy_j.north_south={2 * hop.north_south!r}")})
    a, b = run(base), run(doubled)
    ea, eb = (dict(zip(CATEGORIES, r.per_core_energy.sum(axis=0))) for r in (a, b))
    c = a.counters
    hop_part = float((c.hops_ew * hop.east_west + c.hops_ns * hop.north_south).sum())
    assert hop_part > 0
    assert eb["noc"] - ea["noc"] == pytest.approx(hop_part, rel=1e-12)
    assert all(eb[k] == ea[k] for k in CATEGORIES if k != "noc")
    assert [r["spikes"] for r in a.per_sample] == [r["spikes"] for r in b.per_sample]


def test_a_foreign_or_stale_chunk_is_never_mixed_in(tmp_path):
    sweep = write(tmp_path, "samples: 16\naxes:\n  model: [demo]\n  mode: [layered]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    (chunk,) = (out / "chunks").glob("*/*.npz")
    good = chunk.read_bytes()
    store = ChunkStore(out / "chunks")
    ident, (lo, hi) = chunk.parent.name, (0, 16)
    assert store.load(ident, lo, hi) is not None
    assert store.load("another", lo, hi) is None and store.load(ident, 0, 8) is None
    other = out / "chunks" / "another" / chunk.name
    other.parent.mkdir()
    other.write_bytes(good)  # a chunk copied under another configuration's key
    assert store.load("another", lo, hi) is None
    chunk.write_bytes(good[: len(good) // 2])  # truncated: unreadable, so recomputed
    assert store.load(ident, lo, hi) is None
    outcome = run_points(load_sweep(sweep), out, LocalPool(1))
    assert outcome.reused == 0 and outcome.computed == 1


@pytest.mark.parametrize("text, key", [
    ("axes:\n  model: [demo]\n  mode: [layered, asynch]\n", "axes.mode"),
    ("axes:\n  model: [demo]\n  modes: [layered]\n", "axes.modes"),
    ("axes:\n  model: [demo]\n  core.queue_capacityy: [1]\n", "core.queue_capacityy"),
    ("axes:\n  model: [demo]\n  core.queue_capacity: [0]\n", "core.queue_capacity"),
    ("axes:\n  model: [demo]\n  hw: [{name: loihi, overrides: {noc.hop_latency_s.east_west: [-1.0]}}]\n",
     "noc.hop_latency_s.east_west"),
    ("axes:\n  model: [demo]\n  hw: [lohi]\n", "axes.hw"),
    ("combine: zip\naxes:\n  model: [demo]\n  mode: [layered, async]\n", "axes"),
    ("combine: sideways\naxes:\n  model: [demo]\n", "combine"),
    ("axes:\n  model: [demo]\noptions:\n  dt_uss: 5\n", "options.dt_uss"),
    ("axes:\n  model: [nowhere.nir]\n", "axes.model"),
    ("axes:\n  mode: [layered]\n", "model"),
    ("axes: [layered\n", "yaml"),
    ("- 1\n", "(top level)"),
    ("samples: 0\naxes:\n  model: [demo]\n", "samples"),
])
def test_a_bad_sweep_file_gives_one_line_naming_the_file_and_the_key(tmp_path, capsys, text, key):
    sweep = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"snnemu: error: {sweep}: ") and key in err[0], err
    assert not out.exists()


def test_an_io_field_is_a_sweep_axis(tmp_path):
    """Where sensor input enters is a profile field like any other: an axis over it gives one configuration
    per value, each with its override."""
    points = load_sweep(write(tmp_path, "axes:\n  model: [demo]\n  io.input_on_cores: [true, false]\n"))
    assert [p.config.hw_set for p in points] == [("io.input_on_cores=true",), ("io.input_on_cores=false",)]


def test_a_sweep_file_that_is_not_utf8_or_missing(tmp_path, capsys):
    sweep = tmp_path / "latin1.yaml"
    sweep.write_bytes("axes:\n  mode: [caf\xe9]\n".encode("latin-1"))
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    assert main(["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "is not UTF-8" in err[0] and "cannot read" in err[1]


def test_the_example_is_a_valid_sweep(capsys):
    assert main(["sweep", "--example"]) == 0
    import yaml

    points = points_of(yaml.safe_load(capsys.readouterr().out), "example")
    assert len(points) >= 4 and len({p.name for p in points}) == len(points)


def test_layered_runs_once_whatever_the_queue_axis():
    points = points_of({"axes": {"model": ["demo"], "mode": ["layered", "async"], "queue": ["fifo", "momentum"]},
                        "samples": 2}, "s")
    assert [(p.config.mode, p.config.queue, p.axes["queue"]) for p in points] == [
        ("layered", "fifo", None), ("async", "fifo", "fifo"), ("async", "momentum", "momentum")]


def test_zip_pairs_the_axes():
    points = points_of({"combine": "zip", "samples": 2, "options": {"model": "demo"},
                        "axes": {"mode": ["layered", "async"], "hw": ["loihi", "seneca"]}}, "s")
    assert [(p.config.mode, p.config.hw) for p in points] == [("layered", "loihi"), ("async", "seneca")]


def test_compare_takes_every_run_option(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "--model", str(DEMO_MODEL), "--modes", "layered", "--samples", "4", "--dt-us", "500",
                 "--mapping", "spread:2", "--noc", "routers", "--hw-set", "core.queue_capacity=3",
                 "--out", str(out)]) == 0
    (folder,) = (out / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["frame_s"], summary["noc"], summary["mapping"]) == (500e-6, "routers", "spread:2")
    assert summary["hw_set"] == ["core.queue_capacity=3"]


def test_more_samples_reuse_the_chunks_done_and_an_edited_model_reuses_none(tmp_path):
    model = tmp_path / "model.nir"
    model.write_bytes(Path(DEMO_MODEL).read_bytes())
    text = "samples: {n}\naxes:\n  model: [" + str(model) + "]\n  mode: [async]\n"
    out = tmp_path / "out"
    first = run_points(load_sweep(write(tmp_path, text.format(n=16))), out, LocalPool(1))
    assert (first.reused, first.computed) == (0, 1)
    longer = run_points(load_sweep(write(tmp_path, text.format(n=32))), out, LocalPool(1))
    assert (longer.reused, longer.computed) == (1, 1)
    clean = tmp_path / "clean"
    run_points(load_sweep(write(tmp_path, text.format(n=32))), clean, LocalPool(1))
    assert files_of(out) == files_of(clean)
    os.utime(model, ns=(time.time_ns(), time.time_ns() + 10**9))  # the model file changed
    edited = run_points(load_sweep(write(tmp_path, text.format(n=32))), out, LocalPool(1))
    assert (edited.reused, edited.computed) == (0, 2)


def test_sweep_on_a_running_scheduler_by_its_address(tmp_path):
    from dask.distributed import LocalCluster

    sweep = write(tmp_path, "samples: 20\naxes:\n  model: [demo]\n  mode: [layered, async]\n")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert main(["sweep", str(sweep), "--out", str(tmp_path / "dask"), "--scheduler",
                     cluster.scheduler_address]) == 0
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "here")]) == 0
    assert files_of(tmp_path / "dask") == files_of(tmp_path / "here")


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    sweep = write(tmp_path, "samples: 4\naxes:\n  model: [demo]\n")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("snnemu: error: --scheduler: scheduler: cannot reach the Dask scheduler")
