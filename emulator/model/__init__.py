"""The network, independent of hardware: the IR, the neuron math, NIR import and export.

See docs/design.md, "Neurons" and "Models".
"""

from pathlib import Path

from .network import Network, Population, Projection
from .neuron import after_spike, fire, integrate, leak, receive, reset, step, synapse
from .nir_export import network_to_nir, save_nir
from .nir_import import flatten_graph, load_nir, network_from_nir
from .readout import predict

__all__ = ["DEMO_MODEL", "Network", "Population", "Projection", "after_spike", "fire", "flatten_graph", "integrate",
           "leak", "load_nir", "network_from_nir", "network_to_nir", "predict", "receive", "reset", "save_nir", "step",
           "synapse"]

# The bundled demo model (64-64-10 LIF on the digits data; scripts/build_demo_model.py makes it).
DEMO_MODEL = Path(__file__).resolve().parents[1] / "data" / "demo_digits.nir"
