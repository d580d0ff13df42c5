"""The training graph's forward passes, in torch: layered BPTT and unlayered (async) forward steps.

Both step the reference's semantics (``emulator.functional``) with autograd:
the same arithmetic in the same order, so that in float64 they give the
reference's spikes exactly (the tests check it), and a trained model runs on
the chip as it was trained. What the training graph adds is the gradient:

- it flows through the membrane, the reset (unless ``detach_reset``), the
  queue and the emitted spikes;
- the spike's derivative is a surrogate (``surrogate.py``);
- the scheduler's choice, the refractory mask and the dropout masks are
  constants: they are computed from detached values, with the reference's own
  keyed draws (``emulator.functional.uniform``), so a batch replays exactly.

The unlayered pass is asynctorch's: per timestep every neuron decays and its
refractory flag clears, the frame's input is one current into the first
layer, then forward steps until nothing is queued or pending. A step adds the
pending current to every non-refractory neuron, fires where ``V > theta``,
resets, marks the fired refractory (each independently not, with probability
``refrac_dropout``), queues their spikes in one network-wide queue (output
spikes included), and the scheduler emits the first F queued spikes per
sample, whose synapses give the next step's current.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..functional import NOISE, RANDOM, REFRAC, select, uniform
from ..model import Arch, fold_nodes, layer_nodes

__all__ = ["Layers", "async_forward", "layered_forward"]


@dataclass
class Layers:
    """A feed-forward LIF network as the training graph holds it. Without ``arch`` every layer is dense,
    ``weights[l]`` of shape ``(n_{l-1}, n_l)``; with it, a convolution layer's weight is
    ``(C_out, C_in, k, k)`` (see ``emulator.model.arch``)."""

    weights: list[torch.Tensor]
    beta: list[torch.Tensor]  # per neuron, per layer
    theta: list[torch.Tensor]
    subtract: bool = False  # subtract reset, else zero reset
    arch: Arch | None = None

    @property
    def sizes(self) -> list[int]:
        if self.arch is not None:
            return self.arch.sizes
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def project(self, i: int, s: torch.Tensor) -> torch.Tensor:
        """The current that spikes (or input counts) ``s`` ``(B, n_{i-1})`` give layer ``i`` (from 0)."""
        lay = self.arch.layers[i] if self.arch is not None else None
        if lay is None or lay.kind == "dense":
            return s @ self.weights[i]
        x = torch.nn.functional.conv2d(s.reshape(len(s), *lay.in_shape), self.weights[i], stride=lay.stride)
        if lay.pool > 1:  # a sum pooling, as the file's SumPool2d
            x = torch.nn.functional.avg_pool2d(x, lay.pool, divisor_override=1)
        return x.flatten(1)

    def synapses(self, i: int) -> sp.csr_matrix:
        """Layer ``i``'s synapses as the chip and the reference hold them: one sparse ``(n_in, n_out)``."""
        w = self.weights[i].detach().double().numpy()
        lay = self.arch.layers[i] if self.arch is not None else None
        if lay is None or lay.kind == "dense":
            return sp.csr_matrix(w)
        return fold_nodes(layer_nodes(lay, w), lay.in_shape).matrix()


def _reset(v: torch.Tensor, spikes: torch.Tensor, theta: torch.Tensor, subtract: bool, detach: bool) -> torch.Tensor:
    """The reset, written so that its forward values are the reference's (0, or V - theta)."""
    s = spikes.detach() if detach else spikes
    return v - theta * s if subtract else v * (1.0 - s)


def layered_forward(net: Layers, frames: torch.Tensor, spike_fn, detach_reset: bool = False):
    """Layered mode: per timestep each layer takes all of the previous layer's spikes, then fires once.

    Returns ``(out, spikes)``: the output layer's spikes per timestep ``(T, B, n_out)`` and every layer's
    spike tensors ``[layer](T, B, n)``."""
    B, T, _ = frames.shape
    v = [frames.new_zeros(B, n) for n in net.sizes[1:]]
    spikes = [[] for _ in net.weights]
    for t in range(T):
        s = frames[:, t]
        for i in range(len(net.weights)):
            v[i] = net.beta[i] * v[i] + net.project(i, s)
            s = spike_fn(v[i] - net.theta[i])
            v[i] = _reset(v[i], s, net.theta[i], net.subtract, detach_reset)
            spikes[i].append(s)
    spikes = [torch.stack(s) for s in spikes]
    return spikes[-1], spikes


