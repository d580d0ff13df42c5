"""The SimPy chip: cores, their input queues, the NoC, and per-sample state.

The chip holds what every execution mode shares: the network's state arrays
over global neurons (membrane potential ``V``; in async mode a refractory
neuron holds -inf and its reset value waits in ``parked``), the synapses in
the layouts the modes need, the cores with their counters, the NoC, and the
bookkeeping that tells when the network has drained. The modes themselves
(``emulator.chip.modes``) drive it; the synapse layouts they read are
``emulator.chip.synapses``.

A packet is one (spike, destination core) pair; it carries its timestamps
(created, arrival, start of processing) and its route, so hops and queue waits
are read off the packet. Components only count; ``hw_models.cost`` prices the
counts.
"""

from __future__ import annotations

import bisect
import heapq

import numpy as np
import simpy

from ..model import SUBTRACT, SUBTRACT_NEXT, predict
from .counters import COUNTER_NAMES, CoreCounters
from .noc import NOCS, Topology
from .queues import QUEUES
from .synapses import KINDS_APART, Synapses

__all__ = ["Chip", "Core", "Packet"]

IDLE_S = 1e-12  # a core idle for longer than this is gated (power_gating idle); shorter gaps are float rounding


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


class Core:
    """A core: its neurons, input queue, back-pressured arrivals and counters; or, with ``port``, an I/O
    port that input neurons enter through (it only sends, and counts its packets as ``io_packets``)."""

    def __init__(self, cid: int, neurons: np.ndarray, port: bool = False):
        self.id = cid
        self.neurons = neurons
        self.port = port

    def waiting(self) -> int:
        """Packets waiting now: the queue, plus those of the current busy period
        (computed in one go in fifo mode) whose service has not started yet."""
        starts = self.run_starts
        return len(self.queue) + len(starts) - bisect.bisect_right(starts, self.clock.now)

    def room(self) -> float:
        """How many more packets the queue takes now (``capacity`` less :meth:`waiting`; inf: no limit)."""
        return float("inf") if self.capacity is None else self.capacity - self.waiting()

    def reset(self, queue, clock, capacity) -> None:
        """Empty queue and inbox, idle, counters at zero (start of a sample)."""
        self.queue, self.clock, self.capacity = queue, clock, capacity
        self.inbox: list = []  # heap of (arrival, seq, packet, accepted event) not yet queued
        self.wake: simpy.Event | None = None  # set while the core is idle
        self.sleep_until = float("inf")
        self.free_at = 0.0
        self.run_starts: list[float] = []  # service start times of the current busy period
        self.intake_at: float | None = None  # when a held packet is next let in
        self.batch_left, self.batch_seen = 0, []  # frame input: parts still to come, targets so far
        self.sent: dict[int, int] = {}  # packets per destination core
        self.work_end = -np.inf  # when its last work ends (power_gating idle: gated from the sample's start)
        self.owed: list = []  # async, with an early decision: the counts of the service under way
        for name in COUNTER_NAMES:
            setattr(self, name, 0)


def _one_value(network: np.ndarray, every: np.ndarray):
    """One Python value when the network neurons all agree, else the per-neuron array ``every``."""
    if len(network) and (network == network[0]).all():
        return bool(network[0]) if network.dtype == bool else int(network[0])
    return every


def _wake(timer: simpy.Event) -> None:
    ev = timer.value
    if not ev.triggered:
        ev.succeed()


