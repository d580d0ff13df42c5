"""The tick modes on the chip: ``timestep`` and ``layered``.

A core works through a phase in four steps (take the packets, update
neurons, fire, send). Its busy time is their sum (``core.pipeline: serial``),
or with ``overlap`` the larger of its message pipeline (take and integrate
the packets) and its neuron pipeline (update, fire, send), which run side by
side as on Loihi. Its packets leave when the phase's work is done. The phase's arithmetic is vectorized over the chip.
With the analytic NoC its timing is computed too (one timeout per phase,
barrier included); with the router NoC each core's work is one timeout and
each packet crosses the router processes. See ``emulator.chip.modes``.
"""

from __future__ import annotations

import numpy as np

from ...model import timestep

__all__ = ["run_timestep", "run_layered"]


def _phase(chip, s_in: np.ndarray, update: np.ndarray, s_input: np.ndarray | None, send: bool = True,
           s_rec: np.ndarray | None = None, last: bool = False):
    """Integrate ``s_in`` (spike counts per global source, or None) into the ``update`` neurons,
    and ``s_rec`` (the previous timestep's spikes) through the recurrent projections.

    ``s_input`` holds the input population's spikes emitted in this phase (or
    None). Returns ``(s_out, end)``: the spike counts emitted in this phase, and
    when the phase's last packet arrives (None with the router NoC, whose
    packets are simulated one by one and end the phase when drained). With
    ``send`` False (the last tick of a sample) the spikes are recorded but make
    no packets, since no phase follows to integrate them; with ``last`` (the last
    timestep of a layered sample) the recurrent synapses get none, for the same
    reason.
    """
    hw, lat = chip.hw, chip.hw.core.latency_s
    n, n_cores = chip.net.n_neurons, len(chip.cores)
    any_in = s_in is not None
    msg_in, syn = chip.incoming  # what the previous phase sent here
    if chip.kinds:  # sparse and convolutional synapses priced apart: their counts follow the total's
        syn, sparse, conv = _by_kind(chip, syn, n_cores)
    s_out = np.zeros(n)
    if s_input is not None and s_input.any():
        s_out[: len(s_input)] = s_input
        chip.input_injected(chip.env.now)
    upd_count = acc_count = np.zeros(n_cores)
    two_tier = hw.core.two_tier  # every neuron pays an access, and the update where its state changes
    if len(update):
        lo, hi = int(update[0]), int(update[-1]) + 1  # update is a contiguous range
        # A two-tier profile updates the neurons whose state changes; on dense activity that is all of them.
        everyone = two_tier and any_in and chip.synapses.reach_all(s_in, lo, hi)
        want_touched = not hw.core.update_all_neurons or (two_tier and not everyone)
        cur, hit = chip.synapses.currents(s_in, lo, hi, want_touched, s_rec) if any_in else (0.0, None)
        v, fired, counts, debt, dropped = timestep(chip.V[lo:hi], cur, chip.beta[lo:hi], chip.bias[lo:hi],
                                                   chip.theta[lo:hi], **chip.step_state(lo, hi))
        chip.keep_step_state(lo, hi, debt, dropped)
        s_out[lo:hi] = counts
        if hw.core.update_all_neurons and not two_tier:
            upd_count = chip.synapses.neurons_per_core(lo, hi)
        elif everyone:
            upd_count = acc_count = chip.synapses.neurons_per_core(lo, hi)
        else:
            changed = hit | fired if any_in else fired.copy()  # a neuron that fires was updated
            if chip.cuba:  # a CubaLIF neuron with a synaptic current changes every timestep
                changed |= chip.S[lo:hi] != 0
            if two_tier:
                acc_count = chip.synapses.neurons_per_core(lo, hi)
                if not changed.all():  # SANA-FE's rule: also a potential (before the step) or bias not 0
                    changed |= (chip.V[lo:hi] != 0) | chip.biased[lo:hi]
            if two_tier and changed.all():  # the common case on dense activity: cached
                upd_count = acc_count
            else:
                upd_count = np.bincount(chip.core_of[update[changed]], minlength=n_cores).astype(float)
        chip.V[lo:hi] = v  # after the counts, which read the potentials before the step
    if send and chip.stop_on_output is not None:  # the tick of an early decision sends nothing: none follows
        send = chip.out_total + s_out[chip.out_lo:].sum() <= chip.stop_on_output
    spiking = np.flatnonzero(s_out)
    counts = s_out[spiking]
    src_core = chip.core_of[spiking]
    spk = np.bincount(src_core, weights=counts, minlength=n_cores)
    pairs = chip.synapses.pairs_ff if last else chip.synapses.pairs
    sending = spiking if send else spiking[:0]
    sums = s_out[sending] @ pairs.fan[sending]
    n_pairs = len(pairs.src)
    per_pair = sums[:n_pairs]  # packets per (source core, destination core) pair
    chip.incoming = (np.bincount(pairs.dst, weights=per_pair, minlength=n_cores), sums[n_pairs:])
    out = np.bincount(pairs.src, weights=per_pair, minlength=n_cores)
    if chip.kinds:  # the message pipeline
        l_sparse, l_conv = chip.lat_kinds
        receive = msg_in * lat.message_in + ((syn - sparse - conv) * lat.synaptic_op
                                             + sparse * l_sparse + conv * l_conv)
    else:
        receive = msg_in * lat.message_in + syn * lat.synaptic_op
    emit = upd_count * lat.neuron_update + spk * lat.spike_out + out * lat.message_out  # the neuron pipeline
    if two_tier:
        emit += acc_count * hw.core.neuron_access.latency_s
    busy = np.maximum(receive, emit) if hw.core.pipeline == "overlap" else receive + emit
    chip.spike_count[spiking] += counts.astype(np.int64)
    active = np.flatnonzero(msg_in + upd_count + spk + acc_count if two_tier else msg_in + upd_count + spk)
    cores = active
    if len(chip.ports):  # input through I/O ports: no spike_out nor message_out, the interface's time instead
        _through_ports(chip, busy, out)
        cores = active[active < chip.ports[0]]
    for c in cores.tolist():
        core = chip.cores[c]
        core.messages_in += msg_in[c]
        core.synaptic_events += syn[c]
        if chip.kinds:
            core.sparse_events += sparse[c]
            core.conv_events += conv[c]
        core.neuron_updates += upd_count[c]
        if two_tier:
            core.neuron_accesses += acc_count[c]
        core.spikes_out += spk[c]
        core.packets_out += out[c]
        core.busy_s += busy[c]
    if chip.gates_idle:  # a core gated since its last phase wakes before this one's work: it all moves later
        busy = _after_wake_ups(chip, busy, active)
    if chip.noc.computes_arrivals:
        return s_out, _send_trains(chip, busy, active, spiking, counts, per_pair, send, pairs)
    order = np.argsort(src_core, kind="stable")
    by_core = np.split(spiking[order], np.cumsum(np.bincount(src_core, minlength=n_cores))[:-1])
    for c in active.tolist():
        chip.pending += 1
        ev = chip.env.timeout(busy[c], (c, by_core[c], s_out, send, pairs.dst_cores))
        ev.callbacks.append(lambda e, chip=chip: _phase_send(chip, *e.value))
    return s_out, None


