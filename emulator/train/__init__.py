"""Training: layered BPTT and unlayered backpropagation (the scheduler inside the training graph).

Needs torch (the optional ``[train]`` extra); nothing else in snnemu imports this package. So far it
holds the training graph's forward passes (``forward.py``) and the surrogate gradients
(``surrogate.py``), tested equal to the functional reference; see docs/design.md, "Architecture".
"""

from .forward import Layers, async_forward, layered_forward
from .surrogate import SURROGATES, atan, fast_sigmoid

__all__ = ["Layers", "SURROGATES", "async_forward", "atan", "fast_sigmoid", "layered_forward"]
