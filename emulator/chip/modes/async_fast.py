"""Async mode's fast path: the general path's records, bit for bit, with far fewer SimPy events.

``asyncmode`` is the reference; this path runs instead when :func:`blockers`
finds nothing in the way (FIFO queues, the analytic NoC, event input, LIF
neurons, no recurrent projection, no gating of idle cores, no trace, no
realtime input, no early decision). What it changes, keeping SimPy's order of what is left:

- **Light packets.** A packet is ``(arrival, seq, source)`` in its core's inbox
  and a source index in its queue, not a :class:`~emulator.chip.chip.Packet`.
  Hops, same-tile transfers and packets per link are not counted per packet:
  every spike of a neuron sends one packet to each of its destination cores,
  so they are folded from the spike counts when the sample ends.
- **Sink cores have no process.** A core none of whose neurons sends a packet
  (the output layer's) changes nothing but its own neurons, counters and the
  output records. Its packets are written down as they are sent, and when the
  rest of the network has drained, :func:`replay_sink` serves them through a
  copy of the process loop: the same intake, sleep, wake-timer and busy-period
  steps, with SimPy's ``now + (t - now)`` arithmetic for every timeout the
  process would have made. Removing events that make no other event leaves the
  order of the rest unchanged.
- **Deferred emissions.** A core whose spikes all go to sinks fed by no other
  core, on links no other sender uses, writes its emissions to a calendar; at
  the drain they are sent in SimPy's order of the timeouts they would have been
  (time, then creation).
- **Event input as one chain** (:class:`InputChain`): a frame's input spikes in
  SimPy's order of their timeouts, as urgent events that run the entries after
  them at once while nothing else can come between.
- **Busy periods at once.** A core's run of packets is integrated together
  (:func:`integrate`: a running sum, or the compiled loop of ``kernels``).
- **Compiled frames.** With numba the deferred emissions' sends
  (``kernels.send_deferred``, on :class:`LinkSlots`) and the sink replays
  (``kernels.replay_frame``) are compiled loops, each a literal translation of
  the Python it replaces, which stays the fallback.
- **The sample's clock** then moves to where the general path's drain lands,
  exactly (:func:`timeout_until`).

The replay needs every packet to arrive strictly after it was sent (then, at
any step of the loop, the packets that have arrived are exactly those whatever
SimPy's order of equal-time events). Routes with a positive latency give that;
a sample where float rounding breaks it raises :class:`Unsafe`, and the runner
reruns that sample on the general path.
"""

from __future__ import annotations

import bisect
import heapq

import numpy as np
import simpy

from ...model import after_spike, fire
from ..synapses import NO_KINDS
from .kernels import compiled
from .service import count, input_timeouts, price, service_time, threshold

__all__ = ["ENABLED", "FastPath", "Unsafe", "blockers", "plan", "replay_sink", "timeout_until"]

ENABLED = True  # off: every sample runs on the general path (the identity tests compare the two)
AT_ONCE = 4  # busy periods of fewer packets are served one packet at a time (cheaper; the same numbers)


class Unsafe(Exception):
    """The fast path cannot keep this sample exact; it runs again on the general path."""


def blockers(chip, cfg) -> list[str]:
    """Why the fast path cannot run this configuration (empty: it can). The one place its
    preconditions are checked; each has a test that shows the general path taking over."""
    topo = chip.topo
    reasons = [why for bad, why in (
        (not ENABLED, "switched off"),
        (chip.general_only, "a rerun on the general path"),
        (chip.queue_kind != "fifo", f"queue {chip.queue_kind}: only fifo serves whole busy periods"),
        (chip.noc_kind != "analytic", f"noc {chip.noc_kind}: only the analytic NoC knows arrivals at sending"),
        (cfg.input != "event", f"input {cfg.input}: frame input arrives as batches"),
        (cfg.realtime, "realtime input: a frame can enter while the last is in flight"),
        (chip.stop_on_output is not None, "an early decision: the output spikes' order across cores counts"),
        (chip.tracer is not None, "a trace: it records every packet"),
        (chip.cuba, "CubaLIF neurons: they carry a synaptic current"),
        (chip.has_recurrent, "recurrent projections: their spikes are held to the next timestep"),
        (chip.gates_idle, "power_gating idle: a core's wake-ups delay its work"),
        (min(topo.lat_ew, topo.lat_ns, topo.lat_local) <= 0, "a route without latency: arrivals could tie with sends"),
    ) if bad]
    return reasons


