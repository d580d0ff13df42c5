"""``snnemu run --engine functional``: the NumPy reference over a dataset, and its records.

Samples run in batches (one vectorized simulation per batch). The records
are those of the chip (DESIGN.md) with the hardware fields null (no latency
in seconds, no energy, no packets or hops) and no ``per_core.csv``, since
nothing is mapped on cores. ``summary.json`` and ``per_sample.csv`` add
``forward_steps`` and ``latency_forward_steps`` (network spikes processed
before the first output spike; ``..._correct``: before the first spike of
the correct class); the first-spike readout and the spikes per layer of
every sample are there too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .functional import FunctionalConfig, FunctionalResult, simulate
from .records import SCHEMA, stats, write_folder, write_json

__all__ = ["BATCH", "FunctionalRun", "run_functional", "write_functional_records"]

BATCH = 256  # samples per vectorized batch


@dataclass
class FunctionalRun:
    config: object
    network: object
    result: FunctionalResult
    labels: np.ndarray | None
    wall_s: float


def run_functional(net, frames: np.ndarray, labels, cfg) -> FunctionalRun:
    """Run the reference on ``frames`` in batches; ``cfg`` is a RunConfig."""
    t0 = time.perf_counter()
    fcfg = FunctionalConfig(mode=cfg.mode, queue=cfg.queue, F=cfg.F, prioritize_input=cfg.prioritize_input,
                            refractory=cfg.mode == "async" if cfg.refractory is None else cfg.refractory,
                            refrac_dropout=cfg.refrac_dropout, stop_on_output=cfg.stop_on_output,
                            max_steps=cfg.max_steps, input_dropout=cfg.input_dropout,
                            spike_dropout=cfg.spike_dropout, momentum_noise=cfg.momentum_noise,
                            seed=cfg.seed, record=cfg.trace)
    parts = []
    for lo in range(0, len(frames), BATCH):  # draws are keyed by sample index: batching changes nothing
        lab = None if labels is None else labels[lo:lo + BATCH]
        res = simulate(net, frames[lo:lo + BATCH], fcfg, lab, first_sample=lo)
        res.events["sample"] = res.events["sample"] + lo
        parts.append(res)
    merged = FunctionalResult(*(
        {k: np.concatenate([p.events[k] for p in parts]) for k in parts[0].events} if name == "events"
        else np.concatenate([getattr(p, name) for p in parts])
        for name in FunctionalResult.__dataclass_fields__))
    return FunctionalRun(cfg, net, merged, labels, time.perf_counter() - t0)


def per_sample_table(run: FunctionalRun) -> pd.DataFrame:
    r, n = run.result, len(run.result.sops)
    labels = run.labels
    none = [None] * n
    return pd.DataFrame({
        "sample": np.arange(n),
        "label": pd.array(none if labels is None else labels, dtype="Int64"),
        "prediction": r.pred_rate,
        "correct": pd.array(none if labels is None else (r.pred_rate == labels).astype(int), dtype="Int64"),
        "spikes": r.spikes[:, 1:].sum(axis=1),
        "synaptic_events": r.sops.astype(np.int64),
        "packets": none, "hops": none, "latency_s": none, "first_output_s": none, "energy_j": none,
        "forward_steps": r.forward_steps,
        "latency_forward_steps": r.latency_steps,
        "latency_forward_steps_correct": r.latency_steps_correct,
        "prediction_first_spike": r.pred_first,
        **{f"spikes_{p.name}": r.spikes[:, j] for j, p in enumerate(run.network.populations)},
    })


def summarize(run: FunctionalRun) -> dict:
    cfg, r, net = run.config, run.result, run.network
    labels = run.labels
    nulls = {"mean": None, "p50": None, "p95": None, "max": None}
    pops = [p.name for p in net.populations]
    return {
        "schema": SCHEMA, "engine": "functional", "model": net.name, "hw": None, "mode": cfg.mode,
        "queue": cfg.queue if cfg.mode == "async" else None,
        "F": cfg.F if cfg.mode == "async" else None,
        "prioritize_input": cfg.prioritize_input if cfg.mode == "async" else None,
        "refractory": (cfg.mode == "async") if cfg.refractory is None else cfg.refractory,
        "refrac_dropout": cfg.refrac_dropout, "stop_on_output": cfg.stop_on_output, "max_steps": cfg.max_steps,
        "input_dropout": cfg.input_dropout, "spike_dropout": cfg.spike_dropout,
        "momentum_noise": cfg.momentum_noise,
        "dt_s": net.dt_s, "dt_source": net.dt_source, "seed": cfg.seed, "samples": len(r.sops),
        "accuracy": None if labels is None else float((r.pred_rate == labels).mean()),
        "accuracy_first_spike": None if labels is None else float((r.pred_first == labels).mean()),
        "layer_sizes": {p.name: p.size for p in net.populations},
        "readout": net.readout,
        "spikes": {"total": int(r.spikes[:, 1:].sum()),
                   "per_layer": {name: int(r.spikes[:, j].sum()) for j, name in enumerate(pops) if j},
                   "input": int(r.spikes[:, 0].sum())},
        "synaptic_events": int(r.sops.sum()),
        "neuron_updates": None, "packets": None, "hops": None,
        "latency_s": nulls, "first_output_s": nulls,
        "energy_j": {k: None for k in ("total", "synaptic", "neuron", "spike_out", "noc", "barrier", "static")},
        "energy_per_inference_j": None, "edp_js": None,
        "forward_steps": stats(r.forward_steps.astype(float)),
        "latency_forward_steps": stats(r.latency_steps),
        "wall_s": run.wall_s,
    }


def events_table(run: FunctionalRun) -> pa.Table:
    """The spikes in the chip's trace columns (hardware columns empty)."""
    net, ev = run.network, run.result.events
    layer = np.searchsorted(net.offsets, ev["neuron"], side="right") - 1
    names = np.array([p.name for p in net.populations], dtype=object)
    n = len(layer)
    order = np.lexsort((ev["neuron"], ev["step"], ev["sample"]))
    return pa.table({
        "t_s": pa.array(np.full(n, np.nan)), "sample": pa.array(ev["sample"][order], pa.int64()),
        "kind": pa.array(["spike"] * n, pa.string()), "layer": pa.array(names[layer[order]].tolist(), pa.string()),
        "neuron": pa.array((ev["neuron"] - net.offsets[layer])[order], pa.int64()),
        "core": pa.array(np.full(n, -1), pa.int64()), "dst_core": pa.array(np.full(n, -1), pa.int64()),
        "hops": pa.array(np.zeros(n, np.int64)), "queue_wait_s": pa.array(np.full(n, np.nan)),
        "step": pa.array(ev["step"][order], pa.int64()),
    })


def write_functional_records(run: FunctionalRun, out):
    writers = {
        "summary.json": lambda p: write_json(p, summarize(run)),
        "per_sample.csv": lambda p: per_sample_table(run).to_csv(p, index=False),
    }
    if run.config.trace:
        writers["events.parquet"] = lambda p: pq.write_table(events_table(run), str(p))
    return write_folder(out, writers)