def _through_ports(chip, busy: np.ndarray, out: np.ndarray) -> None:
    """A phase's input packets pass each I/O port (``out``) one every ``io.gap_s``, the last reaching the
    port tile's router ``io.latency_s`` later; they all leave then (``busy``, in place), as a core's
    packets leave when its phase's work is done. A port counts them as ``io_packets``, and pays neither
    spike_out nor message_out."""
    io = chip.io
    for c in chip.ports.tolist():
        n = out[c]
        busy[c] = n * io.gap_s + io.latency_s if n else 0.0
        chip.cores[c].io_packets += n
        chip.cores[c].busy_s += n * io.gap_s  # the interface's occupancy


def _after_wake_ups(chip, busy: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``power_gating: idle``: when each active core's phase work ends, from the phase start, once those
    gated since their last work have woken up (``Chip.wake``, which counts the wake-ups)."""
    t0, ends = chip.env.now, busy.copy()
    for c in active.tolist():
        core = chip.cores[c]
        ends[c] = chip.wake(core, t0) - t0 + busy[c]
        core.work_end = t0 + ends[c]
    return ends


def _by_kind(chip, syn: np.ndarray, n_cores: int):
    """Split a phase's synapses per core, ``(total, then one block per kind of chip.kinds)``, into the
    total and the sparse and convolutional counts (zeros for a kind not priced apart)."""
    blocks = dict(zip(chip.kinds, syn[n_cores:].reshape(len(chip.kinds), n_cores)))
    zeros = np.zeros(n_cores)
    return syn[:n_cores], blocks.get("sparse", zeros), blocks.get("conv", zeros)


def _send_trains(chip, busy, active, spiking, counts, per_pair, send: bool, pairs) -> float:
    """Analytic NoC: each core's packets leave at its phase end, one train per destination.

    Returns when the phase's last packet arrives (or its last core finishes).
    Trains are booked in order of departure, then source core, then
    destination core; each books a link after that link's last booking.
    """
    t0 = chip.env.now
    end = t0 + busy.max()
    outs = spiking[spiking >= chip.out_lo]
    if len(outs):  # output spikes are recorded when their core's phase work ends
        chip.note_outputs(outs, counts[spiking >= chip.out_lo].astype(np.int64), t0 + busy[chip.core_of[outs]])
    if chip.tracer is not None:
        src_core = chip.core_of[spiking]
        for c in active.tolist():
            mine = src_core == c
            srcs = np.repeat(spiking[mine], counts[mine].astype(np.int64))
            chip.trace_spikes(srcs, t0 + busy[c])
            if send:
                chip.trace_packets(srcs, c, t0 + busy[c], pairs.dst_cores)
    busy = busy.tolist()
    trains = sorted((busy[s], s, d, int(n), p) for p, (s, d, n) in
                    enumerate(zip(pairs.src_list, pairs.dst_list, per_pair.tolist())) if n)
    for depart, s, d, n, p in trains:
        route = pairs.routes[p]
        core = chip.cores[s]
        core.hops_ew += n * route.hops_ew
        core.hops_ns += n * route.hops_ns
        core.local += n * route.local
        core.sent[d] = core.sent.get(d, 0) + n
        chip.cores[d].packets_received += n
        end = max(end, chip.noc.send_train(route, t0 + depart, n))
    return end


def _phase_send(chip, c: int, neurons: np.ndarray, s_out: np.ndarray, send: bool, dst_cores) -> None:
    """Router NoC: core c finished its phase work; its spikes leave now, in neuron order."""
    now = chip.env.now
    outs = neurons[neurons >= chip.out_lo]
    chip.record_output(outs, now, s_out[outs].astype(np.int64))  # several spikes: one trace row each
    if chip.tracer is not None:
        net = neurons[neurons < chip.out_lo]
        chip.trace_spikes(np.repeat(net, s_out[net].astype(np.int64)), now)
    for s in neurons.tolist() if send else ():  # an output neuron sends only to its recurrent loop, if any
        for _ in range(int(s_out[s])):
            for dst in dst_cores[s]:
                chip.send(s, c, dst, 0.0)
    chip.done()


def _barrier(chip, end: float | None):
    """Wait for the phase to end (all work done, all packets delivered), then sync."""
    barrier = chip.hw.barrier.latency_for(chip.tiles_used)
    if end is None:
        yield chip.wait_drained()
        yield chip.env.timeout(barrier)
    else:
        yield chip.env.timeout(end - chip.env.now + barrier)
    chip.barriers += 1


def run_timestep(chip, frames: np.ndarray, _cfg=None):  # the tick modes take no option of the run
    n_in = chip.net.populations[0].size
    hidden = np.arange(n_in, chip.net.n_neurons)
    s_prev = np.zeros(chip.net.n_neurons)
    n_ticks = len(frames) + chip.net.n_layers
    for k in range(n_ticks):
        chip.step = k
        s_input = frames[k] if k < len(frames) else None
        s_prev, end = _phase(chip, s_prev, hidden, s_input, send=k < n_ticks - 1, s_rec=s_prev)
        yield from _barrier(chip, end)
        if chip.decision_reached():  # an early decision: the sample ends with this tick
            return


def run_layered(chip, frames: np.ndarray, _cfg=None):
    offsets = chip.net.offsets
    layers = [np.arange(offsets[i], offsets[i + 1]) for i in range(1, len(offsets) - 1)]
    empty = np.zeros(0, np.int64)
    last = np.zeros(chip.net.n_neurons) if chip.has_recurrent else None  # the previous timestep's spikes
    for k, frame in enumerate(frames):
        chip.step = k
        s, end = _phase(chip, None, empty, frame)
        yield from _barrier(chip, end)
        step = np.zeros(chip.net.n_neurons) if chip.has_recurrent else None
        for layer in layers:
            s, end = _phase(chip, s, layer, None, s_rec=last, last=k == len(frames) - 1)
            if step is not None:
                step += s
            yield from _barrier(chip, end)
        if chip.decision_reached():  # an early decision: the sample ends with this timestep
            return
        last = step