def plan(chip, cfg) -> FastPath | None:
    """The fast path for this sample, or None when the general path must run it."""
    return None if blockers(chip, cfg) else FastPath(chip)


class FastPath:
    """One sample's light transport: sends, emissions, and the sink cores' packets."""

    def __init__(self, chip):
        self.chip = chip
        n_in = chip.net.populations[0].size
        sends, used = chip.n_dst > 0, set(chip.used.tolist())
        self.sink = [c in used and not sends[core.neurons].any() and not (core.neurons < n_in).any()
                     for c, core in enumerate(chip.cores)]
        self.sunk: dict[int, list] = {c: [] for c, sink in enumerate(self.sink) if sink}  # (arrival, sent, source)
        out_lo = chip.out_lo
        self.outputs = [bool((chip.cores[c].neurons >= out_lo).any()) for c in range(len(chip.cores))]
        self.spiked: list = []  # the fired neurons of each emission, counted when the sample ends
        self.defers = _deferring_cores(chip, self.sink)
        self.calendar: list = []  # deferred emissions: (time, creation order, core, fired neurons)
        self.links: LinkSlots | None = None  # the deferred emissions' links, made for the compiled sends
        self.routes = _routes(chip)
        chip.schedule_emit, chip.send_spike = self.schedule_emit, self.send_spike

    def processes(self, core) -> bool:
        """Whether ``core`` runs a SimPy process (sink cores are replayed instead)."""
        return not self.sink[core.id]

    # -- packets ---------------------------------------------------------------------
    def send_spike(self, s: int, c: int, now: float | None = None) -> None:
        """Spike ``s`` leaves core ``c`` now (or at ``now``: a deferred emission): one light packet to
        each destination core."""
        chip = self.chip
        noc_send, sink = chip.noc.send_at, self.sink
        if now is None:
            now = chip.env.now
        for d, route in self.routes[s]:
            t = noc_send(route, now)
            if sink[d]:
                if not t > now:  # the replay needs it (see the module's docstring)
                    raise Unsafe(f"a packet from core {c} to core {d} arrives when it is sent")
                self.sunk[d].append((t, now, s))
                continue
            chip.pending += 1
            chip._seq += 1
            core = chip.cores[d]
            heapq.heappush(core.inbox, (t, chip._seq, s))
            if core.wake is not None and t < core.sleep_until:
                core.sleep_until = t
                chip.wake_at(core.wake, t)

    def emit(self, ev: simpy.Event) -> None:
        """A service ended: its spikes leave now, in neuron order (as ``Chip.emit``)."""
        chip = self.chip
        cid, fired, _, _ = ev.value
        self.spiked.append(fired)
        if self.outputs[cid]:
            chip.record_output(fired[fired >= chip.out_lo], chip.env.now)
        n_dst, out_lo = chip.n_dst_list, chip.out_lo
        for s in fired.tolist():
            if s < out_lo and n_dst[s]:
                self.send_spike(s, cid)
        chip.done()

    def intake(self, core) -> None:
        """``Chip.intake`` for light packets: the arrived ones enter the queue while it has space."""
        inbox, q, now = core.inbox, core.queue, self.chip.env.now
        room = core.room()
        while inbox and inbox[0][0] <= now and room > 0:
            q.push(heapq.heappop(inbox)[2])
            core.packets_received += 1
            room -= 1

    def serve_run(self, chip, core, n: int, t: float) -> float:
        """``asyncmode._serve_run`` for light packets: the next ``n`` in the queue, back to back from ``t``."""
        pop, starts = core.queue.pop, core.run_starts
        fired, services = serve(chip, core, [pop() for _ in range(n)])
        for f, service in zip(fired, services):
            starts.append(t)
            t = t + service
            if f is not None:  # its spikes leave when its service ends (as asyncmode's finish)
                self.schedule_emit(core.id, t, f, None, None)
        return t

    def schedule_emit(self, cid: int, t: float, fired: np.ndarray, fired_list, overshoot) -> None:
        """``Chip.emit_at``: a timeout for :meth:`emit`, or for a deferring core an entry in the calendar
        with the time that timeout would fire at and its place among the timeouts made before."""
        chip = self.chip
        if self.defers[cid]:
            now = chip.env.now
            self.calendar.append((now + (t - now), len(self.calendar), cid, fired))
            return
        chip.pending += 1
        ev = chip.env.timeout(t - chip.env.now, (cid, fired, None, None))
        ev.callbacks.append(self.emit)

    # -- event input ------------------------------------------------------------------------
    def schedule_inputs(self, entries: list) -> None:
        """A frame's input spikes (``asyncmode._inject``'s entries: delay, spike, unit, what leaving does)
        as one chain of events instead of a timeout each (:class:`InputChain`), where it can keep SimPy's
        order: nothing else is scheduled as the frame starts."""
        env = self.chip.env
        if env.peek() < np.inf:  # the first frame: the processes' start events are still queued
            input_timeouts(self.chip, entries)
            return
        InputChain(self, entries)

    # -- the end of a frame and of the sample -----------------------------------------------
    def serve_sinks(self) -> float:
        """Send the deferred emissions, then serve the packets the sink cores got since the last drain;
        returns when the general path's drain would fire: the last of the timeouts these would have been
        (-inf: none)."""
        self.calendar.sort()  # by time, then by when the timeout would have been made: SimPy's order
        chip, out_lo = self.chip, self.chip.out_lo
        # each would have been a timeout the drain waits for (the last can come after every busy period: a
        # neuron the leak lifted fires at the end of its core's leak sweep, rounded as a timeout rounds it)
        end = self.calendar[-1][0] if self.calendar else -np.inf
        kernels = compiled() if self.calendar or any(self.sunk.values()) else None
        if kernels:  # the same sends and replays, each frame's loops compiled
            deferred = self._send_calendar(kernels["send_deferred"]) if self.calendar else {}
            for c, sunk in self.sunk.items():
                packets = deferred.get(c) or (_columns(sunk) if sunk else None)
                if packets is not None:
                    end = max(end, replay_sink_compiled(chip, chip.cores[c], *packets, kernels["replay_frame"]))
                sunk.clear()
            return end
        for t, _, c, fired in self.calendar:
            self.spiked.append(fired)
            if self.outputs[c]:
                chip.record_output(fired[fired >= out_lo], t)
            for s in fired.tolist():
                if s < out_lo:
                    self.send_spike(s, c, t)
        self.calendar.clear()
        for c, sunk in self.sunk.items():
            if sunk:
                end = max(end, replay_sink(self.chip, self.chip.cores[c], sunk))
                sunk.clear()
        return end

    def _send_calendar(self, kernel) -> dict:
        """The calendar's emissions sent by the compiled loop (``kernels.send_deferred``), as
        :meth:`send_spike` sends them; returns per sink core its packets (arrival, send time, source)
        in sending order."""
        chip, out_lo = self.chip, self.chip.out_lo
        times, spikes = [], []
        for t, _, c, fired in self.calendar:
            self.spiked.append(fired)
            if self.outputs[c]:
                chip.record_output(fired[fired >= out_lo], t)
            times.append(t)
            spikes.append(fired)
        self.calendar.clear()
        neurons = np.concatenate(spikes)
        times = np.repeat(times, [len(f) for f in spikes])
        keep = neurons < out_lo
        neurons, times = neurons[keep], times[keep]
        tables = _send_tables(chip)
        if self.links is None:
            self.links = LinkSlots(len(tables.links))
        self.links.make_room(int(chip.n_dst[neurons].sum()))
        dst, arrival, src, sent = kernel(times, neurons, tables.dst_ptr, tables.dst_idx, tables.dst_route,
                                         tables.route_ptr, tables.route_link, tables.route_lat, *self.links.state)
        if (arrival <= sent).any():  # the replay needs each to arrive after it was sent (the module's docstring)
            raise Unsafe("a deferred packet arrives when it is sent")
        order = np.argsort(dst, kind="stable")  # per sink, in sending order
        by_sink = dst[order]
        first = np.flatnonzero(np.diff(by_sink, prepend=-1))
        bounds = [*first.tolist(), len(order)]
        return {c: (arrival[order[a:b]], sent[order[a:b]], src[order[a:b]])
                for c, a, b in zip(by_sink[first].tolist(), bounds[:-1], bounds[1:])}

    def fold_sends(self) -> None:
        """The spike counts, then hops, same-tile transfers and packets per destination core from them."""
        chip = self.chip
        if self.spiked:
            np.add.at(chip.spike_count, np.concatenate(self.spiked), 1)
        pairs = chip.synapses.pairs_ff
        n_pairs = len(pairs.src_list)
        per_pair = np.asarray(chip.spike_count @ pairs.fan)[:n_pairs].round().astype(np.int64).tolist()
        for s, d, n, route in zip(pairs.src_list, pairs.dst_list, per_pair, pairs.routes):
            if n:
                core = chip.cores[s]
                core.hops_ew += n * route.hops_ew
                core.hops_ns += n * route.hops_ns
                core.local += n * route.local
                core.sent[d] = n


