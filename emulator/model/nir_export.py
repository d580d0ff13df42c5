"""Write the network IR back to NIR (reading it: ``nir_import``).

The export chooses each node's parameters so that the input scale is 1, so
the weights and biases it writes are the IR's; a file it writes loads back to
the same network (see :func:`network_to_nir`).
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from ..errors import InputError
from ..scratch import atomic_path, make_parent
from .network import Network, Population
from .nir_ops import fold_nodes

__all__ = ["EXPORT_LIMIT", "network_to_nir", "save_nir"]


EXPORT_LIMIT = 50_000_000  # weights written densely per projection, at most


def network_to_nir(net: Network, metadata: dict | None = None) -> nir.NIRGraph:
    """Write the IR back as ``Input -> (Affine -> neuron layer [-> rec -> itself])+ -> Output``.

    Parameters are chosen so that the input scale is 1 (``r = tau/dt``, and
    ``w_in = tau_syn/dt`` for CubaLIF), so the stored weights and biases are the
    IR's; ``tau = dt / (1 - beta)``. Layers with ``beta = 1`` are written as IF
    with ``r = 1/dt``. A projection that keeps the stateless nodes it was made
    of (``Projection.nodes``: a convolution read from NIR or trained by
    ``snnemu train``) is written as those nodes, where they still give its
    weights and its layer's bias; any other as a dense Affine, up to
    ``EXPORT_LIMIT`` weights each. Each layer's conventions are written in the
    metadata (``conventions``, by layer name, with the leak as ``euler`` since
    the parameters are written for it), so the file reads back exactly; the
    metadata ``reset`` is there for other readers. NIR holds one neuron type
    per layer, so a layer that mixes IF and LIF neurons is refused (ValueError).
    """
    dt = net.dt_s
    layers = net.populations[1:]
    resets = {p.conventions.reset for p in layers if p.spiking}
    in_shape = net.populations[0].shape or ([net.populations[0].size] if net.input_shape[:2] == (1, 1)
                                             else list(net.input_shape))
    taken = {"input", "output"} | {f"fc{i}" for i in range(len(layers))} | {f"rec{i}" for i in range(len(layers))}
    nodes = {"input": nir.Input(input_type=np.array(in_shape))}
    edges, prev = [], "input"
    for i, pop in enumerate(layers, start=1):
        ff, rec = net.feed_forward(i), net.recurrent(i)
        bias = np.asarray(pop.ibias if pop.alpha is not None else pop.bias, float)
        chain = _kept_chain(ff, net.populations[i - 1], bias)
        for pr in (None if chain else ff, rec):
            if pr is not None and pr.weights.shape[0] * pr.weights.shape[1] > EXPORT_LIMIT:
                raise ValueError(f"NIR export: the projection into {pop.name} has {pr.weights.shape[0]} x "
                                 f"{pr.weights.shape[1]} weights, too many to write as a dense Affine")
        chain = chain or [nir.Affine(weight=ff.weights.toarray().T, bias=bias.copy())]
        names = [f"fc{i - 1}"] + [f"fc{i - 1}_{k}" for k in range(1, len(chain))]
        taken |= set(names[1:])
        nodes.update(zip(names, chain))
        nodes[pop.name] = _neuron_node(pop, dt)
        edges += list(zip([prev, *names], [*names, pop.name]))
        if rec is not None:
            nodes[f"rec{i - 1}"] = nir.Affine(weight=rec.weights.toarray().T, bias=np.zeros(pop.size))
            edges += [(pop.name, f"rec{i - 1}"), (f"rec{i - 1}", pop.name)]
        prev = pop.name
    clash = [p.name for p in layers if p.name in taken]
    if clash:
        raise ValueError(f"NIR export: the layer name {clash[0]!r} is one the export gives its own nodes")
    nodes["output"] = nir.Output(output_type=np.array([net.output.size]))
    edges.append((prev, "output"))
    conventions = {p.name: {**p.conventions.as_dict(), "leak": "euler"} for p in layers}
    meta = {"dt": dt, "conventions": conventions}
    if net.dt_source != "metadata":  # a dt that only turns time constants into factors (snnTorch's 100 us, say)
        meta["dt_source"] = net.dt_source
    if resets <= {"zero"} or resets <= {"subtract", "subtract-next"}:  # for other readers; mixed: not stated
        meta["reset"] = "zero" if resets <= {"zero"} else "subtract"
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False, metadata={**meta, **(metadata or {})})


def _kept_chain(pr, src: Population, bias: np.ndarray) -> list | None:
    """The projection's own stateless nodes (a convolution, say), where they still compose to its
    weights and the layer's bias; None where there are none or they no longer do."""
    if not pr.nodes:
        return None
    try:
        m = fold_nodes(pr.nodes, src.shape or (src.size,))
    except InputError:
        return None
    w, ref = m.matrix(), pr.weights
    b = np.zeros(ref.shape[1]) if m.bias is None else m.bias
    if w.shape != ref.shape or b.shape != bias.shape:
        return None
    # the import scales the weights by the neurons' input scale, which for the export's own files is 1
    # up to rounding: agreement to 1e-9 of the largest value is agreement
    tol = 1e-9 * max(float(abs(ref).max()), float(np.abs(bias).max(initial=0.0)), 1e-300)
    if float(abs(w - ref).max()) > tol or float(np.abs(b - bias).max(initial=0.0)) > tol:
        return None
    return list(pr.nodes)


