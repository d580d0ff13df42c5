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
from .network import Network, Population

__all__ = ["EXPORT_LIMIT", "network_to_nir", "save_nir"]


EXPORT_LIMIT = 50_000_000  # weights written densely per projection, at most


def network_to_nir(net: Network, metadata: dict | None = None) -> nir.NIRGraph:
    """Write the IR back as ``Input -> (Affine -> neuron layer [-> rec -> itself])+ -> Output``.

    Parameters are chosen so that the input scale is 1 (``r = tau/dt``, and
    ``w_in = tau_syn/dt`` for CubaLIF), so the stored weights and biases are the
    IR's; ``tau = dt / (1 - beta)``. Layers with ``beta = 1`` are written as IF
    with ``r = 1/dt``. Every projection is written as a dense Affine (a
    convolution's structure is not kept, its weights are), up to
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
    clash = [p.name for p in layers if p.name in taken]
    if clash:
        raise ValueError(f"NIR export: the layer name {clash[0]!r} is one the export gives its own nodes")
    nodes = {"input": nir.Input(input_type=np.array(in_shape))}
    edges, prev = [], "input"
    for i, pop in enumerate(layers, start=1):
        ff, rec = net.feed_forward(i), net.recurrent(i)
        for pr in (ff, rec):
            if pr is not None and pr.weights.shape[0] * pr.weights.shape[1] > EXPORT_LIMIT:
                raise ValueError(f"NIR export: the projection into {pop.name} has {pr.weights.shape[0]} x "
                                 f"{pr.weights.shape[1]} weights, too many to write as a dense Affine")
        fc = f"fc{i - 1}"
        bias = pop.ibias if pop.alpha is not None else pop.bias
        nodes[fc] = nir.Affine(weight=ff.weights.toarray().T, bias=np.asarray(bias, float).copy())
        nodes[pop.name] = _neuron_node(pop, dt)
        edges += [(prev, fc), (fc, pop.name)]
        if rec is not None:
            nodes[f"rec{i - 1}"] = nir.Affine(weight=rec.weights.toarray().T, bias=np.zeros(pop.size))
            edges += [(pop.name, f"rec{i - 1}"), (f"rec{i - 1}", pop.name)]
        prev = pop.name
    nodes["output"] = nir.Output(output_type=np.array([net.output.size]))
    edges.append((prev, "output"))
    conventions = {p.name: {**p.conventions.as_dict(), "leak": "euler"} for p in layers}
    meta = {"dt": dt, "conventions": conventions}
    if net.dt_source != "metadata":  # a dt that only turns time constants into factors (snnTorch's 100 us, say)
        meta["dt_source"] = net.dt_source
    if resets <= {"zero"} or resets <= {"subtract", "subtract-next"}:  # for other readers; mixed: not stated
        meta["reset"] = "zero" if resets <= {"zero"} else "subtract"
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False, metadata={**meta, **(metadata or {})})


def _neuron_node(pop: Population, dt: float):
    """The NIR node of a population, with an input scale of 1 (see :func:`network_to_nir`)."""
    n = pop.size
    if not pop.spiking:
        if np.any(pop.beta >= 1.0):
            raise ValueError(f"NIR export: LI layer {pop.name} has beta = 1 (no leak), which LI cannot express")
        tau = dt / (1.0 - pop.beta)
        return nir.LI(tau=tau, r=tau / dt, v_leak=np.zeros(n))  # its bias is the Affine's
    if pop.alpha is not None:
        if np.any(pop.alpha >= 1.0) or np.any(pop.beta >= 1.0):
            raise ValueError(f"NIR export: CubaLIF layer {pop.name} needs alpha < 1 and beta < 1")
        tau_syn, tau_mem = dt / (1.0 - pop.alpha), dt / (1.0 - pop.beta)
        return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=pop.gain * tau_mem / dt, v_leak=pop.bias * tau_mem / dt,
                           v_threshold=pop.theta.copy(), v_reset=np.zeros(n), w_in=tau_syn / dt)
    if np.all(pop.beta == 1.0):
        return nir.IF(r=np.full(n, 1.0 / dt), v_threshold=pop.theta.copy(), v_reset=np.zeros(n))
    if np.any(pop.beta == 1.0):
        raise ValueError(f"NIR export: layer {pop.name} mixes IF (beta = 1) and LIF neurons")
    tau = dt / (1.0 - pop.beta)
    return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n), v_threshold=pop.theta.copy(), v_reset=np.zeros(n))


def save_nir(net: Network, path: str | Path, metadata: dict | None = None) -> None:
    """Write ``net`` as a ``.nir`` file (see :func:`network_to_nir`), with ``metadata`` added to the graph's."""
    try:
        graph = network_to_nir(net, metadata)
    except ValueError as exc:
        raise InputError(path, "model", str(exc).removeprefix("NIR export: ")) from None
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        nir.write(str(path), graph)
    except OSError as exc:
        raise InputError(path, "--to", f"cannot be written ({exc.strerror or exc})") from None
