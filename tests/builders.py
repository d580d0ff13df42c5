"""Shared builders for the tests: small networks, custom profiles, oracles.

The oracles here are written independently of the chip: plain loops over
timesteps and layers (or over a spike queue), straight from docs/design.md.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections import deque
from pathlib import Path

import nir
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from emulator.model import network_from_nir
from hw_models.profile import profile_from_dict

BASE_PROFILE = {
    "name": "custom",
    "source": "test profile",
    "mesh": {"width": 3, "height": 1, "cores_per_tile": 1},
    "core": {
        "max_neurons": 64, "max_synapses": None, "queue_capacity": 16, "update_all_neurons": False,
        "latency_s": {"message_in": 10e-9, "synaptic_op": 3e-9, "neuron_update": 5e-9,
                      "spike_out": 7e-9, "message_out": 11e-9},
        "energy_j": {"message_in": 1e-12, "synaptic_op": 2e-12, "neuron_update": 4e-12,
                     "spike_out": 8e-12, "message_out": 16e-12},
        "static_power_w": 1e-3,
    },
    "noc": {"hop_latency_s": {"east_west": 20e-9, "north_south": 30e-9},
            "hop_energy_j": {"east_west": 32e-12, "north_south": 64e-12},
            "local_latency_s": 2e-9, "local_energy_j": 0.5e-12, "buffer_packets": 4, "static_power_w": 2e-3},
    "barrier": {"latency_s": {1: 100e-9, 2: 150e-9}, "energy_j": 128e-12},
}


def changed(data: dict, **changes) -> dict:
    """A deep copy of a profile dict with nested keys changed: ``core__queue_capacity=1``."""
    data = copy.deepcopy(data)
    for key, value in changes.items():
        node = data
        *path, last = key.split("__")
        for p in path:
            node = node[p]
        node[last] = value
    return data


def profile(**changes):
    """The base test profile with nested-key changes, e.g. ``core__queue_capacity=1``."""
    return profile_from_dict(changed(BASE_PROFILE, **changes), "test-profile.yaml")


def nir_chain(weights: list[np.ndarray], beta=0.5, theta=1.0, reset="zero", dt=1e-3, biases=None) -> nir.NIRGraph:
    """Input -> (Linear|Affine -> LIF)* -> Output with ``r = tau/dt`` so weights and biases are used as is."""
    n_in = weights[0].shape[1]
    nodes = {"input": nir.Input(input_type=np.array([n_in]))}
    edges, prev = [], "input"
    for i, w in enumerate(weights):
        n = w.shape[0]
        b = np.broadcast_to(np.asarray(beta, float), (n,))
        tau = dt / (1.0 - b)
        if biases is None:
            nodes[f"fc{i}"] = nir.Linear(weight=np.asarray(w, float))
        else:
            nodes[f"fc{i}"] = nir.Affine(weight=np.asarray(w, float), bias=np.asarray(biases[i], float))
        nodes[f"lif{i}"] = nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n),
                                   v_threshold=np.broadcast_to(np.asarray(theta, float), (n,)).copy())
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([weights[-1].shape[0]]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "reset": reset})


def random_net(sizes, seed, reset="zero", density=1.0, bias=False, grid=False):
    """A seeded random feed-forward LIF network with per-neuron beta and theta (and bias).

    With ``grid`` weights are multiples of 1/4, thresholds of 1/2 and beta is 1/2: the
    arithmetic is exact, so potentials land exactly on thresholds (``>`` and ``>=`` differ)."""
    rng = np.random.default_rng(seed)
    weights = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        w = rng.normal(0.3, 1.0, (b, a)) * (rng.random((b, a)) < density)
        weights.append(np.round(w * 4) / 4 if grid else w)
    betas = [rng.uniform(0.5, 0.95, w.shape[0]) for w in weights]
    thetas = [rng.uniform(0.8, 1.5, w.shape[0]) for w in weights]
    if grid:
        betas = [np.full(w.shape[0], 0.5) for w in weights]
        thetas = [rng.integers(1, 4, w.shape[0]) / 2 for w in weights]
    # Build with per-layer parameters.
    biases = [rng.uniform(-0.2, 0.6, w.shape[0]) for w in weights] if bias else None
    g = nir_chain(weights, reset=reset, biases=biases)
    for i, (b, th) in enumerate(zip(betas, thetas)):
        tau = 1e-3 / (1.0 - b)
        g.nodes[f"lif{i}"] = nir.LIF(tau=tau, r=tau / 1e-3, v_leak=np.zeros(len(b)), v_threshold=th)
    return network_from_nir(g, "random")


def random_frames(n_samples, n_frames, n_in, p, seed, max_count=1):
    rng = np.random.default_rng(seed)
    return (rng.random((n_samples, n_frames, n_in)) < p) * rng.integers(1, max_count + 1, (n_samples, n_frames, n_in))


def _layers(net):
    return [(p.beta, p.theta, p.bias, p.subtract, pr.weights.toarray()) for p, pr in
            zip(net.populations[1:], net.projections)]


def oracle_layered(net, frames):
    """Spike counts ``[layer][t, neuron]`` for one sample, layered semantics."""
    layers = _layers(net)
    v = [np.zeros(len(L[0])) for L in layers]
    out = [np.zeros((len(frames), len(L[0])), int) for L in layers]
    for t, frame in enumerate(frames):
        s = frame.astype(float)
        for i, (beta, theta, bias, sub, w) in enumerate(layers):
            v[i] = beta * v[i] + bias + s @ w
            fired = v[i] > theta
            v[i] = np.where(fired, np.where(sub, v[i] - theta, 0.0), v[i])
            out[i][t] = fired
            s = fired.astype(float)
    return out


def oracle_timestep(net, frames):
    """Spike counts ``[layer][tick, neuron]``: spikes of tick k are integrated at tick k+1."""
    layers = _layers(net)
    n_ticks = len(frames) + len(layers)
    v = [np.zeros(len(L[0])) for L in layers]
    out = [np.zeros((n_ticks, len(L[0])), int) for L in layers]
    prev = [None] * (len(layers) + 1)  # spikes emitted in the previous tick, per population
    prev[0] = np.zeros(frames.shape[1])
    for i in range(len(layers)):
        prev[i + 1] = np.zeros(len(layers[i][0]))
    for k in range(n_ticks):
        now = [frames[k].astype(float) if k < len(frames) else np.zeros(frames.shape[1])]
        for i, (beta, theta, bias, sub, w) in enumerate(layers):
            v[i] = beta * v[i] + bias + prev[i] @ w
            fired = v[i] > theta
            v[i] = np.where(fired, np.where(sub, v[i] - theta, 0.0), v[i])
            out[i][k] = fired
            now.append(fired.astype(float))
        prev = now
    return out


def oracle_async_fifo(net, frames):
    """Async semantics, one spike at a time in FIFO order, refractory until the next timestep.

    Per timestep: clear refractory flags, leak every neuron (with its bias),
    queue the input spikes in index order, then fire the neurons the leak left
    above threshold (in index order, layer by layer) and queue their spikes;
    then pop spikes one by one: integrate the spike into its non-refractory
    targets, fire those above threshold (in index order), reset them, make
    them refractory and queue their spikes.
    """
    layers = _layers(net)
    sizes = [frames.shape[1]] + [len(L[0]) for L in layers]
    v = [np.zeros(n) for n in sizes[1:]]
    out = [np.zeros((len(frames), n), int) for n in sizes[1:]]
    for t, frame in enumerate(frames):
        refr = [np.zeros(n, bool) for n in sizes[1:]]
        for i, (beta, _, bias, _, _) in enumerate(layers):
            v[i] = beta * v[i] + bias
        queue = deque((0, j) for j in range(len(frame)) for _ in range(int(frame[j])))
        for i, (_, theta, _, sub, _) in enumerate(layers):
            fired = np.flatnonzero(v[i] > theta)
            v[i][fired] = np.where(sub[fired], v[i][fired] - theta[fired], 0.0)
            refr[i][fired] = True
            out[i][t, fired] += 1
            queue.extend((i + 1, f) for f in fired)
        while queue:
            pop, j = queue.popleft()
            if pop == len(layers):
                continue
            beta, theta, bias, sub, w = layers[pop]
            targets = np.flatnonzero(w[j] != 0)
            live = targets[~refr[pop][targets]]
            v[pop][live] += w[j][live]
            fired = live[v[pop][live] > theta[live]]
            v[pop][fired] = np.where(sub[fired], v[pop][fired] - theta[fired], 0.0)
            refr[pop][fired] = True
            out[pop][t, fired] += 1
            queue.extend((pop + 1, f) for f in fired)
    return out


def chip_spikes(result, net, n_steps):
    """Spike counts ``[layer][step, neuron]`` of sample 0 from a traced run."""
    df = result.tracer.table().to_pandas()
    df = df[(df.kind == "spike") & (df["sample"] == 0)]
    out = []
    for pop in net.populations[1:]:
        m = np.zeros((n_steps, pop.size), int)
        d = df[df.layer == pop.name]
        np.add.at(m, (d.step.to_numpy(), d.neuron.to_numpy()), 1)
        out.append(m)
    return out


# -- random cases and spike rasters, for the property tests of both engines --------

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)


@st.composite
def cases(draw, bias=True, binary=False, subtract=True, grid=False):
    n_layers = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 9)) for _ in range(n_layers + 1)]
    seed = draw(st.integers(0, 10_000))
    net = random_net(sizes, seed, reset=draw(st.sampled_from(["zero", "subtract"] if subtract else ["zero"])),
                     density=draw(st.sampled_from([0.5, 1.0])), bias=bias and draw(st.booleans()),
                     grid=grid and draw(st.booleans()))
    frames = random_frames(draw(st.integers(1, 3)), draw(st.integers(1, 5)), sizes[0],
                           draw(st.sampled_from([0.2, 0.5, 0.8])), seed + 1, max_count=1 if binary else 2)
    return net, frames


def raster(events, net, n_samples, n_steps):
    """Spike counts ``[layer](sample, step, neuron)`` from recorded events."""
    out = []
    for pop in range(1, len(net.populations)):
        lo, hi = net.offsets[pop], net.offsets[pop + 1]
        sel = (events["neuron"] >= lo) & (events["neuron"] < hi)
        m = np.zeros((n_samples, n_steps, hi - lo), int)
        np.add.at(m, (events["sample"][sel], events["step"][sel], events["neuron"][sel] - lo), 1)
        out.append(m)
    return out


def chip_events(res):
    df = res.tracer.table().to_pandas()
    df = df[(df.kind == "spike") & (df.layer != res.network.populations[0].name)]
    offsets = dict(zip([p.name for p in res.network.populations], res.network.offsets[:-1]))
    base = np.array([offsets[name] for name in df.layer], dtype=np.int64)
    return {"sample": df["sample"].to_numpy(), "step": df.step.to_numpy(), "neuron": base + df.neuron.to_numpy()}


def assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def oracle_layered_conventions(net, frames):
    """Layered semantics with each layer's conventions, neuron by neuron in plain Python:
    spike counts ``[layer][t, neuron]`` for one sample (docs/design.md, "Neurons")."""
    layers = [(p.conventions, p.beta, p.theta, p.bias, pr.weights.toarray())
              for p, pr in zip(net.populations[1:], net.projections)]
    v = [[0.0] * len(L[1]) for L in layers]
    debt = [[0.0] * len(L[1]) for L in layers]
    dropped = [[False] * len(L[1]) for L in layers]
    out = [np.zeros((len(frames), len(L[1])), int) for L in layers]
    for t, frame in enumerate(frames):
        s = frame.astype(float)
        for i, (c, beta, theta, bias, w) in enumerate(layers):
            current = s @ w
            spikes = np.zeros(len(beta))
            for j in range(len(beta)):
                x = beta[j] * v[i][j] + bias[j] + current[j] - debt[i][j]
                debt[i][j] = 0.0
                if dropped[i][j]:  # a zero reset that drops the next step's input
                    x, dropped[i][j] = 0.0, False
                fires = x >= theta[j] if c.threshold == ">=" else x > theta[j]
                if fires:
                    n = float(np.floor(x / theta[j])) if c.spikes == "several" else 1.0
                    spikes[j] = n
                    if c.reset == "zero":
                        x = 0.0
                        dropped[i][j] = c.drop_input
                    elif c.reset == "subtract":
                        x = x - n * theta[j]
                    else:  # subtract-next: the next step pays
                        debt[i][j] = n * theta[j]
                v[i][j] = x
            out[i][t] = spikes
            s = spikes
    return out


@st.composite
def conventions(draw, several=True):
    """Random conventions for a layer (the threshold's and reset's every choice)."""
    from emulator.model import Conventions

    return Conventions(threshold=draw(st.sampled_from([">", ">="])),
                       reset=draw(st.sampled_from(["zero", "subtract", "subtract-next"])),
                       drop_input=draw(st.booleans()),
                       spikes=draw(st.sampled_from(["one", "several"] if several else ["one"])))


def with_conventions(net, convs):
    """``net`` with layer i stepping by ``convs[i % len(convs)]``."""
    for i, p in enumerate(net.populations[1:]):
        p.conventions = convs[i % len(convs)]
    return net


def oracle_async_forward_steps(net, frames, F, scheduler="fifo"):
    """asynctorch's async semantics in plain Python, one sample, input spikes queued (not prioritized):
    spike counts ``[layer][t, neuron]``.

    Per timestep: refractory flags clear, every neuron leaks (with its bias), the frame's input spikes
    join one network-wide queue. Then forward steps while anything is queued or pending (and once at
    the start): integrate the pending current into the non-refractory neurons; every layer fires
    where V > theta, resets and turns refractory, its spikes joining the queue (output spikes too:
    they take slots, though they drive nothing); the F queued spikes with the smallest keys are
    emitted, and their synapses are the next step's current. Keys: fifo (the step a spike was queued
    in, then its queue position: input, then the layers in order), momentum (the largest overshoot
    V - theta first, input spikes before all; ties to the lower queue position).
    """
    layers = _layers(net)
    sizes = [frames.shape[1]] + [len(L[0]) for L in layers]
    base = np.concatenate([[0], np.cumsum(sizes)])  # queue position of population p's neuron j: base[p] + j
    v = [np.zeros(n) for n in sizes[1:]]
    out = [np.zeros((len(frames), n), int) for n in sizes[1:]]
    queue, step = [], 0  # entries (key, position, population, neuron)
    for t, frame in enumerate(frames):
        refr = [np.zeros(n, bool) for n in sizes[1:]]
        for i, (beta, _, bias, _, _) in enumerate(layers):
            v[i] = beta * v[i] + bias
        for j in range(len(frame)):
            key = step if scheduler == "fifo" else -np.inf
            queue += [(key, base[0] + j, 0, j)] * int(frame[j])
        pending = [np.zeros(n) for n in sizes[1:]]
        first = True
        while first or queue or any(p.any() for p in pending):
            first = False
            for i in range(len(layers)):
                live = ~refr[i]
                v[i][live] += pending[i][live]
                pending[i][:] = 0.0
            for i, (_, theta, _, sub, _) in enumerate(layers):
                fired = np.flatnonzero((v[i] > theta) & ~refr[i])
                for f in fired:
                    over = v[i][f] - theta[f]
                    v[i][f] = v[i][f] - theta[f] if sub[f] else 0.0
                    refr[i][f] = True
                    out[i][t, f] += 1
                    key = step if scheduler == "fifo" else -over
                    queue.append((key, base[i + 1] + f, i + 1, f))
            queue.sort(key=lambda e: (e[0], e[1]))
            emitted, queue = queue[:F], queue[F:]
            for _, _, pop, j in emitted:
                if pop < len(layers):  # an output spike drives nothing
                    pending[pop] += layers[pop][4][j]
            step += 1
    return out


def dead_pid() -> int:
    """The pid of a process that has just ended (not reused this soon)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def stale_scratch_name(target_name: str) -> str:
    """A temporary name of ``emulator.scratch`` for ``target_name``, as a killed process leaves it."""
    from emulator.scratch import scratch_name

    return scratch_name(Path(target_name)).replace(f".{os.getpid()}.", f".{dead_pid()}.", 1) + "abcd1234"
