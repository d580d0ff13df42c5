"""The functional reference: the network's semantics in vectorized NumPy, no hardware.

It runs a batch of samples at once (a batch dimension, never a loop over
samples) in the same three modes as the chip:

- ``layered``: per timestep each layer integrates all of the previous
  layer's spikes, then evaluates its thresholds once.
- ``timestep``: spikes of tick k are integrated at tick k+1 (T + L ticks;
  spikes of the last tick are recorded only).
- ``async``, in *forward steps* (the asynctorch semantics). Per timestep:

  1. every neuron decays once, ``V <- beta*V + bias``; refractory flags clear;
  2. input: with ``prioritize_input`` (the default) the frame's input spikes
     are integrated as one current; otherwise they join the spike queue in
     input-index order;
  3. forward steps until no spike is queued and no current is pending:
     integrate the pending current into every non-refractory neuron (current
     reaching a refractory neuron is discarded); fire where ``V > theta``;
     keep the overshoot ``V - theta``; reset; mark the fired neurons
     refractory until the next timestep (skipped with probability
     ``refrac_dropout``); queue their spikes; let the scheduler emit the
     first ``F`` queued spikes; their synapses are the next step's current.

  Schedulers: ``fifo`` (by the step the spike was queued in, then neuron
  index), ``momentum`` (largest overshoot first, ties to the lower index;
  optional tie-break noise ``momentum_noise``), ``random`` (seeded).
  Output-layer spikes are recorded and take no queue slot, as on the chip,
  where they make no packets.

A recurrent projection (a layer onto itself) carries a layer's spikes of
timestep t into timestep t+1 in every mode: in ``layered`` with the layer's
input of t+1, in ``timestep`` like any projection (one tick late), in
``async`` as one current pending at the start of t+1, next to the input.

Without recurrence: with F at least as large as the widest layer, async
equals layered; with F = 1 it equals the chip in async mode on one ideal
core. (A recurrent current is integrated at a timestep's first forward step,
before the layer's feed-forward input, and the chip serves it packet by
packet, so neither equality holds for recurrent networks.) Options:
``stop_on_output`` (a sample ends K forward steps after its first output
spike), ``max_steps`` (forward steps per timestep; queued spikes carry over),
``input_dropout`` and ``spike_dropout`` (each spike dropped with that
probability when it would be queued or integrated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .neuron import fire, leak, synapse

__all__ = ["FunctionalConfig", "FunctionalResult", "simulate", "SCHEDULERS"]

SCHEDULERS = ("fifo", "momentum", "random")


@dataclass
class FunctionalConfig:
    mode: str = "layered"
    queue: str = "fifo"
    F: int | None = None  # spikes emitted per forward step; None: unlimited
    prioritize_input: bool = True
    refractory: bool = True
    refrac_dropout: float = 0.0
    momentum_noise: float = 0.0
    stop_on_output: int | None = None
    max_steps: int | None = None
    input_dropout: float = 0.0
    spike_dropout: float = 0.0
    seed: int = 0
    record: bool = False  # keep every spike: (sample, timestep, global neuron)


@dataclass
class FunctionalResult:
    spikes: np.ndarray  # (B, populations) spike counts, input included
    sops: np.ndarray  # (B,) synaptic events
    forward_steps: np.ndarray  # (B,) forward steps (async), phases or ticks otherwise
    latency_steps: np.ndarray  # (B,) network spikes processed before the first output spike (NaN: none)
    latency_steps_correct: np.ndarray  # (B,) ... before the first output spike of the label (NaN: none)
    pred_rate: np.ndarray  # (B,) argmax of output counts, -1 without output spikes
    pred_first: np.ndarray  # (B,) the output neuron that fired first, -1 without
    output_counts: np.ndarray  # (B, n_out)
    events: dict = field(default_factory=dict)  # with record: arrays sample, step, neuron


class _Net:
    """The network as dense per-layer arrays, batched state (B, neurons)."""

    def __init__(self, net):
        self.net = net
        self.offsets = net.offsets
        self.layers = net.populations[1:]
        L = len(self.layers)
        self.weights = [net.feed_forward(i + 1).weights.toarray() for i in range(L)]  # (n_{l-1}, n_l)
        self.fanout = [(w != 0).sum(axis=1).astype(float) for w in self.weights]
        rec = [net.recurrent(i + 1) for i in range(L)]
        self.rec = [None if r is None else r.weights.toarray() for r in rec]  # (n_l, n_l), one timestep late
        self.rec_fanout = [None if w is None else (w != 0).sum(axis=1).astype(float) for w in self.rec]
        self.cuba = net.has_synaptic_state
        alpha, gain, ibias = net.global_synaptic()
        cut = [(int(net.offsets[i + 1]), int(net.offsets[i + 2])) for i in range(L)]
        self.alpha, self.gain, self.ibias = ([a[lo:hi] for lo, hi in cut] for a in (alpha, gain, ibias))

    def integrate(self, i: int, v: np.ndarray, syn: list, current) -> np.ndarray:
        """Layer i's potential after its leak ``v`` takes this timestep's ``current``: directly,
        or through the CubaLIF synaptic current ``syn[i]``."""
        if not self.cuba:
            return v + current
        syn[i] = synapse(syn[i], self.alpha[i], self.ibias[i], current)
        return v + self.gain[i] * syn[i]

    def recurrent_current(self, i: int, last: np.ndarray, tally) -> np.ndarray | float:
        """Layer i's own spikes of the previous timestep through its recurrent synapses."""
        if self.rec[i] is None:
            return 0.0
        tally.sops += last @ self.rec_fanout[i]
        tally.processed += last.sum(axis=1)
        return last @ self.rec[i]


