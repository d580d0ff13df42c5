"""What a core counts: named per-core counters, the only figures the cost model prices.

A :class:`Core` carries one attribute per field (a plain number, cheap to bump
on the hot path); :meth:`CoreCounters.of` collects them into arrays over the
cores for one sample, and the run sums those over samples.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["CoreCounters", "COUNTER_NAMES"]


@dataclass
class CoreCounters:
    """Per-core counts, each an array over the chip's cores."""

    messages_in: np.ndarray  # packets served (each pays message_in); tick modes: integrated in a phase
    synaptic_events: np.ndarray  # synaptic operations on this core (a spike reaching a synapse)
    sparse_events: np.ndarray  # ... of them on synapses of sparse projections (Projection.kind)
    conv_events: np.ndarray  # ... and of convolutions; the rest are dense
    neuron_updates: np.ndarray  # neuron updates charged to this core
    neuron_accesses: np.ndarray  # neuron accesses (a two-tier profile: every neuron, every timestep)
    spikes_out: np.ndarray  # spikes that left this core's neurons (input spikes included where they sit on cores)
    packets_out: np.ndarray  # packets this core sent (one per fired neuron and destination core)
    io_packets: np.ndarray  # an I/O port: the input packets it passed into the mesh (0 on a core)
    hops_ew: np.ndarray  # east/west link hops of the packets this core sent
    hops_ns: np.ndarray  # north/south link hops of the packets this core sent
    local: np.ndarray  # same-tile transfers of the packets this core sent
    busy_s: np.ndarray  # seconds of pipeline work
    wakeups: np.ndarray  # power_gating idle: times the core woke from gating to work
    packets_received: np.ndarray  # packets taken into this core's input (its queue, or a tick phase)

    @classmethod
    def zeros(cls, n_cores: int) -> CoreCounters:
        return cls(**{name: np.zeros(n_cores) for name in COUNTER_NAMES})

    @classmethod
    def of(cls, cores) -> CoreCounters:
        """The counters of ``cores`` (objects with one attribute per counter), as float arrays."""
        return cls(**{name: np.array([getattr(c, name) for c in cores], dtype=float) for name in COUNTER_NAMES})

    def __iadd__(self, other: CoreCounters) -> CoreCounters:
        for name in COUNTER_NAMES:
            getattr(self, name).__iadd__(getattr(other, name))
        return self

    @property
    def hops(self) -> np.ndarray:
        return self.hops_ew + self.hops_ns


COUNTER_NAMES = tuple(f.name for f in fields(CoreCounters))
