"""The emulated chip: the SimPy component, its synapse layouts, NoC, queues, mapping and modes.

The registries are keyed by the names ``emulator.config`` declares: ``MODES``
(execution modes), ``QUEUES`` (async queue policies), ``NOCS`` (NoC
fidelities), ``MAPPERS`` (mapping strategies). See docs/design.md, "Hardware
model".
"""

from .chip import Chip, Core, Packet
from .counters import COUNTER_NAMES, CoreCounters
from .mapping import MAPPERS, Mapping, map_network
from .modes import MODES, Mode, Unsafe
from .noc import NOCS, Route, Topology
from .queues import QUEUES
from .synapses import Synapses, synapses_per_core

__all__ = ["COUNTER_NAMES", "Chip", "Core", "CoreCounters", "MAPPERS", "MODES", "Mapping", "Mode", "NOCS", "Packet",
           "QUEUES", "Route", "Synapses", "Topology", "Unsafe", "map_network", "synapses_per_core"]
