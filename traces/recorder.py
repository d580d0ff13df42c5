"""The trace recorder: one row per spike and per packet, written to Parquet.

Rows are kept in columnar Python lists (appended in bulk where the chip has
arrays) and written once with pyarrow. Tracing is off by default; with it on,
``events.parquet`` has the columns of DESIGN.md plus ``step``:

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


class _Leaving:
    """The fields of a packet that the trace needs."""

    def __init__(self, src, src_core, dst, t_created, route):
        self.src, self.src_core, self.dst, self.t_created, self.route = src, src_core, dst, t_created, route


class Tracer:
    def __init__(self, layer_names: list[str], offsets: np.ndarray):
        self.names = layer_names
        self.offsets = offsets
        self.cols: dict[str, list] = {c: [] for c in COLUMNS}

    def _layer_neuron(self, g: np.ndarray):
        layer = np.searchsorted(self.offsets, g, side="right") - 1
        return layer, g - self.offsets[layer]

    def spikes(self, chip, neurons: np.ndarray, t: float) -> None:
        n = len(neurons)
        if not n:
            return
        neurons = np.asarray(neurons, np.int64)
        layer, local = self._layer_neuron(neurons)
        c = self.cols
        c["t_s"] += [t] * n
        c["sample"] += [chip.sample] * n
        c["kind"] += ["spike"] * n
        c["layer"] += [self.names[i] for i in layer]
        c["neuron"] += local.tolist()
        c["core"] += chip.core_of[neurons].tolist()
        c["dst_core"] += [-1] * n
        c["hops"] += [0] * n
        c["queue_wait_s"] += [np.nan] * n
        c["step"] += [chip.step] * n

    def packet(self, chip, pkt) -> int:
        """Record a packet as it leaves; returns its row for :meth:`served`."""
        c = self.cols
        if pkt.src >= 0:
            layer, local = self._layer_neuron(np.array([pkt.src]))
            layer_name, neuron = self.names[int(layer[0])], int(local[0])
        else:
            layer_name, neuron = self.names[0], -1
        row = len(c["t_s"])
        for key, val in (("t_s", pkt.t_created), ("sample", chip.sample), ("kind", "packet"),
                         ("layer", layer_name), ("neuron", neuron), ("core", pkt.src_core),
                         ("dst_core", pkt.dst), ("hops", pkt.route.hops), ("queue_wait_s", np.nan),
                         ("step", chip.step)):
            c[key].append(val)
        return row

    def packets_bulk(self, chip, srcs: np.ndarray, src_core: int, t: float, dst_cores) -> None:
        """Rows for the packets of spikes ``srcs`` leaving ``src_core`` at ``t`` (tick modes)."""
        for s in srcs.tolist():
            for d in dst_cores[s]:
                self.packet(chip, _Leaving(s, src_core, d, t, chip.topo.route(src_core, d)))

    def served(self, pkt) -> None:
        self.cols["queue_wait_s"][pkt.row] = pkt.t_served - pkt.t_arrival

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
