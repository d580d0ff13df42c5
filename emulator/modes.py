"""Execution modes (registry ``MODES``): how the chip runs one sample.

Each mode is a generator for a SimPy process that runs one sample of input
``frames`` (``(T, n_in)`` spike counts) on the chip's fresh clock, and returns
when the sample has ended.

- ``timestep``: a global barrier every tick. Spikes emitted during tick k
  (input spikes of frame k included) are integrated during tick k+1, so a
  sample takes ``T + L`` ticks for L layers; spikes of the last tick are
  recorded but send no packets, as no tick follows.
- ``layered``: per timestep, an input phase and then one phase per layer, with
  a barrier after each. Layer l integrates all of layer l-1's spikes of this
  timestep, then evaluates its thresholds once.
- ``async``: no barriers. Each core serves its queue one packet at a time.
  Frame k enters once the network has drained, or with ``realtime`` at k
  times the model's timestep, whatever is still in flight.

In the tick modes a core works through a phase in four steps (take the
packets, update neurons, fire, send) and its busy time is their sum; its
packets leave when the phase's work is done. The phase's arithmetic is
vectorized over the chip. With the analytic NoC its timing is computed too
(one timeout per phase, barrier included); with the router NoC each core's
work is one timeout and each packet crosses the router processes.
"""

from __future__ import annotations

import numpy as np

from .neuron import fire, leak, reset
from .queues import FifoQueue

__all__ = ["MODES", "run_timestep", "run_layered", "run_async"]


# -- tick modes -----------------------------------------------------------------------
def _phase(chip, s_in: np.ndarray, update: np.ndarray, s_input: np.ndarray | None, send: bool = True):
    """Integrate ``s_in`` (spike counts per global source, or None) into the ``update`` neurons.

    ``s_input`` holds the input population's spikes emitted in this phase (or
    None). Returns ``(s_out, end)``: the spike counts emitted in this phase, and
    when the phase's last packet arrives (None with the router NoC, whose
    packets are simulated one by one and end the phase when drained). With
    ``send`` False (the last tick of a sample) the spikes are recorded but make
    no packets, since no phase follows to integrate them.
    """
    hw, lat = chip.hw, chip.hw.core.latency_s
    n, n_cores = chip.net.n_neurons, len(chip.cores)
    any_in = s_in is not None
    msg_in, syn = chip.incoming  # what the previous phase sent here
    s_out = np.zeros(n)
    if s_input is not None and s_input.any():
        s_out[: len(s_input)] = s_input
        chip.input_injected(chip.env.now)
    upd_count = np.zeros(n_cores)
    if len(update):
        lo, hi = int(update[0]), int(update[-1]) + 1  # update is a contiguous range
        v = leak(chip.V[lo:hi], chip.beta[lo:hi], chip.bias[lo:hi])
        want_touched = not hw.core.update_all_neurons
        if any_in:
            cur, hit = chip.currents(s_in, lo, hi, want_touched)
            v += cur
        fired = fire(v, chip.theta[lo:hi])
        reset(v, fired, chip.theta[lo:hi], chip.subtract[lo:hi])
        chip.V[lo:hi] = v
        s_out[lo:hi][fired] = 1.0
        if hw.core.update_all_neurons:
            upd_count = chip.neurons_per_core(lo, hi)
        else:
            touched = update[hit | fired] if any_in else update[fired]  # a neuron that fires was updated
            upd_count = np.bincount(chip.core_of[touched], minlength=n_cores).astype(float)
    spiking = np.flatnonzero(s_out)
    counts = s_out[spiking]
    src_core = chip.core_of[spiking]
    spk = np.bincount(src_core, weights=counts, minlength=n_cores)
    sending = spiking if send else spiking[:0]
    sums = s_out[sending] @ chip.pair_fan[sending]
    n_pairs = len(chip.pair_src)
    per_pair = sums[:n_pairs]  # packets per (source core, destination core) pair
    chip.incoming = (np.bincount(chip.pair_dst, weights=per_pair, minlength=n_cores), sums[n_pairs:])
    out = np.bincount(chip.pair_src, weights=per_pair, minlength=n_cores)
    busy = (msg_in * lat.message_in + syn * lat.synaptic_op + upd_count * lat.neuron_update
            + spk * lat.spike_out + out * lat.message_out)
    chip.spike_count[spiking] += counts.astype(np.int64)
    active = np.flatnonzero(msg_in + upd_count + spk)
    for c in active.tolist():
        core = chip.cores[c]
        core.msg_in += msg_in[c]
        core.syn += syn[c]
        core.upd += upd_count[c]
        core.spk += spk[c]
        core.msg_out += out[c]
        core.busy_s += busy[c]
    if chip.noc.computes_arrivals:
        return s_out, _send_trains(chip, busy, active, spiking, counts, per_pair, send)
    order = np.argsort(src_core, kind="stable")
    by_core = np.split(spiking[order], np.cumsum(np.bincount(src_core, minlength=n_cores))[:-1])
    for c in active.tolist():
        chip.pending += 1
        ev = chip.env.timeout(busy[c], (c, by_core[c], s_out, send))
        ev.callbacks.append(lambda e, chip=chip: _phase_send(chip, *e.value))
    return s_out, None


