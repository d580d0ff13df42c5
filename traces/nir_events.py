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

from emulator.errors import InputError, read_deadline
from emulator.scratch import atomic_path

from .events import EventSet, input_shape, make_events

__all__ = ["event_data", "read_nir_events", "write_event_data", "write_nir_events", "NIR_SUFFIXES"]

NIR_SUFFIXES = (".nir", ".h5", ".hdf5")


def event_data(sample: np.ndarray, neuron: np.ndarray, time_s: np.ndarray, n_samples: int, n_neurons: int):
    """One ``nir.EventData``: per sample, its events' neurons and times (seconds), padded with
    -1 and inf to the longest sample."""
    import nir

    order = np.lexsort((time_s, sample))
    sample, neuron, time_s = sample[order], neuron[order], time_s[order]
    counts = np.bincount(sample, minlength=n_samples)
    width = max(int(counts.max(initial=0)), 1)
    idx = np.full((n_samples, width), -1, np.int64)
    time = np.full((n_samples, width), np.inf)
    col = np.arange(len(sample)) - np.repeat(np.cumsum(counts) - counts, counts)
    idx[sample, col] = neuron
    time[sample, col] = time_s
    t_max = float(time_s.max()) if len(time_s) else 0.0
    return nir.EventData(idx=idx, time=time, n_neurons=int(n_neurons), t_max=t_max)


def write_event_data(path, node: str, data) -> None:
    """Write one EventData as the ``spikes`` observable of ``node`` in a NIRGraphData file."""
    import nir

    with atomic_path(path) as tmp:
        nir.write_data(str(tmp), nir.NIRGraphData(nodes={node: nir.NIRNodeData(observables={"spikes": data})}))


def write_nir_events(path: str | Path, events: EventSet) -> None:
    c, h, w = input_shape(events.sensor_size)
    y = 0 if events.y is None else events.y
    neuron = (events.p * h + y) * w + events.x
    write_event_data(path, "input", event_data(events.sample, neuron, events.t * 1e-6, events.n_samples, c * h * w))


def read_nir_events(path: str | Path) -> EventSet:
    import nir

    name = str(path)
    if not Path(path).is_file():
        raise InputError(name, "file", "no such file")
    try:
        with read_deadline(name):
            graph = nir.read_data(name)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(name, "file", f"not NIR data (NIRGraphData with EventData) ({exc})") from None
    found = [(node, obs, data) for node, nd in graph.nodes.items() if isinstance(nd, nir.NIRNodeData)
             for obs, data in nd.observables.items() if isinstance(data, nir.EventData)]
    if not found:
        raise InputError(name, "observables", "no EventData observable in the file")
    node, obs, data = next((f for f in found if f[0] == "input"), found[0])
    idx, time = np.asarray(data.idx), np.asarray(data.time, float)
    if idx.ndim != 2 or idx.shape != time.shape:
        raise InputError(name, f"{node}.{obs}.idx", f"expected (samples, events) arrays idx and time of one shape, "
                                                   f"got {idx.shape} and {time.shape}")
    valid = idx >= 0
    if (time[valid] < 0).any():
        raise InputError(name, f"{node}.{obs}.time", "negative event times")
    sample, _ = np.nonzero(valid)
    return make_events(t=np.round(time[valid] * 1e6).astype(np.int64), x=idx[valid], p=np.zeros(int(valid.sum()), int),
                       sample=sample, sensor_size=(int(data.n_neurons), 1, 1), n_samples=idx.shape[0], name=name)