def simulate(net, frames: np.ndarray, cfg: FunctionalConfig, labels=None, first_sample: int = 0) -> FunctionalResult:
    """Run ``frames`` ``(B, T, n_in)`` (spike counts) through ``net``.

    ``first_sample`` is the index of the batch's first sample in its dataset:
    random draws are keyed by sample index, so results do not depend on how a
    dataset is cut into batches.
    """
    runner = {"layered": _layered, "timestep": _timestep, "async": _async}[cfg.mode]
    ids = first_sample + np.arange(len(frames))
    return runner(_Net(net), np.asarray(frames, float), cfg, labels, ids)


class _Tally:
    """Per-sample counters shared by the modes."""

    def __init__(self, n: _Net, B: int, record: bool):
        self.n, self.B = n, B
        self.spikes = np.zeros((B, len(n.net.populations)), np.int64)
        self.sops = np.zeros(B)
        self.steps = np.zeros(B, np.int64)
        self.out_counts = np.zeros((B, n.layers[-1].size), np.int64)
        self.first_out = np.full(B, -1)
        self.lat = np.full(B, np.nan)
        self.lat_correct = np.full(B, np.nan)
        self.processed = np.zeros(B)  # network spikes integrated so far
        self.record = record
        self.ev = {"sample": [], "step": [], "neuron": []}

    def spiked(self, pop: int, fired: np.ndarray, t: int, labels) -> None:
        """``fired`` (B, n_pop) spike counts of population ``pop`` at timestep ``t``."""
        self.spikes[:, pop] += fired.sum(axis=1).astype(np.int64)
        if self.record:
            b, j = np.nonzero(fired)
            reps = fired[b, j].astype(np.int64)
            self.ev["sample"].append(np.repeat(b, reps))
            self.ev["step"].append(np.full(int(reps.sum()), t))
            self.ev["neuron"].append(np.repeat(self.n.offsets[pop] + j, reps))
        if pop == len(self.n.layers):
            self.out_counts += fired.astype(np.int64)
            new = (self.first_out < 0) & fired.any(axis=1)
            if new.any():
                self.first_out[new] = np.argmax(fired[new] > 0, axis=1)
                self.lat[new] = self.processed[new]
            if labels is not None:  # a label beyond the output layer is never hit
                ok = labels < fired.shape[1]
                hit = np.isnan(self.lat_correct) & ok & (fired[np.arange(self.B), np.where(ok, labels, 0)] > 0)
                self.lat_correct[hit] = self.processed[hit]

    def result(self, v_out: np.ndarray) -> FunctionalResult:
        """The counters, and the prediction: the most active output neuron, or with an LI output
        layer the one with the highest potential ``v_out`` at the end."""
        if self.n.net.readout == "membrane":
            pred = v_out.argmax(axis=1)
        else:
            pred = np.where(self.out_counts.any(axis=1), self.out_counts.argmax(axis=1), -1)
        events = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in self.ev.items()}
        return FunctionalResult(self.spikes, self.sops, self.steps, self.lat, self.lat_correct, pred,
                                self.first_out, self.out_counts, events)