def _send_trains(chip, busy, active, spiking, counts, per_pair, send: bool) -> float:
    """Analytic NoC: each core's packets leave at its phase end, one train per destination.

    Returns when the phase's last packet arrives (or its last core finishes).
    Trains are booked in order of departure, then source core, then
    destination core; each books a link after that link's last booking.
    """
    t0 = chip.env.now
    end = t0 + busy.max()
    outs = spiking[spiking >= chip.out_lo]
    if len(outs):  # output spikes are recorded when their core's phase work ends
        chip.out_first = min(chip.out_first, t0 + busy[chip.core_of[outs]].min())
    if chip.tracer is not None:
        src_core = chip.core_of[spiking]
        for c in active.tolist():
            mine = src_core == c
            srcs = np.repeat(spiking[mine], counts[mine].astype(np.int64))
            chip.tracer.spikes(chip, srcs, t0 + busy[c])
            if send:
                chip.tracer.packets_bulk(chip, srcs[srcs < chip.out_lo], c, t0 + busy[c])
    busy = busy.tolist()
    trains = sorted((busy[s], s, d, int(n), p) for p, (s, d, n) in
                    enumerate(zip(chip.pair_src_list, chip.pair_dst_list, per_pair.tolist())) if n)
    for depart, s, d, n, p in trains:
        route = chip.pair_routes[p]
        core = chip.cores[s]
        core.hops_ew += n * route.hops_ew
        core.hops_ns += n * route.hops_ns
        core.local += n * route.local
        chip.cores[d].pk_in += n
        end = max(end, chip.noc.send_train(route, t0 + depart, n))
    return end


def _phase_send(chip, c: int, neurons: np.ndarray, s_out: np.ndarray, send: bool) -> None:
    """Router NoC: core c finished its phase work; its spikes leave now, in neuron order."""
    now = chip.env.now
    outs = neurons[neurons >= chip.out_lo]
    chip.record_output(outs, now)
    if chip.tracer is not None:
        net = neurons[neurons < chip.out_lo]
        chip.tracer.spikes(chip, np.repeat(net, s_out[net].astype(np.int64)), now)
    for s in neurons[neurons < chip.out_lo].tolist() if send else ():
        for _ in range(int(s_out[s])):
            for dst in chip.dst_cores[s]:
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


def run_timestep(chip, frames: np.ndarray):
    chip.ticked = True
    n_in = chip.net.populations[0].size
    hidden = np.arange(n_in, chip.net.n_neurons)
    s_prev = np.zeros(chip.net.n_neurons)
    n_ticks = len(frames) + chip.net.n_layers
    for k in range(n_ticks):
        chip.step = k
        s_input = frames[k] if k < len(frames) else None
        s_prev, end = _phase(chip, s_prev, hidden, s_input, send=k < n_ticks - 1)
        yield from _barrier(chip, end)


def run_layered(chip, frames: np.ndarray):
    chip.ticked = True
    offsets = chip.net.offsets
    layers = [np.arange(offsets[i], offsets[i + 1]) for i in range(1, len(offsets) - 1)]
    empty = np.zeros(0, np.int64)
    for k, frame in enumerate(frames):
        chip.step = k
        s, end = _phase(chip, None, empty, frame)
        yield from _barrier(chip, end)
        for layer in layers:
            s, end = _phase(chip, s, layer, None)
            yield from _barrier(chip, end)


# -- async mode -----------------------------------------------------------------------
def _async_core(chip, core):
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
    # A busy period is computed in one go only when nothing else can change the
    # core's neurons meanwhile; with realtime input a frame's leak can.
    whole_runs = isinstance(q, FifoQueue) and not chip.realtime
    while True:
        if inbox:
            chip.intake(core)
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
        t = env.now
        n = len(q) if whole_runs else 1
        starts = core.run_starts
        for _ in range(n):
            starts.append(t)
            t = _serve(chip, core, q.pop(), t)
        if inbox:
            chip.intake(core)  # a slot freed as this service started
        yield env.timeout(t - env.now)
        starts.clear()
        chip.done(n)


