"""Benchmark: host time per synaptic event and per packet, and peak memory.

Workload (fixed, seeded): random dense feed-forward LIF networks of
100-200-10 and 213-426-43 neurons (weights N(0, (2/sqrt(fan_in))^2), theta 1,
beta 0.5, zero reset), input spike probability 0.2 per input per step, 200
steps, one sample, ``spread:2`` mapping on the ``loihi`` profile. Each mode runs
in its own fresh process, so its peak RSS is its own; the time covers
``run_network`` (mapping, chip construction and the simulation), not imports
or file I/O, and is the fastest of ``--repeat`` runs (default 3).

Run: ``python scripts/bench.py`` (all) or ``--sizes 213-426-43 --modes async:analytic``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = ["timestep:analytic", "layered:analytic", "async:analytic", "async:routers"]


def build(sizes: list[int], seed: int = 0):
    import nir
    import numpy as np

    from emulator.nir_io import network_from_nir

    rng = np.random.default_rng(seed)
    nodes, edges, prev = {"input": nir.Input(input_type=np.array([sizes[0]]))}, [], "input"
    for i in range(1, len(sizes)):
        w = rng.normal(0.0, 2.0 / np.sqrt(sizes[i - 1]), (sizes[i], sizes[i - 1]))
        tau = np.full(sizes[i], 2e-3)
        nodes[f"fc{i}"] = nir.Linear(weight=w)
        nodes[f"lif{i}"] = nir.LIF(tau=tau, r=tau / 1e-3, v_leak=np.zeros(sizes[i]), v_threshold=np.ones(sizes[i]))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([sizes[-1]]))
    edges.append((prev, "output"))
    net = network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}), "bench")
    frames = (rng.random((1, 200, sizes[0])) < 0.2).astype(np.int32)
    return net, frames


def one(sizes: str, config: str, repeat: int) -> dict:
    from emulator.chip import COUNTERS
    from emulator.run import RunConfig, run_network
    from hw_models.profile import load_profile

    net, frames = build([int(s) for s in sizes.split("-")])
    mode, noc = config.split(":")
    cfg = RunConfig(model="bench", mode=mode, noc=noc, mapping="spread:2")
    walls = []
    for _ in range(repeat):  # the best of a few: this machine's timings are noisy
        t0 = time.perf_counter()
        res = run_network(net, load_profile("loihi"), frames, None, cfg)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    syn = float(res.per_core_counts[:, COUNTERS.index("syn")].sum())
    packets = float(res.per_core_counts[:, COUNTERS.index("msg_out")].sum())
    return {"network": sizes, "mode": mode, "noc": noc, "wall_s": wall, "synaptic_events": int(syn),
            "packets": int(packets), "ns_per_syn": wall / syn * 1e9, "us_per_packet": wall / packets * 1e6,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["100-200-10", "213-426-43"])
    ap.add_argument("--modes", nargs="+", default=CONFIGS, help="mode:noc pairs")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest counts")
    ap.add_argument("--one", nargs=2, metavar=("SIZES", "MODE:NOC"), help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.repeat)))
        return
    rows = []
    print(f"{'network':<12} {'mode':<9} {'noc':<9} {'syn. events':>11} {'packets':>8} "
          f"{'ns/syn':>8} {'us/packet':>9} {'peak MiB':>8}")
    for sizes in args.sizes:
        for config in args.modes:
            out = subprocess.run([sys.executable, __file__, "--one", sizes, config, "--repeat", str(args.repeat)],
                                 check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append(r)
            print(f"{r['network']:<12} {r['mode']:<9} {r['noc']:<9} {r['synaptic_events']:>11} {r['packets']:>8} "
                  f"{r['ns_per_syn']:>8.1f} {r['us_per_packet']:>9.2f} {r['peak_rss_mib']:>8.0f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