_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _uniform(seed: int, tag: int, ids: np.ndarray, counter, n: int) -> np.ndarray:
    """Uniforms in [0, 1), ``(len(ids), n)``, a pure function of (seed, tag, sample
    id, counter, column): a sample's draws do not depend on the other samples of
    its batch, nor on the batch size. SplitMix64 over the combined key."""
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
             + ids.astype(np.uint64)[:, None] * np.uint64(0xBF58476D1CE4E5B9)
             + np.asarray(counter, np.uint64).reshape(-1, 1) * np.uint64(0x94D049BB133111EB)
             + np.arange(n, dtype=np.uint64)[None, :] * np.uint64(0x2545F4914F6CDD1D))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _drop(x: np.ndarray, p: float, seed: int, tag: int, ids, counter) -> np.ndarray:
    """Each of the spikes in counts ``x`` survives with probability 1 - p."""
    if p <= 0:
        return x
    kept = np.zeros_like(x)
    for c in range(int(x.max(initial=0))):  # one draw per spike of a count
        kept += (x > c) & (_uniform(seed, tag * 64 + c, ids, counter, x.shape[1]) >= p)
    return kept


# Draw tags: kind * 1000 + population
_INPUT, _SPIKE, _REFRAC, _RANDOM, _NOISE = 1, 2, 3, 4, 5


def _layered(n: _Net, frames, cfg, labels, ids) -> FunctionalResult:
    B, T, _ = frames.shape
    tally = _Tally(n, B, cfg.record)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    last = [np.zeros((B, p.size)) for p in n.layers]  # each layer's spikes of the previous timestep
    for t in range(T):
        s = _drop(frames[:, t], cfg.input_dropout, cfg.seed, _INPUT * 1000, ids, t)
        tally.spiked(0, s, t, labels)
        for i, p in enumerate(n.layers):
            tally.sops += s @ n.fanout[i]
            tally.processed += s.sum(axis=1) if i else 0
            v[i] = n.integrate(i, leak(v[i], p.beta, p.bias), syn,
                               s @ n.weights[i] + n.recurrent_current(i, last[i], tally))
            fired = fire(v[i], p.theta)
            v[i] = _reset(v[i], fired, p)
            tally.spiked(i + 1, fired.astype(float), t, labels)
            s = _drop(fired.astype(float), cfg.spike_dropout, cfg.seed, _SPIKE * 1000 + i + 1, ids, t)
            last[i] = s
            tally.steps += 1
    return tally.result(v[-1])


def _timestep(n: _Net, frames, cfg, labels, ids) -> FunctionalResult:
    B, T, n_in = frames.shape
    L = len(n.layers)
    tally = _Tally(n, B, cfg.record)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    prev = [np.zeros((B, n_in))] + [np.zeros((B, p.size)) for p in n.layers]
    for k in range(T + L):
        now = [_drop(frames[:, k], cfg.input_dropout, cfg.seed, _INPUT * 1000, ids, k) if k < T
               else np.zeros((B, n_in))]
        tally.spiked(0, now[0], k, labels)
        for i, p in enumerate(n.layers):
            tally.sops += prev[i] @ n.fanout[i]
            tally.processed += prev[i].sum(axis=1) if i else 0
            v[i] = n.integrate(i, leak(v[i], p.beta, p.bias), syn,
                               prev[i] @ n.weights[i] + n.recurrent_current(i, prev[i + 1], tally))
            fired = fire(v[i], p.theta)
            v[i] = _reset(v[i], fired, p)
            tally.spiked(i + 1, fired.astype(float), k, labels)
            now.append(_drop(fired.astype(float), cfg.spike_dropout, cfg.seed, _SPIKE * 1000 + i + 1, ids, k))
        tally.steps += 1
        prev = now
    return tally.result(v[-1])


