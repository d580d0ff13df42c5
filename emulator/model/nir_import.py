"""Load feed-forward NIR graphs into the network IR (writing them back: ``nir_export``).

Supported: a chain ``Input -> (stateless nodes -> neuron layer)+ -> Output``.
Stateless nodes (Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d,
Flatten) between two layers fold into one sparse projection
(``emulator.model.nir_ops``); neuron layers are LIF, IF, CubaLIF, Threshold, and LI
as the last (readout) layer. A layer may loop onto itself through stateless
nodes (snnTorch's RLeaky exports ``lif -> w_rec -> lif``): a recurrent
projection with a one-timestep delay (a Delay node of 0 or 1 dt on the loop is
that delay). Nested ``NIRGraph`` nodes are inlined. NIR neurons are
continuous-time; they are discretised at ``dt``, with forward Euler (or, for
a layer whose conventions say ``leak: exp``, exactly: ``beta = exp(-dt/tau)``
and an input share of ``1 - beta``)::

    tau dv/dt = (v_leak - v) + r I   ->   v <- (1 - dt/tau) v + (dt/tau) v_leak + (dt r / tau) I
    dv/dt = r I  (IF)                ->   v <- v + dt r I

    tau_syn dS/dt = -S + w_in I  (CubaLIF)   ->   S <- (1 - dt/tau_syn) S + (dt w_in / tau_syn) I
    tau_mem dV/dt = (v_leak - V) + r S       ->   V <- (1 - dt/tau_mem) V + (dt/tau_mem) v_leak + (dt r / tau_mem) S

so ``beta = 1 - dt/tau``, the input scale ``dt*r/tau`` is folded into the
incoming weights and bias, and ``(dt/tau) v_leak`` becomes a constant bias. A
Threshold node is a neuron with no memory (``beta = 0``); an LI layer never
fires (``theta = +inf``) and is read out by its potential.
``dt``, each layer's conventions (its reset among them), and the repairs of an
exporter's known defects come from the framework's dialect
(``emulator.model.dialects``): detected from the graph, or named.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import h5py
import nir
import numpy as np
import scipy.sparse as sp

from ..errors import InputError, check_size, read_deadline
from .conventions import Conventions
from .dialects import read_graph
from .network import Network, Population, Projection
from .nir_ops import LINEAR_NODES, LinearMap, apply_node, floats

__all__ = ["NEURONS", "SUPPORTED", "flatten_graph", "load_nir", "network_from_nir"]

NEURONS = ("LIF", "IF", "CubaLIF", "LI", "Threshold")
SUPPORTED = ("Input", "Output", *LINEAR_NODES, *NEURONS, "Delay", "NIRGraph")
# the import's and the chip's arrays per neuron (state, constants, counters): measured 202 B on a one-to-one
# convolution of 2000 x 2000 (8M neurons, loaded and laid out on the ideal chip)
BYTES_PER_NEURON = 200


def load_nir(path: str | Path, dt_fallback_s: float = 1e-3, dialect: str | None = None,
             reset: str | None = None) -> Network:
    """Read a ``.nir`` file (see :func:`network_from_nir`); bad files and unsupported graphs raise InputError."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "file", "is a folder, not a .nir file")
    if not path.is_file():
        raise InputError(path, "file", "no such file")
    return network_from_nir(_read(path), path.stem, str(path), dt_fallback_s, dialect, reset)


def _read(path: Path) -> nir.NIRGraph:
    with read_deadline(path):
        return _read_graph(path)


def _read_graph(path: Path) -> nir.NIRGraph:
    """``nir.read`` without its own type check: shapes are checked here, node by node, with
    messages naming the node (``type_check`` is in nir from 1.0.7, the floor in pyproject.toml).
    Before it, the file's arrays are sized (a small compressed file can hold huge ones); where it
    fails, the node it failed on is named."""
    try:
        with h5py.File(path, "r") as f:
            total = sum(d.size * d.dtype.itemsize for d in _datasets(f))
    except Exception as exc:  # noqa: BLE001 - h5py raises many kinds of errors on files that are not HDF5
        raise InputError(path, "file", f"not a readable NIR file ({type(exc).__name__}: {exc})") from None
    check_size(path, "file", total, "its arrays")
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # nir's shape arithmetic on bad values: the
        warnings.simplefilter("ignore")  # error names what is wrong, its warnings would only repeat it
        try:
            return nir.read(str(path), type_check=False)
        except Exception as exc:  # noqa: BLE001 - nir raises many kinds of errors on bad graphs
            field, what = _failing_node(path) or ("file", f"not a readable NIR file ({type(exc).__name__}: {exc})")
            raise InputError(path, field, what) from None