class Chip:
    """A network mapped onto a hardware profile, ready to run samples."""

    def __init__(self, net, hw, mapping, noc: str = "analytic", queue: str = "fifo",
                 seed: int = 0, refractory: bool = True, frame_s: float | None = None,
                 stop_on_output: int | None = None):
        self.net, self.hw, self.mapping = net, hw, mapping
        # an early decision: a sample ends at its output spike number stop_on_output + 1 (async), or after
        # the timestep in which it leaves (the tick modes); None: every sample runs all its frames
        self.stop_on_output = stop_on_output
        self.noc_kind, self.queue_kind, self.seed = noc, queue, seed
        self.topo = Topology(hw)
        self.refractory = refractory
        self.frame_s = frame_s  # the frames' width: with realtime input, frame k enters at k * frame_s
        self.tracer = None  # an emulator.records.Tracer, set per chunk of samples by the run
        n, n_cores = net.n_neurons, mapping.n_units  # the cores, then the I/O ports
        self.core_of = mapping.core_of
        self.beta, self.theta, self.bias, self.subtract = net.global_params()
        self.biased = self.bias != 0  # a two-tier profile updates these every timestep
        self.cuba = net.has_synaptic_state  # CubaLIF layers: a synaptic current state S per neuron
        self.alpha, self.gain, self.ibias = net.global_synaptic()
        self.conventions = conv = net.global_conventions()  # per neuron
        # The same, as one value where every network neuron agrees (the common case, and the fast one);
        # input neurons never integrate, fire or reset, so their defaults do not count.
        n_in = net.populations[0].size
        self.conv = {k: _one_value(a[n_in:], a) for k, a in conv.items()}
        self.resets_next = bool((conv["reset"] == SUBTRACT_NEXT).any())  # snnTorch's subtract at the next step
        self.drops_input = bool(conv["drop_input"].any())
        reset = self.conv["reset"]
        self.subtract_all = None if not np.isscalar(reset) else reset == SUBTRACT  # None: the layers differ
        self._step_conv: dict[tuple[int, int], dict] = {}
        self.cores = [Core(c, mapping.neurons_of(c), c >= mapping.n_cores) for c in range(n_cores)]
        self.used = np.flatnonzero(np.bincount(self.core_of, minlength=n_cores)[:mapping.n_cores])  # cores only
        self.ports = np.arange(mapping.n_cores, n_cores)
        self.io = hw.io
        self.tiles_used = len({c // hw.mesh.cores_per_tile for c in self.used})
        self.out_lo = int(net.offsets[-2])
        self.synapses = syn = Synapses(net, hw, self.core_of, n_cores, self.topo)
        self.synapses_per_core = syn.per_core
        self.has_recurrent = syn.has_recurrent
        # Read on every packet in async mode: kept here as plain attributes.
        self.dst_cores, self.n_dst, self.dst_rec = syn.dst_cores, syn.n_dst, syn.dst_rec
        self.n_dst_list, self.n_dst_rec_list = syn.n_dst.tolist(), syn.n_dst_rec.tolist()
        self.V = np.zeros(n)
        self.parked = np.zeros(n)  # async: the reset potential of refractory neurons
        self.spike_count = np.zeros(n, np.int64)
        self.capacity = hw.core.queue_capacity
        lat = hw.core.latency_s
        # Async mode's per-packet formula. On a two-tier profile a neuron a packet updates is also accessed: its
        # update takes both latencies (the leak sweep, which accesses every neuron, prices the two apart).
        self.two_tier = hw.core.two_tier
        self.gates_idle = hw.core.power_gating == "idle"  # a core without work is gated: it wakes to work
        self.wake_latency = hw.core.wake_latency_s
        touched = lat.neuron_update + hw.core.neuron_access.latency_s if self.two_tier else lat.neuron_update
        self.lat = (lat.message_in, lat.synaptic_op, touched, lat.spike_out, lat.message_out)
        # sparse and convolutional synapses priced apart from dense ones (empty: all priced as dense)
        self.kinds = syn.kinds
        self.lat_kinds = tuple(hw.core.synapse_cost(k).latency_s for k in KINDS_APART)
        self.begin_sample(0)

    # -- per-sample state ----------------------------------------------------------
    def begin_sample(self, sample: int, mode=None) -> None:
        """Fresh state for a sample: its own clock from 0, NoC, queues and seed, and the packet
        transport of its execution ``mode`` (an ``emulator.chip.modes.Mode``; None: async's).

        A sample's records therefore do not depend on where it sits in a run.
        """
        self.sample, self.step = sample, 0
        self.ticked = mode is not None and mode.ticked  # packets only carry timing: phases integrate
        self.env = simpy.Environment()
        self.noc = NOCS[self.noc_kind](self.env, self.topo, self.hw, self.deliver)
        rng = np.random.default_rng([self.seed, sample])
        for core in self.cores:
            core.reset(QUEUES[self.queue_kind](rng), self.env, self.capacity)
        self.V[:] = 0.0
        self.S = np.zeros(len(self.V))  # CubaLIF synaptic currents
        self.spike_count[:] = 0
        self.out_first = np.inf
        n_out = self.net.output.size
        self.out_counts = np.zeros(n_out, np.int64)  # output spikes that have left, per output neuron
        self.out_first_by = np.full(n_out, np.inf)  # when each output neuron's first spike left
        self.out_total = 0
        self.decided = self.env.event()  # fires at the early decision (stop_on_output)
        self.t_first_input: float | None = None  # when the first input spike was injected
        # tick modes: (packets, synapses) per core, the synapses then per kind priced apart (Synapses.kinds)
        self.incoming = (np.zeros(len(self.cores)), np.zeros(len(self.cores) * (1 + len(self.kinds))))
        self.pending = 0
        self._seq = 0
        self.drained: simpy.Event | None = None
        self.barriers = 0
        self.held: list[tuple[int, int]] = []  # async: (spike, core) for the recurrent synapses, next timestep
        self.debt = np.zeros(len(self.V)) if self.resets_next else None  # theta owed by last step's spikes
        self.dropped = np.zeros(len(self.V), bool) if self.drops_input else None  # lose this step's input
        # async mode's packet transport; its fast path (modes.async_fast) puts its own in for the sample
        self.schedule_emit, self.send_spike = self.emit_at, self.send_input_spike
        self.general_only = False  # async: the fast path gave up on this sample (its rerun)

    def step_state(self, lo: int, hi: int) -> dict:
        """The conventions and per-step state of neurons ``lo:hi``, as ``model.timestep`` takes them."""
        if (lo, hi) not in self._step_conv:  # the same few ranges every phase: sliced once
            part = {k: v if np.isscalar(v) else v[lo:hi] for k, v in self.conv.items()}
            self._step_conv[lo, hi] = {"kind": part["reset"], "at_threshold": part["at_threshold"],
                                       "several": part["several"], "drop_input": part["drop_input"]}
        kwargs = dict(self._step_conv[lo, hi])
        if self.debt is not None:
            kwargs["debt"] = self.debt[lo:hi]
        if self.dropped is not None:
            kwargs["dropped"] = self.dropped[lo:hi]
        if self.cuba:
            kwargs.update(s=self.S[lo:hi], alpha=self.alpha[lo:hi], gain=self.gain[lo:hi], ibias=self.ibias[lo:hi])
        return kwargs

    def keep_step_state(self, lo: int, hi: int, debt, dropped) -> None:
        """What neurons ``lo:hi`` owe their next step (``model.timestep``'s debt and dropped)."""
        if self.debt is not None:
            self.debt[lo:hi] = 0.0 if debt is None else debt
        if self.dropped is not None:
            self.dropped[lo:hi] = False if dropped is None else dropped

    def wake(self, core: Core, t: float) -> float:
        """Work on ``core`` could start at ``t``: with ``power_gating: idle`` a core idle since its last work
        (by more than 1 ps, float rounding aside) wakes first, a wake-up counted; returns when the work starts."""
        if self.gates_idle and t - core.work_end > IDLE_S and not core.port:
            core.wakeups += 1
            return t + self.wake_latency
        return t

    def counts(self) -> CoreCounters:
        """The per-core counters of the current sample."""
        return CoreCounters.of(self.cores)

    def link_packets(self) -> np.ndarray:
        """Packets that crossed each NoC link in the current sample (link ids of :class:`Topology`)."""
        per_link = np.zeros(self.topo.n_links)
        for core in self.cores:
            for dst, n in core.sent.items():
                per_link[list(self.topo.route(core.id, dst).links)] += n
        return per_link

    # -- packets -------------------------------------------------------------------
    def send(self, src: int, src_core: int, dst: int, prio: float, batch=None, rec: bool = False) -> None:
        """Create a packet now and hand it to the NoC (the router NoC may hold it at the sender: ``noc.stalled``)."""
        route = self.topo.route(src_core, dst)
        core = self.cores[src_core]
        core.hops_ew += route.hops_ew
        core.hops_ns += route.hops_ns
        core.local += route.local
        core.sent[dst] = core.sent.get(dst, 0) + 1
        self.pending += 1
        pkt = Packet(src, src_core, dst, prio, self.env.now, route, batch, rec)
        if self.tracer is not None:
            pkt.row = self.tracer.packet(src, src_core, dst, pkt.t_created, route.hops, sample=self.sample,
                                         step=self.step)
        arrival = self.noc.send(pkt, route)
        if arrival is None:
            return  # the router NoC calls deliver() when it arrives
        if self.ticked:
            self.cores[dst].packets_received += 1  # tick modes integrate from the spike vector
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
            core.packets_received += 1
            self.done()
            return None
        if (self.capacity is None or core.waiting() < self.capacity) and not core.inbox:
            pkt.t_arrival = self.env.now
            core.queue.push(pkt)
            core.packets_received += 1
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
        inbox, q, now = core.inbox, core.queue, self.env.now
        room = core.room()
        while inbox and inbox[0][0] <= now and room > 0:
            _, _, pkt, accepted = heapq.heappop(inbox)
            q.push(pkt)
            core.packets_received += 1
            room -= 1
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

    def emit_at(self, cid: int, t: float, fired: np.ndarray, fired_list: list, overshoot: list) -> None:
        """Core ``cid``'s spikes ``fired`` leave at ``t``, when their service ends (:meth:`emit`)."""
        self.pending += 1
        ev = self.env.timeout(t - self.env.now, (cid, fired, fired_list, overshoot))
        ev.callbacks.append(self.emit)

    def emit(self, ev: simpy.Event) -> None:
        """A packet's service ended: its spikes leave now, in neuron order."""
        cid, fired, fired_list, overshoot = ev.value
        now = self.env.now
        self.spike_count[fired] += 1  # a spike counts once it has left (an early decision may come first)
        net = fired < self.out_lo
        self.record_output(fired[~net], now)
        if self.tracer is not None:
            self.trace_spikes(fired[net], now)
        dst_cores, out_lo = self.dst_cores, self.out_lo
        for s, p in zip(fired_list, overshoot):
            if s < out_lo:
                for dst in dst_cores[s]:
                    self.send(s, cid, dst, p)
        if self.has_recurrent:  # recurrent synapses get these spikes at the next timestep
            self.held += [(s, cid) for s in fired_list if self.n_dst_rec_list[s]]
        self.done()

    def send_input_spike(self, s: int, src_core: int, now: None = None) -> None:
        """Event input: input spike ``s`` leaves ``src_core`` now, one packet per destination core (the
        general path sends at the current time only)."""
        for dst in self.dst_cores[s]:
            self.send(s, src_core, dst, np.inf)

    def input_injected(self, t: float) -> None:
        if self.t_first_input is None or t < self.t_first_input:
            self.t_first_input = t

    def record_output(self, neurons: np.ndarray, t: float, counts=1) -> None:
        """Output-layer spikes make no packets: they are recorded here (``counts`` each of the distinct
        global ``neurons``, all leaving at ``t``)."""
        if len(neurons):
            self.note_outputs(neurons, counts, t)
            if self.tracer is not None:
                self.trace_spikes(neurons if np.isscalar(counts) else np.repeat(neurons, counts), t)

    def note_outputs(self, neurons: np.ndarray, counts, t) -> None:
        """Count output spikes: ``counts`` each of the distinct global ``neurons``, leaving at ``t`` (one
        time, or one per neuron); in async mode the one that makes the early decision ends the sample."""
        local = neurons - self.out_lo
        self.out_counts[local] += counts
        self.out_first_by[local] = np.minimum(self.out_first_by[local], t)
        self.out_first = min(self.out_first, float(np.min(t)))
        self.out_total += counts * len(local) if np.isscalar(counts) else int(np.sum(counts))
        if self.decision_reached() and not self.decided.triggered:
            self.decided.succeed()

    def decision_reached(self) -> bool:
        """The output has fired ``stop_on_output + 1`` spikes: K after its first."""
        return self.stop_on_output is not None and self.out_total > self.stop_on_output

    def trace_spikes(self, neurons: np.ndarray, t: float) -> None:
        """Trace rows for spikes of global ``neurons`` leaving at ``t`` (tracing on)."""
        self.tracer.spikes(neurons, t, sample=self.sample, step=self.step)

    def trace_packets(self, sources: np.ndarray, src_core: int, t: float, dst_cores) -> None:
        """Trace rows for the packets of spikes ``sources`` leaving ``src_core`` at ``t`` (tick modes)."""
        route = self.topo.route
        for s in sources.tolist():
            for d in dst_cores[s]:
                self.tracer.packet(s, src_core, d, t, route(src_core, d).hops, sample=self.sample, step=self.step)

    def prediction(self) -> int:
        """The sample's class, by the network's readout of the output spikes that have left (-1: none)."""
        out = slice(self.out_lo, None)
        return int(predict(self.out_counts[None, :], self.V[None, out], self.net.readout)[0])

    def stuck(self) -> str:
        """What holds work when a sample deadlocks: the cycle of waits (router NoC), cores, links."""
        cycle = self.noc.cycle()
        parts = [f"cycle of waits: {' -> '.join(cycle)}"] if cycle else []
        parts += [f"core {c.id} ({len(c.queue)} queued, {len(c.inbox)} held in the network)"
                  for c in self.cores if len(c.queue) or c.inbox]
        return "; ".join(parts + self.noc.stuck()) or "no component holds work"