def _neuron_node(pop: Population, dt: float):
    """The NIR node of a population, with an input scale of 1 (see :func:`network_to_nir`); its
    parameters have the population's shape, so that a layer on a convolution's maps type-checks."""
    shape = tuple(pop.shape) if pop.shape and int(np.prod(pop.shape)) == pop.size else (pop.size,)

    def p(values) -> np.ndarray:
        return np.broadcast_to(np.asarray(values, float), (pop.size,)).reshape(shape).copy()

    zeros = p(0.0)
    if not pop.spiking:
        if np.any(pop.beta >= 1.0):
            raise ValueError(f"NIR export: LI layer {pop.name} has beta = 1 (no leak), which LI cannot express")
        tau = dt / (1.0 - pop.beta)
        return nir.LI(tau=p(tau), r=p(tau / dt), v_leak=zeros)  # its bias is the Affine's
    if pop.alpha is not None:
        if np.any(pop.alpha >= 1.0) or np.any(pop.beta >= 1.0):
            raise ValueError(f"NIR export: CubaLIF layer {pop.name} needs alpha < 1 and beta < 1")
        tau_syn, tau_mem = dt / (1.0 - pop.alpha), dt / (1.0 - pop.beta)
        return nir.CubaLIF(tau_syn=p(tau_syn), tau_mem=p(tau_mem), r=p(pop.gain * tau_mem / dt),
                           v_leak=p(pop.bias * tau_mem / dt), v_threshold=p(pop.theta), v_reset=zeros,
                           w_in=p(tau_syn / dt))
    if np.all(pop.beta == 1.0):
        return nir.IF(r=p(1.0 / dt), v_threshold=p(pop.theta), v_reset=zeros)
    if np.any(pop.beta == 1.0):
        raise ValueError(f"NIR export: layer {pop.name} mixes IF (beta = 1) and LIF neurons")
    tau = dt / (1.0 - pop.beta)
    return nir.LIF(tau=p(tau), r=p(tau / dt), v_leak=zeros, v_threshold=p(pop.theta), v_reset=zeros)


def save_nir(net: Network, path: str | Path, metadata: dict | None = None) -> None:
    """Write ``net`` as a ``.nir`` file (see :func:`network_to_nir`), with ``metadata`` added to the graph's."""
    try:
        graph = network_to_nir(net, metadata)
    except ValueError as exc:
        raise InputError(path, "model", str(exc).removeprefix("NIR export: ")) from None
    path = Path(path)
    make_parent(path, "--to")
    try:
        with atomic_path(path) as tmp:  # a kill leaves the old file or the new one, never half of one
            nir.write(str(tmp), graph)
    except OSError as exc:
        raise InputError(path, "--to", f"cannot be written ({exc.strerror or exc})") from None