def _serve(chip, core, pkt, t_start: float) -> float:
    """Integrate ``pkt`` on ``core`` starting at ``t_start``; returns when its service ends.

    A packet's targets are a slice of the global state when they are
    contiguous (dense layers), so integration works on a view. The parts of a
    frame's input batch (one per input core) are all integrated before the
    thresholds of their targets are evaluated, with the last part.
    """
    V = chip.V
    if pkt.batch is None:
        idx, w = chip.rows[pkt.src][core.id]
        n_syn = n_upd = len(w)
        vv = V[idx]
        vv += w
        if not isinstance(idx, slice):
            V[idx] = vv
    else:
        idx, w, n_syn = pkt.batch
        n_upd = len(w)
        V[idx] += w
        core.batch_seen.append(idx)
        core.batch_left -= 1
        if core.batch_left:
            idx = None  # more parts of this frame's input to come
        else:
            idx = np.unique(np.concatenate(core.batch_seen))
            core.batch_seen = []
            vv = V[idx]
    fired, overshoot = _threshold(chip, idx, vv) if idx is not None else (None, None)
    return _finish(chip, core, pkt, t_start, 1, n_syn, n_upd, fired, overshoot)


def _threshold(chip, idx, vv):
    """Fire the neurons of ``idx`` (slice or indices; potentials ``vv``) above threshold.

    Returns (fired neurons, their overshoot ``V - theta`` before the reset), or
    (None, None); the overshoot is the spikes' priority under ``momentum``.
    With refractory-until-next-timestep a fired neuron's potential is parked
    at -inf (its reset value kept in ``chip.parked``), so later input is
    discarded and it cannot fire again, with no masking on the hot path.
    """
    theta = chip.theta
    f = vv > theta[idx]
    if not np.count_nonzero(f):
        return None, None
    loc = f.nonzero()[0]
    fired = idx.start + loc if isinstance(idx, slice) else idx[loc]
    overshoot = vv[loc] - theta[fired]
    if chip.reset_kind == "zero":
        after = 0.0
    elif chip.reset_kind == "subtract":
        after = overshoot
    else:
        after = np.where(chip.subtract[fired], overshoot, 0.0)
    if chip.refractory:
        chip.parked[fired] = after
        chip.V[fired] = -np.inf
    else:
        chip.V[fired] = after
    chip.spike_count[fired] += 1
    return fired, overshoot


def _finish(chip, core, pkt, t_start, n_in, n_syn, n_upd, fired, overshoot) -> float:
    """Price a service with the pipeline formula, count it, and schedule its spikes."""
    l_in, l_syn, l_upd, l_spk, l_out = chip.lat
    n_fired = n_out = 0
    if fired is not None:
        fired_list = fired.tolist()
        n_fired = len(fired_list)
        n_out = sum(chip.n_dst_list[s] for s in fired_list)
    service = n_in * l_in + n_syn * l_syn + n_upd * l_upd + n_fired * l_spk + n_out * l_out
    core.msg_in += n_in
    core.syn += n_syn
    core.upd += n_upd
    core.spk += n_fired
    core.msg_out += n_out
    core.busy_s += service
    if pkt is not None:
        pkt.t_served = t_start
        if chip.tracer is not None:
            chip.tracer.served(pkt)
    t_end = t_start + service
    if n_fired:
        chip.pending += 1
        ev = chip.env.timeout(t_end - chip.env.now, (core.id, fired, fired_list, overshoot.tolist()))
        ev.callbacks.append(chip.emit)
    return t_end


def _leak(chip) -> None:
    """Start of a timestep in async mode: end refractoriness and leak.

    Every neuron decays once (``V <- beta*V + bias``). With
    ``update_all_neurons`` each core pays ``neuron_update`` for all its
    neurons first (its ``free_at``).
    """
    now = chip.env.now
    refractory = np.isneginf(chip.V)
    chip.V[refractory] = chip.parked[refractory]
    chip.V[:] = leak(chip.V, chip.beta, chip.bias)
    n_in = chip.net.populations[0].size
    for c in chip.used.tolist():
        core = chip.cores[c]
        core.free_at = now
        if chip.hw.core.update_all_neurons:
            n = int((core.neurons >= n_in).sum())
            core.free_at = _finish(chip, core, None, now, 0, 0, n, None, None)