def _reset(v: np.ndarray, fired: np.ndarray, p) -> np.ndarray:
    return np.where(fired, np.where(p.subtract, v - p.theta, 0.0), v)


def _select(count: np.ndarray, key: np.ndarray, F: int | None) -> np.ndarray:
    """Per sample, the (up to) F queued spikes with the smallest keys; ties go to
    the lower index. A neuron's queued spikes share its key. Returns the number
    of spikes each neuron emits, shaped like ``count``."""
    queued = count > 0
    if count.max(initial=0) > 1:  # some neuron has several spikes queued: fill F slots spike by spike
        order = np.argsort(key, axis=1, kind="stable")
        c = np.take_along_axis(count, order, axis=1)
        before = np.cumsum(c, axis=1) - c
        take = c if F is None else np.clip(F - before, 0, c)
        sel = np.zeros(count.shape)
        np.put_along_axis(sel, order, take, axis=1)
        return sel
    if F is None or F >= count.shape[1]:
        return queued.astype(float)
    sel = np.zeros(count.shape)
    if F == 1:
        j = key.argmin(axis=1)
        rows = np.flatnonzero(queued[np.arange(len(j)), j])
        sel[rows, j[rows]] = 1.0
        return sel
    kth = np.partition(key, F - 1, axis=1)[:, F - 1:F]
    less = key < kth
    tie = (key == kth) & queued
    need = F - less.sum(axis=1, keepdims=True)
    return (less | (tie & (np.cumsum(tie, axis=1) <= need))).astype(float)


