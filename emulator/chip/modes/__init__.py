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
  frame widths, whatever is still in flight.

The tick modes live in ``ticks.py``, async mode in ``asyncmode.py`` (the
reference) and ``async_fast.py`` (its fast path, with the same records; a
sample it cannot keep exact raises ``Unsafe`` and runs again on the
reference). A packet's service is ``service.py``. A mode
is a :class:`Mode`: its process, which reads the options it needs from the run's
config, and the packet transport it needs from the chip (``ticked``: packets
only carry timing, the phases integrate from spike vectors). The chip takes
the transport when a sample begins (``Chip.begin_sample``). See
docs/design.md, "Execution modes".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .async_fast import Unsafe
from .asyncmode import run_async
from .ticks import run_layered, run_timestep

__all__ = ["MODES", "Mode", "Unsafe", "run_timestep", "run_layered", "run_async"]


@dataclass(frozen=True)
class Mode:
    """An execution mode: ``run(chip, frames, cfg)`` is the generator of one sample's SimPy process."""

    name: str
    run: Callable
    ticked: bool  # packets carry timing only: a phase integrates what the previous phase sent


MODES = {"timestep": Mode("timestep", run_timestep, ticked=True),
         "layered": Mode("layered", run_layered, ticked=True),
         "async": Mode("async", run_async, ticked=False)}
