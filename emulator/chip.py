"""The SimPy chip: cores, their input queues, the NoC, and per-sample state.

The chip holds what every execution mode shares: the network's state arrays
over global neurons (membrane potential ``V``; in async mode a refractory
neuron holds -inf and its reset value waits in ``parked``), the synapses in
the layouts the modes need, the cores with their counters, the NoC, and the
bookkeeping that tells when the network has drained. The modes themselves
(``emulator.modes``) drive it.

A packet is one (spike, destination core) pair; it carries its timestamps
(created, arrival, start of processing) and its route, so hops and queue waits
are read off the packet. Components only count; ``hw_models.cost`` prices the
counts.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import simpy

from .errors import InputError
from .noc import NOCS, Topology
from .queues import QUEUES

__all__ = ["Chip", "Core", "Packet", "COUNTERS"]

# Per-core counters, in this order in ``Chip.counts()``.
COUNTERS = ("msg_in", "syn", "upd", "spk", "msg_out", "hops_ew", "hops_ns", "local", "busy_s", "pk_in")


class Packet:
    """One (spike, destination core) pair, or a frame's input batch (``batch``)."""

    __slots__ = ("src", "src_core", "dst", "prio", "t_created", "t_arrival", "t_served", "route", "leg", "batch",
                 "row", "rec")

    def __init__(self, src, src_core, dst, prio, t_created, route, batch=None, rec=False):
        self.src, self.src_core, self.dst, self.prio = src, src_core, dst, prio
        self.t_created, self.route, self.batch = t_created, route, batch
        self.rec = rec  # carries a spike of the previous timestep to the recurrent synapses
        self.t_arrival = t_created
        self.t_served = None  # when its service started
        self.leg = 0
        self.row = -1


@dataclass
class Pairs:
    """The packets of a set of synapses, per (source core, destination core) pair (tick modes)."""

    src: np.ndarray
    dst: np.ndarray
    src_list: list
    dst_list: list
    routes: list
    fan: object  # sources x (pairs + cores), dense or CSR
    dst_cores: list  # per source neuron, the cores it sends to
    n_dst: np.ndarray


class Core:
    """A core: its neurons, input queue, back-pressured arrivals and counters."""

    def __init__(self, cid: int, neurons: np.ndarray):
        self.id = cid
        self.neurons = neurons

    def waiting(self) -> int:
        """Packets waiting now: the queue, plus those of the current busy period
        (computed in one go in fifo mode) whose service has not started yet."""
        starts = self.run_starts
        return len(self.queue) + len(starts) - bisect.bisect_right(starts, self.clock.now)

    def reset(self, queue, clock) -> None:
        """Empty queue and inbox, idle, counters at zero (start of a sample)."""
        self.queue, self.clock = queue, clock
        self.inbox: list = []  # heap of (arrival, seq, packet, accepted event) not yet queued
        self.wake: simpy.Event | None = None  # set while the core is idle
        self.sleep_until = float("inf")
        self.free_at = 0.0
        self.run_starts: list[float] = []  # service start times of the current busy period
        self.intake_at: float | None = None  # when a held packet is next let in
        self.batch_left, self.batch_seen = 0, []  # frame input: parts still to come, targets so far
        self.sent: dict[int, int] = {}  # packets per destination core
        for name in COUNTERS:
            setattr(self, name, 0)


def _wake(timer: simpy.Event) -> None:
    ev = timer.value
    if not ev.triggered:
        ev.succeed()


