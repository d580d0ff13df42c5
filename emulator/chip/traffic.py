"""``--mapping traffic[:K]``: neurons placed to keep packets few and hops short.

A packet is one (spike, destination core) pair, so a spike costs one packet
per distinct core its targets sit on, and each packet pays its route's hops.
Each source neuron weighs by its spikes per sample: measured by a reference
run where the caller gives them (``snnemu run`` does: the functional
reference on the first samples of the run's data, ``emulator.runner``), else
every neuron counted as spiking once (the synapse structure alone). Two steps:

1. **Group** each population into its cores: ``K`` cores (``traffic:K``), or
   as few as ``max_neurons`` and ``max_synapses`` allow. Neurons that share
   presynaptic sources go together, so that a source reaches few cores: they
   are ordered by the connected components of their co-source graph (two
   neurons linked by the spikes of the sources they share), and within a component by its
   Fiedler vector (networkx's spectral ordering, seeded), then cut into equal
   runs.
2. **Place** the groups on the mesh, one per core, in population order: each
   goes to the free core that minimizes its packets to and from the groups
   already placed, times their hop distance (a transfer within a tile counts
   half a hop; ties go to the lowest core id).

Where input enters through the profile's I/O ports, the input's groups are the
ports' shares of it, fixed at the ports' tiles: step 2 then draws the first
layer towards the ports. Both steps are deterministic. The capacity checks of ``map_network`` and of
the synapse layout apply as for every mapping.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

__all__ = ["traffic_core_of", "traffic_groups"]

SEED = 0  # the eigenvector solver's start: one network, one mapping


def traffic_core_of(net, hw, k: int | None, spikes: np.ndarray | None = None) -> np.ndarray:
    """The core of every neuron: ``k`` cores per population (None: as few as the capacities allow).
    ``spikes``: every neuron's spikes per sample, which weigh its packets (None: one each)."""
    w = (net.global_weights() != 0).astype(np.int64).tocsc()
    rate = np.ones(net.n_neurons) if spikes is None else np.asarray(spikes, float)
    n_ports = hw.io.n_ports
    groups = traffic_groups(net, hw, w, k, rate, first=1 if n_ports else 0)
    if len(groups) > hw.mesh.n_cores:
        raise InputError(hw.path, "mesh", f"the traffic mapping needs {len(groups)} cores; the chip has "
                                          f"{hw.mesh.n_cores}")
    if n_ports:  # the input's groups: each port's share (as map_network splits it), at the port's tile
        n_in = net.populations[0].size
        port_of = (np.arange(n_in) * n_ports) // n_in
        groups = [np.flatnonzero(port_of == p) for p in range(n_ports)] + groups
    cores = _place(groups, _packets(w.tocsr(), groups, rate), hw, n_ports)
    core_of = np.empty(net.n_neurons, np.int64)
    for members, core in zip(groups, cores):
        core_of[members] = core
    return core_of


def traffic_groups(net, hw, w: sp.csc_matrix, k: int | None, rate: np.ndarray, first: int = 0) -> list[np.ndarray]:
    """Each population's neurons from index ``first`` on cut into its cores' groups (global ids), population
    by population; ``rate``: each source's spikes per sample."""
    fan_in = np.diff(w.indptr)  # synapses whose target is each neuron
    cap_n, cap_s = hw.core.max_neurons, hw.core.max_synapses
    groups = []
    for i, p in enumerate(net.populations[first:], first):
        lo, hi = int(net.offsets[i]), int(net.offsets[i + 1])
        order = lo + _co_source_order(w[:, lo:hi], rate)
        n = k or max(1, -(-p.size // cap_n) if cap_n else 1)
        while True:
            parts = np.array_split(order, min(n, p.size))
            if cap_s is None or max(int(fan_in[g].sum()) for g in parts) <= cap_s or n >= p.size:
                break
            n += 1  # a core would hold too many synapses: one more core for this population
        groups += [np.sort(g) for g in parts]
    return groups


def _co_source_order(a: sp.csc_matrix, rate: np.ndarray) -> np.ndarray:
    """The population's neurons (columns of ``a``, sources x neurons) in co-source order; two neurons'
    link is the spikes per sample (``rate``) of the sources they share."""
    import networkx as nx  # here: only this mapper needs it, and it takes a while to import

    n = a.shape[1]
    if n <= 2 or a.nnz == 0:
        return np.arange(n)
    shared = (a.T @ sp.diags(rate) @ a).tocoo()  # neurons x neurons: the spikes of the sources in common
    shared.eliminate_zeros()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from((int(i), int(j), float(v)) for i, j, v in zip(shared.row, shared.col, shared.data)
                                  if i < j)
    order = []
    for comp in sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c))):
        nodes = sorted(comp)
        if len(nodes) > 2:
            sub = graph.subgraph(nodes)
            vec = nx.fiedler_vector(sub, weight="weight", normalized=True, method="tracemin_lu", seed=SEED)
            vec = vec if vec[0] <= vec[-1] else -vec  # the eigenvector's sign is arbitrary: fix it
            nodes = [nodes[j] for j in np.lexsort((np.arange(len(nodes)), np.round(vec, 12)))]
        order += nodes
    return np.asarray(order, np.int64)


def _packets(w: sp.csr_matrix, groups: list[np.ndarray], rate: np.ndarray) -> np.ndarray:
    """``T[a, b]``: packets per sample from group a to group b, each neuron spiking ``rate`` times."""
    n = len(rate)
    group_of = np.empty(n, np.int64)
    for g, members in enumerate(groups):
        group_of[members] = g
    t = np.zeros((len(groups), len(groups)))
    for src in range(n):
        dst = np.unique(group_of[w.indices[w.indptr[src]:w.indptr[src + 1]]])
        t[group_of[src], dst] += rate[src]
    np.fill_diagonal(t, 0.0)  # a core's own targets make no packet
    return t


def _place(groups: list[np.ndarray], t: np.ndarray, hw, n_ports: int = 0) -> list[int]:
    """A core per group, greedily, in group order (the first group on core 0); the first ``n_ports`` groups
    are the I/O ports' (units ``n_cores + p``), fixed at their tiles."""
    cpt, width, n_cores = hw.mesh.cores_per_tile, hw.mesh.width, hw.mesh.n_cores
    tile = np.arange(n_cores) // cpt
    x, y = tile % width, tile // width
    both = t + t.T
    free = np.ones(n_cores, bool)
    placed = [n_cores + p for p in range(n_ports)]
    where = [hw.io.ports[p] for p in range(n_ports)]  # the (x, y) of each placed group
    for g in range(n_ports, len(groups)):
        cost = np.zeros(n_cores)
        for h, (hx, hy) in enumerate(where):
            if both[g, h]:
                hops = np.abs(x - hx) + np.abs(y - hy)
                cost += both[g, h] * np.where(hops == 0, 0.5, hops)
        cost[~free] = np.inf
        best = int(np.argmin(cost))  # the lowest id among the cheapest
        free[best] = False
        placed.append(best)
        where.append((x[best], y[best]))
    return placed
