"""Tests for emulator.model.neuron: the LIF/IF update against hand-computed trajectories.

The update per timestep (docs/design.md, "Neurons"):

    V <- beta * V + bias
    V <- V + I
    spike if V > theta   (strict)
    reset: V <- 0 (zero) or V <- V - theta (subtract), for the neurons that spiked

All inputs below are dyadic fractions (k / 2**n), so every intermediate value is
exact in float64 and the expected trajectories are compared with ``==``.
"""

from __future__ import annotations

import numpy as np
import pytest

from emulator.model import fire, leak, reset, step


def run(currents, beta, theta, bias=0.0, subtract=False, v0=0.0):
    """Drive one neuron with ``currents``; return (V after each step, spikes)."""
    v = np.array([v0], float)
    b = np.array([beta], float)
    th = np.array([theta], float)
    bi = np.array([bias], float)
    sub = np.array([subtract], bool)
    vs, spikes = [], []
    for i in currents:
        v, fired = step(v, np.array([i], float), b, th, bi, sub)
        vs.append(float(v[0]))
        spikes.append(int(fired[0]))
    return vs, spikes


# --- LIF, beta = 0.5, theta = 1.0 -------------------------------------------------

CURRENTS = [0.75, 0.75, 0.5, 0.0, 1.5, 0.875]


def test_lif_zero_reset_trajectory():
    # beta = 0.5, theta = 1.0, zero reset. V after each whole step:
    # t0: 0.5*0     + 0.75  = 0.75                      no spike
    # t1: 0.5*0.75  + 0.75  = 1.125  > 1 -> spike, V=0
    # t2: 0.5*0     + 0.5   = 0.5                       no spike
    # t3: 0.5*0.5   + 0.0   = 0.25                      no spike
    # t4: 0.5*0.25  + 1.5   = 1.625  > 1 -> spike, V=0
    # t5: 0.5*0     + 0.875 = 0.875                     no spike
    vs, spikes = run(CURRENTS, beta=0.5, theta=1.0)
    assert vs == [0.75, 0.0, 0.5, 0.25, 0.0, 0.875]
    assert spikes == [0, 1, 0, 0, 1, 0]


def test_lif_subtract_reset_trajectory():
    # beta = 0.5, theta = 1.0, subtract reset. V after each whole step:
    # t0: 0.5*0         + 0.75  = 0.75                           no spike
    # t1: 0.5*0.75      + 0.75  = 1.125     -> spike, V = 0.125
    # t2: 0.5*0.125     + 0.5   = 0.5625                         no spike
    # t3: 0.5*0.5625    + 0.0   = 0.28125                        no spike
    # t4: 0.5*0.28125   + 1.5   = 1.640625  -> spike, V = 0.640625
    # t5: 0.5*0.640625  + 0.875 = 1.1953125 -> spike, V = 0.1953125
    vs, spikes = run(CURRENTS, beta=0.5, theta=1.0, subtract=True)
    assert vs == [0.75, 0.125, 0.5625, 0.28125, 0.640625, 0.1953125]
    assert spikes == [0, 1, 0, 0, 1, 1]


def test_leak_applies_before_input_of_the_same_step():
    # A single pulse of 0.75 decays from the *next* step on:
    # t0: 0 + 0.75 = 0.75; t1: 0.375; t2: 0.1875; t3: 0.09375
    vs, spikes = run([0.75, 0.0, 0.0, 0.0], beta=0.5, theta=1.0)
    assert vs == [0.75, 0.375, 0.1875, 0.09375]
    assert spikes == [0, 0, 0, 0]


# --- IF (beta = 1) -----------------------------------------------------------------


def test_if_zero_reset_trajectory():
    # beta = 1, theta = 1.0, zero reset:
    # t0: 0 + 0.25 = 0.25; t1: 0.25 + 0.5 = 0.75; t2: 0.75 + 0.5 = 1.25 -> spike, V=0
    # t3: 0 + 0.25 = 0.25
    vs, spikes = run([0.25, 0.5, 0.5, 0.25], beta=1.0, theta=1.0)
    assert vs == [0.25, 0.75, 0.0, 0.25]
    assert spikes == [0, 0, 1, 0]


def test_if_subtract_reset_trajectory():
    # beta = 1, theta = 1.0, subtract reset:
    # t0: 0.25; t1: 0.75; t2: 1.25 -> spike, V = 0.25; t3: 0.25 + 0.25 = 0.5
    vs, spikes = run([0.25, 0.5, 0.5, 0.25], beta=1.0, theta=1.0, subtract=True)
    assert vs == [0.25, 0.75, 0.25, 0.5]
    assert spikes == [0, 0, 1, 0]


def test_if_holds_its_potential_without_input():
    # beta = 1: no leak. t0: 0.625, then 0.625 forever.
    vs, spikes = run([0.625, 0.0, 0.0, 0.0], beta=1.0, theta=1.0)
    assert vs == [0.625] * 4
    assert spikes == [0] * 4


# --- strict threshold ----------------------------------------------------------------


def test_threshold_is_strict():
    # beta = 0.5, theta = 1.0:
    # t0: 0 + 0.5 = 0.5; t1: 0.25 + 0.75 = 1.0 (== theta: NO spike, V stays 1.0)
    # t2: 0.5 * 1.0 + 0 = 0.5
    vs, spikes = run([0.5, 0.75, 0.0], beta=0.5, theta=1.0)
    assert vs == [0.5, 1.0, 0.5]
    assert spikes == [0, 0, 0]


