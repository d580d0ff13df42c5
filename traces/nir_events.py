"""Event files as NIR data (``nir.EventData`` in a ``nir.NIRGraphData`` HDF5 file).

For users who compare inputs and traces across simulators. The file holds one
node, ``input``, with one observable, ``spikes``: an ``EventData`` whose
``idx`` is the input neuron of each event, ``(p*H + y)*W + x`` (the order of
the emulator's input population), ``time`` in seconds, padded with ``-1`` and
``inf`` to the longest sample, ``n_neurons`` the sensor's size and ``t_max``
the end of the longest sample. NIR data has no labels and no sensor shape:
reading gives a 1-D sensor of ``n_neurons`` channels, whose input neurons are
the same as the original's, so a run sees the same frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.errors import InputError

from .events import EventSet, input_shape, make_events

__all__ = ["read_nir_events", "write_nir_events", "NIR_SUFFIXES"]

NIR_SUFFIXES = (".nir", ".h5", ".hdf5")


def write_nir_events(path: str | Path, events: EventSet) -> None:
    import nir

    c, h, w = input_shape(events.sensor_size)
    y = 0 if events.y is None else events.y
    neuron = (events.p * h + y) * w + events.x
    counts = np.bincount(events.sample, minlength=events.n_samples)
    width = max(int(counts.max(initial=0)), 1)
    idx = np.full((events.n_samples, width), -1, np.int64)
    time = np.full((events.n_samples, width), np.inf)
    col = np.arange(events.n_events) - np.repeat(np.cumsum(counts) - counts, counts)
    idx[events.sample, col] = neuron
    time[events.sample, col] = events.t * 1e-6
    t_max = float(events.t.max()) * 1e-6 if events.n_events else 0.0
    data = nir.EventData(idx=idx, time=time, n_neurons=c * h * w, t_max=t_max)
    nir.write_data(str(path), nir.NIRGraphData(nodes={"input": nir.NIRNodeData(observables={"spikes": data})}))


def read_nir_events(path: str | Path) -> EventSet:
    import nir

    name = str(path)
    if not Path(path).is_file():
        raise InputError(name, "file", "no such file")
    try:
        graph = nir.read_data(name)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(name, "file", f"not NIR data (NIRGraphData with EventData) ({exc})") from None
    found = [(node, obs, data) for node, nd in graph.nodes.items() if isinstance(nd, nir.NIRNodeData)
             for obs, data in nd.observables.items() if isinstance(data, nir.EventData)]
    if not found:
        raise InputError(name, "observables", "no EventData observable in the file")
    node, obs, data = next((f for f in found if f[0] == "input"), found[0])
    idx, time = np.asarray(data.idx), np.asarray(data.time, float)
    valid = idx >= 0
    if (time[valid] < 0).any():
        raise InputError(name, f"{node}.{obs}.time", "negative event times")
    sample, _ = np.nonzero(valid)
    return make_events(t=np.round(time[valid] * 1e6).astype(np.int64), x=idx[valid], p=np.zeros(int(valid.sum()), int),
                       sample=sample, sensor_size=(int(data.n_neurons), 1, 1), n_samples=idx.shape[0], name=name)
