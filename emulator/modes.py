"""Execution modes (registry ``MODES``): how the chip runs one sample.

Each mode is a generator for a SimPy process that runs one sample of input
``frames`` (``(T, n_in)`` spike counts) on the chip's fresh clock, and returns
when the sample has ended.

- ``timestep``: a global barrier every tick. Spikes emitted during tick k
  (input spikes of frame k included) are integrated during tick k+1, so a
  sample takes ``T + L`` ticks for L layers; spikes of the last tick are
  recorded but send no packets, as no tick follows.
- ``layered``: per timestep, an input phase and then one phase per layer, with
  a barrier after each. Layer l integrates all of layer l-1's spikes of this
  timestep, then evaluates its thresholds once.
- ``async``: no barriers. Each core serves its queue one packet at a time.
  Frame k enters once the network has drained, or with ``realtime`` at k
  times the model's timestep, whatever is still in flight.

The tick modes live in ``emulator.ticks``, async mode in ``emulator.asyncmode``.
"""

from __future__ import annotations

from .asyncmode import run_async
from .ticks import run_layered, run_timestep

__all__ = ["MODES", "run_timestep", "run_layered", "run_async"]

MODES = {"timestep": run_timestep, "layered": run_layered, "async": run_async}
