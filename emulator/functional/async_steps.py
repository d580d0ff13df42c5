"""The reference's async mode, in forward steps (the asynctorch semantics; see ``engine``)."""

from __future__ import annotations

import numpy as np

from ..config import QUEUE_NAMES
from ..model import SUBTRACT, SUBTRACT_NEXT, after_spike, fire, leak, pay_debt, receive
from .draws import INPUT, NOISE, RANDOM, REFRAC, SPIKE, drop, uniform
from .state import FunctionalResult, LayerArrays, Tally

__all__ = ["run_async", "select"]


def select(count: np.ndarray, key: np.ndarray, F: int | None) -> np.ndarray:
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


def run_async(n: LayerArrays, frames, cfg, labels, ids) -> FunctionalResult:
    if cfg.queue not in QUEUE_NAMES:
        raise ValueError(f"unknown scheduler {cfg.queue!r}")
    B, T, n_in = frames.shape
    L = len(n.layers)
    tally = Tally(n, B, cfg.trace)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    refr = [np.zeros((B, p.size), bool) for p in n.layers]
    pending = [np.zeros((B, p.size)) for p in n.layers]  # current to integrate at the next step
    pending_sops = np.zeros(B)  # synaptic events of that current, counted when it is integrated
    pending_net = np.zeros(B)  # network spikes behind it
    # One network-wide queue, as in asynctorch: every layer's spikes, the output layer's included (they take
    # forward-step slots though they drive no synapses), and the input's when it is not one current.
    first_q = 1 if cfg.prioritize_input else 0
    sizes = [n.net.populations[p].size for p in range(first_q, L + 1)]
    q_lo = dict(zip(range(first_q, L + 1), np.concatenate([[0], np.cumsum(sizes)])[:-1].tolist()))
    n_q = int(sum(sizes))
    count = np.zeros((B, n_q))
    key = np.full((B, n_q), np.inf)
    live = np.ones(B, bool)
    since_out = np.full(B, -1)
    step_no = 0

    def draw(kind: int, pop: int, m: int) -> np.ndarray:
        """Uniforms for this step of each sample (its own step count keys them)."""
        return uniform(cfg.seed, kind * 1000 + pop, ids, tally.steps, m)

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
                k = k - cfg.momentum_noise * draw(NOISE, pop, spikes.shape[1])
        else:
            return  # random: fresh priorities for every queued spike at every step (see below)
        key[:, lo:hi] = np.where(new, k, key[:, lo:hi])

    def busy() -> np.ndarray:
        return live & (count.any(axis=1) | (pending_sops > 0) | np.any([c.any(axis=1) for c in pending], axis=0))

    held = [np.zeros((B, p.size)) for p in n.layers]  # spikes of this timestep for the recurrent synapses
    debt = [np.zeros((B, p.size)) for p in n.layers]  # subtract-next: theta owed by the last timestep's spikes
    drops = [np.zeros((B, p.size), bool) for p in n.layers]  # zero reset dropping the next timestep's input
    blocked = [np.zeros((B, p.size), bool) for p in n.layers]  # lose this timestep's input (held at 0)
    for t in range(T):
        for i, p in enumerate(n.layers):
            v[i] = pay_debt(n.integrate(i, leak(v[i], p.beta, p.bias), syn, 0.0), debt[i])
            debt[i][:] = 0.0
            blocked[i], drops[i] = drops[i], blocked[i]
            drops[i][:] = False
            v[i][blocked[i]] = 0.0
            refr[i][:] = False
            if n.rec[i] is not None:  # last timestep's spikes arrive now, as one current with the input
                pending[i] += held[i] @ n.rec[i]
                pending_sops += held[i] @ n.rec_fanout[i]
                pending_net += held[i].sum(axis=1)
                held[i][:] = 0.0
        frame = drop(frames[:, t], cfg.input_dropout, cfg.seed, INPUT * 1000, ids, t) * live[:, None]
        tally.spiked(0, frame, t, labels)
        if cfg.prioritize_input:
            pending[0] += frame @ n.weights[0]
            pending_sops += frame @ n.fanout[0]
        else:
            enqueue(0, frame, None)
        steps_t = 0
        # A sample steps while it has spikes queued or current pending, and once at
        # the start of a timestep if the leak left a neuron over threshold.
        lifted = np.any([(fire(vi, p.theta, c["at_threshold"]) & ~b).any(axis=1)
                         for vi, p, c, b in zip(v, n.layers, n.conv, blocked)], axis=0)
        active = busy() | (live & lifted)
        while active.any() and (cfg.max_steps is None or steps_t < cfg.max_steps):
            tally.sops += np.where(active, pending_sops, 0.0)
            tally.processed += np.where(active, pending_net, 0.0)
            pending_sops[active] = 0.0
            pending_net[active] = 0.0
            for i, p in enumerate(n.layers):
                shut = (refr[i] | blocked[i]) if cfg.refractory_on else blocked[i]
                cur = np.where(shut, 0.0, pending[i])
                if n.cuba:  # the synaptic current takes all input, V its share of what is not discarded
                    syn[i] += pending[i] * active[:, None]
                v[i] += receive(cur, n.gain[i] if n.cuba else None) * active[:, None]
                pending[i][active] = 0.0
                fired = fire(v[i], p.theta, n.conv[i]["at_threshold"]) & ~refr[i] & ~blocked[i] & active[:, None]
                if not fired.any():
                    continue
                overshoot = v[i] - p.theta
                kind = n.conv[i]["kind"]
                if kind == SUBTRACT_NEXT:  # the potential stays; the next timestep pays theta
                    debt[i] += np.where(fired, p.theta, 0.0)
                else:
                    v[i] = np.where(fired, after_spike(overshoot, kind == SUBTRACT), v[i])
                if n.conv[i]["drop_input"]:
                    drops[i] |= fired
                if cfg.refractory_on:
                    keep = fired if cfg.refrac_dropout <= 0 else fired & (draw(REFRAC, i + 1, p.size)
                                                                         >= cfg.refrac_dropout)
                    refr[i] |= keep
                tally.spiked(i + 1, fired.astype(float), t, labels)
                if n.rec[i] is not None:
                    held[i] += fired
                kept = drop(fired.astype(float), cfg.spike_dropout, cfg.seed, SPIKE * 1000 + i + 1, ids, tally.steps)
                enqueue(i + 1, kept, overshoot)
            if cfg.queue == "random":  # asynctorch draws again at every forward step, keyed by the sample's step
                key = np.where(count > 0, draw(RANDOM, 0, n_q), np.inf)
            emitted = select(count, key, cfg.F) * active[:, None]
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
