"""The functional reference: the network's semantics in vectorized NumPy, no hardware.

It never imports the chip (nor the chip it): the tests compare the two. See
docs/design.md, "The functional reference".
"""

from .batches import BATCH, FunctionalRun, run_functional
from .engine import simulate
from .state import FunctionalResult

__all__ = ["BATCH", "FunctionalResult", "FunctionalRun", "run_functional", "simulate"]
