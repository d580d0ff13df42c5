"""Compiled kernels of async mode's fast path (numba, optional: ``pip install snnemu[fast]``).

Each kernel is a plain Python function, a literal loop translation of what
the NumPy code it replaces does to each number (the same IEEE operations in
the same order; no ``fastmath``, no ``parallel``), so the records do not
depend on whether it is compiled. :func:`compiled` hands out the compiled
ones, or None, in which case the fast path runs its NumPy code:

- when numba is not installed (silently: the extra is optional);
- when ``SNNEMU_NO_NUMBA=1`` is set (the tests run both ways);
- when numba fails to import or compile (one warning, then NumPy).

numba is imported on first use, so runs that never reach the fast path do not
pay its import (about 0.5 s). Compiled code is cached (``cache=True``): in
``__pycache__`` beside this file, or in numba's user-wide cache where the
install location is read-only; a first run with an empty cache compiles for a
few seconds.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["compiled", "integrate_rows"]

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

        kernel = numba.njit(cache=True, nogil=True)(integrate_rows)
        one, no = np.zeros(1), np.zeros(1, bool)  # compiled (or read from the cache) now, for the types used
        kernel(one, one.copy(), one, no, no, True, np.zeros(1, np.int64), np.zeros((1, 1)), np.zeros(1, np.int64),
               np.zeros(1, np.int64))
        return {"integrate_rows": kernel}
    except ModuleNotFoundError:
        return {}
    except Exception as exc:  # a numba that does not fit this Python or NumPy, or cannot load LLVM
        warnings.warn(f"snnemu: numba is unusable here ({type(exc).__name__}: {exc}); async runs on NumPy",
                      RuntimeWarning, stacklevel=2)
        return {}


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
