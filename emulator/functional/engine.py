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

  The queue is one network-wide queue over every neuron, as in asynctorch:
  output-layer spikes take forward-step slots too, though they drive no
  synapses (on the chip they make no packets, which changes nothing there).
  Schedulers: ``fifo`` (by the step the spike was queued in, then neuron
  index), ``momentum`` (largest overshoot first, ties to the lower index;
  optional tie-break noise ``momentum_noise``), ``random`` (fresh priorities
  for every queued spike at every forward step, keyed by seed, sample and
  the sample's step, so the batch changes nothing).

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

import numpy as np

from ..config import RunConfig
from .async_steps import run_async
from .draws import INPUT, SPIKE, drop
from .state import FunctionalResult, LayerArrays, Tally

__all__ = ["simulate"]


def simulate(net, frames: np.ndarray, cfg: RunConfig, labels=None, first_sample: int = 0) -> FunctionalResult:
    """Run ``frames`` ``(B, T, n_in)`` (spike counts) through ``net``.

    ``first_sample`` is the index of the batch's first sample in its dataset:
    random draws are keyed by sample index, so results do not depend on how a
    dataset is cut into batches.
    """
    runner = {"layered": _layered, "timestep": _timestep, "async": run_async}[cfg.mode]
    ids = first_sample + np.arange(len(frames))
    return runner(LayerArrays(net), np.asarray(frames, float), cfg, labels, ids)


def _layered(n: LayerArrays, frames, cfg, labels, ids) -> FunctionalResult:
    B, T, _ = frames.shape
    tally = Tally(n, B, cfg.trace)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    last = [np.zeros((B, p.size)) for p in n.layers]  # each layer's spikes of the previous timestep
    state = [(None, None)] * len(n.layers)  # what each layer's next step owes (model.timestep)
    for t in range(T):
        s = drop(frames[:, t], cfg.input_dropout, cfg.seed, INPUT * 1000, ids, t)
        tally.spiked(0, s, t, labels)
        for i in range(len(n.layers)):
            tally.sops += s @ n.fanout[i]
            tally.processed += s.sum(axis=1) if i else 0
            v[i], fired = n.step(i, v[i], syn, s @ n.weights[i] + n.recurrent_current(i, last[i], tally), state)
            tally.spiked(i + 1, fired, t, labels)
            s = drop(fired, cfg.spike_dropout, cfg.seed, SPIKE * 1000 + i + 1, ids, t)
            last[i] = s
            tally.steps += 1
    return tally.result(v[-1])


def _timestep(n: LayerArrays, frames, cfg, labels, ids) -> FunctionalResult:
    B, T, n_in = frames.shape
    L = len(n.layers)
    tally = Tally(n, B, cfg.trace)
    v = [np.zeros((B, p.size)) for p in n.layers]
    syn = [np.zeros((B, p.size)) for p in n.layers]
    prev = [np.zeros((B, n_in))] + [np.zeros((B, p.size)) for p in n.layers]
    state = [(None, None)] * L
    for k in range(T + L):
        now = [drop(frames[:, k], cfg.input_dropout, cfg.seed, INPUT * 1000, ids, k) if k < T
               else np.zeros((B, n_in))]
        tally.spiked(0, now[0], k, labels)
        for i in range(len(n.layers)):
            tally.sops += prev[i] @ n.fanout[i]
            tally.processed += prev[i].sum(axis=1) if i else 0
            v[i], fired = n.step(i, v[i], syn, prev[i] @ n.weights[i] + n.recurrent_current(i, prev[i + 1], tally),
                                 state)
            tally.spiked(i + 1, fired, k, labels)
            now.append(drop(fired, cfg.spike_dropout, cfg.seed, SPIKE * 1000 + i + 1, ids, k))
        tally.steps += 1
        prev = now
    return tally.result(v[-1])
