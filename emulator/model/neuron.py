"""LIF / IF / CubaLIF / LI neuron math: pure NumPy, no SimPy.

Per timestep t, with per-neuron ``beta``, ``theta`` and ``bias``::

    V <- beta * V + bias          (leak, once per timestep; IF is beta = 1)
    V <- V + I                    (synaptic input)
    spike if V > theta            (strict)
    reset: V <- 0 (zero) or V <- V - theta (subtract), for the neurons that spiked

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

__all__ = ["after_spike", "fire", "integrate", "leak", "receive", "reset", "step", "synapse"]


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


def fire(v: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Boolean mask of the neurons whose potential is strictly above threshold."""
    return v > theta


def after_spike(overshoot, subtract):
    """The potential a spike leaves, from its overshoot ``V - theta``: 0 (zero reset), or the
    overshoot (subtract reset). ``subtract`` is per neuron, or one bool for all of them."""
    if subtract is True:
        return overshoot
    if subtract is False:
        return 0.0
    return np.where(subtract, overshoot, 0.0)


def reset(v: np.ndarray, fired: np.ndarray, theta: np.ndarray, subtract: np.ndarray) -> None:
    """Reset the fired neurons in place: to 0, or by ``theta`` where ``subtract``.

    ``v`` and ``fired`` may carry a batch dimension in front of the neurons' (the reference)."""
    v[...] = np.where(fired, after_spike(v - theta, subtract), v)


def step(v, current, beta, theta, bias, subtract):
    """One whole timestep of a layer: leak, integrate, fire, reset.

    Returns ``(v_new, fired)``; ``v`` is not modified.
    """
    v = integrate(leak(v, beta, bias), current)
    fired = fire(v, theta)
    reset(v, fired, theta, subtract)
    return v, fired