def _datasets(group) -> list:
    """Every dataset under an h5py group."""
    found = []
    group.visititems(lambda _, item: found.append(item) if isinstance(item, h5py.Dataset) else None)
    return found


def _failing_node(path: Path) -> tuple[str, str] | None:
    """``(field, what is wrong)`` where nir could not read the graph: its edges, its metadata, or the
    first node it cannot build; None where nothing is found (the caller then names the file)."""
    from nir.serialization import hdf2dict

    try:
        with h5py.File(path, "r") as f:
            return _failing_graph(f["node"], "", hdf2dict)
    except Exception:  # noqa: BLE001 - not the layout of a NIR file: the caller reports the file
        return None


def _failing_graph(group, prefix: str, hdf2dict) -> tuple[str, str] | None:
    """:func:`_failing_node` for one (sub)graph's h5py group; nodes of a subgraph are ``sub.node``."""
    where = prefix.rstrip(".") + "." if prefix else ""
    for key in ("nodes", "edges"):
        if key not in group:
            return f"{where}{key}", "missing: a NIR graph has nodes and edges"
    try:
        edges = np.asarray(group["edges"][()])
        if edges.size and (edges.ndim != 2 or edges.shape[1] != 2):
            return f"{where}edges", f"expected (from, to) pairs, got an array of shape {edges.shape}"
        for name in edges.reshape(-1):
            if isinstance(name, bytes):
                name.decode("utf-8")
    except UnicodeDecodeError:
        return f"{where}edges", "a node name that is not UTF-8 text"
    for key in group["metadata"] if "metadata" in group else ():
        try:
            item = group["metadata"][key]
            if isinstance(item, h5py.Group):
                hdf2dict(item)
            else:
                nir.serialization.try_byte_to_str(item[()])
        except UnicodeDecodeError:
            return f"{where}metadata.{key}", "holds text that is not UTF-8"
    for name in group["nodes"]:
        field = f"nodes.{prefix}{name}"
        try:
            data = hdf2dict(group["nodes"][name])
        except UnicodeDecodeError:
            return field, "holds text that is not UTF-8"
        kind = data.get("type")
        if not isinstance(kind, str):
            return field, "has no node type"
        cls = getattr(nir, kind, None)
        if not (isinstance(cls, type) and issubclass(cls, nir.NIRNode)):
            return field, f"unknown NIR node type {kind!r} (supported: {', '.join(SUPPORTED)})"
        if kind == "NIRGraph":
            inner = _failing_graph(group["nodes"][name], f"{prefix}{name}.", hdf2dict)
            if inner is not None:
                return inner
            continue
        for key in ("stride", "dilation", "kernel_size", "groups"):  # nir divides by them while building
            value = data.get(key)
            if value is not None and np.issubdtype(np.asarray(value).dtype, np.number) and np.any(np.asarray(value) < 1):
                return f"{field}.{key}", f"must be at least 1, got {np.asarray(value).tolist()}"
        try:
            nir.dict2NIRNode(data)
        except Exception as exc:  # noqa: BLE001 - whatever the node's constructor says is wrong with it
            return field, f"not a valid {kind} node ({type(exc).__name__}: {exc})"
    return None


