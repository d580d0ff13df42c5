"""Benchmark: host time per synaptic event and per packet, and peak memory.

Workloads (fixed, seeded): random dense feed-forward LIF networks named by
their sizes (``213-426-43``, the reference workload; ``213-426-426-43``;
``100-200-10``; ``2312-64-10``, an N-MNIST-sized MLP): weights
N(0, (2/sqrt(fan_in))^2), theta 1, beta 0.5, zero reset, input spike
probability 0.2 per input per step, 200 steps, one sample; and ``demo``, the
bundled demo model on the first 20 digits test samples (1 ms frames). All run
with the ``spread:2`` mapping on the ``loihi`` profile (``spread:3`` for 2312-64-10). Each mode runs in its
own fresh process, so its peak RSS is its own; the time covers
``run_network`` (mapping, chip construction and the simulation), not imports
or file I/O, and is the fastest of ``--repeat`` runs (default 3); with ``--rounds N`` every row of a
network, SANA-FE's too, is measured N times in turn and each row's best counts.

Modes are ``mode:noc``; ``async:analytic:numpy`` runs async mode's fast path
with ``SNNEMU_NO_NUMBA=1`` (its NumPy fallback). The functional reference
(``mode:functional``) runs the same workload on a batch of 256 samples (async
with F = 16), and the ratio of the chip's time per synaptic event to the
reference's is printed.

The peer: where SANA-FE 2.2.9 is installed (``pip install sanafe==2.2.9``),
``scripts/sanafe_peer.py`` runs its Loihi model (detailed timing) on the same
random networks, inputs and placement, and every row's time per synaptic event
is divided by SANA-FE's simulation time per synaptic event, measured in the
same run (its chip construction, about 1 s, is left out of that figure, so
the ratio is the stricter one). Without it the ratios are skipped with a note.

Run: ``python scripts/bench.py`` (all) or ``--sizes 213-426-43 --modes async:analytic``;
``--versus REV`` runs them on git revision REV and on this tree, alternating (before/after a change).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = ["timestep:analytic", "layered:analytic", "async:analytic", "async:analytic:numpy", "async:routers"]
SIZES = ["213-426-43", "213-426-426-43", "100-200-10", "2312-64-10", "demo"]
PEER_SIZES = ("213-426-43", "213-426-426-43", "100-200-10")  # SANA-FE's Loihi has 1024 input units per core
MAPPING = {"2312-64-10": "spread:3"}  # 2312 inputs do not fit 2 Loihi cores of 1024 neurons
# SANA-FE keeps input neurons on cores (its Loihi has no I/O model), and so do the runs compared with it
AS_SANAFE = {"io.input_on_cores": True}
FUNCTIONAL = ["layered:functional", "async:functional"]  # async with F = 16, batch of 256 samples


def build(sizes: list[int], seed: int = 0, samples: int = 1, rate: float = 0.2, steps: int = 200,
          density: float = 1.0):
    """A seeded random feed-forward LIF network and its Bernoulli(``rate``) input; with ``density`` below 1
    each weight is kept with that probability (a sparse projection, ``Projection.kind``)."""
    import nir
    import numpy as np

    from emulator import network_from_nir

    rng = np.random.default_rng(seed)
    nodes, edges, prev = {"input": nir.Input(input_type=np.array([sizes[0]]))}, [], "input"
    for i in range(1, len(sizes)):
        w = rng.normal(0.0, 2.0 / np.sqrt(sizes[i - 1]), (sizes[i], sizes[i - 1]))
        if density < 1.0:  # drawn only here, so that the dense networks' weights stay what they were
            w *= rng.random(w.shape) < density
        tau = np.full(sizes[i], 2e-3)
        nodes[f"fc{i}"] = nir.Linear(weight=w)
        nodes[f"lif{i}"] = nir.LIF(tau=tau, r=tau / 1e-3, v_leak=np.zeros(sizes[i]), v_threshold=np.ones(sizes[i]))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([sizes[-1]]))
    edges.append((prev, "output"))
    net = network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}), "bench")
    frames = (rng.random((samples, steps, sizes[0])) < rate).astype(np.int32)
    return net, frames


def workload(name: str, samples: int = 1):
    """(network, frames) of a named workload (see the module's docstring)."""
    if name != "demo":
        return build([int(s) for s in name.split("-")], samples=samples)
    from emulator import DEMO_MODEL, load_nir
    from traces.datasets import load_events
    from traces.framing import frame_counts

    return load_nir(DEMO_MODEL), frame_counts(load_events("digits"), 1000)[:20]


def one(sizes: str, config: str, repeat: int) -> dict:
    mode, noc, *variant = config.split(":")
    if noc == "functional":
        return one_functional(sizes, mode, repeat)
    if variant == ["numpy"]:
        os.environ["SNNEMU_NO_NUMBA"] = "1"
    from emulator import RunConfig, run_network
    from hw_models.profile import load_profile

    net, frames = workload(sizes)
    cfg = RunConfig(model="bench", mode=mode, noc=noc, mapping=MAPPING.get(sizes, "spread:2"))
    if mode == "async":  # numba's import and first compile or cache load belong to a process, not to a run
        run_network(net, load_profile("loihi", AS_SANAFE), frames[:1, :1], None, cfg)
    walls = []
    for _ in range(repeat):  # the best of a few: this machine's timings are noisy
        t0 = time.perf_counter()
        res = run_network(net, load_profile("loihi", AS_SANAFE), frames, None, cfg)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    syn = float(res.counters.synaptic_events.sum())
    packets = float(res.counters.packets_out.sum())
    return {"network": sizes, "mode": mode, "noc": ":".join([noc, *variant]), "wall_s": wall,
            "synaptic_events": int(syn), "packets": int(packets), "ns_per_syn": wall / syn * 1e9,
            "us_per_packet": wall / packets * 1e6,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def peer(sizes: str, repeat: int) -> dict | None:
    """SANA-FE on workload ``sizes`` in a fresh process (its Loihi chip takes about 1.8 GB), or None."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "sanafe_peer.py"), "--sizes", sizes, "--repeat",
                          str(repeat)], capture_output=True, text=True)
    if out.returncode:
        print(f"SANA-FE on {sizes} failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def one_functional(sizes: str, mode: str, repeat: int, batch: int = 256) -> dict:
    """The functional reference on a batch of 256 samples of the same workload."""
    from emulator import RunConfig, simulate

    net, frames = workload(sizes, samples=batch)
    cfg = RunConfig(mode=mode, F=16 if mode == "async" else None)
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = simulate(net, frames, cfg)
        walls.append(time.perf_counter() - t0)
    wall, syn = min(walls), float(res.sops.sum())
    return {"network": sizes, "mode": mode, "noc": "functional", "wall_s": wall, "synaptic_events": int(syn),
            "packets": 0, "ns_per_syn": wall / syn * 1e9, "us_per_packet": float("nan"),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def dataset_eval(samples: int = 10_000, batch: int = 256) -> None:
    """The reference on a dataset-sized run: 2312-64-64-64-10, 10 timesteps, input p = 0.05."""
    import numpy as np

    from emulator import RunConfig, simulate

    net, _ = build([2312, 64, 64, 64, 10])
    for mode, F in (("layered", None), ("async", 16)):
        rng = np.random.default_rng(1)
        t0, sops = time.perf_counter(), 0.0
        for lo in range(0, samples, batch):
            frames = (rng.random((min(batch, samples - lo), 10, 2312)) < 0.05).astype(np.int32)
            sops += simulate(net, frames, RunConfig(mode=mode, F=F)).sops.sum()
        wall = time.perf_counter() - t0
        print(f"functional {mode}{' F=16' if F else ''}: {samples} samples of 2312-64-64-64-10 x 10 steps "
              f"in {wall:.1f} s ({wall / sops * 1e9:.1f} ns per synaptic event, input generation included)")


def data_eval(samples: int = 10_000, root: str = "bench_out/nmnist-files", batch: int = 256) -> None:
    """Loading and framing ``samples`` N-MNIST samples from files in N-MNIST's real format.

    The files are nmnist-digits samples (train and test, cycled to ``samples``
    files) written by ``traces.local.write_nmnist``, once. Timed: decoding all
    files with tonic into one EventSet (``--data nmnist:ROOT``), then framing
    every sample, in batches of ``batch`` samples, by 10 bins per sample and by
    1 ms windows (316 frames).
    """
    import numpy as np

    from traces.datasets import load_events
    from traces.events import make_events
    from traces.framing import frame_counts
    from traces.local import write_nmnist

    folder = Path(root)
    if not (folder / "NMNIST").is_dir():
        parts = [load_events(f"nmnist-digits:{split}") for split in ("train", "test")]
        t = np.concatenate([p.t for p in parts])
        x = np.concatenate([p.x for p in parts])
        y = np.concatenate([p.y for p in parts])
        pol = np.concatenate([p.p for p in parts])
        sample = np.concatenate([parts[0].sample, parts[1].sample + parts[0].n_samples])
        labels = np.concatenate([p.labels for p in parts])
        n = len(labels)
        order = np.argsort(sample, kind="stable")
        bounds = np.searchsorted(sample[order], np.arange(n + 1))
        pick = [np.arange(bounds[i % n], bounds[i % n + 1]) for i in range(samples)]
        idx = np.concatenate(pick)
        cyc = make_events(t=t[order][idx], x=x[order][idx], y=y[order][idx], p=pol[order][idx],
                          sample=np.repeat(np.arange(samples), [len(q) for q in pick]), sensor_size=(34, 34, 2),
                          labels=labels[np.arange(samples) % n])
        write_nmnist(folder, cyc)
        print(f"wrote {samples} N-MNIST files ({cyc.n_events} events) under {folder}")
    t0 = time.perf_counter()
    events = load_events(f"nmnist:{folder}")
    load_s = time.perf_counter() - t0
    print(f"load: {events.n_samples} samples, {events.n_events} events decoded by tonic in {load_s:.1f} s")
    for label, kwargs in (("10 bins per sample", {"bins": 10}), ("1 ms frames", {"dt_us": 1000, "n_frames": 316})):
        t0 = time.perf_counter()
        total = 0
        for lo in range(0, events.n_samples, batch):
            total += int(frame_counts(events, samples=slice(lo, lo + batch), **kwargs).sum())
        frame_s = time.perf_counter() - t0
        assert total == events.n_events
        print(f"framing, {label}: {frame_s:.1f} s; load + framing {load_s + frame_s:.1f} s")


def dvs_cnn(path: Path) -> None:
    """The DVS-Gesture-sized CNN of the paper's code base, seeded random weights: 2x32x32 input,
    Conv(2->12, k5) - LIF - SumPool(2) - Conv(12->32, k5) - LIF - SumPool(2) - Flatten - FC 800->11 - LIF."""
    import nir
    import numpy as np

    rng = np.random.default_rng(0)

    def lif(shape):
        tau = np.full(shape, 2e-3)
        return nir.LIF(tau=tau, r=tau / 1e-3, v_leak=np.zeros(shape), v_threshold=np.ones(shape))

    def pool():
        return nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))

    nodes = {"input": nir.Input(input_type=np.array([2, 32, 32])),
             "conv1": nir.Conv2d(input_shape=(32, 32), weight=rng.normal(0, 0.3, (12, 2, 5, 5)), stride=1, padding=0,
                                 dilation=1, groups=1, bias=np.zeros(12)),
             "lif1": lif((12, 28, 28)), "pool1": pool(),
             "conv2": nir.Conv2d(input_shape=(14, 14), weight=rng.normal(0, 0.1, (32, 12, 5, 5)), stride=1, padding=0,
                                 dilation=1, groups=1, bias=np.zeros(32)),
             "lif2": lif((32, 10, 10)), "pool2": pool(), "flat": nir.Flatten(input_type={"input": np.array([32, 5, 5])}, start_dim=0),
             "fc": nir.Affine(weight=rng.normal(0, 0.05, (11, 800)), bias=np.zeros(11)), "lif3": lif((11,)),
             "output": nir.Output(output_type=np.array([11]))}
    order = ["input", "conv1", "lif1", "pool1", "conv2", "lif2", "pool2", "flat", "fc", "lif3", "output"]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])), metadata={"dt": 1e-3}))


def import_eval(out: str = "bench_out/dvs_cnn.nir") -> None:
    """Time importing the DVS-Gesture-sized CNN (``load_nir``) in a fresh process, with its peak RSS."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    dvs_cnn(path)
    code = ("import resource, time, sys; sys.path.insert(0, %r); t = time.perf_counter(); "
            "from emulator.model import load_nir; net = load_nir(%r); w = time.perf_counter() - t; "
            "print(w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
            "sum(p.weights.nnz for p in net.projections), "
            "sum(p.size for p in net.populations[1:]))") % (str(ROOT), str(path))
    runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
            for _ in range(3)]
    wall, rss, syn, neurons = min(runs, key=lambda r: float(r[0]))
    print(f"import of the DVS-Gesture CNN (19,000 weights; {int(neurons):,} neurons, {int(syn):,} synapses): "
          f"{float(wall):.2f} s, peak RSS {float(rss):.0f} MiB (best of 3, fresh process, imports included)")


def report_eval(samples: int = 10_000, out: str = "bench_out/report-run") -> None:
    """``snnemu report`` and ``snnemu compare`` on a 10,000-sample traced run.

    The run: the demo model in async mode on loihi with ``--trace``, the digits
    test split repeated to ``samples`` samples, 2 workers. Its time is printed
    but is not the benchmark; the report's and comparison's wall times are,
    measured as the commands a user types (imports included), best of 3.
    """
    import numpy as np
    import pyarrow.parquet as pq

    from emulator import DEMO_MODEL, RunConfig, load_nir, run_network, write_records
    from hw_models.profile import load_profile
    from traces.datasets import load_events
    from traces.framing import frame_counts

    folder = Path(out)
    if not (folder / "events.parquet").is_file():
        events = load_events("digits")
        frames = frame_counts(events, 1000)
        idx = np.arange(samples) % len(frames)
        cfg = RunConfig(model=str(DEMO_MODEL), mode="async", trace=True, workers=2)
        t0 = time.perf_counter()
        res = run_network(load_nir(DEMO_MODEL), load_profile("loihi"), frames[idx], np.asarray(events.labels)[idx], cfg)
        write_records(res, folder)
        print(f"run: {samples} samples, async, traced, 2 workers: {time.perf_counter() - t0:.0f} s -> {folder}")
    rows = pq.read_metadata(folder / "events.parquet").num_rows
    for name, cmd in (("report", ["report", str(folder)]),
                      ("compare", ["compare", "--runs", str(folder), str(folder), "--out", str(folder.parent / "cmp")])):
        best = min(_timed([sys.executable, "-m", "emulator.cli", *cmd]) for _ in range(3))
        print(f"snnemu {name} on {samples} samples ({rows} trace rows): {best:.1f} s (best of 3)")


def _digits_file(samples: int, out: Path) -> Path:
    """The digits test split, its samples repeated up to ``samples``, as an events .npz."""
    import numpy as np

    from traces.datasets import load_events
    from traces.events import make_events, write_npz

    ev = load_events("digits")
    idx = np.arange(samples) % ev.n_samples
    parts = [(np.flatnonzero(ev.sample == i), k) for k, i in enumerate(idx)]
    take = np.concatenate([rows for rows, _ in parts])
    sample = np.concatenate([np.full(len(rows), k) for rows, k in parts])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(out, make_events(ev.t[take], ev.x[take], ev.p[take], sample, ev.sensor_size, y=ev.y[take],
                               labels=np.asarray(ev.labels)[idx], n_samples=samples, name=out.name))
    return out


SWEEP_EVAL = """data: {data}
options: {{dt_us: 1000, mapping: "spread:2"}}
axes:
  model: [demo, demo-unlayered]
  mode: [layered, async]
  core.queue_capacity: [2, 64]
"""


def sweep_eval(samples: int = int(os.environ.get("SNNEMU_BENCH_SAMPLES", 2000)), root: str = "bench_out/sweep") -> None:
    """Parallel efficiency of 1 against 2 workers, Dask's overhead per task, and a sweep resumed after kill -9."""
    import shutil
    import signal

    from emulator import DEMO_MODEL, RunConfig
    from emulator.parallel import DaskPool, LocalPool, execute
    from emulator.runner import load_inputs, prime, run_task, tasks_of

    root = ROOT / root
    data = _digits_file(samples, root / f"digits{samples}.npz")
    run_cmd = [sys.executable, "-m", "emulator.cli", "run", "--model", str(DEMO_MODEL), "--data", str(data),
               "--dt-us", "1000", "--mode", "async", "--mapping", "spread:2", "--out"]
    t = {}
    for workers in (1, 2):
        shutil.rmtree(root / f"run{workers}", ignore_errors=True)
        t[workers] = _timed([*run_cmd, str(root / f"run{workers}"), "--workers", str(workers)])
    print(f"async evaluation of the demo model, {samples} samples (snnemu run, whole command): "
          f"1 worker {t[1]:.1f} s, 2 workers {t[2]:.1f} s, parallel efficiency {t[1] / (2 * t[2]):.2f}", flush=True)

    cfg = RunConfig(model=str(DEMO_MODEL), data=str(data), dt_us=1000, mode="async", mapping="spread:2")
    prime(cfg, load_inputs(cfg))
    tasks = tasks_of(cfg, samples)
    walls = {}
    for label, make in (("local pool", lambda: LocalPool(2)), ("Dask LocalCluster", lambda: DaskPool(local_workers=2))):
        t0 = time.perf_counter()
        pool = make()
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
        execute(run_task, tasks, pool, lambda task, chunk: None)
        walls[label] = time.perf_counter() - t0
        print(f"{label}, 2 workers: {walls[label]:.2f} s for {len(tasks)} tasks (start-up {started:.1f} s)", flush=True)
    per_task = (walls["Dask LocalCluster"] - walls["local pool"]) / len(tasks)
    print(f"Dask's overhead against the local pool: {per_task * 1e3:.1f} ms per task", flush=True)

    sweep = root / "sweep.yaml"
    sweep.write_text(SWEEP_EVAL.format(data=data))
    cmd = [sys.executable, "-m", "emulator.cli", "sweep", str(sweep), "--workers", "2", "--out"]
    shutil.rmtree(root / "cold", ignore_errors=True)
    cold = _timed([*cmd, str(root / "cold")])
    n_chunks = len(list((root / "cold" / "chunks").glob("*/*.npz")))
    out = root / "killed"
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen([*cmd, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    while proc.poll() is None and len(list((out / "chunks").glob("*/*.npz"))) < n_chunks // 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((out / "chunks").glob("*/*.npz")))
    resumed = _timed([*cmd, str(out), "--resume"])
    print(f"sweep of 8 configurations x {samples} samples, 2 workers: cold {cold:.1f} s; killed (kill -9) with "
          f"{done} of {n_chunks} chunks done, resumed in {resumed:.1f} s ({resumed / cold:.2f} of the cold run)",
          flush=True)


def vs_sanafe() -> None:
    """snnemu's loihi against SANA-FE's Loihi model on the cross-check networks (``sanafe_peer.cross_check``)."""
    import tempfile

    sys.path.insert(0, str(ROOT / "scripts"))
    from sanafe_peer import CROSS_CHECK, available, cross_check

    if available():
        print(f"skipped: {available()}")
        return
    print(f"{'network':<18} {'sizes':<16} {'K':>2} {'spikes':>7} {'synaptic':>9} {'neuron+spike':>12} "
          f"{'w/o input':>9} {'noc':>7} {'dynamic':>8} {'w/o input':>9} {'time':>7}   "
          "(snnemu / SANA-FE - 1; time against `detailed`; w/o input: less the input spikes' spike_out)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in CROSS_CHECK:
            r = cross_check(name, Path(tmp))
            e = {c: a / b - 1 for c, (a, b) in r["energy_j"].items()}
            less = {c: (a - r["input_spike_out_j"]) / b - 1 for c, (a, b) in r["energy_j"].items()}
            spikes = "equal" if r["spikes"][0] == r["spikes"][1] else f"{r['spikes'][0]}/{r['spikes'][1]}"
            print(f"{name:<18} {r['sizes']:<16} {r['cores_per_layer']:>2} {spikes:>7} {e['synaptic']:>+9.2%} "
                  f"{e['neuron']:>+12.2%} {less['neuron']:>+9.2%} {e['noc']:>+7.2%} {e['dynamic']:>+8.2%} "
                  f"{less['dynamic']:>+9.2%} {r['time_s'][0] / r['time_s'][1] - 1:>+7.2%}", flush=True)


def mapping_eval(samples: int = 100) -> None:
    """Hops, NoC energy and latency per inference of layer-fill, spread:2 and traffic[:2], on the demo model and
    on a small convolutional model (the snnTorch fixture, 1x8x8 -> 2x6x6 -> 3), digits data, timestep on loihi.
    The traffic mapper runs twice: weighing packets by the reference run's spikes (what snnemu run does), and
    by the structure alone (its reference run switched off)."""
    import gzip
    import tempfile

    from emulator import DEMO_MODEL, RunConfig, run, runner, summarize

    measured = runner.reference_spikes
    with tempfile.TemporaryDirectory() as tmp:
        cnn = Path(tmp) / "snntorch_b_cnn.nir"
        cnn.write_bytes(gzip.decompress((ROOT / "tests/fixtures/frameworks/snntorch_b_cnn.nir.gz").read_bytes()))
        print(f"{'model':<14} {'mapping':<22} {'cores':>5} {'packets':>8} {'hops':>8} {'NoC nJ':>8} {'I/O nJ':>8} "
              f"{'latency us':>10}")
        for model in (DEMO_MODEL, cnn):
            for mapping, label in (("layer-fill", "layer-fill"), ("traffic", "traffic (structure)"),
                                   ("traffic", "traffic (spikes)"), ("spread:2", "spread:2"),
                                   ("traffic:2", "traffic:2 (structure)"), ("traffic:2", "traffic:2 (spikes)")):
                runner.reference_spikes = (lambda net, frames: None) if "structure" in label else measured
                res = run(RunConfig(model=str(model), mode="timestep", mapping=mapping, samples=samples),
                          warn=lambda message: None)
                s, n = summarize(res), len(res.per_sample)
                print(f"{Path(model).stem:<14} {label:<22} {len(res.mapping.used_cores):>5} {s['packets'] / n:>8.1f} "
                      f"{s['hops'] / n:>8.1f} {s['energy_j']['noc'] / n * 1e9:>8.2f} "
                      f"{s['energy_j']['io'] / n * 1e9:>8.2f} {s['latency_s']['mean'] * 1e6:>10.2f}", flush=True)
    runner.reference_spikes = measured


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


def train_eval(budget_s: float = 300.0, out: str = "bench_out/train") -> None:
    """``snnemu train`` on nmnist-digits (train split, 1437 samples), downsampled by 2 (2x17x17), 10 ms
    frames, MLP 578-128-10, batch 64: seconds per epoch, layered and unlayered (random, F = 16 and 4),
    then the test accuracy after ``budget_s`` of training, layered and unlayered at F = 16."""
    from emulator.train import TrainConfig, train

    def cfg(mode, F, **kw):
        return TrainConfig(arch="578-128-10", data="nmnist-digits", downsample=2, dt_us=10_000, mode=mode, F=F,
                           batch=64, out=f"{out}/{mode}-F{F}.nir", **kw)

    per_epoch = {}
    for mode, F in (("layered", 16), ("async", 16), ("async", 4)):
        per_epoch[mode, F] = train(cfg(mode, F, epochs=1)).log[-1]["seconds"]
        print(f"{mode}{f' F={F}' if mode == 'async' else ''}: {per_epoch[mode, F]:.2f} s per epoch", flush=True)
    for F in (16, 4):
        print(f"unlayered F={F} / layered: {per_epoch['async', F] / per_epoch['layered', 16]:.1f}x")
    for mode in ("layered", "async"):
        log = train(cfg(mode, 16, epochs=100_000, max_seconds=budget_s)).log
        best = max(r["test_accuracy"] for r in log)
        print(f"{mode} after {budget_s:.0f} s ({len(log)} epochs): test accuracy {100 * log[-1]['test_accuracy']:.1f}% "
              f"(best epoch {100 * best:.1f}%), {log[-1]['spikes_per_sample']:.1f} spikes/sample, "
              f"{log[-1]['forward_steps']:.1f} forward steps/sample", flush=True)


def versus(rev: str, sizes_list: list[str], configs: list[str], repeat: int, rounds: int = 3) -> None:
    """The same workloads on the code at git revision ``rev`` and on this tree, back to back.

    ``rev`` is checked out into a temporary git worktree and runs its own
    ``scripts/bench.py --one``; the two trees alternate, ``rounds`` times, and
    the best time of each counts, so that the machine's noise hits both alike.
    """
    import shutil
    import tempfile

    old = Path(tempfile.mkdtemp(prefix="snnemu-bench-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), rev], check=True,
                   capture_output=True)
    try:
        print(f"{'network':<15} {'mode':<9} {'noc':<15} {rev + ' ns/syn':>16} {'this tree ns/syn':>17} {'ratio':>6}")
        for sizes in sizes_list:
            for config in configs:
                best = {}
                for _ in range(rounds):
                    for tree in (old, ROOT):
                        out = subprocess.run([sys.executable, str(tree / "scripts" / "bench.py"), "--one", sizes,
                                              config, "--repeat", str(repeat)], check=True, capture_output=True,
                                             text=True, cwd=tree).stdout
                        r = json.loads(out.strip().splitlines()[-1])
                        best[tree] = min(best.get(tree, r["ns_per_syn"]), r["ns_per_syn"])
                mode, noc = config.split(":", 1)
                print(f"{sizes:<15} {mode:<9} {noc:<15} {best[old]:>16.1f} {best[ROOT]:>17.1f} "
                      f"{best[ROOT] / best[old]:>6.2f}", flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
        shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=SIZES, help="workloads: sizes of a random network, or demo")
    ap.add_argument("--modes", nargs="+", default=CONFIGS + FUNCTIONAL,
                    help="mode:noc pairs; mode:functional for the NumPy reference")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest counts")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each network's rows (SANA-FE's too) this many times in turn; each row's best counts, "
                         "so that a slow spell of the machine hits all rows alike")
    ap.add_argument("--one", nargs=2, metavar=("SIZES", "MODE:NOC"), help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--no-peer", action="store_true", help="skip SANA-FE even where it is installed")
    evals = {"dataset_eval": (dataset_eval, "only time the reference on 10,000 samples of a 2312-64-64-64-10 network"),
             "data_eval": (data_eval, "only time loading and framing 10,000 N-MNIST samples from files in the real format"),
             "import_eval": (import_eval, "only time importing the DVS-Gesture-sized CNN (2x32x32, two convolutions)"),
             "report_eval": (report_eval, "only time snnemu report and compare on a 10,000-sample traced run"),
             "train_eval": (train_eval, "only time snnemu train on nmnist-digits, and its accuracy after 5 minutes"),
             "mapping_eval": (mapping_eval, "only compare layer-fill, spread:2 and traffic on the demo and a conv model"),
             "vs_sanafe": (vs_sanafe, "only compare loihi with SANA-FE's Loihi model (energy by category, time)"),
             "sweep_eval": (sweep_eval, "only time 1 against 2 workers, Dask against the local pool, and a sweep "
                                        "resumed after kill -9")}
    for name, (_, help_text) in evals.items():
        ap.add_argument("--" + name.replace("_", "-"), action="store_true", help=help_text)
    ap.add_argument("--versus", metavar="REV",
                    help="run the chosen sizes and modes on git revision REV and on this tree, alternating")
    args = ap.parse_args()
    chosen = [run for name, (run, _) in evals.items() if getattr(args, name)]
    if chosen:
        chosen[0]()
        return
    if args.versus:
        versus(args.versus, args.sizes, args.modes, args.repeat)
        return
    if args.one:
        print(json.dumps(one(*args.one, args.repeat)))
        return
    rows, peers = [], {}
    missing = None if args.no_peer else _peer_missing()
    if missing:
        print(f"note: no SANA-FE ratios ({missing})", flush=True)
    print(f"{'network':<15} {'mode':<9} {'noc':<15} {'syn. events':>11} {'packets':>8} "
          f"{'ns/syn':>8} {'us/packet':>9} {'peak MiB':>8} {'/SANA-FE':>8}")
    for sizes in args.sizes:
        best: dict = {}
        for k in range(args.rounds):
            if args.rounds > 1:
                print(f"bench: {sizes}, round {k + 1} of {args.rounds}", file=sys.stderr, flush=True)
            if not args.no_peer and not missing and sizes in PEER_SIZES:
                q = peer(sizes, args.repeat)
                if q and ("peer" not in best or q["sim_ns_per_syn"] < best["peer"]["sim_ns_per_syn"]):
                    best["peer"] = q
            for config in args.modes:
                out = subprocess.run([sys.executable, __file__, "--one", sizes, config, "--repeat", str(args.repeat)],
                                     check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                if config not in best or r["ns_per_syn"] < best[config]["ns_per_syn"]:
                    best[config] = r
        q = peers[sizes] = best.get("peer")
        if q:
            print(f"{sizes:<15} {'SANA-FE':<9} {'detailed':<15} {q['synaptic_events']:>11} {q['packets']:>8} "
                  f"{q['sim_ns_per_syn']:>8.1f} {'':>9} {'':>8} {1.0:>8.2f}   (simulation only; with its chip "
                  f"construction {q['ns_per_syn']:.1f} ns/syn)", flush=True)
        for config in args.modes:
            r = best[config]
            r["vs_sanafe"] = r["ns_per_syn"] / q["sim_ns_per_syn"] if q else None
            rows.append(r)
            ratio = f"{r['vs_sanafe']:>8.2f}" if q else f"{'':>8}"
            print(f"{r['network']:<15} {r['mode']:<9} {r['noc']:<15} {r['synaptic_events']:>11} {r['packets']:>8} "
                  f"{r['ns_per_syn']:>8.1f} {r['us_per_packet']:>9.2f} {r['peak_rss_mib']:>8.0f} {ratio}", flush=True)
    for sizes in args.sizes:  # the chip against the reference on the same work
        by = {(r["mode"], r["noc"]): r["ns_per_syn"] for r in rows if r["network"] == sizes}
        for mode in ("layered", "async"):
            if (mode, "analytic") in by and (mode, "functional") in by:
                print(f"{sizes}: chip {mode} / functional {mode}"
                      f"{' (F=16)' if mode == 'async' else ''}: {by[mode, 'analytic'] / by[mode, 'functional']:.0f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "sanafe": peers}, indent=2))


def _peer_missing() -> str | None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from sanafe_peer import available

    return available()


if __name__ == "__main__":
    main()
