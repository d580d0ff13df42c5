"""Compiled kernels of async mode's fast path (numba, optional: ``pip install snnemu[fast]``).

Each kernel is a plain Python function, a literal loop translation of what
the Python and NumPy code it replaces does to each number (the same IEEE
operations in the same order; no ``fastmath``, no ``parallel``), so the
records do not depend on whether it is compiled:

- ``integrate_rows``: a busy period's packets on a dense block of targets;
- ``send_deferred``: a frame's deferred emissions through the analytic NoC;
- ``replay_frame``: a sink core's process loop over a frame's packets.

:func:`compiled` hands out the compiled ones, or None, in which case the fast
path runs its Python and NumPy code:

- when numba is not installed (silently: the extra is optional);
- when ``SNNEMU_NO_NUMBA=1`` is set (the tests run both ways);
- when numba fails to import or compile (one warning, then NumPy).

numba is imported on first use, so runs that never reach the fast path do not
pay its import (about 0.5 s). Compiled code is cached (``cache=True``): in
``__pycache__`` beside this file, or in numba's user-wide cache where the
install location is read-only; a first run with an empty cache compiles for
about 4 seconds.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["compiled", "integrate_rows", "send_deferred", "replay_frame"]

_compiled: dict | None = None


def compiled() -> dict | None:
    """``{name: compiled kernel}``, or None when the fast path must use NumPy (see the module)."""
    global _compiled
    if _compiled is None:
        _compiled = _compile()
    return _compiled or None


def _compile() -> dict:
    if os.environ.get("SNNEMU_NO_NUMBA", "") not in ("", "0"):
        return {}
    try:
        import numba

        kernels = {f.__name__: numba.njit(cache=True, nogil=True)(f) for f in (integrate_rows, send_deferred,
                                                                               replay_frame)}
        _warm(kernels)
        return kernels
    except ModuleNotFoundError:
        return {}
    except Exception as exc:  # a numba that does not fit this Python or NumPy, or cannot load LLVM
        warnings.warn(f"snnemu: numba is unusable here ({type(exc).__name__}: {exc}); async runs on NumPy",
                      RuntimeWarning, stacklevel=2)
        return {}


def _warm(kernels: dict) -> None:
    """Compile each kernel (or read it from the cache) now, for the argument types the fast path passes."""
    one, no, ints, none = np.zeros(1), np.zeros(1, bool), np.zeros(1, np.int64), np.zeros(0, np.int64)
    kernels["integrate_rows"](one, one.copy(), one, no, no, True, ints, np.zeros((1, 1)), ints, ints)
    kernels["send_deferred"](none.astype(float), none, ints, none, none, ints, none, none.astype(float),
                             np.zeros((1, 1)), np.zeros((1, 1)), ints.copy(), ints.copy())
    kernels["replay_frame"](one, one, one, ints, one, no, -1, 0.0)


def integrate_rows(V, parked, theta, at_threshold, subtract, refractory, targets, weights, rows, n_dst):
    """Packets one after another on the neurons ``targets``: packet i adds ``weights[rows[i]]``, then
    every target over threshold fires (``V > theta``, or ``>=`` where ``at_threshold``) and is reset to
    its overshoot ``V - theta`` (where ``subtract``) or 0, parked at -inf with that value while
    ``refractory`` (``service.threshold``).

    Returns (the fired neurons, packet after packet; where packet i's start, ``n + 1`` offsets; the
    packets each packet's spikes send, from ``n_dst``).
    """
    n, k = rows.shape[0], targets.shape[0]
    # room for every spike: a refractory neuron fires once (an array grown in the loop is 5x slower)
    fired = np.empty(k if refractory else n * k, np.int64)
    start = np.zeros(n + 1, np.int64)
    n_out = np.zeros(n, np.int64)
    m = 0
    for i in range(n):
        r = rows[i]
        for j in range(k):
            g = targets[j]
            v = V[g] + weights[r, j]
            V[g] = v
            if v >= theta[g] if at_threshold[g] else v > theta[g]:
                after = v - theta[g] if subtract[g] else 0.0
                if refractory:
                    parked[g] = after
                    V[g] = -np.inf
                else:
                    V[g] = after
                fired[m] = g
                m += 1
                n_out[i] += n_dst[g]
        start[i + 1] = m
    return fired[:m], start, n_out


def send_deferred(times, neurons, dst_ptr, dst_idx, dst_route, route_ptr, route_link, route_lat,
                  slot_a, slot_b, lo, hi):
    """Deferred emissions (``async_fast.FastPath.serve_sinks``): spike i of neuron ``s = neurons[i]`` leaves
    its core at ``times[i]``, one packet to each of its destination cores, in order (``dst_idx[q]`` for q in
    ``dst_ptr[s]:dst_ptr[s + 1]``, on route ``dst_route[q]``), reserved as ``AnalyticNoC.send_at`` reserves
    them: on each link of the route (``route_link`` and ``route_lat`` from ``route_ptr``), the first slot at
    or after the packet gets there that overlaps no reservation, once the slots that ended by its sending
    are dropped. Link l's reservations are ``slot_a[l], slot_b[l]`` from ``lo[l]`` to ``hi[l]``, updated in
    place (the caller leaves room for every packet).

    Returns per packet, in sending order: (its destination, its arrival, its neuron, its send time).
    """
    m = 0
    for i in range(len(neurons)):
        s = neurons[i]
        m += dst_ptr[s + 1] - dst_ptr[s]
    dst = np.empty(m, np.int64)
    arrival = np.empty(m)
    src = np.empty(m, np.int64)
    sent = np.empty(m)
    p = 0
    for i in range(len(neurons)):
        s, now = neurons[i], times[i]
        for q in range(dst_ptr[s], dst_ptr[s + 1]):
            d = dst_idx[q]
            r = dst_route[q]
            t = now
            for e in range(route_ptr[r], route_ptr[r + 1]):
                link, lat = route_link[e], route_lat[e]
                while lo[link] < hi[link] and slot_b[link, lo[link]] <= now:
                    lo[link] += 1
                if lo[link] == hi[link] or slot_b[link, hi[link] - 1] <= t:
                    pos = hi[link]
                else:
                    pos = lo[link]
                    for j in range(lo[link], hi[link]):
                        if slot_b[link, j] <= t:
                            pos += 1
                        elif slot_a[link, j] >= t + lat:
                            break
                        else:
                            t = slot_b[link, j]
                            pos += 1
                    for j in range(hi[link], pos, -1):  # make room at pos
                        slot_a[link, j] = slot_a[link, j - 1]
                        slot_b[link, j] = slot_b[link, j - 1]
                slot_a[link, pos] = t
                slot_b[link, pos] = t + lat
                hi[link] += 1
                t += lat
            dst[p], arrival[p], src[p], sent[p] = d, t, s, now
            p += 1
    return dst, arrival, src, sent


def replay_frame(t_in, arrival, sent, rank, services, fires, cap, free_at):
    """``async_fast.replay_sink``'s loop over a sink core's packets of one frame: ``arrival`` and ``sent`` in
    sending order, ``t_in`` the arrivals in serving order (``rank``: each packet's place in it), and per
    packet in serving order its service time and whether it fires; ``cap`` the queue's capacity (-1: none),
    ``free_at`` when the core is free of its own work. The same steps and roundings as the Python loop
    (its ``_take_in`` and ``_wake_time`` written in line: a kernel calls no Python function).

    Returns (per packet in serving order, when its emission timeout fires, where it fires; the time of the
    last busy period's end).
    """
    n = len(t_in)
    out_t = np.full(n, np.nan)
    starts = np.empty(n)  # the services of the busy period that started at now
    inbox = np.zeros(n, np.bool_)  # by rank: sent, so in the inbox unless already taken in
    n_starts = head = nxt = seen = 0
    now = last = ends = -np.inf
    while True:
        # _take_in: what has arrived joins the queue while it has room; the queue holds the packets
        # head:nxt and the busy period's services not started by now
        started = 0
        while started < n_starts and starts[started] <= now:
            started += 1
        lo, queued = nxt, nxt - head
        while nxt < n and t_in[nxt] <= now and (cap < 0 or queued + nxt - lo + n_starts - started < cap):
            nxt += 1
        if n_starts:  # that was the slot freed as the busy period's first service started; now it ends
            now = last = ends
            n_starts = 0
            continue
        if head == nxt:
            if nxt == n:
                break
            while seen < n and sent[seen] <= now:  # what is in its inbox as it goes to sleep
                inbox[rank[seen]] = True
                seen += 1
            first = np.inf
            for r in range(nxt, n):
                if inbox[r]:
                    first = t_in[r]
                    break
            # _wake_time: the first timer set for its inbox fires
            target = first
            wake = now + (first - now) if first < np.inf else np.inf
            for j in range(seen, n):
                if sent[j] >= wake:
                    break
                if arrival[j] < target:
                    target = arrival[j]
                    wake = min(wake, sent[j] + (target - sent[j]))
            now = wake
            continue
        if free_at > now:
            now = now + (free_at - now)
            continue
        t = now
        for i in range(head, nxt):
            starts[n_starts] = t
            n_starts += 1
            t = t + services[i]
            if fires[i]:
                out_t[i] = now + (t - now)
        head = nxt
        ends = now + (t - now)
    return out_t, last
