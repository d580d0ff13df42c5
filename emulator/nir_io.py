"""Load feed-forward NIR graphs into the network IR, and write them back.

Supported here: ``Input -> (Affine|Linear -> LIF|IF)+ -> Output``. NIR neurons
are continuous-time; they are discretised with forward Euler at ``dt``::

    tau dv/dt = (v_leak - v) + r I   ->   v <- (1 - dt/tau) v + (dt/tau) v_leak + (dt r / tau) I
    dv/dt = r I  (IF)                ->   v <- v + dt r I

so ``beta = 1 - dt/tau``, the input scale ``dt*r/tau`` is folded into the
incoming weights and bias, and ``(dt/tau) v_leak`` becomes a constant bias.
``dt`` comes from the graph metadata ``dt``, else from ``tau / r`` of the first
LIF node where ``r != 1`` (snnTorch's export convention), else from the
caller's fallback. The reset mode comes from the metadata ``reset``
(``zero``, the default, or ``subtract``).
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import scipy.sparse as sp

from .errors import InputError
from .network import Network, Population, Projection

__all__ = ["load_nir", "network_from_nir", "network_to_nir"]

SYNAPSES = ("Affine", "Linear")
NEURONS = ("LIF", "IF")


def load_nir(path: str | Path, dt_fallback_s: float = 1e-3) -> Network:
    """Read a ``.nir`` file; bad files and unsupported graphs raise InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file", "no such file")
    try:
        graph = nir.read(str(path))
    except Exception as exc:  # h5py/nir raise many kinds of errors on bad files
        raise InputError(path, "file", f"not a readable NIR file ({type(exc).__name__}: {exc})") from None
    return network_from_nir(graph, path.stem, str(path), dt_fallback_s)


def _chain(graph: nir.NIRGraph, file: str) -> list[str]:
    """The node names from the Input to the Output, checking the graph is a chain."""
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise InputError(file, "nodes", f"expected exactly one Input node, found {len(inputs)}")
    chain = [inputs[0]]
    while not isinstance(graph.nodes[chain[-1]], nir.Output):
        nxt = succ.get(chain[-1], [])
        if len(nxt) != 1:
            raise InputError(file, f"nodes.{chain[-1]}",
                             f"expected one successor in a feed-forward chain, found {len(nxt)}")
        if nxt[0] in chain:
            raise InputError(file, f"nodes.{nxt[0]}", "cycle in the graph (recurrence is not supported yet)")
        chain.append(nxt[0])
    return chain


def _dt(graph: nir.NIRGraph, fallback: float, file: str) -> tuple[float, str]:
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    if "dt" in meta:
        dt, source, field = float(np.asarray(meta["dt"], float).reshape(-1)[0]), "metadata", "metadata.dt"
    else:
        dt, source, field = float(fallback), "fallback", "--dt-us"
        for name, node in graph.nodes.items():
            if isinstance(node, nir.LIF):
                r = np.asarray(node.r, float).reshape(-1)
                if r.size and not np.allclose(r, 1.0):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        dt = float(np.asarray(node.tau, float).reshape(-1)[0] / r[0])
                    source, field = "tau/r", f"nodes.{name}.r"
                    break
    if not np.isfinite(dt) or dt <= 0:
        raise InputError(file, field, f"the timestep dt = {dt} ({source}) must be positive and finite")
    return dt, source


