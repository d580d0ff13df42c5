"""Placing neurons on cores.

Strategies are registry entries (``MAPPERS``):

- ``layer-fill`` (default): populations in order, neurons in index order, fill
  cores in id order; a core holds one population. On a chip with too few cores
  for that (the one-core ``ideal`` profile, say) populations are packed one
  after the other instead, and :attr:`Mapping.packed` says so.
- ``spread:K``: each population is split evenly over K cores of its own.
- ``traffic[:K]``: neurons that share sources on one core, cores placed to keep
  packets times hops small, packets weighed by a reference run's spikes where
  given (``emulator/chip/traffic.py``).
- a YAML file ``{population_name: [core ids]}``: each population is split evenly
  over the listed cores, in list order (a core listed twice gets two shares).

The input population is mapped like every other. Core ids follow the mesh numbering (docs/design.md, "Hardware model"):
``core = (y*width + x)*cores_per_tile + k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw_models.profile import read_yaml

from ..errors import InputError, check_size
from ..model import Network
from .traffic import traffic_core_of

__all__ = ["BYTES_PER_CORE", "Mapping", "map_network", "MAPPERS"]

BYTES_PER_CORE = 4096  # what the chip holds per core, used or not (its process state, counters, links): measured


@dataclass
class Mapping:
    """``core_of[g]`` is the core of global neuron g; ``n_cores`` is the chip's."""

    core_of: np.ndarray
    n_cores: int
    strategy: str
    packed: bool = False

    def neurons_of(self, core: int) -> np.ndarray:
        return np.flatnonzero(self.core_of == core)

    @property
    def used_cores(self) -> np.ndarray:
        return np.unique(self.core_of)


def _chunks(size: int, per_core: int) -> np.ndarray:
    """Core offset (0, 1, ...) of each neuron when filling cores of ``per_core``."""
    return np.arange(size) // per_core


def _even(size: int, k: int) -> np.ndarray:
    """Core offset of each neuron when splitting ``size`` neurons evenly over k cores."""
    return (np.arange(size) * k) // max(size, 1)


def _layer_fill(net: Network, hw, arg: str | None, _spikes=None) -> Mapping:
    cap = hw.core.max_neurons or net.n_neurons  # None: unlimited
    n_cores = hw.mesh.n_cores
    per_layer = [-(-p.size // cap) for p in net.populations]
    if sum(per_layer) <= n_cores:
        bases = np.concatenate([[0], np.cumsum(per_layer)[:-1]])
        parts = [b + _chunks(p.size, cap) for b, p in zip(bases, net.populations)]
        return Mapping(np.concatenate(parts), n_cores, "layer-fill")
    packed_need = -(-net.n_neurons // cap)
    if packed_need > n_cores:
        raise InputError(hw.path, "mesh", f"network of {net.n_neurons} neurons needs {sum(per_layer)} cores "
                         f"({packed_need} packed) of {cap} neurons; the chip has {n_cores}")
    return Mapping(_chunks(net.n_neurons, cap), n_cores, "layer-fill", packed=True)


def _cores_per_population(name: str, arg: str | None, optional: bool = False) -> int | None:
    """The K of ``name:K`` (K >= 1); None for a bare ``name`` where K is optional."""
    if arg is None and optional:
        return None
    try:
        k = int(arg)
        assert k >= 1
    except (TypeError, ValueError, AssertionError):
        form = f"{name} or {name}:K" if optional else f"{name}:K"
        raise InputError("--mapping", name, f"expected {form} with K >= 1, got {name}:{arg}") from None
    return k


def _spread(net: Network, hw, arg: str | None, _spikes=None) -> Mapping:
    k = _cores_per_population("spread", arg)
    parts = [i * k + _even(p.size, k) for i, p in enumerate(net.populations)]
    return Mapping(np.concatenate(parts), hw.mesh.n_cores, f"spread:{k}")


def _traffic(net: Network, hw, arg: str | None, spikes=None) -> Mapping:
    k = _cores_per_population("traffic", arg, optional=True)
    return Mapping(traffic_core_of(net, hw, k, spikes), hw.mesh.n_cores, "traffic" + (f":{k}" if k else ""))


def _from_file(net: Network, hw, path: str) -> Mapping:
    spec = read_yaml(path)
    if not isinstance(spec, dict):
        raise InputError(path, "file", "expected a mapping {population: [core ids]}")
    names = [p.name for p in net.populations]
    for key in spec:
        if key not in names:
            raise InputError(path, str(key), f"no such population (have {', '.join(names)})")
    parts = []
    for p in net.populations:
        cores = spec.get(p.name)
        if not isinstance(cores, list) or not cores or not all(type(c) is int and c >= 0 for c in cores):
            raise InputError(path, p.name, "expected a non-empty list of core ids")
        parts.append(np.asarray(cores)[_even(p.size, len(cores))])
    return Mapping(np.concatenate(parts), hw.mesh.n_cores, f"file:{path}")


MAPPERS = {"layer-fill": _layer_fill, "spread": _spread, "traffic": _traffic}


def map_network(net: Network, hw, spec: str = "layer-fill", spikes: np.ndarray | None = None) -> Mapping:
    """Map ``net`` onto ``hw`` (a HwProfile); checks capacity and core ids. ``spikes``: every neuron's
    spikes per sample in a reference run, which the traffic mapper weighs packets by (None: the structure)."""
    n_cores = hw.mesh.n_cores
    check_size(hw.path, "mesh", n_cores * BYTES_PER_CORE, f"a chip of {n_cores:,} cores")
    name, _, arg = spec.partition(":")
    if name in MAPPERS:
        m = MAPPERS[name](net, hw, arg or None, spikes)
    elif spec.endswith((".yaml", ".yml")):
        m = _from_file(net, hw, spec)
    else:
        raise InputError("--mapping", "mapping",
                         f"unknown mapping {spec!r}: use layer-fill, spread:K, traffic[:K] or a .yaml file")
    where = spec if spec.endswith((".yaml", ".yml")) else hw.path
    if m.core_of.size and m.core_of.max() >= m.n_cores:
        raise InputError(where, "mesh", f"mapping needs {int(m.core_of.max()) + 1} cores; the chip has {m.n_cores}")
    per_core = np.bincount(m.core_of, minlength=m.n_cores)
    cap = hw.core.max_neurons
    if cap is not None and per_core.max(initial=0) > cap:
        c = int(per_core.argmax())
        raise InputError(where, "core.max_neurons", f"core {c} gets {per_core[c]} neurons; the limit is {cap}")
    return m