def _async(n: _Net, frames, cfg, labels, ids) -> FunctionalResult:
    if cfg.queue not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {cfg.queue!r}")
    B, T, n_in = frames.shape
    L = len(n.layers)
    tally = _Tally(n, B, cfg.record)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    refr = [np.zeros((B, p.size), bool) for p in n.layers]
    pending = [np.zeros((B, p.size)) for p in n.layers]  # current to integrate at the next step
    pending_sops = np.zeros(B)  # synaptic events of that current, counted when it is integrated
    pending_net = np.zeros(B)  # network spikes behind it
    # The queue holds the spikes of the populations that project somewhere:
    # the input too when it is not integrated as one current.
    first_q = 1 if cfg.prioritize_input else 0
    sizes = [n.net.populations[p].size for p in range(first_q, L)]
    q_lo = dict(zip(range(first_q, L), np.concatenate([[0], np.cumsum(sizes)])[:-1].tolist()))
    n_q = int(sum(sizes))
    count = np.zeros((B, n_q))
    key = np.full((B, n_q), np.inf)
    live = np.ones(B, bool)
    since_out = np.full(B, -1)
    step_no = 0

    def draw(kind: int, pop: int, m: int) -> np.ndarray:
        """Uniforms for this step of each sample (its own step count keys them)."""
        return _uniform(cfg.seed, kind * 1000 + pop, ids, tally.steps, m)

    def enqueue(pop: int, spikes: np.ndarray, overshoot: np.ndarray | None) -> None:
        lo = q_lo[pop]
        hi = lo + spikes.shape[1]
        new = (spikes > 0) & (count[:, lo:hi] == 0)
        count[:, lo:hi] += spikes
        if cfg.queue == "fifo":
            k = step_no * n_q + lo + np.arange(spikes.shape[1], dtype=float)
            k = np.broadcast_to(k, spikes.shape)
        elif cfg.queue == "momentum":
            k = np.full(spikes.shape, -np.inf) if overshoot is None else -overshoot
            if cfg.momentum_noise > 0 and overshoot is not None:
                k = k - cfg.momentum_noise * draw(_NOISE, pop, spikes.shape[1])
        else:
            k = draw(_RANDOM, pop, spikes.shape[1])
        key[:, lo:hi] = np.where(new, k, key[:, lo:hi])

    def busy() -> np.ndarray:
        return live & (count.any(axis=1) | (pending_sops > 0) | np.any([c.any(axis=1) for c in pending], axis=0))

    held = [np.zeros((B, p.size)) for p in n.layers]  # spikes of this timestep for the recurrent synapses
    for t in range(T):
        for i, p in enumerate(n.layers):
            v[i] = n.integrate(i, leak(v[i], p.beta, p.bias), syn, 0.0)
            refr[i][:] = False
            if n.rec[i] is not None:  # last timestep's spikes arrive now, as one current with the input
                pending[i] += held[i] @ n.rec[i]
                pending_sops += held[i] @ n.rec_fanout[i]
                pending_net += held[i].sum(axis=1)
                held[i][:] = 0.0
        frame = _drop(frames[:, t], cfg.input_dropout, cfg.seed, _INPUT * 1000, ids, t) * live[:, None]
        tally.spiked(0, frame, t, labels)
        if cfg.prioritize_input:
            pending[0] += frame @ n.weights[0]
            pending_sops += frame @ n.fanout[0]
        else:
            enqueue(0, frame, None)
        steps_t = 0
        # A sample steps while it has spikes queued or current pending, and once at
        # the start of a timestep if the leak left a neuron over threshold.
        lifted = np.any([(vi > p.theta).any(axis=1) for vi, p in zip(v, n.layers)], axis=0)
        active = busy() | (live & lifted)
        while active.any() and (cfg.max_steps is None or steps_t < cfg.max_steps):
            tally.sops += np.where(active, pending_sops, 0.0)
            tally.processed += np.where(active, pending_net, 0.0)
            pending_sops[active] = 0.0
            pending_net[active] = 0.0
            for i, p in enumerate(n.layers):
                cur = np.where(refr[i], 0.0, pending[i]) if cfg.refractory else pending[i]
                if n.cuba:  # the synaptic current takes all input, V its share of what is not discarded
                    syn[i] += pending[i] * active[:, None]
                    cur = n.gain[i] * cur
                v[i] += cur * active[:, None]
                pending[i][active] = 0.0
                fired = (v[i] > p.theta) & ~refr[i] & active[:, None]
                if not fired.any():
                    continue
                overshoot = v[i] - p.theta
                v[i] = np.where(fired, np.where(p.subtract, overshoot, 0.0), v[i])
                if cfg.refractory:
                    keep = fired if cfg.refrac_dropout <= 0 else fired & (draw(_REFRAC, i + 1, p.size)
                                                                         >= cfg.refrac_dropout)
                    refr[i] |= keep
                tally.spiked(i + 1, fired.astype(float), t, labels)
                if n.rec[i] is not None:
                    held[i] += fired
                if i + 1 < L:
                    kept = _drop(fired.astype(float), cfg.spike_dropout, cfg.seed, _SPIKE * 1000 + i + 1, ids,
                                 tally.steps)
                    enqueue(i + 1, kept, overshoot)
            emitted = _select(count, key, cfg.F) * active[:, None]
            count -= emitted
            key[count == 0] = np.inf
            for i in range(first_q, L):
                e = emitted[:, q_lo[i]:q_lo[i] + n.net.populations[i].size]
                rows = np.flatnonzero(e.any(axis=0))
                if len(rows):
                    pending[i] += e[:, rows] @ n.weights[i][rows]
                pending_sops += e @ n.fanout[i]
                if i:
                    pending_net += e.sum(axis=1)
            tally.steps += active
            step_no += 1
            steps_t += 1
            if cfg.stop_on_output is not None:
                started = (tally.first_out >= 0) & (since_out < 0)
                since_out[(since_out >= 0) & active] += 1
                since_out[started] = 0
                stop = live & (since_out >= cfg.stop_on_output)
                if stop.any():  # the sample ends: what it still had queued or pending is dropped
                    live &= ~stop
                    count[stop] = 0
                    key[stop] = np.inf
                    pending_sops[stop] = pending_net[stop] = 0.0
                    for c in pending:
                        c[stop] = 0.0
            active = busy()
    return tally.result(v[-1])