class _Urgent(simpy.events.Event):
    """An event that fires after ``delay`` before every normal event of that time (SimPy's ``URGENT``
    priority, as its own process starts take; built the way ``simpy.Timeout`` is)."""

    def __init__(self, env, delay: float, callback):
        super().__init__(env)
        self._ok, self._value = True, None
        self.callbacks.append(callback)
        env.schedule(self, simpy.events.URGENT, delay)


class InputChain:
    """A frame's event input through one chain of events, with the general path's records.

    The general path makes a timeout per input spike as the frame starts, so at any
    time they come before every other normal event, in the order made. The chain
    keeps that order: its entries sorted by the time SimPy gives each timeout (then
    the order made), and each of its events urgent, so it comes before the normal
    events of its time. And it saves events: after an entry runs, the next ones run
    at once, each at its own time (``now``), while nothing else is scheduled before
    that time and the entry can set no wake-up timer (a timer is made at the current
    time, which would then be the wrong one). The last entry always runs at its own
    time: it may be the end of the frame's pending work, which the drain waits for.
    """

    def __init__(self, fast, entries: list):
        chip = fast.chip
        self.fast, self.chip, self.env = fast, chip, chip.env
        now = self.env.now
        at = [now + e[0] for e in entries]  # when each timeout would fire (SimPy adds the delay to now)
        self.entries = [(at[i], *entries[i][1:]) for i in sorted(range(len(entries)), key=at.__getitem__)]
        chip.pending += len(entries)  # each is pending work until it has run, as its timeout would be
        self.next = 0
        self._schedule()

    def _schedule(self) -> None:
        env, t = self.env, self.entries[self.next][0]
        if env.now + (t - env.now) != t:  # cannot happen once the clock is past t / 2 (Sterbenz)
            raise Unsafe(f"an input event cannot be scheduled at exactly {t!r}")
        _Urgent(env, t - env.now, self._run)

    def _run(self, _ev) -> None:
        chip, entries, j = self.chip, self.entries, self.next
        _, s, c, leave = entries[j]
        leave(chip, s, c)
        j += 1
        last, queued = len(entries) - 1, self.env.peek()
        while j < last and entries[j][0] < queued and not self._may_set_timer(entries[j]):
            t, s, c, leave = entries[j]
            leave(chip, s, c, t)
            j += 1
        self.next = j
        if j <= last:
            self._schedule()

    def _may_set_timer(self, entry) -> bool:
        """Whether an input spike leaving at ``t`` could set a wake-up timer: one of its packets goes to a
        sleeping core and, with no wait on the links (the earliest it can arrive), would arrive before
        that core's timer."""
        t, s = entry[0], entry[1]
        fast, cores = self.fast, self.chip.cores
        for d, route in fast.routes[s]:
            core = cores[d]
            if fast.sink[d] or core.wake is None:
                continue
            arrival = t
            for lat in route.latencies:
                arrival += lat
            if arrival < core.sleep_until:
                return True
        return False


