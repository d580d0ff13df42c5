"""The functional reference: the network's semantics in vectorized NumPy, no hardware.

It never imports the chip (nor the chip it): the tests compare the two. See
docs/design.md, "The functional reference".
"""

from .async_steps import select
from .batches import BATCH, FunctionalRun, merge_results, run_functional, simulate_range
from .draws import INPUT, NOISE, RANDOM, REFRAC, SPIKE, drop, uniform
from .engine import simulate
from .state import FunctionalResult

# The draws and the scheduler's selection are public so that the training graph (emulator.train)
# makes the very choices the reference makes.
__all__ = ["BATCH", "INPUT", "NOISE", "RANDOM", "REFRAC", "SPIKE", "FunctionalResult", "FunctionalRun", "drop", "merge_results",
           "run_functional", "select", "simulate", "simulate_range", "uniform"]