def flatten_graph(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """Nested ``NIRGraph`` nodes inlined: their nodes become ``sub.node``; an edge into a
    subgraph goes to its Input's successors and an edge out of it leaves from its Output's
    predecessors. Returns ``(nodes, edges)`` of one flat graph."""
    nodes, edges, ports = {}, [], {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = flatten_graph(node, full + ".")
            ins = [k for k, v in sub_nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in sub_nodes.items() if isinstance(v, nir.Output)]
            ports[full] = (ins, outs)
            nodes.update(sub_nodes)
            edges += sub_edges
        else:
            nodes[full] = node
    for a, b in graph.edges:  # an edge to a subgraph enters at its Input, one from it leaves at its Output
        srcs = ports[prefix + a][1] if prefix + a in ports else [prefix + a]
        dsts = ports[prefix + b][0] if prefix + b in ports else [prefix + b]
        edges += [(x, y) for x in srcs for y in dsts]
    if prefix:
        return nodes, edges
    # drop the inner Input/Output nodes, wiring their neighbours directly
    inner = [k for k, v in nodes.items() if "." in k and isinstance(v, (nir.Input, nir.Output))]
    for k in inner:
        preds = [a for a, b in edges if b == k]
        succs = [b for a, b in edges if a == k]
        edges = [(a, b) for a, b in edges if k not in (a, b)] + [(a, b) for a in preds for b in succs]
        del nodes[k]
    return nodes, list(dict.fromkeys(edges))


def _layers(nodes: dict, edges: list, file: str, dt: float) -> list[tuple[str, list[str], list[str] | None]]:
    """The layers from the Input to the Output: ``(neuron node or Output, the stateless nodes
    on the way into it, the stateless nodes of its recurrent loop or None)``.

    The layers form a chain; a layer may loop back onto itself through stateless
    nodes (a recurrent projection). Anything else (branches, skip connections,
    loops to an earlier layer, loops without a neuron) is refused, naming the node.
    """
    succ: dict[str, list[str]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise InputError(file, "nodes", f"expected exactly one Input node, found {len(inputs)}")
    current, seen, out, recurrent = inputs[0], {inputs[0]}, [], {}
    while True:
        paths = []
        for node in succ.get(current, []):
            chain = []
            while type(nodes[node]).__name__ in (*LINEAR_NODES, "Delay"):
                nxt = succ.get(node, [])
                if len(nxt) != 1:
                    raise InputError(file, f"nodes.{node}", f"expected one successor, found {len(nxt)}")
                chain.append(node)
                if len(chain) > len(nodes):
                    raise InputError(file, f"nodes.{node}", "a cycle without a neuron layer (each loop needs one, "
                                                            "whose state carries it from one timestep to the next)")
                node = nxt[0]
            paths.append((chain, node))
        loops = [chain for chain, end in paths if end == current]
        forward = [(chain, end) for chain, end in paths if end != current]
        if loops and current == inputs[0]:
            raise InputError(file, f"nodes.{current}", "the Input cannot loop onto itself")
        if len(loops) > 1:
            raise InputError(file, f"nodes.{current}", f"{len(loops)} recurrent loops; at most one is supported")
        if loops:
            recurrent[current] = _delay_steps(nodes, loops[0], dt, file, recurrent=True)
        back = [end for _, end in forward if end in seen]
        if back:
            raise InputError(file, f"nodes.{back[0]}", f"a loop from {current} back to the earlier layer {back[0]}; "
                                                       "only a layer's recurrence onto itself is supported")
        if len(forward) != 1:
            raise InputError(file, f"nodes.{current}",
                             f"expected one feed-forward successor layer, found {len(forward)} "
                             "(branches and skip connections are not supported)")
        chain, nxt = forward[0]
        out.append((nxt, _delay_steps(nodes, chain, dt, file, recurrent=False), None))
        if isinstance(nodes[nxt], nir.Output):
            break
        seen.add(nxt)
        current = nxt
    return [(name, chain, recurrent.get(name)) for name, chain, _ in out]


def _delay_steps(nodes: dict, chain: list[str], dt: float, file: str, recurrent: bool) -> list[str]:
    """``chain`` without its Delay nodes, checking their delays: a feed-forward path takes none,
    a recurrent loop takes its one timestep (a Delay of 0 or 1 dt on it is that delay)."""
    total = 0
    for name in chain:
        if isinstance(nodes[name], nir.Delay):
            d = floats(nodes[name].delay, file, f"nodes.{name}.delay").reshape(-1)
            steps = np.round(d / dt)
            if d.size == 0 or not np.allclose(d, steps * dt, rtol=1e-6, atol=1e-12) or np.unique(steps).size > 1:
                raise InputError(file, f"nodes.{name}.delay", f"must be one whole number of timesteps (dt = {dt:g} s)")
            total += int(steps[0])
    if total > (1 if recurrent else 0):
        where = "a recurrent loop (its delay is one timestep)" if recurrent else "a feed-forward path"
        raise InputError(file, f"nodes.{chain[0]}", f"a delay of {total} timesteps on {where} is not supported")
    return [name for name in chain if not isinstance(nodes[name], nir.Delay)]


def network_from_nir(graph: nir.NIRGraph, name: str = "model", file: str = "<graph>",
                     dt_fallback_s: float = 1e-3, dialect: str | None = None, reset: str | None = None) -> Network:
    """Convert an in-memory NIR graph (see the module docstring), read in ``dialect`` (None: the
    one the graph reveals; ``emulator.model.dialects``), with ``reset`` (zero or subtract) for
    graphs that cannot say which they use."""
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    nodes, edges = flatten_graph(graph)
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise InputError(file, "edges", f"the edge ({a}, {b}) names a node that is not in the graph")
    for nm, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise InputError(file, f"nodes.{nm}", f"unsupported node type {kind} (supported: {', '.join(SUPPORTED)})")
    reading = read_graph(nodes, edges, meta, dt_fallback_s, file, dialect, reset)
    nodes, dt, dt_source, notes = reading.nodes, reading.dt, reading.dt_source, reading.notes
    if not np.isfinite(dt) or dt <= 0:
        field = "metadata.dt" if dt_source == "metadata" else "dt"
        raise InputError(file, field, f"the timestep dt = {dt} ({dt_source}) must be positive and finite")
    layers = _layers(nodes, edges, file, dt)
    input_name = next(k for k, n in nodes.items() if isinstance(n, nir.Input))
    declared = getattr(nodes[input_name], "input_type", None)
    if not isinstance(declared, dict) or "input" not in declared or np.asarray(declared["input"]).size == 0:
        raise InputError(file, f"nodes.{input_name}.input_type", "missing: the Input node must give the input's shape")
    shape = _without_batch(floats(declared["input"], file, f"nodes.{input_name}.input_type"),
                           file, f"nodes.{input_name}.input_type")
    n_in = math.prod(shape)  # exact: a declared shape can overflow int64
    check_size(file, f"nodes.{input_name}.input_type", n_in * BYTES_PER_NEURON, f"an input of {n_in:,} neurons")
    input_shape = (1, 1, n_in) if len(shape) == 1 else tuple([1] * (3 - len(shape)) + list(shape))
    pops = [Population("input", n_in, shape=shape, kind="Input")]
    projections = []
    for nm, chain, loop in layers:
        pending = LinearMap.identity(pops[-1].shape)
        for link in chain:
            pending = apply_node(pending, nodes[link], link, file)
        if isinstance(nodes[nm], nir.Output):
            if chain:
                raise InputError(file, f"nodes.{chain[0]}", "stateless nodes after the last neuron layer are not supported")
            _check_output(nodes[nm], nm, pops[-1], file)
            break
        conv, sources = reading.layer_conventions(nm, nodes[nm], loop is not None)
        pop, scale = _population(nodes[nm], nm, pending.out_shape, dt, conv, file, notes)
        pop.convention_sources = sources
        projections.append(_projection(pending, scale, pop, len(pops) - 1, len(pops), 0,
                                       tuple(nodes[link] for link in chain)))
        if loop is not None:
            back = LinearMap.identity(pop.shape)
            for link in loop:
                back = apply_node(back, nodes[link], link, file)
            if back.out_shape != pop.shape and int(np.prod(back.out_shape)) != pop.size:
                raise InputError(file, f"nodes.{loop[-1]}", f"the recurrent loop gives {back.out_shape}, "
                                                           f"the layer {nm} has shape {pop.shape}")
            projections.append(_projection(back, scale, pop, len(pops), len(pops), 1))
        pops.append(pop)
    if len(pops) < 2:
        raise InputError(file, "nodes", "the graph has no neuron layer (LIF, IF, CubaLIF, LI or Threshold)")
    silent = [p.name for p in pops[1:-1] if not p.spiking]
    if silent:
        raise InputError(file, f"nodes.{silent[0]}", "an LI layer never fires: it can only be the last (readout) layer")
    return Network(name, pops, projections, dt, input_shape, dt_source, notes, dialect=reading.dialect)


def _projection(m: LinearMap, scale: np.ndarray, pop: Population, src: int, dst: int, delay: int,
                nodes: tuple = ()) -> Projection:
    """The map ``m`` (folded from ``nodes``) into ``pop`` as synapses, its bias (constant input) added
    to the neurons' bias; both times the neurons' input scale."""
    if m.bias is not None and pop.alpha is not None:  # CubaLIF: a constant input into the current
        pop.ibias = pop.ibias + m.bias * scale
    elif m.bias is not None:
        pop.bias = pop.bias + m.bias * scale
    w = (m.matrix() @ sp.diags(scale)).tocsr()
    w.eliminate_zeros()
    w.sort_indices()
    return Projection(src, dst, w, delay, nodes)


def _check_output(node, name: str, last: Population, file: str) -> None:
    """The Output node's declared shape, where it gives one, must hold the last layer's neurons. Leading
    batch dimensions are allowed: exporters that trace a batch write them (Norse's ``(2, 3)``)."""
    declared = getattr(node, "output_type", None)
    shape = declared.get("output") if isinstance(declared, dict) else None
    if shape is None or np.asarray(shape).size == 0:
        return
    values = floats(shape, file, f"nodes.{name}.output_type").reshape(-1)
    fits = any(np.prod(values[k:]) == last.size for k in range(len(values)))
    if not np.all(np.isfinite(values)) or not fits:
        raise InputError(file, f"nodes.{name}.output_type", f"declares shape {tuple(values.tolist())}; the last "
                                                             f"layer {last.name} has {last.size} neurons")


def _without_batch(values: np.ndarray, file: str, field: str) -> tuple[int, ...]:
    """The input's shape without a leading batch dimension of 1, which frameworks export as
    ``(1, N)`` and ``(1, C, H, W)``: one rule for both. A 3-D shape is ``(C, H, W)``, whose
    leading 1 would lay the neurons out the same either way."""
    values = values.reshape(-1)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise InputError(file, field, f"a shape is whole numbers; got {tuple(values.tolist())}")
    shape = tuple(int(v) for v in values)
    if len(shape) in (2, 4) and shape[0] == 1:
        shape = shape[1:]
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise InputError(file, field, f"expected (N) or (C, H, W), with an optional leading batch dimension "
                                      f"of 1; got {tuple(int(v) for v in values.reshape(-1))}")
    return shape


def _decay(dt: float, tau: np.ndarray, conv: Conventions, file: str, field: str):
    """One step of ``tau dv/dt = -v + x``: ``(beta, input scale of x, scale of a constant x)``.

    Forward Euler: ``beta = 1 - dt/tau`` and ``x`` weighs ``dt/tau``; ``exp``:
    exact for an input held over the step, ``beta = e^(-dt/tau)`` and ``x``
    weighs ``1 - beta``. (The Euler products keep the order they always had,
    so that imported weights are bit for bit what they were.)"""
    if conv.leak == "exp":
        beta = np.exp(-dt / tau)
        return beta, lambda x: (1.0 - beta) * x, lambda x: (1.0 - beta) * x
    if np.any(dt > tau):  # Norse's tau * dt, say, read as seconds
        k = int(np.argmax(dt > tau))
        raise InputError(file, field, f"dt = {dt:g} s exceeds tau = {tau[k]:g} s (neuron {k}): forward Euler "
                                      f"gives beta = 1 - dt/tau = {1 - dt / tau[k]:.4g} < 0; check the graph's dt, "
                                      "or name its framework with --nir-from")
    return 1.0 - dt / tau, lambda x: dt * x / tau, lambda x: dt / tau * x


def _population(node, nm: str, in_shape: tuple, dt: float, conv: Conventions, file: str, notes: list):
    """A neuron node as a population of ``prod(in_shape)`` neurons with conventions ``conv``, and
    the input scale folded into its incoming weights and bias."""
    n = math.prod(in_shape)
    check_size(file, f"nodes.{nm}", n * BYTES_PER_NEURON, f"a layer of {n:,} neurons")
    declared = getattr(node, "input_type", None) or {}
    want = declared.get("input") if isinstance(declared, dict) else None
    if want is not None and np.asarray(want).size and int(np.prod(want)) != n:
        raise InputError(file, f"nodes.{nm}.input_type",
                         f"expects shape {tuple(int(v) for v in np.asarray(want).reshape(-1))}, "
                         f"gets {tuple(in_shape)} ({n} values)")

    def param(attr, default=None):
        val = getattr(node, attr, default)
        arr = floats(val, file, f"nodes.{nm}.{attr}")
        if arr.size not in (1, n):
            try:
                arr = np.broadcast_to(arr, in_shape)
            except ValueError:
                raise InputError(file, f"nodes.{nm}.{attr}",
                                 f"shape {arr.shape} does not fit {n} neurons of shape {tuple(in_shape)}") from None
        if not np.all(np.isfinite(arr)):
            raise InputError(file, f"nodes.{nm}.{attr}", "NaN or infinite values")
        return np.broadcast_to(arr.reshape(-1), (n,)).astype(float)

    leak = floats(getattr(node, "v_leak", 0.0), file, f"nodes.{nm}.v_leak")
    if np.any(leak != 0):
        notes.append(f"nodes.{nm}.v_leak is not 0: it becomes a constant input of dt/tau * v_leak per timestep")
    if isinstance(node, nir.Threshold):  # a stateless comparator: V = input, no memory
        theta, beta, scale, leak_bias = param("threshold"), np.zeros(n), np.ones(n), np.zeros(n)
    elif isinstance(node, nir.LI):  # a leaky integrator that never fires: a readout layer
        tau, r, v_leak = param("tau"), param("r"), param("v_leak", 0.0)
        if np.any(tau <= 0):
            raise InputError(file, f"nodes.{nm}.tau", "time constants must be positive")
        beta, scale, drive = _decay(dt, tau, conv, file, f"nodes.{nm}.tau")
        pop = Population(nm, n, beta=beta, theta=np.full(n, np.inf), bias=drive(v_leak),
                         shape=tuple(in_shape), spiking=False, kind="LI", conventions=Conventions(leak=conv.leak))
        return pop, scale(r)
    elif isinstance(node, nir.CubaLIF):
        tau_syn, tau_mem = param("tau_syn"), param("tau_mem")
        r, theta, v_leak, w_in = param("r"), param("v_threshold"), param("v_leak", 0.0), param("w_in", 1.0)
        if np.any(param("v_reset", 0.0) != 0):
            raise InputError(file, f"nodes.{nm}.v_reset", "only v_reset = 0 is supported")
        for attr, tau in (("tau_syn", tau_syn), ("tau_mem", tau_mem)):
            if np.any(tau <= 0):
                raise InputError(file, f"nodes.{nm}.{attr}", "time constants must be positive")
        # tau_syn dS/dt = -S + w_in I,  tau_mem dV/dt = (v_leak - V) + r S
        beta, scale, drive = _decay(dt, tau_mem, conv, file, f"nodes.{nm}.tau_mem")
        alpha, scale_syn, _ = _decay(dt, tau_syn, conv, file, f"nodes.{nm}.tau_syn")
        pop = Population(nm, n, beta=beta, theta=theta, bias=drive(v_leak), shape=tuple(in_shape),
                         alpha=alpha, gain=scale(r), ibias=np.zeros(n), kind="CubaLIF", conventions=conv)
        return pop, scale_syn(w_in)
    else:
        r, theta = param("r"), param("v_threshold")
        if np.any(param("v_reset", 0.0) != 0):
            raise InputError(file, f"nodes.{nm}.v_reset", "only v_reset = 0 is supported")
        if isinstance(node, nir.LIF):
            tau, v_leak = param("tau"), param("v_leak", 0.0)
            if np.any(tau <= 0):
                raise InputError(file, f"nodes.{nm}.tau", "time constants must be positive")
            beta, to_input, drive = _decay(dt, tau, conv, file, f"nodes.{nm}.tau")
            scale, leak_bias = to_input(r), drive(v_leak)
        else:
            beta, scale, leak_bias = np.ones(n), dt * r, np.zeros(n)
    pop = Population(nm, n, beta=beta, theta=theta, bias=leak_bias, shape=tuple(in_shape), kind=type(node).__name__,
                     conventions=conv)
    return pop, scale