def _fire_lifted(chip) -> None:
    """Neurons that the leak and bias alone took over threshold fire once their core
    is free (after its leak sweep and input work), paying an update each unless
    every neuron was already charged one; their spikes queue behind the input's,
    as in the functional reference, where they fire at the first forward step.
    On a core that waits for a frame's input batch they are evaluated with the
    batch instead, as the reference integrates prioritized input first.
    """
    over = np.flatnonzero(chip.V > chip.theta)
    update_all = chip.hw.core.update_all_neurons
    for c in np.unique(chip.core_of[over]).tolist():
        core = chip.cores[c]
        mine = over[chip.core_of[over] == c]
        if core.batch_left:
            core.batch_seen.append(mine)
            continue
        fired, overshoot = _threshold(chip, mine, chip.V[mine])
        t = max(core.free_at, chip.env.now)
        core.free_at = _finish(chip, core, None, t, 0, 0, 0 if update_all else len(fired), fired, overshoot)


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
        n_spk = int(counts.sum())
        core.spk += n_spk
        chip.spike_count[mine] += counts
        t = max(core.free_at, now) - now  # after the core's own leak work
        chip.input_injected(now + t)
        t0 = t
        if batch:
            dsts = sorted({d for s in mine.tolist() for d in chip.dst_cores[s]})
            t += n_spk * lat.spike_out
            if chip.tracer is not None:
                chip.tracer.spikes(chip, np.repeat(mine, counts), now + t)
            for d in dsts:
                t += lat.message_out
                b = _batch(chip, mine, counts, d)
                _at(chip, t, lambda d=d, b=b, c=c: chip.send(-1, c, d, np.inf, b))
            core.msg_out += len(dsts)
        else:
            for s, k in zip(mine.tolist(), counts.tolist()):
                for _ in range(k):
                    t += lat.spike_out + chip.n_dst[s] * lat.message_out
                    _at(chip, t, lambda s=s, c=c: [chip.send(s, c, d, np.inf) for d in chip.dst_cores[s]])
                    if chip.tracer is not None:
                        chip.tracer.spikes(chip, np.array([s]), now + t)
            core.msg_out += int((chip.n_dst[mine] * counts).sum())
        core.busy_s += t - t0
        core.free_at = now + t  # a core that also holds neurons serves packets after this


def _batch(chip, sources: np.ndarray, counts: np.ndarray, core: int):
    """Input spikes ``sources`` (with counts) as one packet for ``core``:
    (target neurons, summed weights, synaptic events)."""
    targets, weights, n_syn = [], [], 0
    for s, k in zip(sources.tolist(), counts.tolist()):
        if core in chip.rows[s]:
            idx, w = chip.rows[s][core]
            targets.append(np.arange(idx.start, idx.stop) if isinstance(idx, slice) else idx)
            weights.append(w * k)
            n_syn += len(w) * k
    uniq, inv = np.unique(np.concatenate(targets), return_inverse=True)
    return uniq, np.bincount(inv, np.concatenate(weights)), n_syn


def _at(chip, delay: float, action) -> None:
    """Run ``action`` after ``delay``; counts as pending work until it has run."""
    chip.pending += 1
    ev = chip.env.timeout(delay)
    ev.callbacks.append(lambda _e: (action(), chip.done()))


def run_async(chip, frames: np.ndarray, batch_input: bool = False, realtime: bool = False):
    """Frames enter when the network has drained; with ``realtime``, frame k enters
    at k times the model's timestep instead, whatever is still in flight."""
    env = chip.env
    chip.ticked, chip.realtime = False, realtime
    for c in chip.used:
        env.process(_async_core(chip, chip.cores[c]))
    for k, frame in enumerate(frames):
        if realtime and env.now < k * chip.net.dt_s:
            yield env.timeout(k * chip.net.dt_s - env.now)
        chip.step = k
        _leak(chip)
        _inject(chip, frame, batch_input)
        _fire_lifted(chip)
        if not realtime or k == len(frames) - 1:
            yield from _drain(chip)


def _drain(chip):
    yield chip.wait_drained()
    busy_until = max(chip.cores[c].free_at for c in chip.used)
    if busy_until > chip.env.now:  # work that made no packets (a leak sweep) still takes time
        yield chip.env.timeout(busy_until - chip.env.now)


MODES = {"timestep": run_timestep, "layered": run_layered, "async": run_async}