def test_fire_mask_strict():
    theta = np.array([1.0, 1.0, 1.0, 2.0])
    v = np.array([1.0, np.nextafter(1.0, 2.0), 0.999, 2.0])
    assert fire(v, theta).tolist() == [False, True, False, False]


def test_if_reaching_theta_exactly_does_not_fire_until_above():
    # beta = 1, theta = 1.0, inputs 0.5 each step:
    # t0: 0.5; t1: 1.0 (== theta, no spike); t2: 1.5 -> spike, zero reset V = 0
    vs, spikes = run([0.5, 0.5, 0.5], beta=1.0, theta=1.0)
    assert vs == [0.5, 1.0, 0.0]
    assert spikes == [0, 0, 1]


# --- bias --------------------------------------------------------------------------


def test_bias_without_input_converges_below_threshold():
    # beta = 0.5, bias = 0.25, no input: V <- 0.5 V + 0.25
    # t0: 0.25; t1: 0.375; t2: 0.4375; t3: 0.46875 (-> 0.5, never above 1)
    vs, spikes = run([0.0] * 4, beta=0.5, theta=1.0, bias=0.25)
    assert vs == [0.25, 0.375, 0.4375, 0.46875]
    assert spikes == [0, 0, 0, 0]


def test_bias_alone_drives_periodic_spikes():
    # beta = 0.5, bias = 0.75, theta = 1.0, zero reset, no input:
    # t0: 0.75; t1: 0.375 + 0.75 = 1.125 -> spike, V=0; t2: 0.75; t3: 1.125 -> spike, V=0
    vs, spikes = run([0.0] * 4, beta=0.5, theta=1.0, bias=0.75)
    assert vs == [0.75, 0.0, 0.75, 0.0]
    assert spikes == [0, 1, 0, 1]


def test_bias_is_added_with_the_leak_not_scaled_by_it():
    # beta = 0.5, bias = 0.25, input 0.5 each step:
    # t0: 0.5*0   + 0.25 + 0.5 = 0.75
    # t1: 0.5*0.75 + 0.25 + 0.5 = 1.125 -> spike, subtract: 0.125
    # t2: 0.5*0.125 + 0.25 + 0.5 = 0.8125
    vs, spikes = run([0.5, 0.5, 0.5], beta=0.5, theta=1.0, bias=0.25, subtract=True)
    assert vs == [0.75, 0.125, 0.8125]
    assert spikes == [0, 1, 0]


def test_if_with_bias():
    # beta = 1, bias = 0.25, theta = 1.0, zero reset, no input:
    # 0.25, 0.5, 0.75, 1.0 (not above), 1.25 -> spike V=0, 0.25
    vs, spikes = run([0.0] * 6, beta=1.0, theta=1.0, bias=0.25)
    assert vs == [0.25, 0.5, 0.75, 1.0, 0.0, 0.25]
    assert spikes == [0, 0, 0, 0, 1, 0]


# --- vectorised, per-neuron parameters and the building blocks -------------------


def test_per_neuron_parameters_in_one_call():
    # Four neurons in one array, each with its own parameters, one step from v:
    # n0: LIF beta .5, theta 1, zero:     0.5*1.0  + 0    + 0.75 = 1.25  -> spike -> 0
    # n1: LIF beta .5, theta 1, subtract: 0.5*1.0  + 0    + 0.75 = 1.25  -> spike -> 0.25
    # n2: IF,         theta 2, zero:      1.0*1.0  + 0    + 0.75 = 1.75  no spike
    # n3: LIF beta .25, theta .5, bias .5: 0.25*1.0 + 0.5 + 0.0  = 0.75  -> spike -> 0
    v = np.array([1.0, 1.0, 1.0, 1.0])
    i = np.array([0.75, 0.75, 0.75, 0.0])
    beta = np.array([0.5, 0.5, 1.0, 0.25])
    theta = np.array([1.0, 1.0, 2.0, 0.5])
    bias = np.array([0.0, 0.0, 0.0, 0.5])
    sub = np.array([False, True, False, False])
    v_before = v.copy()
    v_new, fired = step(v, i, beta, theta, bias, sub)
    assert v_new.tolist() == [0.0, 0.25, 1.75, 0.0]
    assert fired.tolist() == [True, True, False, True]
    assert np.array_equal(v, v_before), "step must not modify its input"


def test_leak_and_reset_building_blocks():
    v = leak(np.array([1.0, -0.5, 2.0]), np.array([0.5, 0.5, 1.0]), np.array([0.0, 0.25, -0.5]))
    assert v.tolist() == [0.5, 0.0, 1.5]
    v = np.array([1.5, 0.5, 3.0, 1.25])
    fired = np.array([True, False, True, True])
    reset(v, fired, np.array([1.0, 1.0, 1.0, 1.0]), np.array([True, True, False, True]))
    # fired + subtract: 1.5-1 = 0.5; not fired: untouched 0.5; fired + zero: 0; fired + subtract: 0.25
    assert v.tolist() == [0.5, 0.5, 0.0, 0.25]


@pytest.mark.parametrize("subtract", [False, True])
def test_step_equals_leak_fire_reset(subtract):
    rng = np.random.default_rng(0)
    n = 50
    v = rng.normal(size=n)
    i = rng.normal(size=n)
    beta = rng.uniform(0, 1, n)
    theta = rng.uniform(0.5, 1.5, n)
    bias = rng.normal(scale=0.1, size=n)
    sub = np.full(n, subtract)
    v_new, fired = step(v, i, beta, theta, bias, sub)
    expect = beta * v + bias + i
    assert np.array_equal(fired, expect > theta)
    expect[fired] = expect[fired] - theta[fired] if subtract else 0.0
    assert np.array_equal(v_new, expect)
