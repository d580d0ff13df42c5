"""The network IR: populations of neurons and the projections between them.

A network is a feed-forward stack: population 0 is the input (spike sources,
shape ``(C, H, W)`` flattened channel-major), populations 1..L are LIF/IF
layers, and a feed-forward projection connects population l-1 to population
l. A layer may also have a recurrent projection onto itself, with a delay of
one timestep: its spikes of timestep t reach it at timestep t+1, in every mode.
Weights are CSR matrices of shape ``(src.size, dst.size)``; the NIR input
scale (``dt * r / tau``) is already folded into them.

Every neuron also has a *global* index: populations are laid out one after the
other (input first). The chip's state arrays and the mapping use global
indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .conventions import RESET_CODES, Conventions

__all__ = ["Population", "Projection", "Network"]


@dataclass
class Population:
    """A group of neurons with per-neuron parameters (None for the input)."""

    name: str
    size: int
    beta: np.ndarray | None = None
    theta: np.ndarray | None = None
    bias: np.ndarray | None = None
    shape: tuple[int, ...] | None = None  # the layer's tensor shape, e.g. (C, H, W); None: (size,)
    alpha: np.ndarray | None = None  # CubaLIF: synaptic current decay per timestep; None: no current state
    gain: np.ndarray | None = None  # CubaLIF: the synaptic current's weight into V (dt r / tau_mem)
    ibias: np.ndarray | None = None  # CubaLIF: constant input into the synaptic current per timestep
    spiking: bool = True  # False for LI: a leaky integrator that never fires (a readout layer)
    kind: str = "LIF"  # the NIR node it came from: LIF, IF, CubaLIF, LI, Threshold (Input for the input)
    conventions: Conventions = field(default_factory=Conventions)  # how it steps (emulator.model.conventions)
    # where each convention came from: "graph", "dialect <name>", "--reset" or "default"
    convention_sources: dict[str, str] = field(default_factory=dict)

    @property
    def is_input(self) -> bool:
        return self.beta is None

    @property
    def subtract(self) -> np.ndarray:
        """Per neuron: resets by subtracting theta at once (``reset: subtract``)."""
        return np.full(self.size, self.conventions.reset == "subtract")


@dataclass
class Projection:
    """Synapses from population ``src`` to population ``dst`` (CSR, src x dst); ``delay`` in
    timesteps: 0 for feed-forward, 1 for a recurrent projection (``src == dst``)."""

    src: int
    dst: int
    weights: sp.csr_matrix
    delay: int = 0
    # The stateless NIR nodes (Conv2d, SumPool2d, Linear, ...) that these synapses were folded from, kept
    # so that the export writes a convolution as one; the export uses them only where they still
    # compose to ``weights`` (and the layer's bias), else it writes one dense Affine.
    nodes: tuple = ()

    @property
    def kind(self) -> str:
        """How a chip stores these synapses, which prices them (``hw_models``: a profile may give each kind
        its own figures): ``conv`` when folded from convolutions or poolings alone, whose kernels are
        shared (with a Linear or Affine folded in the product is a plain matrix); ``sparse`` when fewer
        than ``SPARSE_BELOW`` of the (source, target) pairs carry a weight; else ``dense``."""
        types = {type(node).__name__ for node in self.nodes}
        if types & set(CONV_NODES) and not types & {"Linear", "Affine"}:
            return "conv"
        pairs = self.weights.shape[0] * self.weights.shape[1]
        return "sparse" if self.weights.nnz < SPARSE_BELOW * pairs else "dense"


CONV_NODES = ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")  # what Projection.kind reads as a shared kernel
# A sparse encoding stores (target index, weight) per synapse, a dense one a weight per (source, target) pair;
# below half full the sparse one is the smaller for weights about as wide as the indices, and a compiler
# picks the smaller (an assumed rule: Loihi's compiler does not publish its own).
SPARSE_BELOW = 0.5


@dataclass
class Network:
    """Populations (input first), projections, the timestep and the input shape."""

    name: str
    populations: list[Population]
    projections: list[Projection]
    dt_s: float
    input_shape: tuple[int, int, int]
    dt_source: str = "metadata"
    warnings: list[str] = field(default_factory=list)  # what the import could not say for sure
    dialect: str = "snnemu"  # whose export it was read as (emulator.model.dialects)
    offsets: np.ndarray = field(init=False)

    def __post_init__(self):
        sizes = [p.size for p in self.populations]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def n_neurons(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_layers(self) -> int:
        """LIF/IF layers, the input excluded."""
        return len(self.populations) - 1

    @property
    def output(self) -> Population:
        return self.populations[-1]

    @property
    def readout(self) -> str:
        """``spikes`` (the most active output neuron) or ``membrane`` (the output layer is LI: the
        neuron with the highest potential at the end of the sample)."""
        return "spikes" if self.output.spiking else "membrane"

    @property
    def has_synaptic_state(self) -> bool:
        return any(p.alpha is not None for p in self.populations[1:])

    def layer_of(self) -> np.ndarray:
        """Population index of every global neuron."""
        return np.repeat(np.arange(len(self.populations)), [p.size for p in self.populations])

    def global_synaptic(self):
        """Per-neuron ``alpha``, ``gain`` and ``ibias`` over all global neurons (0, 1 and 0 where
        there is no synaptic current state: the input goes straight into V)."""
        def cat(attr, fill):
            return np.concatenate([np.full(p.size, fill) if getattr(p, attr) is None else getattr(p, attr)
                                   for p in self.populations])

        return cat("alpha", 0.0), cat("gain", 1.0), cat("ibias", 0.0)

    def global_params(self):
        """Per-neuron arrays over all global neurons: beta, theta, bias, subtract.

        Input neurons get beta 0, theta +inf and bias 0: they never integrate.
        """
        def cat(attr, fill, dtype):
            return np.concatenate([
                np.full(p.size, fill, dtype) if p.is_input else getattr(p, attr).astype(dtype)
                for p in self.populations
            ])

        return (cat("beta", 0.0, float), cat("theta", np.inf, float),
                cat("bias", 0.0, float), cat("subtract", False, bool))

    def global_conventions(self) -> dict[str, np.ndarray]:
        """Per-neuron arrays of the conventions the engines act on (input neurons: the defaults):
        ``at_threshold`` (fire at V >= theta too), ``reset`` (``RESET_CODES``), ``drop_input``,
        ``several`` (several spikes per step)."""
        def cat(get, dtype):
            return np.concatenate([np.full(p.size, get(p.conventions), dtype) for p in self.populations])

        return {"at_threshold": cat(lambda c: c.threshold == ">=", bool),
                "reset": cat(lambda c: RESET_CODES[c.reset], np.int8),
                "drop_input": cat(lambda c: c.drop_input and c.reset == "zero", bool),
                "several": cat(lambda c: c.spikes == "several", bool)}

    def feed_forward(self, dst: int) -> Projection:
        """The projection into population ``dst`` from the one before it."""
        return next(pr for pr in self.projections if pr.dst == dst and pr.delay == 0)

    def recurrent(self, pop: int) -> Projection | None:
        """The delayed projection of population ``pop`` onto itself, if any."""
        return next((pr for pr in self.projections if pr.dst == pop and pr.delay == 1), None)

    def global_weights(self, delay: int | None = None, kind: str | None = None) -> sp.csr_matrix:
        """The projections (those with ``delay`` and of ``kind``, or all) as one (n_neurons x n_neurons)
        CSR matrix, rows = sources."""
        n = self.n_neurons
        blocks = []
        for pr in self.projections:
            if (delay is not None and pr.delay != delay) or (kind is not None and pr.kind != kind):
                continue
            coo = pr.weights.tocoo()
            blocks.append((coo.row + self.offsets[pr.src], coo.col + self.offsets[pr.dst], coo.data))
        rows = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0, int)
        cols = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, int)
        vals = np.concatenate([b[2] for b in blocks]) if blocks else np.zeros(0)
        w = sp.csr_matrix((vals.astype(float), (rows, cols)), shape=(n, n))
        w.sort_indices()
        return w
