"""Placing neurons on cores.

Strategies are registry entries (``MAPPERS``):

- ``layer-fill`` (default): populations in order, neurons in index order, fill
  cores in id order; a core holds one population. On a chip with too few cores
  for that (the one-core ``ideal`` profile, say) populations are packed one
  after the other instead, and :attr:`Mapping.packed` says so.
- ``spread:K``: population i is split evenly over cores ``i*K .. i*K+K-1`` (with I/O ports the
  input's K cores stay empty).
- ``traffic[:K]``: neurons that share sources on one core, cores placed to keep
  packets times hops small, packets weighed by a reference run's spikes where
  given (``emulator/chip/traffic.py``).
- a YAML file ``{population_name: [core ids]}``: each population is split evenly
  over the listed cores, in list order (a core listed twice gets two shares).

Where the profile's input sits on cores (``io.input_on_cores``, the default) the input population is
mapped like every other. Else it enters through the profile's I/O ports: its neurons are split evenly
over them in port order, port p being unit ``n_cores + p``, and the strategies place the other
populations only (a mapping file may not list the input). Core ids follow the mesh numbering
(docs/design.md, "Hardware model"): ``core = (y*width + x)*cores_per_tile + k``.
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
    """``core_of[g]`` is the core of global neuron g; ``n_cores`` is the chip's. Input neurons that enter
    through I/O ports (``n_ports`` of them) have the port's unit, ``n_cores + p``."""

    core_of: np.ndarray
    n_cores: int
    strategy: str
    packed: bool = False
    n_ports: int = 0

    def neurons_of(self, core: int) -> np.ndarray:
        return np.flatnonzero(self.core_of == core)

    @property
    def n_units(self) -> int:
        """Cores and I/O ports: what the chip keeps counters for."""
        return self.n_cores + self.n_ports

    @property
    def used_cores(self) -> np.ndarray:
        """The compute cores that hold neurons (the I/O ports aside)."""
        used = np.unique(self.core_of)
        return used[used < self.n_cores]


def _chunks(size: int, per_core: int) -> np.ndarray:
    """Core offset (0, 1, ...) of each neuron when filling cores of ``per_core``."""
    return np.arange(size) // per_core


def _even(size: int, k: int) -> np.ndarray:
    """Core offset of each neuron when splitting ``size`` neurons evenly over k cores."""
    return (np.arange(size) * k) // max(size, 1)


# Each strategy places the populations from index ``first`` on (1 where input enters through I/O ports)
# and returns (their neurons' cores, strategy name, packed).

def _layer_fill(net: Network, hw, arg: str | None, _spikes, first: int):
    pops = net.populations[first:]
    n_placed = sum(p.size for p in pops)
    cap = hw.core.max_neurons or n_placed  # None: unlimited
    n_cores = hw.mesh.n_cores
    per_layer = [-(-p.size // cap) for p in pops]
    if sum(per_layer) <= n_cores:
        bases = np.concatenate([[0], np.cumsum(per_layer)[:-1]])
        return np.concatenate([b + _chunks(p.size, cap) for b, p in zip(bases, pops)]), "layer-fill", False
    packed_need = -(-n_placed // cap)
    if packed_need > n_cores:
        raise InputError(hw.path, "mesh", f"network of {n_placed} neurons on cores needs {sum(per_layer)} cores "
                         f"({packed_need} packed) of {cap} neurons; the chip has {n_cores}")
    return _chunks(n_placed, cap), "layer-fill", True


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


def _spread(net: Network, hw, arg: str | None, _spikes, first: int):
    k = _cores_per_population("spread", arg)
    # population i keeps cores i*K ..: with I/O ports the input's cores stay empty, and the layers sit where
    # they would with the input on cores
    parts = [i * k + _even(p.size, k) for i, p in enumerate(net.populations[first:], first)]
    return np.concatenate(parts), f"spread:{k}", False


def _traffic(net: Network, hw, arg: str | None, spikes, first: int):
    k = _cores_per_population("traffic", arg, optional=True)
    core_of = traffic_core_of(net, hw, k, spikes)  # the input's entries are its ports' units, set again below
    return core_of[net.populations[0].size if first else 0:], "traffic" + (f":{k}" if k else ""), False


def _from_file(net: Network, hw, path: str, first: int):
    spec = read_yaml(path)
    if not isinstance(spec, dict):
        raise InputError(path, "file", "expected a mapping {population: [core ids]}")
    names = [p.name for p in net.populations]
    for key in spec:
        if key not in names:
            raise InputError(path, str(key), f"no such population (have {', '.join(names)})")
        if first and key == names[0]:
            raise InputError(path, str(key), f"the input enters through {hw.name}'s I/O ports (io in {hw.path}); "
                                             "leave it out, or set io.input_on_cores: true")
    parts = []
    for p in net.populations[first:]:
        cores = spec.get(p.name)
        if not isinstance(cores, list) or not cores or not all(type(c) is int and c >= 0 for c in cores):
            raise InputError(path, p.name, "expected a non-empty list of core ids")
        parts.append(np.asarray(cores)[_even(p.size, len(cores))])
    return np.concatenate(parts), f"file:{path}", False


MAPPERS = {"layer-fill": _layer_fill, "spread": _spread, "traffic": _traffic}


def map_network(net: Network, hw, spec: str = "layer-fill", spikes: np.ndarray | None = None) -> Mapping:
    """Map ``net`` onto ``hw`` (a HwProfile); checks capacity and core ids. ``spikes``: every neuron's
    spikes per sample in a reference run, which the traffic mapper weighs packets by (None: the structure)."""
    n_cores = hw.mesh.n_cores
    check_size(hw.path, "mesh", n_cores * BYTES_PER_CORE, f"a chip of {n_cores:,} cores")
    name, _, arg = spec.partition(":")
    n_ports = hw.io.n_ports
    first = 1 if n_ports else 0  # the input population enters through the ports
    if name in MAPPERS:
        placed, strategy, packed = MAPPERS[name](net, hw, arg or None, spikes, first)
    elif spec.endswith((".yaml", ".yml")):
        placed, strategy, packed = _from_file(net, hw, spec, first)
    else:
        raise InputError("--mapping", "mapping",
                         f"unknown mapping {spec!r}: use layer-fill, spread:K, traffic[:K] or a .yaml file")
    where = spec if spec.endswith((".yaml", ".yml")) else hw.path
    if placed.size and placed.max() >= n_cores:
        raise InputError(where, "mesh", f"mapping needs {int(placed.max()) + 1} cores; the chip has {n_cores}")
    ports = n_cores + _even(net.populations[0].size, n_ports) if n_ports else placed[:0]
    m = Mapping(np.concatenate([ports, placed]).astype(np.int64), n_cores, strategy, packed, n_ports)
    per_core = np.bincount(placed, minlength=n_cores)
    cap = hw.core.max_neurons
    if cap is not None and per_core.max(initial=0) > cap:
        c = int(per_core.argmax())
        raise InputError(where, "core.max_neurons", f"core {c} gets {per_core[c]} neurons; the limit is {cap}")
    return m