def _routes(chip) -> list:
    """Per neuron, ``(destination core, route)`` of each of its packets (a neuron sends from its own unit;
    built once per chip)."""
    routes = getattr(chip, "dst_routes", None)
    if routes is None:
        route, core_of = chip.topo.route, chip.core_of.tolist()
        routes = chip.dst_routes = [[(d, route(c, d)) for d in dsts] for c, dsts in zip(core_of, chip.dst_cores)]
    return routes


def _deferring_cores(chip, sink: list[bool]) -> list[bool]:
    """The cores whose emissions can wait for the drain (built once per chip): every spike of theirs
    goes to sink cores only, those sinks get packets from no other core, and no other sender's
    route shares a link with theirs. Then the order of their sends among themselves, by time and
    then by creation (SimPy's order of their timeouts), is all that the NoC and the sinks see."""
    cached = getattr(chip, "deferring", None)
    if cached is not None:
        return cached
    pairs = chip.synapses.pairs_ff
    sends_to = {}
    for a, b in zip(pairs.src_list, pairs.dst_list):
        sends_to.setdefault(a, set()).add(b)
    n_in = chip.net.populations[0].size
    inputs = set(np.unique(chip.core_of[:n_in]).tolist())
    defers = {c for c, dsts in sends_to.items() if c not in inputs and all(sink[d] for d in dsts)}
    links = {True: set(), False: set()}
    fed = {True: set(), False: set()}
    for a, b, route in zip(pairs.src_list, pairs.dst_list, pairs.routes):
        links[a in defers].update(route.links)
        fed[a in defers].add(b)
    if links[True] & links[False] or fed[True] & fed[False]:
        defers = set()
    chip.deferring = [c in defers for c in range(len(chip.cores))]
    return chip.deferring


