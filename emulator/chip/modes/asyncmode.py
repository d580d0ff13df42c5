"""Async mode on the chip: no barriers, each core serves its queue packet by packet.

See ``emulator.chip.modes`` for the semantics; the functional reference
(``emulator.functional``) is the oracle it is tested against. This is the
general path, the reference for ``async_fast``, which runs instead wherever
its preconditions hold and gives the same records.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ...errors import InputError
from ...model import fire, integrate, leak, pay_debt, receive
from ..synapses import NO_KINDS
from .async_fast import plan, timeout_until
from .service import count, finish, input_timeouts, threshold

__all__ = ["run_async"]


def _async_core(chip, core, realtime: bool, intake=None, serve_run=None):
    """A core in async mode: serve the queue one packet at a time.

    Each packet is integrated, its targets' thresholds are evaluated at once,
    and its spikes leave when its service ends. With the ``fifo`` policy every
    packet queued when a busy period starts is served before anything that
    arrives during it, so the whole busy period is computed in one go and
    costs one timeout (plus one per packet that fires, to send its spikes on
    time, and one per service start at which a held packet gets in); the other
    policies choose again before every packet.
    """
    env, q, inbox = chip.env, core.queue, core.inbox
    intake, serve_run = intake or chip.intake, serve_run or _serve_run  # the fast path's light packets, or Packets
    # A busy period is computed in one go only when nothing else can change the
    # core's neurons meanwhile; with realtime input a frame's leak can.
    whole_runs = q.serves_busy_period_whole and not realtime
    # An early decision ends the sample at once: the core then serves one packet per timeout, and each
    # service is counted when it ends (service.finish), so that one under way at the stop is not counted.
    whole_runs = whole_runs and chip.stop_on_output is None
    # A router NoC can stall the core at any service's end (its spikes wait to enter the NoC): one at a time.
    stalls = chip.noc.stalls_senders
    whole_runs = whole_runs and not stalls
    gates = chip.gates_idle  # power_gating idle: a core idle since its last work wakes first (Chip.wake)
    while True:
        if inbox:
            intake(core)
        if not len(q):
            core.wake = env.event()
            core.sleep_until = inbox[0][0] if inbox else float("inf")
            if inbox:
                chip.wake_at(core.wake, core.sleep_until)
            yield core.wake
            core.wake = None
            continue
        if core.free_at > env.now:
            yield env.timeout(core.free_at - env.now)
            continue
        if stalls and (stalled := chip.noc.stalled(core.id)) is not None:
            yield stalled  # the spikes of its last service have not all entered the NoC
            continue
        n = len(q) if whole_runs else 1
        t = serve_run(chip, core, n, chip.wake(core, env.now) if gates else env.now)
        if inbox:
            intake(core)  # a slot freed as this service started
        yield env.timeout(t - env.now)
        if core.owed:  # an early decision can come: a service counts once it has ended
            count(chip, core, *core.owed.pop())
        core.run_starts.clear()
        chip.done(n)


def _serve_run(chip, core, n: int, t: float) -> float:
    """Serve the next ``n`` packets of the queue back to back from ``t``; returns when the last ends."""
    starts, pop = core.run_starts, core.queue.pop
    for _ in range(n):
        starts.append(t)
        t = _serve(chip, core, pop(), t)
    return t


def _serve(chip, core, pkt, t_start: float) -> float:
    """Integrate ``pkt`` on ``core`` starting at ``t_start``; returns when its service ends.

    A packet's targets are a slice of the global state when they are
    contiguous (dense layers), so integration works on a view. The parts of a
    frame's input batch (one per input core) are all integrated before the
    thresholds of their targets are evaluated, with the last part.
    """
    V = chip.V
    kinds = None  # all dense, or none priced apart
    if pkt.batch is None:
        idx, w = (core.rows_rec if pkt.rec else core.rows)[pkt.src]
        n_syn = n_upd = len(w)
        if chip.kinds:
            kinds = (core.kinds_rec if pkt.rec else core.kinds).get(pkt.src, NO_KINDS)
        vv = V[idx]
        if chip.cuba:  # CubaLIF: the current takes the input, V its share of it
            chip.S[idx] += w
            vv += receive(w, chip.gain[idx])
        else:  # a LIF neuron takes the current as it is (receive without a gain), here in place
            vv += w
        if not isinstance(idx, slice):
            V[idx] = vv
    else:
        idx, w, n_syn, kinds = pkt.batch
        n_upd = len(w)
        if chip.cuba:
            chip.S[idx] += w
            V[idx] += receive(w, chip.gain[idx])
        else:
            V[idx] += w
        core.batch_seen.append(idx)
        core.batch_left -= 1
        if core.batch_left:
            idx = None  # more parts of this frame's input to come
        else:
            idx = np.unique(np.concatenate(core.batch_seen))
            core.batch_seen = []
            vv = V[idx]
    fired, overshoot = threshold(chip, idx, vv) if idx is not None else (None, None)
    return finish(chip, core, pkt, t_start, 1, n_syn, n_upd, fired, overshoot, kinds)


def _leak(chip) -> None:
    """Start of a timestep in async mode: end refractoriness and leak.

    Every neuron decays once (``V <- beta*V + bias``; a CubaLIF neuron's
    current decays and feeds V, ``S <- alpha*S + ibias``, ``V += gain*S``). With
    ``update_all_neurons`` each core pays ``neuron_update`` for all its
    neurons first (its ``free_at``); on a two-tier profile each pays
    ``neuron_access`` instead, and ``neuron_update`` where the state changes
    (a potential, bias or synaptic current that is not zero).
    """
    now = chip.env.now
    refractory = np.isneginf(chip.V)
    chip.V[refractory] = chip.parked[refractory]
    changing = None
    if chip.two_tier:  # before the leak, as in the tick modes
        changing = (chip.V != 0) | (chip.bias != 0)
        if chip.cuba:
            changing |= chip.S != 0
    v = leak(chip.V, chip.beta, chip.bias)
    if chip.cuba:  # the synaptic currents decay and feed V once per timestep too (chip.S, in place)
        v = integrate(v, 0.0, chip.S, chip.alpha, chip.gain, chip.ibias)
    if chip.debt is not None:  # subtract-next: last timestep's spikes pay theta now
        v = pay_debt(v, chip.debt)
        chip.debt[:] = 0.0
    chip.V[:] = v
    if chip.dropped is not None:  # a zero reset that drops this timestep's input: held at 0 till the next
        chip.parked[chip.dropped] = 0.0
        chip.V[chip.dropped] = -np.inf
        chip.dropped[:] = False
    n_in = chip.net.populations[0].size
    # without update_all_neurons only the neurons whose synaptic current moves V are charged here
    live = None if chip.hw.core.update_all_neurons or not chip.cuba else np.bincount(
        chip.core_of[np.flatnonzero(chip.S)], minlength=len(chip.cores))
    for c in chip.used.tolist():
        core = chip.cores[c]
        core.free_at = now
        if chip.hw.core.update_all_neurons:
            mine = core.neurons[core.neurons >= n_in]
            if not len(mine):
                continue  # an input core: its sweep has nothing to do (and, gated, no reason to wake)
        if changing is not None:  # two-tier: an access for every neuron, the update for those that change
            n_changing = int(np.count_nonzero(changing[mine]))
            sweep = len(mine) * chip.hw.core.neuron_access.latency_s + n_changing * chip.hw.core.latency_s.neuron_update
            core.neuron_accesses += len(mine)
            core.neuron_updates += n_changing
            core.busy_s += sweep
            core.free_at = chip.wake(core, now) + sweep
            core.work_end = max(core.work_end, core.free_at)
        elif chip.hw.core.update_all_neurons:
            core.free_at = finish(chip, core, None, chip.wake(core, now), 0, 0, len(mine), None, None)
        elif live is not None and live[c]:
            core.free_at = finish(chip, core, None, chip.wake(core, now), 0, 0, int(live[c]), None, None)


def _fire_lifted(chip) -> None:
    """Neurons that the leak and bias alone took over threshold fire once their core
    is free (after its leak sweep and input work), paying an update each unless
    every neuron was already charged one; their spikes queue behind the input's,
    as in the functional reference, where they fire at the first forward step.
    On a core that waits for a frame's input batch they are evaluated with the
    batch instead, as the reference integrates prioritized input first.
    """
    over = np.flatnonzero(fire(chip.V, chip.theta, chip.conv["at_threshold"]))
    update_all = chip.hw.core.update_all_neurons
    for c in np.unique(chip.core_of[over]).tolist():
        core = chip.cores[c]
        mine = over[chip.core_of[over] == c]
        if core.batch_left:
            core.batch_seen.append(mine)
            continue
        fired, overshoot = threshold(chip, mine, chip.V[mine])
        t = chip.wake(core, max(core.free_at, chip.env.now))
        core.free_at = finish(chip, core, None, t, 0, 0, 0 if update_all else len(fired), fired, overshoot)


def _inject(chip, frame: np.ndarray, batch: bool) -> None:
    """Schedule frame input from the input cores, once each is done with its leak work.

    ``event`` input: each input spike is its own service (``spike_out`` plus
    ``message_out`` per destination core), one after another in neuron order,
    and its packets leave when that service ends. ``frame`` input (prioritized
    input): each input core pays ``spike_out`` per spike and then sends one
    batch packet per destination core, which is integrated before any
    threshold is evaluated.
    """
    lat = chip.hw.core.latency_s
    now = chip.env.now
    active = np.flatnonzero(frame)
    entries: list = []  # event input: (delay, spike, unit, what its leaving does), in the order made
    for core in chip.cores:
        core.batch_left, core.batch_seen = 0, []
    if batch:  # each destination waits for one part per input core that sends to it
        for c in np.unique(chip.core_of[active]).tolist():
            for d in {d for s in active[chip.core_of[active] == c].tolist() for d in chip.dst_cores[s]}:
                chip.cores[d].batch_left += 1
    for c in np.unique(chip.core_of[active]).tolist():
        core = chip.cores[c]
        mine = active[chip.core_of[active] == c]
        counts = frame[mine].astype(np.int64)
        if core.port:
            _inject_through_port(chip, core, mine, counts, batch, entries)
            continue
        n_spk = int(counts.sum())
        start = max(core.free_at, now)  # after the core's own leak work
        chip.input_injected(start)  # latencies count from here, a wake-up of the input core included
        t = chip.wake(core, start) - now
        t0 = t
        if batch:
            core.spikes_out += n_spk
            chip.spike_count[mine] += counts
            t += n_spk * lat.spike_out
            if chip.tracer is not None:
                chip.trace_spikes(np.repeat(mine, counts), now + t)
            t, n_batches = _send_batches(chip, c, mine, counts, t, lat.message_out)
            core.packets_out += n_batches
            core.busy_s += t - t0
        else:  # each input spike is counted as it leaves, so that an early decision stops its cost too
            t = _event_entries(chip, c, mine, counts, t, lat.message_out, lat.spike_out, None, _input_spike, entries)
        core.free_at = now + t  # a core that also holds neurons serves packets after this
        core.work_end = max(core.work_end, core.free_at)
    if entries:
        chip.schedule_inputs(entries)


def _inject_through_port(chip, port, mine: np.ndarray, counts: np.ndarray, batch: bool, entries: list) -> None:
    """Input through an I/O port, from the frame's start: its packets pass one every ``io.gap_s`` and
    reach the port tile's router ``io.latency_s`` later (no spike_out, no message_out). ``event`` input:
    each spike's packets, in neuron order, leave together once the last has passed; ``frame`` input: a
    batch packet per destination core, each leaving as it passes."""
    io, now = chip.io, chip.env.now
    start = max(port.free_at, now)  # realtime input: after the last frame's packets have passed
    chip.input_injected(start)
    t = start - now
    if batch:
        chip.spike_count[mine] += counts
        if chip.tracer is not None:  # they leave with the first batch packet
            chip.trace_spikes(np.repeat(mine, counts), now + t + io.gap_s + io.latency_s)
        t, n_batches = _send_batches(chip, port.id, mine, counts, t, io.gap_s, io.latency_s)
        port.io_packets += n_batches
        port.busy_s += n_batches * io.gap_s  # the interface's occupancy
    else:
        t = _event_entries(chip, port.id, mine, counts, t, io.gap_s, None, io.latency_s, _port_spike, entries)
    port.free_at = now + t


def _event_entries(chip, c: int, mine: np.ndarray, counts: np.ndarray, t: float, step: float, each, latency,
                   leave, entries: list) -> float:
    """Event input: unit ``c``'s spikes (``counts`` of each of ``mine``), one after another from ``t`` (seconds
    after now), spike s taking ``each + n_dst[s] * step`` (``n_dst[s] * step`` where ``each`` is None), its
    packets leaving when it ends, or ``latency`` later; appends an entry for each (delay, spike, unit,
    ``leave``) and returns when the last ends. (``np.cumsum`` adds in order: the sums a loop makes.)"""
    spikes = np.repeat(mine, counts)
    if not len(spikes):
        return t
    took = chip.n_dst[spikes] * step
    if each is not None:
        took = each + took
    ends = np.cumsum(np.concatenate(([t], took)))[1:]
    leaves = ends if latency is None else ends + latency
    entries.extend(zip(leaves.tolist(), spikes.tolist(), [c] * len(spikes), [leave] * len(spikes)))
    if chip.tracer is not None:  # the times as the loop wrote them: now + t, then the latency
        now = chip.env.now
        times = now + ends if latency is None else (now + ends) + latency
        for s, when in zip(spikes.tolist(), times.tolist()):
            chip.trace_spikes(np.array([s]), when)
    return float(ends[-1])


def _send_batches(chip, c: int, mine: np.ndarray, counts: np.ndarray, t: float, step: float,
                  latency: float = 0.0) -> tuple[float, int]:
    """Frame input: unit ``c`` sends one batch packet of its input spikes per destination core, in core order,
    one ``step`` after another from ``t`` (seconds after now), each ``latency`` after its step ends;
    returns (when the last step ends, the packets)."""
    dsts = sorted({d for s in mine.tolist() for d in chip.dst_cores[s]})
    for d in dsts:
        t += step
        b = _batch(chip, mine, counts, d)
        _at(chip, t + latency, lambda d=d, b=b: chip.send(-1, c, d, np.inf, b))
    return t, len(dsts)


def _port_spike(chip, s: int, c: int, now: float | None = None) -> None:
    """Event input: input spike ``s``'s packets leave I/O port ``c`` now (or at ``now``: the fast path's
    input chain)."""
    port, n_dst = chip.cores[c], chip.n_dst_list[s]
    port.io_packets += n_dst
    port.busy_s += n_dst * chip.io.gap_s  # the interface's occupancy, counted as it leaves, as on a core
    chip.spike_count[s] += 1
    chip.send_spike(s, c, now)
    chip.done()


def _input_spike(chip, s: int, c: int, now: float | None = None) -> None:
    """Event input: input spike ``s`` leaves its core ``c`` now (or at ``now``), having cost ``spike_out``
    and ``message_out`` per destination core."""
    core, n_dst = chip.cores[c], chip.n_dst_list[s]
    core.spikes_out += 1
    core.packets_out += n_dst
    core.busy_s += chip.lat[3] + n_dst * chip.lat[4]  # spike_out, message_out
    chip.spike_count[s] += 1
    chip.send_spike(s, c, now)
    chip.done()


def _release(chip) -> None:
    """Start of a timestep: the previous timestep's spikes leave for the recurrent synapses.

    Each costs its source core ``message_out`` per destination core, after the
    core's leak work; the packets are served like any other (the recurrent
    projection's one-timestep delay). Spikes of a sample's last timestep are
    never released: no timestep follows to receive them.
    """
    held, chip.held = chip.held, []
    _check_runaway(chip, len(held))
    now, l_out = chip.env.now, chip.hw.core.latency_s.message_out
    for s, c in held:
        core = chip.cores[c]
        t = chip.wake(core, max(core.free_at, now))
        t0 = t
        for d in chip.dst_rec[s]:
            t += l_out
            _at(chip, t - now, lambda s=s, c=c, d=d: chip.send(s, c, d, np.inf, rec=True))
        core.packets_out += chip.n_dst_rec_list[s]
        core.busy_s += t - t0
        core.free_at = t
        core.work_end = max(core.work_end, t)


RUNAWAY_SPIKES = 1000  # per recurrent neuron in one timestep: far past any working network, and cheap to reach


def _check_runaway(chip, n_held: int) -> None:
    """Refuse a run whose recurrent activity grows without bound. A neuron that is not refractory fires
    at every packet that takes it over threshold; through an excitatory loop each timestep's spikes
    then multiply the next one's (16 neurons whose spikes excite each other by half a threshold fire 8
    times as often each timestep), and the sample would never end. Within a timestep activity is
    bounded (feed-forward), so the spikes the loop carries into the next timestep are the measure."""
    if n_held <= RUNAWAY_SPIKES:  # the common case, without counting: every timestep passes here
        return
    n_rec = np.count_nonzero(chip.synapses.n_dst_rec)
    if n_held > RUNAWAY_SPIKES * n_rec:
        raise InputError("--no-refractory", "refractory",
                         f"{n_held:,} spikes of one timestep feed the recurrent synapses ({n_held / n_rec:.0f} per "
                         "neuron): without refractoriness the loop's activity grows every timestep and the run "
                         "would not end; run them refractory (the default in async mode)")


def _batch(chip, sources: np.ndarray, counts: np.ndarray, core: int):
    """Input spikes ``sources`` (with counts) as one packet for ``core``: (target neurons, summed weights,
    synaptic events, how many of them are sparse and convolutional or None: ``Synapses.kinds_of_core``)."""
    targets, weights, n_syn = [], [], 0
    kinds_of = chip.synapses.kinds_of_core(core)[0] if chip.kinds else None
    n_kinds = [0, 0]
    for s, k in zip(sources.tolist(), counts.tolist()):
        if core in chip.synapses.rows[s]:
            idx, w = chip.synapses.rows[s][core]
            targets.append(np.arange(idx.start, idx.stop) if isinstance(idx, slice) else idx)
            weights.append(w * k)
            n_syn += len(w) * k
            if kinds_of is not None:
                n_kinds = [n + m * k for n, m in zip(n_kinds, kinds_of.get(s, NO_KINDS))]
    uniq, inv = np.unique(np.concatenate(targets), return_inverse=True)
    return uniq, np.bincount(inv, np.concatenate(weights)), n_syn, tuple(n_kinds) if kinds_of is not None else None


def _at(chip, delay: float, action) -> None:
    """Run ``action`` after ``delay``; counts as pending work until it has run."""
    chip.pending += 1
    ev = chip.env.timeout(delay)
    ev.callbacks.append(lambda _e: (action(), chip.done()))


def run_async(chip, frames: np.ndarray, cfg):
    """Frames enter when the network has drained; with ``cfg.realtime``, frame k enters
    at k frame widths instead, whatever is still in flight. With
    ``cfg.input == "frame"`` a frame's input reaches each core as one batch."""
    env = chip.env
    realtime, batch_input = cfg.realtime, cfg.input == "frame"
    fast = plan(chip, cfg)  # the fast path (async_fast), or None: this one, the reference
    chip.schedule_inputs = partial(input_timeouts, chip) if fast is None else fast.schedule_inputs
    for c in chip.used.tolist():
        core = chip.cores[c]
        core.rows, core.rows_rec = chip.synapses.rows_of_core(c)  # what its packets integrate
        if chip.kinds:
            core.kinds, core.kinds_rec = chip.synapses.kinds_of_core(c)  # ... and how many of each kind
        if fast is None:
            env.process(_async_core(chip, core, realtime))
        elif fast.processes(core):
            env.process(_async_core(chip, core, realtime, fast.intake, fast.serve_run))
    for k, frame in enumerate(frames):
        if realtime and env.now < k * chip.frame_s:
            yield env.timeout(k * chip.frame_s - env.now) | chip.decided
        if chip.decided.triggered:
            return  # an early decision (stop_on_output): what is queued or in flight is never integrated
        chip.step = k
        _leak(chip)
        _release(chip)
        _inject(chip, frame, batch_input)
        _fire_lifted(chip)
        if not realtime or k == len(frames) - 1:
            yield from _drain(chip, fast)
    if fast is not None:
        fast.fold_sends()


def _drain(chip, fast):
    yield chip.wait_drained() | chip.decided
    if chip.decided.triggered:
        return
    if fast is not None:  # the sink cores' packets are served now, and the clock moves to where they end
        end = fast.serve_sinks()
        if end > chip.env.now:
            yield from timeout_until(chip.env, end)
    busy_until = max(chip.cores[c].free_at for c in chip.used)
    if busy_until > chip.env.now:  # work that made no packets (a leak sweep) still takes time
        yield chip.env.timeout(busy_until - chip.env.now) | chip.decided
