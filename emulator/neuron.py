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

An LI neuron (a readout) is a LIF neuron with ``theta = +inf``: it never
fires.

Every execution mode of the chip and of the test oracles uses these functions,
so the arithmetic (float64, same operation order) is the same everywhere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["leak", "fire", "reset", "step", "synapse"]


def leak(v: np.ndarray, beta: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Return ``beta * v + bias`` (the once-per-timestep update)."""
    return beta * v + bias


def synapse(s: np.ndarray, alpha: np.ndarray, ibias: np.ndarray, current) -> np.ndarray:
    """Return the CubaLIF synaptic current ``alpha * s + ibias + current`` (once per timestep)."""
    return alpha * s + ibias + current


def fire(v: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Boolean mask of the neurons whose potential is strictly above threshold."""
    return v > theta


def reset(v: np.ndarray, fired: np.ndarray, theta: np.ndarray, subtract: np.ndarray) -> None:
    """Reset the fired neurons in place: to 0, or by ``theta`` where ``subtract``."""
    v[fired] = np.where(subtract[fired], v[fired] - theta[fired], 0.0)


def step(v, current, beta, theta, bias, subtract):
    """One whole timestep of a layer: leak, integrate, fire, reset.

    Returns ``(v_new, fired)``; ``v`` is not modified.
    """
    v = leak(v, beta, bias) + current
    fired = fire(v, theta)
    reset(v, fired, theta, subtract)
    return v, fired
