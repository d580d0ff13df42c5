"""The reference's state and counters: the network as dense per-layer arrays, and per-sample tallies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import RESET_CODES, integrate, predict, timestep

__all__ = ["FunctionalResult", "LayerArrays", "Tally"]


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


class LayerArrays:
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
        # each layer's conventions, as model.timestep takes them
        self.conv = [{"kind": RESET_CODES[c.reset], "at_threshold": c.threshold == ">=", "several": c.spikes == "several",
                      "drop_input": c.drop_input and c.reset == "zero"} for c in (p.conventions for p in self.layers)]

    def step(self, i: int, v: np.ndarray, syn: list, current, state: list) -> tuple[np.ndarray, np.ndarray]:
        """One whole timestep of layer i in its conventions (``model.timestep``): returns the new
        potentials and the spike counts; ``state[i]`` keeps what the next step owes (debt, dropped)."""
        p = self.layers[i]
        debt, dropped = state[i]
        kwargs = {**self.conv[i], "debt": debt, "dropped": dropped}
        if self.cuba:
            kwargs.update(s=syn[i], alpha=self.alpha[i], gain=self.gain[i], ibias=self.ibias[i])
        v, _, counts, debt, dropped = timestep(v, current, p.beta, p.bias, p.theta, **kwargs)
        state[i] = (debt, dropped)
        return v, counts

    def integrate(self, i: int, v: np.ndarray, syn: list, current) -> np.ndarray:
        """Layer i's potential after its leak ``v`` takes this timestep's ``current``: directly,
        or through the CubaLIF synaptic current ``syn[i]`` (updated in place)."""
        if not self.cuba:
            return integrate(v, current)
        return integrate(v, current, syn[i], self.alpha[i], self.gain[i], self.ibias[i])

    def recurrent_current(self, i: int, last: np.ndarray, tally) -> np.ndarray | float:
        """Layer i's own spikes of the previous timestep through its recurrent synapses."""
        if self.rec[i] is None:
            return 0.0
        tally.sops += last @ self.rec_fanout[i]
        tally.processed += last.sum(axis=1)
        return last @ self.rec[i]


class Tally:
    """Per-sample counters shared by the modes."""

    def __init__(self, n: LayerArrays, B: int, record: bool):
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
        pred = predict(self.out_counts, v_out, self.n.net.readout)
        events = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in self.ev.items()}
        return FunctionalResult(self.spikes, self.sops, self.steps, self.lat, self.lat_correct, pred,
                                self.first_out, self.out_counts, events)