class SendTables:
    """Per neuron its destination cores and their routes, as arrays (``kernels.send_deferred``)."""

    def __init__(self, chip):
        pairs = chip.synapses.pairs_ff
        pair_of = {(a, b): p for p, (a, b) in enumerate(zip(pairs.src_list, pairs.dst_list))}
        self.links = sorted({link for route in pairs.routes for link in route.links})
        local = {link: i for i, link in enumerate(self.links)}
        self.route_ptr = np.cumsum([0] + [len(r.links) for r in pairs.routes]).astype(np.int64)
        self.route_link = np.array([local[link] for r in pairs.routes for link in r.links], np.int64)
        self.route_lat = np.array([lat for r in pairs.routes for lat in r.latencies], float)
        core_of = chip.core_of.tolist()
        self.dst_ptr = np.cumsum(np.concatenate(([0], chip.n_dst))).astype(np.int64)
        self.dst_idx = np.array([d for ds in chip.dst_cores for d in ds], np.int64)
        self.dst_route = np.array([pair_of[core_of[s], d] for s, ds in enumerate(chip.dst_cores) for d in ds],
                                  np.int64)


def _send_tables(chip) -> SendTables:
    """The chip's :class:`SendTables`, built once."""
    tables = getattr(chip, "send_tables", None)
    if tables is None:
        tables = chip.send_tables = SendTables(chip)
    return tables


class LinkSlots:
    """The analytic NoC's reservations of the links deferred emissions use, as arrays: no other sender
    uses those links (:func:`_deferring_cores`), so while the compiled loop sends, they live here."""

    def __init__(self, n_links: int):
        self.a, self.b = np.zeros((n_links, 16)), np.zeros((n_links, 16))
        self.lo, self.hi = np.zeros(n_links, np.int64), np.zeros(n_links, np.int64)

    @property
    def state(self) -> tuple:
        return self.a, self.b, self.lo, self.hi

    def make_room(self, n: int) -> None:
        """Room for ``n`` more reservations on every link: the live ones are moved to the front, into
        wider arrays if needed."""
        if not len(self.hi) or int(self.hi.max()) + n <= self.a.shape[1]:
            return
        live = self.hi - self.lo
        width = max(2 * self.a.shape[1], int(live.max()) + n)
        a, b = np.zeros((len(live), width)), np.zeros((len(live), width))
        for link, (lo, hi) in enumerate(zip(self.lo.tolist(), self.hi.tolist())):
            a[link, :hi - lo], b[link, :hi - lo] = self.a[link, lo:hi], self.b[link, lo:hi]
        self.a, self.b, self.lo, self.hi = a, b, np.zeros_like(self.lo), live


def _columns(sunk: list) -> tuple:
    """A sink's packets ``(arrival, send time, source)`` as three arrays."""
    table = np.array(sunk)
    return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].astype(np.int64)


def replay_sink_compiled(chip, core, arrival: np.ndarray, sent: np.ndarray, srcs: np.ndarray, kernel) -> float:
    """:func:`replay_sink` with its loop compiled (``kernels.replay_frame``): packets as arrays, in sending
    order."""
    order = np.argsort(arrival, kind="stable")  # ties keep their sending order
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    fired, services = serve(chip, core, srcs[order].tolist())
    fires = np.array([f is not None for f in fired])
    cap = -1 if chip.capacity is None else int(chip.capacity)
    out_t, last = kernel(arrival[order], arrival, sent, rank, np.asarray(services, float), fires, cap,
                         float(core.free_at))
    core.packets_received += len(order)
    at = np.flatnonzero(fires)
    _record(chip, [fired[i] for i in at.tolist()], out_t[at].tolist())
    return last


