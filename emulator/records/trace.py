"""The trace writer: one row per spike and per packet, written to Parquet.

Rows are kept in columnar Python lists (appended in bulk where the chip has
arrays) and written once with pyarrow. Tracing is off by default; with it on,
``events.parquet`` has the columns of the records contract (docs/design.md,
"Records") plus ``step``:

``t_s, sample, kind, layer, neuron, core, dst_core, hops, queue_wait_s, step``

``kind`` is ``spike`` (t_s = when the spike left its core; dst_core -1) or
``packet`` (t_s = when it left its core; neuron -1 for an input batch packet;
queue_wait_s = time from arrival to the start of its service in async mode,
NaN in the tick modes, where packets are integrated at the next phase).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Tracer", "COLUMNS"]

COLUMNS = ("t_s", "sample", "kind", "layer", "neuron", "core", "dst_core", "hops", "queue_wait_s", "step")


class Tracer:
    """Trace rows of one run, built from plain values: global neuron ids, cores, times."""

    def __init__(self, layer_names: list[str], offsets: np.ndarray, core_of: np.ndarray):
        self.names = layer_names
        self.offsets = offsets
        self.core_of = core_of
        self.cols: dict[str, list] = {c: [] for c in COLUMNS}

    def _layer_neuron(self, g: np.ndarray):
        layer = np.searchsorted(self.offsets, g, side="right") - 1
        return layer, g - self.offsets[layer]

    def spikes(self, neurons: np.ndarray, t: float, sample: int, step: int) -> None:
        """Rows for spikes of the global ``neurons`` leaving their cores at ``t``."""
        n = len(neurons)
        if not n:
            return
        neurons = np.asarray(neurons, np.int64)
        layer, local = self._layer_neuron(neurons)
        c = self.cols
        c["t_s"] += [t] * n
        c["sample"] += [sample] * n
        c["kind"] += ["spike"] * n
        c["layer"] += [self.names[i] for i in layer]
        c["neuron"] += local.tolist()
        c["core"] += self.core_of[neurons].tolist()
        c["dst_core"] += [-1] * n
        c["hops"] += [0] * n
        c["queue_wait_s"] += [np.nan] * n
        c["step"] += [step] * n

    def packet(self, src: int, src_core: int, dst: int, t: float, hops: int, sample: int, step: int) -> int:
        """A row for a packet of global neuron ``src`` (-1: a frame's input batch) leaving
        ``src_core`` for ``dst`` at ``t``; returns the row, for :meth:`served`."""
        c = self.cols
        if src >= 0:
            layer, local = self._layer_neuron(np.array([src]))
            layer_name, neuron = self.names[int(layer[0])], int(local[0])
        else:
            layer_name, neuron = self.names[0], -1
        row = len(c["t_s"])
        for key, val in (("t_s", t), ("sample", sample), ("kind", "packet"), ("layer", layer_name),
                         ("neuron", neuron), ("core", src_core), ("dst_core", dst), ("hops", hops),
                         ("queue_wait_s", np.nan), ("step", step)):
            c[key].append(val)
        return row

    def served(self, row: int, queue_wait_s: float) -> None:
        """The packet of ``row`` started its service ``queue_wait_s`` after it arrived."""
        self.cols["queue_wait_s"][row] = queue_wait_s

    def extend(self, cols: dict[str, list]) -> None:
        """Append the rows of another tracer (a worker's chunk of samples)."""
        for key, values in cols.items():
            self.cols[key] += values

    def table(self) -> pa.Table:
        c = self.cols
        return pa.table({
            "t_s": pa.array(c["t_s"], pa.float64()),
            "sample": pa.array(c["sample"], pa.int64()),
            "kind": pa.array(c["kind"], pa.string()),
            "layer": pa.array(c["layer"], pa.string()),
            "neuron": pa.array(c["neuron"], pa.int64()),
            "core": pa.array(c["core"], pa.int64()),
            "dst_core": pa.array(c["dst_core"], pa.int64()),
            "hops": pa.array(c["hops"], pa.int64()),
            "queue_wait_s": pa.array(c["queue_wait_s"], pa.float64()),
            "step": pa.array(c["step"], pa.int64()),
        })

    def write(self, path) -> None:
        pq.write_table(self.table(), str(path))
