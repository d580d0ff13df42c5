"""The cost model: the one place where counts become joules.

Components only count (packets in and out, synaptic operations, neuron
updates, spikes, hops per direction, local transfers, barriers, elapsed time);
this module prices those counts with a profile's figures:

- ``synaptic``  = dense_ops * E_synaptic_op + sparse_ops * E_sparse + conv_ops * E_conv (a kind the
                  profile does not price costs E_synaptic_op)
- ``neuron``    = neuron_updates * E_neuron_update + neuron_accesses * E_neuron_access (a two-tier
                  profile's access of every neuron each timestep; 0 elsewhere)
- ``spike_out`` = spikes * E_spike_out
- ``noc``       = packets_in * E_message_in + packets_out * E_message_out
                  + hops_ew * E_hop_ew + hops_ns * E_hop_ns + local * E_local
                  (charged to the sending core for the hops, to each core for its messages; an I/O
                  port's hops to the port)
- ``io``        = io_packets * E_io: the input packets through the profile's I/O ports (``io``), charged
                  to the port; 0 where the input sits on cores
- ``barrier``   = barriers * E_barrier, shared evenly by the cores in use
- ``static``    = elapsed_s * (P_core + P_router / cores_per_tile), for every core of the chip (an I/O
                  port draws none: its power is not modelled); with
                  ``power_gating: unused`` a core that holds no neuron draws ``gated_static_power_w``
                  instead of P_core; with ``idle`` a core in use draws it too while it has no work (P_core
                  over its busy time and wake-ups), and pays ``wake_energy_j`` per wake-up

The categories add up to the total, per core and per sample, by construction.
See docs/design.md, "Cost model".
"""

from __future__ import annotations

import numpy as np

__all__ = ["CATEGORIES", "price"]

CATEGORIES = ("synaptic", "neuron", "spike_out", "noc", "io", "barrier", "static")


def price(counts, barriers: int, elapsed_s: float, hw, used: np.ndarray) -> np.ndarray:
    """Energy in joules, ``(n_units, len(CATEGORIES))``, for one sample's counts: the chip's cores, then
    its I/O ports where input enters through them.

    ``counts`` has one per-unit array per counter (``emulator.chip.CoreCounters``:
    messages_in, synaptic_events and its sparse_events and conv_events, neuron_updates,
    neuron_accesses, spikes_out, packets_out, io_packets, hops_ew, hops_ns, local); ``used`` lists the
    cores in use.
    """
    e, noc = hw.core.energy_j, hw.noc
    n_units, n_cores = len(counts.synaptic_events), hw.mesh.n_cores
    out = np.zeros((n_units, len(CATEGORIES)))
    SYN, NEURON, SPIKE, NOC, IO, BARRIER, STATIC = range(len(CATEGORIES))
    sparse, conv = counts.sparse_events, counts.conv_events
    out[:, SYN] = ((counts.synaptic_events - sparse - conv) * e.synaptic_op  # exact when every synapse is dense
                   + sparse * hw.core.synapse_cost("sparse").energy_j + conv * hw.core.synapse_cost("conv").energy_j)
    out[:, NEURON] = counts.neuron_updates * e.neuron_update
    if hw.core.neuron_access is not None:
        out[:, NEURON] += counts.neuron_accesses * hw.core.neuron_access.energy_j
    out[:, SPIKE] = counts.spikes_out * e.spike_out
    out[:, NOC] = (counts.messages_in * e.message_in + counts.packets_out * e.message_out
                   + counts.hops_ew * noc.hop_energy_j.east_west
                   + counts.hops_ns * noc.hop_energy_j.north_south
                   + counts.local * noc.local_energy_j)
    out[:, IO] = counts.io_packets * hw.io.energy_j
    if len(used):
        out[used, BARRIER] = barriers * hw.barrier.energy_j / len(used)
    core_w = np.full(n_cores, hw.core.static_power_w)
    if hw.core.power_gating != "none":  # a core that holds no neuron is gated for the whole run
        core_w[:] = hw.core.gated_static_power_w
        core_w[used] = hw.core.static_power_w
    out[:n_cores, STATIC] = elapsed_s * (core_w + noc.static_power_w / hw.mesh.cores_per_tile)
    if hw.core.power_gating == "idle":  # a core in use is gated too while it has no work, awake while it works or wakes
        awake = np.minimum(counts.busy_s[used] + counts.wakeups[used] * hw.core.wake_latency_s, elapsed_s)
        out[used, STATIC] -= (elapsed_s - awake) * (hw.core.static_power_w - hw.core.gated_static_power_w)
        out[used, STATIC] += counts.wakeups[used] * hw.core.wake_energy_j
    return out