def replay_sink(chip, core, sunk: list) -> float:
    """Serve a sink core's packets of one frame as its process in ``asyncmode._async_core`` would
    have; returns the time of its last busy-period end.

    ``sunk`` holds (arrival, send time, source) in the order they were sent. The
    packets are served in arrival order, whenever each is served, so they are
    integrated and priced first, all together (:func:`serve`); then the loop's
    steps are the process's: take in what has arrived (while the queue has
    room), sleep until the first timer for the inbox fires, wait out
    ``free_at``, serve the whole queue, and each timeout lands at
    ``now + (t - now)``.
    """
    n = len(sunk)
    arrival, sent = [p[0] for p in sunk], [p[1] for p in sunk]
    order = sorted(range(n), key=arrival.__getitem__)  # stable: ties keep their sending order
    rank = [0] * n
    for r, j in enumerate(order):
        rank[j] = r
    t_in = [arrival[j] for j in order]  # arrival times in serving order
    fired, services = serve(chip, core, [sunk[j][2] for j in order])
    cap, starts, out, out_t = chip.capacity, [], [], []
    head = nxt = 0  # the queue: packets head:nxt of the serving order
    inbox, seen = [], 0  # a heap of the ranks of packets sent and not taken in; how many were sent
    now = last = -np.inf  # asleep with nothing in its inbox since the last drain
    while True:
        nxt = _take_in(t_in, nxt, now, cap, nxt - head, starts)
        if head == nxt:
            if nxt == n:
                break
            while seen < n and sent[seen] <= now:  # what is in its inbox as it goes to sleep
                heapq.heappush(inbox, rank[seen])
                seen += 1
            while inbox and inbox[0] < nxt:
                heapq.heappop(inbox)
            now = _wake_time(arrival, sent, seen, now, t_in[inbox[0]] if inbox else np.inf)
            continue
        if core.free_at > now:
            now = now + (core.free_at - now)
            continue
        t = now
        for i in range(head, nxt):
            starts.append(t)
            t = t + services[i]
            if fired[i] is not None:  # its emission timeout, made now, would fire at now + (t - now)
                out.append(fired[i])
                out_t.append(now + (t - now))
        head = nxt
        nxt = _take_in(t_in, nxt, now, cap, 0, starts)  # a slot freed as the first service started
        now = last = now + (t - now)
        starts.clear()
    core.packets_received += n
    _record(chip, out, out_t)
    return last


def _take_in(t_in: list, nxt: int, now: float, cap, queued: int, starts: list) -> int:
    """``Chip.intake``: the packets that have arrived join the queue while it has room (``Core.waiting``:
    ``queued`` plus the services of the busy period not started yet); returns the new ``nxt``."""
    lo = nxt
    while nxt < len(t_in) and t_in[nxt] <= now and (
            cap is None or queued + nxt - lo + len(starts) - bisect.bisect_right(starts, now) < cap):
        nxt += 1
    return nxt


def _wake_time(arrival: list, sent: list, seen: int, x: float, first: float) -> float:
    """When a core that goes to sleep at ``x`` wakes: ``first`` is the earliest arrival in its inbox
    (inf: none), and the packets from ``seen`` on (in sending order) are sent after ``x``.

    Going to sleep, it sets a timer for ``first``; each packet sent later, before
    the core wakes, that arrives before the current timer's target sets one more
    (``Chip.arrive``). It wakes when the first timer fires. (A packet sent exactly
    at ``x`` gives the same first timer whichever of the two SimPy runs first,
    and one sent exactly when it wakes sets a timer that changes nothing.)
    """
    target, wake = first, (x + (first - x) if first < np.inf else np.inf)
    for j in range(seen, len(sent)):
        s = sent[j]
        if s >= wake:
            break
        if arrival[j] < target:
            target = arrival[j]
            wake = min(wake, s + (target - s))
    return wake