def async_forward(net: Layers, frames: torch.Tensor, spike_fn, F: int | None, scheduler: str = "random",
                  refrac_dropout: float = 0.0, seed: int = 0, first_sample: int = 0, detach_reset: bool = False,
                  max_steps: int = 10_000, momentum_noise: float = 0.0):
    """Unlayered forward steps (see the module docstring), with the frame's input as one current.
    Returns ``(out, spikes, steps)``: the output layer's spikes per timestep ``(T, B, n_out)``, every
    layer's ``[layer](T, B, n)`` (summed over the timestep's forward steps) and the forward steps per
    sample ``(B,)``. ``max_steps`` only guards a timestep against running forever (a neuron left
    non-refractory above threshold by a subtract reset fires at every step)."""
    B, T, _ = frames.shape
    sizes, L = net.sizes, len(net.weights)
    ids = first_sample + np.arange(B)
    v = [frames.new_zeros(B, n) for n in sizes[1:]]
    refr = [torch.zeros(B, n, dtype=torch.bool) for n in sizes[1:]]
    lo = np.concatenate([[0], np.cumsum(sizes[1:])])  # each layer's slice of the network-wide queue
    n_q = int(lo[-1])
    queued = [frames.new_zeros(B, n) for n in sizes[1:]]  # the queued spikes, as values that carry gradient
    count = np.zeros((B, n_q))  # the same, counted (constants)
    key = np.full((B, n_q), np.inf)
    steps = np.zeros(B, np.int64)
    step_no = 0
    fanout = [np.diff(net.synapses(i).indptr).astype(float) for i in range(L)]  # synapses per source
    per_step = [[] for _ in range(L)]
    for t in range(T):
        pending = [frames.new_zeros(B, n) for n in sizes[1:]]
        for i in range(L):
            v[i] = net.beta[i] * v[i]
            refr[i] = torch.zeros_like(refr[i])
        pending[0] = pending[0] + net.project(0, frames[:, t])
        syn_pending = frames[:, t].numpy() @ fanout[0]  # synaptic events behind the pending current
        spiked = [frames.new_zeros(B, n) for n in sizes[1:]]
        active = _lifted(v, net.theta) | _busy(count, syn_pending, pending)
        n_steps = 0
        while active.any() and n_steps < max_steps:
            act = torch.as_tensor(active)[:, None]
            syn_pending[active] = 0.0
            for i in range(L):
                v[i] = v[i] + torch.where(refr[i] | ~act, 0.0, pending[i])
                pending[i] = torch.where(act, 0.0, pending[i])
                can_fire = ~refr[i] & act
                fired = (v[i] > net.theta[i]) & can_fire
                # 1 where fired (the reference's spike), 0 elsewhere, and the surrogate's gradient at every
                # neuron that could fire: masking by `fired` instead would leave a silent neuron no gradient
                # to start firing with (an output class that never fires would never be learnt)
                s = spike_fn(v[i] - net.theta[i]) * can_fire
                overshoot = (v[i] - net.theta[i]).detach().numpy()
                v[i] = _reset(v[i], s, net.theta[i], net.subtract, detach_reset)
                keep = fired
                if refrac_dropout > 0:
                    u = uniform(seed, REFRAC * 1000 + i + 1, ids, steps, sizes[i + 1])
                    keep = fired & torch.as_tensor(u >= refrac_dropout)
                refr[i] = refr[i] | keep
                spiked[i] = spiked[i] + s
                f = fired.numpy()
                new = f & (count[:, lo[i]:lo[i + 1]] == 0)
                count[:, lo[i]:lo[i + 1]] += f
                queued[i] = queued[i] + s
                if scheduler == "fifo":
                    k = np.broadcast_to(step_no * n_q + lo[i] + np.arange(sizes[i + 1], dtype=float), f.shape)
                    key[:, lo[i]:lo[i + 1]] = np.where(new, k, key[:, lo[i]:lo[i + 1]])
                elif scheduler == "momentum":  # largest overshoot first, ties broken by lambda * U
                    k = -overshoot
                    if momentum_noise > 0:
                        k = k - momentum_noise * uniform(seed, NOISE * 1000 + i + 1, ids, steps, sizes[i + 1])
                    key[:, lo[i]:lo[i + 1]] = np.where(new, k, key[:, lo[i]:lo[i + 1]])
            if scheduler == "random":  # fresh priorities every step, the reference's draws
                key = np.where(count > 0, uniform(seed, RANDOM * 1000, ids, steps, n_q), np.inf)
            sel = select(count, key, F) * active[:, None]
            share = np.divide(sel, count, out=np.zeros_like(sel), where=count > 0)  # of each neuron's queued value
            count -= sel
            key[count == 0] = np.inf
            for i in range(L):
                emitted = queued[i] * torch.as_tensor(share[:, lo[i]:lo[i + 1]], dtype=queued[i].dtype)
                queued[i] = queued[i] - emitted
                if i + 1 < L:  # output spikes drive nothing
                    pending[i + 1] = pending[i + 1] + net.project(i + 1, emitted)
                    syn_pending += sel[:, lo[i]:lo[i + 1]] @ fanout[i + 1]
            steps += active
            step_no += 1
            n_steps += 1
            active = _busy(count, syn_pending, pending)
        for i in range(L):
            per_step[i].append(spiked[i])
    spikes = [torch.stack(s) for s in per_step]
    return spikes[-1], spikes, steps


def _lifted(v, theta) -> np.ndarray:
    """Per sample: a neuron that the decay left over threshold steps once even without input."""
    return np.any([(vi > th).any(dim=1).numpy() for vi, th in zip(v, theta)], axis=0)


def _busy(count: np.ndarray, syn_pending: np.ndarray, pending) -> np.ndarray:
    """Per sample: spikes queued, or synaptic events or current pending (as the reference steps)."""
    return (count.any(axis=1) | (syn_pending > 0)
            | np.any([(p != 0).any(dim=1).detach().numpy() for p in pending], axis=0))
