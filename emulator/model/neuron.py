"""LIF / IF / CubaLIF / LI neuron math: pure NumPy, no SimPy.

Per timestep t, with per-neuron ``beta``, ``theta`` and ``bias``::

    V <- beta * V + bias          (leak, once per timestep; IF is beta = 1)
    V <- V + I                    (synaptic input)
    spike if V > theta            (strict; V >= theta by a layer's conventions)
    reset: V <- 0 (zero) or V <- V - theta (subtract), for the neurons that spiked

and, by a layer's conventions (``emulator.model.conventions``; :func:`timestep`):
snnTorch's subtract at the next step (``V`` kept, ``theta`` paid after the next
decay and input), a zero reset that drops the next step's input, and several
spikes per step (``floor(V/theta)``, the subtract reset taking that many ``theta``).

A CubaLIF neuron first passes its input through a synaptic current ``S``
(per-neuron ``alpha``, ``gain``, ``ibias``)::

    S <- alpha * S + ibias + I    (the current decays, takes the input)
    V <- beta * V + bias + gain * S

In async mode the input of a timestep arrives spike by spike: the leak (and
the current's decay) happen once at the timestep's start, then each arriving
current ``w`` goes straight into V, or for a CubaLIF neuron into S with its
share ``gain * w`` into V (:func:`receive`).

An LI neuron (a readout) is a LIF neuron with ``theta = +inf``: it never
fires.

Both engines (the chip in every mode, and the functional reference) call
these functions, so the arithmetic (float64, same operation order) is written
once. The test oracles in ``tests/builders.py`` are written apart on purpose.
See docs/design.md, "Neurons".
"""

from __future__ import annotations

import numpy as np

__all__ = ["SUBTRACT", "SUBTRACT_NEXT", "ZERO", "after_spike", "fire", "integrate", "leak", "pay_debt", "receive",
           "reset", "spike_counts", "step", "synapse", "timestep"]

ZERO, SUBTRACT, SUBTRACT_NEXT = 0, 1, 2  # the reset kinds, as in emulator.model.conventions.RESET_CODES


def leak(v: np.ndarray, beta: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Return ``beta * v + bias`` (the once-per-timestep update)."""
    return beta * v + bias


def synapse(s: np.ndarray, alpha: np.ndarray, ibias: np.ndarray, current) -> np.ndarray:
    """Return the CubaLIF synaptic current ``alpha * s + ibias + current`` (once per timestep)."""
    return alpha * s + ibias + current


def integrate(v: np.ndarray, current, s: np.ndarray | None = None, alpha=None, gain=None, ibias=None) -> np.ndarray:
    """The potential after its leak ``v`` takes a timestep's ``current``: directly, or, for
    CubaLIF (``s`` given), through the synaptic current, which is updated in place."""
    if s is None:
        return v + current
    s[...] = synapse(s, alpha, ibias, current)
    return v + gain * s


def receive(current, gain=None):
    """What a current arriving within a timestep (async) adds to V: all of it, or a CubaLIF
    neuron's share ``gain * current`` (its synaptic current S takes the whole)."""
    return current if gain is None else gain * current


def fire(v: np.ndarray, theta: np.ndarray, at_threshold=False) -> np.ndarray:
    """Boolean mask of the neurons that fire: ``V > theta``, or ``V >= theta`` where
    ``at_threshold`` (per neuron, or one bool for all of them)."""
    if at_threshold is False:
        return v > theta
    if at_threshold is True:
        return v >= theta
    return np.where(at_threshold, v >= theta, v > theta)


def spike_counts(v: np.ndarray, fired: np.ndarray, theta: np.ndarray, several=False) -> np.ndarray:
    """Spikes per neuron this step: 1 where fired, or ``floor(V/theta)`` where ``several``."""
    ones = fired.astype(float)
    if several is False:
        return ones
    return np.where(fired & several, np.floor(v / theta), ones)


def after_spike(overshoot, subtract):
    """The potential a spike leaves, from its overshoot ``V - theta``: 0 (zero reset), or the
    overshoot (subtract reset). ``subtract`` is per neuron, or one bool for all of them."""
    if subtract is True:
        return overshoot
    if subtract is False:
        return 0.0
    return np.where(subtract, overshoot, 0.0)


def reset(v: np.ndarray, fired: np.ndarray, theta: np.ndarray, kind, counts: np.ndarray | None = None):
    """Reset the fired neurons in place, by their ``kind`` (``RESET_CODES``; a bool works as
    zero/subtract): to 0, by ``counts * theta`` (``counts``: the spikes each fired, default 1),
    or not yet (``subtract-next``). Returns the debt ``counts * theta`` that the next step
    subtracts (:func:`pay_debt`), or None when no neuron resets at the next step.

    ``v`` and ``fired`` may carry a batch dimension in front of the neurons' (the reference)."""
    n = fired if counts is None else counts
    later = kind == SUBTRACT_NEXT
    some_later = later if isinstance(later, bool) else bool(np.any(later))
    if counts is None:  # one spike each: V - theta, as ever
        after = after_spike(v - theta, kind == SUBTRACT)
        v[...] = np.where(fired, np.where(later, v, after) if some_later else after, v)
    else:
        v[...] = np.where(fired, np.where(kind == SUBTRACT, v - n * theta, np.where(kind == ZERO, 0.0, v)), v)
    if not some_later:
        return None
    return np.where(fired & later, n * theta, 0.0)


def pay_debt(v: np.ndarray, debt) -> np.ndarray:
    """snnTorch's subtract reset: the step after a spike subtracts ``theta`` (the debt) once its
    decay and input are in, ``V[t] = beta*V[t-1] + I[t] - theta*S[t-1]``."""
    return v if debt is None else v - debt


def timestep(v, current, beta, bias, theta, *, kind=ZERO, at_threshold=False, several=False, drop_input=False,
             debt=None, dropped=None, s=None, alpha=None, gain=None, ibias=None):
    """One timestep of a layer (or of several: the arguments may be per neuron), in order:

    leak; the input, straight or through the CubaLIF current ``s`` (updated in
    place); the debt of a ``subtract-next`` reset; a neuron that lost this
    step's input to its zero reset (``dropped``) is held at 0; fire; count the
    spikes; reset. Returns ``(v, fired, counts, debt, dropped)``, the last two
    for the next step (None when no neuron has any).
    """
    v = leak(v, beta, bias)
    if s is not None or not (np.isscalar(current) and current == 0.0):  # no input, no change
        v = integrate(v, current, s, alpha, gain, ibias)
    v = pay_debt(v, debt)
    if dropped is not None:
        v = np.where(dropped, 0.0, v)
    fired = fire(v, theta, at_threshold)
    counts = spike_counts(v, fired, theta, several)
    debt = reset(v, fired, theta, kind, None if several is False else counts)
    dropped = None if drop_input is False or not np.any(drop_input) else fired & drop_input
    return v, fired, counts, debt, dropped


def step(v, current, beta, theta, bias, subtract):
    """One whole timestep of a layer with a zero or subtract reset (:func:`timestep` with the
    default conventions otherwise). Returns ``(v_new, fired)``; ``v`` is not modified."""
    v, fired, _, _, _ = timestep(v, current, beta, bias, theta, kind=subtract)
    return v, fired
