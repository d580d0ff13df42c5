"""The functional reference's records: those of the chip with the hardware fields null.

No latency in seconds, no energy, no packets or hops, and no ``per_core.csv``,
since nothing is mapped on cores. ``summary.json`` and ``per_sample.csv`` add
``forward_steps`` and ``latency_forward_steps`` (network spikes processed
before the first output spike; ``..._correct``: before the first spike of
the correct class); the first-spike readout and the spikes per layer of
every sample are there too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .folder import write_folder, write_json
from .summary import functional_summary

__all__ = ["events_table", "per_sample_table", "write_functional_records"]


def per_sample_table(run) -> pd.DataFrame:
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
        "packets": none, "hops": none, "latency_s": none, "first_output_s": none, "first_correct_s": none,
        "energy_j": none, "decision_s": none, "decision_energy_j": none, "stopped": none,
        "forward_steps": r.forward_steps,
        "latency_forward_steps": r.latency_steps,
        "latency_forward_steps_correct": r.latency_steps_correct,
        "prediction_first_spike": r.pred_first,
        **{f"spikes_{p.name}": r.spikes[:, j] for j, p in enumerate(run.network.populations)},
    })


def events_table(run) -> pa.Table:
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


def write_functional_records(run, out: str | os.PathLike) -> Path:
    """Write a functional-reference run's folder atomically; returns its path."""
    writers = {
        "summary.json": lambda p: write_json(p, functional_summary(run)),
        "per_sample.csv": lambda p: per_sample_table(run).to_csv(p, index=False),
    }
    if run.config.trace:
        writers["events.parquet"] = lambda p: pq.write_table(events_table(run), str(p))
    return write_folder(out, writers)
