"""The network, independent of hardware: the IR, the neuron math, NIR import and export.

See docs/design.md, "Neurons" and "Models".
"""

from pathlib import Path

from .arch import Arch, ArchLayer, layer_nodes, parse_arch
from .conventions import RESET_CODES, Conventions
from .dialects import DIALECT_NAMES
from .network import Network, Population, Projection
from .neuron import (
           SUBTRACT,
           SUBTRACT_NEXT,
           ZERO,
           after_spike,
           fire,
           integrate,
           leak,
           pay_debt,
           receive,
           reset,
           spike_counts,
           step,
           synapse,
           timestep,
)
from .nir_export import network_to_nir, save_nir
from .nir_import import flatten_graph, load_nir, network_from_nir
from .nir_ops import fold_nodes
from .readout import predict

__all__ = ["Arch", "ArchLayer", "DEMO_MODEL", "DEMO_UNLAYERED_MODEL", "DIALECT_NAMES", "RESET_CODES", "SUBTRACT", "SUBTRACT_NEXT", "ZERO", "Conventions", "Network", "Population", "Projection", "after_spike", "fire", "flatten_graph", "fold_nodes",
           "integrate", "layer_nodes", "leak", "load_nir", "network_from_nir", "network_to_nir", "parse_arch", "pay_debt", "predict", "receive",
           "reset", "save_nir", "spike_counts", "step", "synapse", "timestep"]

# The bundled demo models (64-64-10 LIF on the digits data, trained by `make model`): layer-synchronized
# (BPTT) and unlayered (the async scheduler in the training graph).
DEMO_MODEL = Path(__file__).resolve().parents[1] / "data" / "demo_digits.nir"
DEMO_UNLAYERED_MODEL = DEMO_MODEL.with_name("demo_digits_unlayered.nir")