class Chip:
    """A network mapped onto a hardware profile, ready to run samples."""

    def __init__(self, net, hw, mapping, noc: str = "analytic", queue: str = "fifo",
                 seed: int = 0, refractory: bool = True):
        if noc not in NOCS:
            raise InputError("--noc", "noc", f"unknown NoC fidelity {noc!r} (use {', '.join(NOCS)})")
        if queue not in QUEUES:
            raise InputError("--queue", "queue", f"unknown queue policy {queue!r} (use {', '.join(QUEUES)})")
        self.net, self.hw, self.mapping = net, hw, mapping
        self.noc_kind, self.queue_kind, self.seed = noc, queue, seed
        self.topo = Topology(hw)
        self.refractory = refractory
        self.tracer = None  # a traces.recorder.Tracer, set per chunk of samples by the run
        n, n_cores = net.n_neurons, mapping.n_cores
        self.core_of = mapping.core_of
        self.beta, self.theta, self.bias, self.subtract = net.global_params()
        self.cuba = net.has_synaptic_state  # CubaLIF layers: a synaptic current state S per neuron
        self.alpha, self.gain, self.ibias = net.global_synaptic()
        resets = {bool(s) for p in net.populations[1:] for s in p.subtract}
        self.reset_kind = "mixed" if len(resets) > 1 else ("subtract" if resets == {True} else "zero")
        self.cores = [Core(c, mapping.neurons_of(c)) for c in range(n_cores)]
        self.used = np.flatnonzero(np.bincount(self.core_of, minlength=n_cores))
        self.tiles_used = len({c // hw.mesh.cores_per_tile for c in self.used})
        self.out_lo = int(net.offsets[-2])
        self._cache: dict[tuple, np.ndarray] = {}
        w_all = net.global_weights()
        self._build_synapses(w_all, n, n_cores)
        # Recurrent synapses (delay 1): the tick modes leave them out of the last timestep's
        # packets (pairs_ff); async sends them apart from the feed-forward ones (dst_cores,
        # rows), released at the next timestep (dst_rec, rows_rec).
        self.has_recurrent = any(pr.delay for pr in net.projections)
        w_ff = net.global_weights(delay=0) if self.has_recurrent else w_all
        self.pairs_ff = self._pairs(w_ff, n, n_cores) if self.has_recurrent else self.pairs
        self._w, self.dst_cores, self.n_dst = w_ff, self.pairs_ff.dst_cores, self.pairs_ff.n_dst
        self._w_rec, self.dst_rec, self.n_dst_rec = None, [()] * n, np.zeros(n, np.int64)
        if self.has_recurrent:
            self._w_rec = net.global_weights(delay=1)
            rec = self._pairs(self._w_rec, n, n_cores)
            self.dst_rec, self.n_dst_rec = rec.dst_cores, rec.n_dst
        self.n_dst_list, self.n_dst_rec_list = self.n_dst.tolist(), self.n_dst_rec.tolist()
        self._rows: list[dict] | None = None
        self._rows_rec: list[dict] | None = None
        self.V = np.zeros(n)
        self.parked = np.zeros(n)  # async: the reset potential of refractory neurons
        self.spike_count = np.zeros(n, np.int64)
        self.capacity = hw.core.queue_capacity
        lat = hw.core.latency_s
        self.lat = (lat.message_in, lat.synaptic_op, lat.neuron_update, lat.spike_out, lat.message_out)
        self.ticked = False  # set by the tick modes: packets only carry timing there
        self.realtime = False  # set by async mode: frames enter on the clock
        self.begin_sample(0)

    # -- construction --------------------------------------------------------------
    def _build_synapses(self, w: sp.csr_matrix, n: int, n_cores: int) -> None:
        """Lay out the synapses: per projection (tick currents), per core pair (tick
        packets); the per-core synapse counts."""
        # Per projection: source and target ranges, weights (src x dst) dense when mostly full.
        offs = self.net.offsets
        self._proj = []
        for pr in self.net.projections:
            wt = pr.weights
            dense = wt.nnz > 0.25 * wt.shape[0] * wt.shape[1]
            self._proj.append((int(offs[pr.src]), int(offs[pr.src + 1]), int(offs[pr.dst]), int(offs[pr.dst + 1]),
                               wt.toarray() if dense else wt.tocsr(), pr.delay))
        self.pairs = self._pairs(w, n, n_cores)
        cols = w.indices
        fan_in = np.bincount(self.core_of[cols], minlength=n_cores) if len(cols) else np.zeros(n_cores, int)
        self.synapses_per_core = fan_in
        cap = self.hw.core.max_synapses
        if cap is not None and fan_in.max(initial=0) > cap:
            c = int(fan_in.argmax())
            raise InputError(self.hw.path, "core.max_synapses",
                             f"core {c} gets {fan_in[c]} synapses; the limit is {cap}")

    def _pairs(self, w: sp.csr_matrix, n: int, n_cores: int) -> Pairs:
        """The (source core, destination core) pairs that carry the packets of synapses ``w``,
        sorted; per phase, one product with ``fan`` counts the packets per pair and the
        synapses per core."""
        rows, cols = w.nonzero()
        fan = sp.csr_matrix((np.ones(len(rows)), (rows, self.core_of[cols])), shape=(n, n_cores))
        fan.sum_duplicates()
        has = fan.copy()  # sources x cores: 1 where the source sends a packet to that core
        has.data[:] = 1.0
        has.sort_indices()
        senders = has.nonzero()[0]
        keys = self.core_of[senders] * n_cores + has.indices
        pair_keys = np.unique(keys)
        src, dst = pair_keys // n_cores, pair_keys % n_cores
        pair_of = np.searchsorted(pair_keys, keys)
        per_pair = sp.csr_matrix((np.ones(len(pair_of)), (senders, pair_of)), shape=(n, len(pair_keys)))
        pair_fan = sp.hstack([per_pair, fan]).tocsr()  # sources x (pairs + cores)
        small = pair_fan.shape[0] * pair_fan.shape[1] <= 2_000_000
        return Pairs(src, dst, src.tolist(), dst.tolist(), [self.topo.route(a, b) for a, b in zip(src.tolist(), dst.tolist())],
                     pair_fan.toarray() if small else pair_fan,  # dense rows are cheap to gather
                     [tuple(has.indices[has.indptr[s]:has.indptr[s + 1]].tolist()) for s in range(n)],
                     np.diff(has.indptr).astype(np.int64))

    def _row_table(self, w: sp.csr_matrix, dst_cores) -> list[dict]:
        """``table[s][c]`` = (targets, weights) of source s on core c."""
        core_of = self.core_of
        table = [{} for _ in range(w.shape[0])]
        for s in range(w.shape[0]):
            lo, hi = w.indptr[s], w.indptr[s + 1]
            tg, wt = w.indices[lo:hi].astype(np.int64), w.data[lo:hi]
            cores = core_of[tg]
            for c in dst_cores[s]:
                sel = cores == c
                t = tg[sel]
                contiguous = t[-1] - t[0] + 1 == len(t)
                table[s][c] = (slice(int(t[0]), int(t[-1]) + 1) if contiguous else t, wt[sel])
        return table

    @property
    def rows(self) -> list[dict]:
        """``rows[s][c]`` = (targets, weights) of source s on core c, feed-forward (built on first use)."""
        if self._rows is None:
            self._rows = self._row_table(self._w, self.dst_cores)
        return self._rows

    @property
    def rows_rec(self) -> list[dict]:
        """The same for the recurrent synapses (delay 1)."""
        if self._rows_rec is None:
            self._rows_rec = self._row_table(self._w_rec, self.dst_rec)
        return self._rows_rec

    def currents(self, s_in: np.ndarray, lo: int, hi: int, touched: bool, s_rec: np.ndarray | None = None):
        """Synaptic current into neurons ``lo:hi`` from the spike counts ``s_in`` (and, through
        the recurrent projections, from ``s_rec``, the previous timestep's spikes).

        Works projection by projection: dense projections as one product,
        sparse ones through the CSR rows of the spiking sources.
        With ``touched``, also returns which of the neurons received a spike.
        """
        cur = np.zeros(hi - lo)
        hit = np.zeros(hi - lo, bool) if touched else None
        for s_lo, s_hi, d_lo, d_hi, w, delay in self._proj:
            if d_lo < lo or d_hi > hi or (delay and s_rec is None):
                continue
            s = (s_rec if delay else s_in)[s_lo:s_hi]
            if isinstance(w, np.ndarray):
                cur[d_lo - lo:d_hi - lo] += s @ w
                if touched:
                    hit[d_lo - lo:d_hi - lo] |= (w[np.flatnonzero(s)] != 0).any(axis=0)
                continue
            src = np.flatnonzero(s)
            if len(src):
                rows = w[src]
                cur[d_lo - lo:d_hi - lo] += rows.T @ s[src]
                if touched:
                    hit[d_lo - lo:d_hi - lo][np.unique(rows.indices)] = True
        return cur, hit

    def neurons_per_core(self, lo: int, hi: int) -> np.ndarray:
        key = ("n", lo, hi)
        if key not in self._cache:
            self._cache[key] = np.bincount(self.core_of[lo:hi], minlength=len(self.cores)).astype(float)
        return self._cache[key]

    # -- per-sample state ----------------------------------------------------------
    def begin_sample(self, sample: int) -> None:
        """Fresh state for a sample: its own clock from 0, NoC, queues and seed.

        A sample's records therefore do not depend on where it sits in a run.
        """
        self.sample, self.step = sample, 0
        self.env = simpy.Environment()
        self.noc = NOCS[self.noc_kind](self.env, self.topo, self.hw, self.deliver)
        rng = np.random.default_rng([self.seed, sample])
        for core in self.cores:
            core.reset(QUEUES[self.queue_kind](rng), self.env)
        self.V[:] = 0.0
        self.S = np.zeros(len(self.V))  # CubaLIF synaptic currents
        self.spike_count[:] = 0
        self.out_first = np.inf
        self.t_first_input: float | None = None  # when the first input spike was injected
        self.incoming = (np.zeros(len(self.cores)), np.zeros(len(self.cores)))  # tick modes: (packets, synapses)
        self.pending = 0
        self._seq = 0
        self.drained: simpy.Event | None = None
        self.barriers = 0
        self.held: list[tuple[int, int]] = []  # async: (spike, core) for the recurrent synapses, next timestep

    def counts(self) -> np.ndarray:
        """The per-core counters of the current sample, ``(n_cores, len(COUNTERS))``."""
        return np.array([[getattr(c, k) for k in COUNTERS] for c in self.cores], dtype=float)

    def link_packets(self) -> np.ndarray:
        """Packets that crossed each NoC link in the current sample (link ids of :class:`Topology`)."""
        per_link = np.zeros(self.topo.n_links)
        for core in self.cores:
            for dst, n in core.sent.items():
                per_link[list(self.topo.route(core.id, dst).links)] += n
        return per_link

    # -- packets -------------------------------------------------------------------
    def send(self, src: int, src_core: int, dst: int, prio: float, batch=None, rec: bool = False) -> None:
        """Create a packet now and hand it to the NoC (never blocks the sender)."""
        route = self.topo.route(src_core, dst)
        core = self.cores[src_core]
        core.hops_ew += route.hops_ew
        core.hops_ns += route.hops_ns
        core.local += route.local
        core.sent[dst] = core.sent.get(dst, 0) + 1
        self.pending += 1
        pkt = Packet(src, src_core, dst, prio, self.env.now, route, batch, rec)
        if self.tracer is not None:
            pkt.row = self.tracer.packet(self, pkt)
        arrival = self.noc.send(pkt, route)
        if arrival is None:
            return  # the router NoC calls deliver() when it arrives
        if self.ticked:
            self.cores[dst].pk_in += 1  # tick modes integrate from the spike vector
            self.done()
        else:
            self.arrive(pkt, arrival)

    def arrive(self, pkt: Packet, t: float, accepted: simpy.Event | None = None) -> None:
        """``pkt`` reaches its core at ``t`` (now or later): it waits in the core's inbox
        until the core takes it into its queue; ``accepted`` fires when it does."""
        pkt.t_arrival = t
        core = self.cores[pkt.dst]
        self._seq += 1
        heapq.heappush(core.inbox, (t, self._seq, pkt, accepted))
        if core.wake is not None and t < core.sleep_until:
            core.sleep_until = t
            self.wake_at(core.wake, t)

    def wake_at(self, ev: simpy.Event, t: float) -> None:
        timer = self.env.timeout(t - self.env.now, ev)
        timer.callbacks.append(_wake)

    def deliver(self, pkt: Packet):
        """Router NoC: a packet reached its core now. Returns an event to hold the
        last link on while the core's queue is full, else None."""
        core = self.cores[pkt.dst]
        if self.ticked:
            core.pk_in += 1
            self.done()
            return None
        if (self.capacity is None or core.waiting() < self.capacity) and not core.inbox:
            pkt.t_arrival = self.env.now
            core.queue.push(pkt)
            core.pk_in += 1
            if core.wake is not None and not core.wake.triggered:
                core.wake.succeed()
            return None
        accepted = self.env.event()
        self.arrive(pkt, self.env.now, accepted)
        self._intake_at_next_start(core)
        return accepted

    def _intake_at_next_start(self, core: Core) -> None:
        """A packet is held: let it in when the next service of the busy period starts."""
        now = self.env.now
        nxt = next((s for s in core.run_starts if s > now), None)
        if nxt is None or core.intake_at == nxt:
            return
        core.intake_at = nxt
        timer = self.env.timeout(nxt - now, core)
        timer.callbacks.append(self._timed_intake)

    def _timed_intake(self, timer: simpy.Event) -> None:
        core = timer.value
        core.intake_at = None
        self.intake(core)
        if core.inbox:
            self._intake_at_next_start(core)

    def intake(self, core: Core) -> None:
        """Move the packets that have arrived into the queue, while it has space.

        A packet that finds the queue full stays in the network (the inbox),
        which is the back-pressure; none is dropped.
        """
        inbox, q, now, cap = core.inbox, core.queue, self.env.now, self.capacity
        while inbox and inbox[0][0] <= now and (cap is None or core.waiting() < cap):
            _, _, pkt, accepted = heapq.heappop(inbox)
            q.push(pkt)
            core.pk_in += 1
            if accepted is not None:
                accepted.succeed()

    def done(self, n: int = 1) -> None:
        """``n`` units of work finished; signal ``drained`` when none is left."""
        self.pending -= n
        if self.pending == 0 and self.drained is not None and not self.drained.triggered:
            self.drained.succeed()

    def wait_drained(self):
        """An event that fires once no packet or scheduled work is left."""
        self.drained = self.env.event()
        if self.pending == 0:
            self.drained.succeed()
        return self.drained

    def emit(self, ev: simpy.Event) -> None:
        """A packet's service ended: its spikes leave now, in neuron order."""
        cid, fired, fired_list, overshoot = ev.value
        now = self.env.now
        net = fired < self.out_lo
        self.record_output(fired[~net], now)
        if self.tracer is not None:
            self.tracer.spikes(self, fired[net], now)
        dst_cores, out_lo = self.dst_cores, self.out_lo
        for s, p in zip(fired_list, overshoot):
            if s < out_lo:
                for dst in dst_cores[s]:
                    self.send(s, cid, dst, p)
        if self.has_recurrent:  # recurrent synapses get these spikes at the next timestep
            self.held += [(s, cid) for s in fired_list if self.n_dst_rec_list[s]]
        self.done()

    def input_injected(self, t: float) -> None:
        if self.t_first_input is None or t < self.t_first_input:
            self.t_first_input = t

    def record_output(self, neurons: np.ndarray, t: float) -> None:
        """Output-layer spikes make no packets: they are recorded here."""
        if len(neurons):
            self.out_first = min(self.out_first, t)
            if self.tracer is not None:
                self.tracer.spikes(self, neurons, t)

    def stuck(self) -> str:
        parts = [f"core {c.id} ({len(c.queue)} queued, {len(c.inbox)} held in the network)"
                 for c in self.cores if len(c.queue) or c.inbox]
        return "; ".join(parts + self.noc.stuck()) or "no component holds work"