def network_from_nir(graph: nir.NIRGraph, name: str = "model", file: str = "<graph>",
                     dt_fallback_s: float = 1e-3) -> Network:
    """Convert an in-memory NIR graph (see the module docstring)."""
    dt, dt_source = _dt(graph, dt_fallback_s, file)
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    reset_mode = meta.get("reset", "zero")
    if isinstance(reset_mode, bytes):
        reset_mode = reset_mode.decode()
    if reset_mode not in ("zero", "subtract"):
        raise InputError(file, "metadata.reset", f"expected 'zero' or 'subtract', got {reset_mode!r}")
    chain = _chain(graph, file)
    shape = tuple(int(s) for s in np.asarray(graph.nodes[chain[0]].input_type["input"]).reshape(-1))
    n_in = int(np.prod(shape))
    input_shape = (1, 1, n_in) if len(shape) == 1 else tuple([1] * (3 - len(shape)) + list(shape))
    pops = [Population("input", n_in)]
    projections = []
    body = chain[1:-1]
    for nm in body:
        kind = type(graph.nodes[nm]).__name__
        if kind not in SYNAPSES + NEURONS:
            raise InputError(file, f"nodes.{nm}", f"unsupported node type {kind} "
                             f"(supported: {', '.join(('Input',) + SYNAPSES + NEURONS + ('Output',))})")
    if len(body) % 2 or not body:
        raise InputError(file, "nodes", "expected alternating (Affine|Linear) and (LIF|IF) nodes")
    for syn_name, neu_name in zip(body[0::2], body[1::2]):
        syn, neu = graph.nodes[syn_name], graph.nodes[neu_name]
        for nm, node, kinds in ((syn_name, syn, SYNAPSES), (neu_name, neu, NEURONS)):
            if type(node).__name__ not in kinds:
                raise InputError(file, f"nodes.{nm}",
                                 f"unsupported node type {type(node).__name__} here (expected one of {', '.join(kinds)})")
        w = np.asarray(syn.weight, dtype=float)
        if w.ndim != 2 or w.shape[1] != pops[-1].size:
            raise InputError(file, f"nodes.{syn_name}.weight",
                             f"shape {w.shape} does not fit its input of {pops[-1].size} neurons")
        if not np.all(np.isfinite(w)):
            raise InputError(file, f"nodes.{syn_name}.weight", "NaN or infinite weights")
        n = w.shape[0]
        b = np.asarray(getattr(syn, "bias", 0.0), float).reshape(-1)
        if b.size not in (1, n) or not np.all(np.isfinite(b)):
            raise InputError(file, f"nodes.{syn_name}.bias", f"expected {n} finite values, got {b.size}"
                             + ("" if np.all(np.isfinite(b)) else " with NaN or infinity"))
        b = np.broadcast_to(b, (n,))

        def param(attr, default=None, nm=neu_name, node=neu, n=n):
            val = getattr(node, attr, default)
            arr = np.asarray(val, float).reshape(-1)
            if arr.size not in (1, n):
                raise InputError(file, f"nodes.{nm}.{attr}", f"size {arr.size} does not match {n} neurons")
            if not np.all(np.isfinite(arr)):
                raise InputError(file, f"nodes.{nm}.{attr}", "NaN or infinite values")
            return np.broadcast_to(arr, (n,)).astype(float)

        r, theta = param("r"), param("v_threshold")
        if np.any(param("v_reset", 0.0) != 0):
            raise InputError(file, f"nodes.{neu_name}.v_reset", "only v_reset = 0 is supported")
        if isinstance(neu, nir.LIF):
            tau, v_leak = param("tau"), param("v_leak", 0.0)
            if np.any(tau <= 0):
                raise InputError(file, f"nodes.{neu_name}.tau", "time constants must be positive")
            beta, scale, leak_bias = 1.0 - dt / tau, dt * r / tau, dt / tau * v_leak
        else:
            beta, scale, leak_bias = np.ones(n), dt * r, np.zeros(n)
        weights = sp.csr_matrix((w * scale[:, None]).T)
        weights.eliminate_zeros()
        weights.sort_indices()
        pops.append(Population(neu_name, n, beta=beta, theta=theta, bias=b * scale + leak_bias,
                               subtract=np.full(n, reset_mode == "subtract")))
        projections.append(Projection(len(pops) - 2, len(pops) - 1, weights))
    return Network(name, pops, projections, dt, input_shape, dt_source)


def network_to_nir(net: Network) -> nir.NIRGraph:
    """Write the IR back as ``Input -> (Affine -> LIF|IF)+ -> Output``.

    With ``r = tau/dt`` the input scale ``dt*r/tau`` is 1, so the stored weights
    and biases are the IR's, and ``tau = dt / (1 - beta)``; layers with
    ``beta = 1`` are written as IF with ``r = 1/dt``. NIR holds one reset mode
    per graph (metadata ``reset``) and one neuron type per layer, so a network
    that mixes them is refused.
    """
    dt = net.dt_s
    layers = net.populations[1:]
    resets = {bool(s) for p in layers for s in p.subtract}
    if len(resets) > 1:
        raise ValueError("NIR export: the network mixes zero and subtract reset")
    shape = [net.populations[0].size] if net.input_shape[:2] == (1, 1) else list(net.input_shape)
    nodes = {"input": nir.Input(input_type=np.array(shape))}
    edges, prev = [], "input"
    for i, (pr, pop) in enumerate(zip(net.projections, layers)):
        nodes[f"fc{i}"] = nir.Affine(weight=pr.weights.toarray().T, bias=pop.bias.copy())
        if np.all(pop.beta == 1.0):
            nodes[pop.name] = nir.IF(r=np.full(pop.size, 1.0 / dt), v_threshold=pop.theta.copy())
        elif np.any(pop.beta == 1.0):
            raise ValueError(f"NIR export: layer {pop.name} mixes IF (beta = 1) and LIF neurons")
        else:
            tau = dt / (1.0 - pop.beta)
            nodes[pop.name] = nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(pop.size), v_threshold=pop.theta.copy())
        edges += [(prev, f"fc{i}"), (f"fc{i}", pop.name)]
        prev = pop.name
    nodes["output"] = nir.Output(output_type=np.array([net.output.size]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"dt": dt, "reset": "subtract" if resets == {True} else "zero"})