def _record(chip, fired: list, times: list) -> None:
    """A sink's spikes leave (``Chip.emit``): counted, and recorded as output at their times."""
    if not fired:
        return
    neurons = np.concatenate(fired)
    # a refractory neuron fires once in a frame (what a replay covers); else one may fire twice
    if not chip.refractory and len(np.unique(neurons)) < len(neurons):
        np.add.at(chip.spike_count, neurons, 1)
        for f, when in zip(fired, times):  # one time at a time
            chip.record_output(f[f >= chip.out_lo], when)
        return
    chip.spike_count[neurons] += 1
    out = neurons >= chip.out_lo
    chip.record_output(neurons[out], np.repeat(times, [len(f) for f in fired])[out])


def serve(chip, core, srcs: list) -> tuple[list, list]:
    """Serve the packets of neurons ``srcs`` on ``core`` in that order as the general path serves each:
    integrate, threshold, price and count. Returns per packet the neurons it fired (None: none) and
    its service time."""
    kinds_of = core.kinds if chip.kinds else None  # sparse and conv synapses per source, priced apart
    if not _at_once(chip, core, len(srcs)):  # one packet at a time, as the general path serves each
        fired, services = [], []
        for s in srcs:
            k, f = _integrate_one(chip, core, s)
            kinds = None if kinds_of is None else kinds_of.get(s, NO_KINDS)
            _, n_fired, n_out, service = price(chip, 1, k, k, f, kinds)
            count(chip, core, None, 0.0, 1, k, k, n_fired, n_out, service, kinds)
            fired.append(f)
            services.append(service)
        return fired, services
    n_syn, fired, n_fired, n_out = integrate(chip, core, srcs)
    kinds = None  # per packet, as arrays: the general path's formula element by element
    if kinds_of is not None:
        kinds = tuple(np.array(column) for column in zip(*(kinds_of.get(s, NO_KINDS) for s in srcs)))
        core.sparse_events += int(kinds[0].sum())
        core.conv_events += int(kinds[1].sum())
    services = service_time(chip, 1, n_syn, n_syn, n_fired, n_out, kinds)
    synapses = int(n_syn.sum())
    core.messages_in += len(srcs)
    core.synaptic_events += synapses
    core.neuron_updates += synapses
    if chip.two_tier:  # as service.count: a neuron a packet updates is accessed too
        core.neuron_accesses += synapses
    core.spikes_out += int(n_fired.sum())
    core.packets_out += int(n_out.sum())
    core.busy_s = float(np.cumsum(np.concatenate(([core.busy_s], services)))[-1])  # in order, one by one
    return fired, services.tolist()


def _at_once(chip, core, n: int) -> bool:
    """Whether a run of ``n`` packets on ``core`` is integrated at once (:func:`integrate`): it is long
    enough to pay (a short run costs less packet by packet), its packets all target the same neurons,
    no reset waits for the next timestep, and a fired neuron stays refractory or the kernel runs."""
    return (n >= AT_ONCE and _block(core) is not None and not (chip.resets_next or chip.drops_input)
            and (chip.refractory or compiled() is not None))


def integrate(chip, core, srcs: list) -> tuple[np.ndarray, list, np.ndarray, np.ndarray]:
    """Integrate the packets of neurons ``srcs`` on ``core``, in that order, each followed by its
    targets' threshold (``service.threshold``); returns per packet its synapses, the neurons it
    fired (None: none), how many, and the packets they send.

    Every packet targets the same neurons (a dense layer; see :func:`_at_once`). The compiled loop
    (``kernels.integrate_rows``) serves them one after another. Without it, a fired neuron being
    refractory to the timestep's end, the packets go in at once: the potentials after each packet
    are one running sum (``np.cumsum`` adds in order, as packet after packet would), and a neuron
    fires at the first packet that takes it over threshold.
    """
    block, kernels = _block(core), compiled()
    if kernels:
        return _integrate_compiled(kernels["integrate_rows"], chip, block, srcs)
    idx, _, weights, row_of = block
    n, k = len(srcs), weights.shape[1]
    acc = np.empty((n + 1, k))
    acc[0] = chip.V[idx]
    acc[1:] = weights[row_of[srcs]]
    np.cumsum(acc, axis=0, out=acc)
    at = chip.conv["at_threshold"]
    over = fire(acc[1:], chip.theta[idx], at if np.isscalar(at) else at[idx])
    chip.V[idx] = acc[n]
    fired: list = [None] * n
    n_fired, n_out = np.zeros(n, np.int64), np.zeros(n, np.int64)
    cols = np.flatnonzero(over.any(axis=0))
    if len(cols):
        first = over[:, cols].argmax(axis=0)  # the packet at which each of them fires
        neurons = idx.start + cols if isinstance(idx, slice) else idx[cols]
        overshoot = acc[first + 1, cols] - chip.theta[neurons]
        subtract = chip.subtract_all
        chip.parked[neurons] = after_spike(overshoot, chip.subtract[neurons] if subtract is None else subtract)
        chip.V[neurons] = -np.inf
        by_packet = np.argsort(first, kind="stable")  # neuron order within a packet, as threshold gives it
        bounds = np.searchsorted(first[by_packet], np.arange(n + 1))
        n_fired = np.diff(bounds)
        for i in np.flatnonzero(n_fired).tolist():
            fired[i] = neurons[by_packet[bounds[i]:bounds[i + 1]]]
        n_out = np.bincount(first, chip.n_dst[neurons], minlength=n).astype(np.int64)  # whole numbers
    return np.full(n, k, np.int64), fired, n_fired, n_out


