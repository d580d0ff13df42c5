"""How a neuron population steps: the conventions that differ between frameworks, as data.

Frameworks agree on the LIF neuron and differ in the details, and a model must
run the way the framework that trained it runs it. Each population states:

- ``leak``: ``euler`` (``beta = 1 - dt/tau``, NIR's forward Euler) or ``exp``
  (``beta = exp(-dt/tau)``, Sinabs, Rockpool); used when the graph is imported;
- ``threshold``: fire on ``V > theta`` (``>``) or ``V >= theta`` (``>=``);
- ``reset``: ``zero`` (``V <- 0``), ``subtract`` (``V <- V - theta``), or
  ``subtract-next``: the potential is kept, and the next step subtracts
  ``theta`` after its decay and input (snnTorch's default:
  ``V[t] = beta*V[t-1] + I[t] - theta*S[t-1]``);
- ``drop_input``: with a zero reset, the step after a spike also loses its
  input (snnTorch's ``Synaptic`` and ``RLeaky``);
- ``spikes``: ``one`` per step, or ``several``: ``floor(V/theta)`` spikes, the
  subtract reset taking that many ``theta`` (Sinabs ``MultiSpike``, Rockpool).

See docs/design.md, "Neurons".
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["CHOICES", "Conventions", "RESET_CODES"]

CHOICES = {"leak": ("euler", "exp"), "threshold": (">", ">="), "reset": ("zero", "subtract", "subtract-next"),
           "drop_input": (False, True), "spikes": ("one", "several")}
RESET_CODES = {"zero": 0, "subtract": 1, "subtract-next": 2}  # the per-neuron codes the engines use


@dataclass(frozen=True)
class Conventions:
    """One population's conventions; the defaults are NIR's own reading (and snnemu's)."""

    leak: str = "euler"
    threshold: str = ">"
    reset: str = "zero"
    drop_input: bool = False
    spikes: str = "one"

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) not in CHOICES[f.name]:
                raise ValueError(f"convention {f.name}: {getattr(self, f.name)!r} is not one of {CHOICES[f.name]}")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """One line, e.g. ``euler leak, V > theta, subtract-next reset, one spike``."""
        parts = [f"{self.leak} leak", f"V {self.threshold} theta", f"{self.reset} reset"]
        if self.drop_input:
            parts.append("drops the next step's input")
        parts.append("one spike" if self.spikes == "one" else "several spikes")
        return ", ".join(parts)
