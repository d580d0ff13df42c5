"""The chip's records: per_sample.csv, per_core.csv, per_link.csv, and with a trace
events.parquet and output_spikes.nir (see docs/design.md, "Records")."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hw_models.cost import CATEGORIES

from .folder import write_folder, write_json
from .summary import chip_summary

__all__ = ["PER_SAMPLE_COLUMNS", "per_core_table", "per_link_table", "per_sample_table", "write_chip_records"]

PER_SAMPLE_COLUMNS = ["sample", "label", "prediction", "correct", "spikes", "synaptic_events", "packets", "hops",
                      "latency_s", "first_output_s", "first_correct_s", "energy_j", "decision_s",
                      "decision_energy_j", "stopped"]


def per_sample_table(res) -> pd.DataFrame:
    df = pd.DataFrame(res.per_sample, columns=PER_SAMPLE_COLUMNS)
    for c in ("label", "correct"):
        df[c] = df[c].astype("Int64")
    return df


def per_core_table(res) -> pd.DataFrame:
    """A row per core, then one per I/O port that input enters through (``unit`` io, ids after the cores)."""
    names = [p.name for p in res.network.populations]
    layer_of = res.network.layer_of()
    core_of = res.mapping.core_of
    counts = res.counters
    n_cores = len(counts.synaptic_events)
    layers = [""] * n_cores
    for c in np.unique(core_of):
        layers[c] = "+".join(names[i] for i in np.unique(layer_of[core_of == c]))
    tiles = np.array([res.topology.tile_xy(c) for c in range(n_cores)]).reshape(-1, 2)
    busy = counts.busy_s
    elapsed = res.elapsed_s
    return pd.DataFrame({
        "core": np.arange(n_cores),
        "unit": np.where(np.arange(n_cores) < res.mapping.n_cores, "core", "io"),
        "tile_x": tiles[:, 0],
        "tile_y": tiles[:, 1],
        "layer": layers,
        "neurons": np.bincount(core_of, minlength=n_cores),
        "synapses": res.synapses_per_core,
        "packets_in": counts.packets_received.astype(np.int64),
        "packets_out": (counts.packets_out + counts.io_packets).astype(np.int64),  # a port's: through it
        "synaptic_events": counts.synaptic_events.astype(np.int64),
        "busy_s": busy,
        "utilization": busy / elapsed if elapsed > 0 else np.zeros(n_cores),
        "energy_j": res.per_core_energy.sum(axis=1),
        **{f"energy_{k}_j": res.per_core_energy[:, j] for j, k in enumerate(CATEGORIES)},
    })


def per_link_table(res) -> pd.DataFrame:
    """Packets over each directed NoC link (and each tile's local port), summed over samples.

    Only links inside the mesh are listed (a border tile has no link outwards). The link ids
    and their ends are the run's NoC topology's (``res.topology``)."""
    topo = res.topology
    df = pd.DataFrame([topo.link_ends(link) for link in range(topo.n_links)],
                      columns=["tile_x", "tile_y", "direction", "to_x", "to_y"])
    df.insert(0, "link", np.arange(topo.n_links))
    df["packets"] = res.per_link_packets.astype(np.int64)
    inside = df.to_x.between(0, topo.width - 1) & df.to_y.between(0, topo.height - 1)
    return df[inside].reset_index(drop=True)


def write_chip_records(res, out: str | os.PathLike) -> Path:
    """Write a chip run's folder atomically; returns its path."""
    writers = {
        "summary.json": lambda p: write_json(p, chip_summary(res)),
        "per_sample.csv": lambda p: per_sample_table(res).to_csv(p, index=False),
        "per_core.csv": lambda p: per_core_table(res).to_csv(p, index=False),
        "per_link.csv": lambda p: per_link_table(res).to_csv(p, index=False),
    }
    if res.tracer is not None:
        writers["events.parquet"] = res.tracer.write
        writers["output_spikes.nir"] = lambda p: _write_output_spikes(res, p)
    return write_folder(out, writers)


def _write_output_spikes(res, path: Path) -> None:
    """The output layer's spikes as NIR ``EventData`` (times in seconds from each sample's start),
    for comparing traces across simulators."""
    from traces.nir_events import event_data, write_event_data

    out = res.network.output
    df = res.tracer.table().select(["kind", "layer", "sample", "neuron", "t_s"]).to_pandas()
    df = df[(df.kind == "spike") & (df.layer == out.name)]
    data = event_data(df["sample"].to_numpy(), df.neuron.to_numpy(), df.t_s.to_numpy(), len(res.per_sample), out.size)
    write_event_data(path, out.name, data)