def _integrate_compiled(kernel, chip, block, srcs: list) -> tuple[np.ndarray, list, np.ndarray, np.ndarray]:
    """:func:`integrate` by the compiled loop (``kernels.integrate_rows``)."""
    _, targets, weights, row_of = block
    per_neuron = getattr(chip, "kernel_params", None)
    if per_neuron is None:  # the thresholds' rules, one value per neuron, built once per chip
        n = len(chip.V)
        at, subtract = chip.conv["at_threshold"], chip.subtract
        per_neuron = chip.kernel_params = (np.broadcast_to(np.asarray(at, bool), (n,)).copy(),
                                           np.broadcast_to(np.asarray(subtract, bool), (n,)).copy(),
                                           np.ascontiguousarray(chip.n_dst, np.int64))
    at, subtract, n_dst = per_neuron
    flat, start, n_out = kernel(chip.V, chip.parked, chip.theta, at, subtract, chip.refractory, targets, weights,
                                row_of[srcs], n_dst)
    n_fired = np.diff(start)
    fired: list = [None] * len(srcs)
    for i in np.flatnonzero(n_fired).tolist():
        fired[i] = flat[start[i]:start[i + 1]]
    return np.full(len(srcs), weights.shape[1], np.int64), fired, n_fired, n_out


def _integrate_one(chip, core, src: int) -> tuple[int, np.ndarray | None]:
    """``asyncmode._serve``'s integration of one light packet from neuron ``src``."""
    idx, w = core.rows[src]
    vv = chip.V[idx]
    vv += w
    if not isinstance(idx, slice):
        chip.V[idx] = vv
    return len(w), threshold(chip, idx, vv)[0]


def _block(core):
    """``(targets, the same as indices, weights per source row, row of each source)`` when all the
    packets ``core`` can get target the same neurons, else None; built once per core."""
    if not hasattr(core, "block"):
        rows = list(core.rows.items())
        idx = rows[0][1][0] if rows else None
        same = all(_same(r[0], idx) for _, r in rows)
        core.block = None
        if rows and same:
            row_of = np.full(max(s for s, _ in rows) + 1, -1)
            row_of[[s for s, _ in rows]] = np.arange(len(rows))
            as_indices = np.arange(idx.start, idx.stop) if isinstance(idx, slice) else idx
            core.block = (idx, as_indices, np.stack([r[1] for _, r in rows]), row_of)
    return core.block


def _same(a, b) -> bool:
    """Whether two packets' targets (slices, or index arrays where a sparse row is not contiguous) are the
    same neurons in the same order."""
    if isinstance(a, slice) and isinstance(b, slice):
        return a == b
    a, b = (np.arange(x.start, x.stop) if isinstance(x, slice) else x for x in (a, b))
    return len(a) == len(b) and bool((a == b).all())


def timeout_until(env: simpy.Environment, t: float):
    """Move the clock to exactly ``t`` (> now). SimPy adds a timeout's delay to now, which can
    round, and some ``t`` no single delay reaches; but from anywhere in ``[t/2, t]`` the delay
    ``t - now`` is exact (Sterbenz's lemma) and so is the sum. So: first near ``0.75 t``, then there."""
    if env.now < t / 2:
        yield env.timeout(0.75 * t - env.now)
    yield env.timeout(t - env.now)
    if env.now != t:  # cannot happen by the lemma; checked, as exactness is this module's promise
        raise Unsafe(f"the clock reached {env.now!r}, not {t!r}")
