"""How each framework's NIR export is meant: its dt, its neuron conventions, its exporter's defects.

NIR says what a neuron is in continuous time, not how a framework steps it, and
the frameworks' exporters leave things out or write them wrong. A dialect
(registry ``DIALECTS``, keyed by ``--nir-from``) maps one framework's export to
the IR's terms: it finds the model's ``dt``, repairs what the exporter is
known to write wrong (each repair is a warning naming the defect), and gives
each layer its conventions (``emulator.model.conventions``). The dynamics and
defects are those of snnTorch 1.0.0, Norse 1.1.0, Sinabs 3.1.3 and Rockpool
3.1.0, checked against each framework's own forward pass
(``tests/fixtures/frameworks``, made by ``scripts/framework_fixtures.py``).

A graph's producer is detected where the graph reveals it; otherwise it is
read as snnTorch's, with a warning naming ``--nir-from``. See docs/design.md,
"Models".
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import nir
import numpy as np

from ..errors import InputError
from .conventions import CHOICES, Conventions
from .nir_ops import floats

__all__ = ["DIALECTS", "DIALECT_NAMES", "Reading", "detect", "read_graph"]

SNNTORCH_DT = 1e-4  # the dt snnTorch's exporter implies in tau = dt/(1 - beta) (export_nir.py)
NORSE_DT = 1e-3  # Norse's default dt, which its exporter multiplies into tau and does not write
ROCKPOOL_DT = 1e-3  # Rockpool's default dt, likewise not written
SINABS_STEP = 1e-3  # Sinabs's time constants count steps; a step is read as 1 ms


@dataclass
class Reading:
    """What a dialect made of a graph: its (repaired) nodes, dt, and per-layer conventions."""

    dialect: str
    nodes: dict
    dt: float
    dt_source: str
    notes: list[str] = field(default_factory=list)
    layer_conventions: object = None  # (node name, node, has_loop) -> (Conventions, {field: source})


def _values(node, attr) -> np.ndarray:
    return np.asarray(getattr(node, attr, np.nan), float).reshape(-1)


def _neurons(nodes: dict, kinds=(nir.LIF, nir.CubaLIF)) -> list[tuple[str, object]]:
    return [(k, n) for k, n in nodes.items() if isinstance(n, kinds)]


def _tau(node) -> np.ndarray:
    return _values(node, "tau_mem" if isinstance(node, nir.CubaLIF) else "tau")


def _with(node, **changes):
    """A copy of a NIR node with some parameters replaced (the file's graph is left as it was)."""
    new = copy.copy(node)
    for k, v in changes.items():
        setattr(new, k, np.asarray(v, float))
    return new


def _strip_leading_axes(nodes: dict, edges: list, notes: list, why: str) -> None:
    """The Input's type keeps a batch or time axis: keep the trailing axes the first node takes."""
    name = next(k for k, n in nodes.items() if isinstance(n, nir.Input))
    shape = [int(v) for v in np.asarray(nodes[name].input_type.get("input", []), float).reshape(-1)]
    first = next((b for a, b in edges if a == name), None)
    weight = getattr(nodes.get(first), "weight", None)
    if len(shape) < 2 or weight is None or np.asarray(weight).ndim != 2:
        return
    fan_in = np.asarray(weight).shape[1]
    for k in range(1, len(shape)):
        if int(np.prod(shape[k:])) == fan_in:
            notes.append(f"nodes.{name}.input_type {tuple(shape)} keeps {why}: read as {tuple(shape[k:])}")
            nodes[name] = nir.Input(input_type={"input": np.array(shape[k:])})
            return


def _fixed(conv: Conventions, source: str) -> tuple[Conventions, dict]:
    return conv, {f: source for f in conv.as_dict()}


# Sinabs and Rockpool (both SynSense's) step alike: exp(-dt/tau) decay, V >= theta, floor(V/theta)
# spikes, subtract reset.
SYNSENSE = Conventions(leak="exp", threshold=">=", reset="subtract", spikes="several")


def _every_layer(dialect: str, conv: Conventions, reset: str | None):
    """Every layer steps alike, in the framework's conventions (the reset is ``--reset``'s if given)."""
    if reset:
        conv = dataclasses.replace(conv, reset=reset)
    sources = {f: f"dialect {dialect}" for f in conv.as_dict()}
    if reset:
        sources["reset"] = "--reset"
    return lambda name, node, loop: (conv, dict(sources))


class Snnemu:
    """snnemu's own files and hand-written graphs: dt and reset in the metadata, NIR's Euler reading."""

    name = "snnemu"

    def reveals(self, nodes, meta) -> bool:
        return "dt" in meta or "reset" in meta or "conventions" in meta

    def read(self, nodes, edges, meta, fallback, reset, file) -> Reading:
        notes = []
        if "dt" in meta:  # snnemu's export says where its dt came from when not from a graph's metadata
            dt = float(floats(meta["dt"], file, "metadata.dt").reshape(-1)[0])
            source = _text(meta.get("dt_source", "metadata"))
        else:
            dt, source = _tau_over_r(nodes, fallback)
        graph_reset = _text(meta.get("reset", "zero"))
        if graph_reset not in ("zero", "subtract"):
            raise InputError(file, "metadata.reset", f"expected 'zero' or 'subtract', got {graph_reset!r}")
        if "reset" not in meta and "conventions" not in meta and reset is None:
            notes.append("the graph does not say how neurons reset (metadata 'reset'); zero reset assumed "
                         "(--reset subtract for a subtract reset)")
        written = meta.get("conventions", {})

        def layer(name, node, loop):
            stated = written.get(name) if isinstance(written, dict) else None
            if isinstance(stated, dict):  # snnemu's export writes every layer's conventions
                return _fixed(_stated(stated, file, f"metadata.conventions.{name}"), "graph")
            conv = Conventions(reset=reset or graph_reset)
            sources = {f: "default" for f in conv.as_dict()}
            sources["reset"] = "--reset" if reset else "graph" if "reset" in meta else "default"
            return conv, sources

        return Reading(self.name, nodes, dt, source, notes, layer)


class Snntorch:
    """snnTorch's ``export_to_nir``: tau = dt/(1 - beta) with an implied dt of 100 us, r = tau/dt; its
    reset is not written (v_reset = 0 for both mechanisms), and its default is the subtract reset at
    the next step; a zero reset drops the next step's input in Synaptic and RLeaky."""

    name = "snntorch"

    def reveals(self, nodes, meta) -> bool:
        ratios = [_tau(n) / _values(n, "r") for _, n in _neurons(nodes)]
        return bool(ratios) and all(np.allclose(r, SNNTORCH_DT, rtol=1e-3) for r in ratios)

    def read(self, nodes, edges, meta, fallback, reset, file) -> Reading:
        dt, source = _tau_over_r(nodes, fallback)
        notes = [] if reset else ["snnTorch's export cannot say which reset was used: its default, the subtract "
                                  "reset at the next step, is assumed (--reset zero for reset_mechanism='zero')"]
        chosen = reset or "subtract"

        def layer(name, node, loop):
            drops = chosen == "zero" and (isinstance(node, nir.CubaLIF) or loop)
            conv = Conventions(reset="subtract-next" if chosen == "subtract" else "zero", drop_input=drops)
            sources = {f: "dialect snntorch" for f in conv.as_dict()}
            sources["reset"] = "--reset" if reset else "dialect snntorch (its default)"
            return conv, sources

        return Reading(self.name, nodes, dt, source, notes, layer)


class Norse:
    """Norse's ``to_nir``: tau written as dt * tau (norse issue 411, fixed upstream, not released),
    CubaLIF's w_in as 1 where tau_syn/dt is meant, the batch axis kept in the Input's type."""

    name = "norse"

    def reveals(self, nodes, meta) -> bool:
        neurons = _neurons(nodes)
        return bool(neurons) and all(np.allclose(_values(n, "r"), 1.0) and (_tau(n) < 1e-4).all()
                                     for _, n in neurons)

    def read(self, nodes, edges, meta, fallback, reset, file) -> Reading:
        nodes, dt = dict(nodes), NORSE_DT
        notes = [f"Norse writes tau multiplied by dt (norse issue 411): tau divided by Norse's default dt, "
                 f"{dt * 1e3:g} ms"]
        for k, n in _neurons(nodes, (nir.LIF, nir.CubaLIF, nir.LI, nir.IF)):
            if isinstance(n, nir.CubaLIF):
                tau_syn = _values(n, "tau_syn") / dt
                nodes[k] = _with(n, tau_syn=tau_syn, tau_mem=_values(n, "tau_mem") / dt, w_in=tau_syn / dt)
            elif isinstance(n, nir.IF):  # IAFCell: v += input, written as IF with r = 1
                nodes[k] = _with(n, r=_values(n, "r") / dt)
            else:  # LIFBoxCell and LIBoxCell
                nodes[k] = _with(n, tau=_values(n, "tau") / dt)
        if any(isinstance(n, nir.CubaLIF) for n in nodes.values()):
            notes.append("Norse's LIFCell exports w_in = 1 where tau_syn/dt is meant: repaired")
        _strip_leading_axes(nodes, edges, notes, "Norse's batch axis")

        layer = _every_layer(self.name, Conventions(), reset)
        return Reading(self.name, nodes, dt, "dialect norse (its default dt)", notes, layer)


class Sinabs:
    """Sinabs's ``to_nir``: time constants in steps, r = 1, no dt; it decays by exp(-1/tau), fires
    at V >= theta with several spikes per step (MultiSpike, its default; NIR cannot tell SingleSpike)
    and resets by subtraction. It drops tau_syn, which cannot be seen in the graph."""

    name = "sinabs"

    def reveals(self, nodes, meta) -> bool:
        neurons = _neurons(nodes, (nir.LIF, nir.IF))
        return bool(neurons) and all(np.allclose(_values(n, "r"), 1.0) and
                                     (isinstance(n, nir.IF) or (_values(n, "tau") >= 1.0).all()) for _, n in neurons)

    def read(self, nodes, edges, meta, fallback, reset, file) -> Reading:
        nodes, dt = dict(nodes), SINABS_STEP
        for k, n in _neurons(nodes, (nir.LIF, nir.IF)):
            nodes[k] = _with(n, r=_values(n, "r") / dt) if isinstance(n, nir.IF) else _with(n, tau=_values(n, "tau") * dt)
        notes = ["Sinabs's time constants count steps: read at a step of 1 ms; its spike function is not "
                 "written: MultiSpike (several spikes per step, its default) assumed"]
        _strip_leading_axes(nodes, edges, notes, "Sinabs's time axis")

        layer = _every_layer(self.name, SYNSENSE, reset)
        return Reading(self.name, nodes, dt, "dialect sinabs (tau in steps of 1 ms)", notes, layer)


class Rockpool:
    """Rockpool's ``to_nir``: r = tau * exp(-dt/tau) / dt and w_in = 1, no dt; its LIF decays by
    exp(-dt/tau), scales its synaptic input by exp(-dt/tau_syn), fires at V >= theta with several
    spikes per step and resets by subtraction. It drops recurrent weights and the bias unseen."""

    name = "rockpool"

    def reveals(self, nodes, meta) -> bool:
        return any(k.endswith(("LIFTorch", "LIFNeuronTorch", "LinearTorch")) for k in nodes)

    def read(self, nodes, edges, meta, fallback, reset, file) -> Reading:
        nodes = dict(nodes)
        first = _neurons(nodes)
        dt = _rockpool_dt(_tau(first[0][1])[0], _values(first[0][1], "r")[0]) if first else ROCKPOOL_DT
        for k, n in first:
            a = np.exp(-dt / _tau(n))
            if isinstance(n, nir.CubaLIF):
                b = np.exp(-dt / _values(n, "tau_syn"))
                nodes[k] = _with(n, r=1.0 / (1.0 - a), w_in=b / (1.0 - b))
            else:
                nodes[k] = _with(n, r=1.0 / (1.0 - a))
        notes = [f"Rockpool writes r = tau*exp(-dt/tau)/dt and w_in = 1 (a synaptic input scale of dt/tau_syn "
                 f"where exp(-dt/tau_syn) is meant): dt = {dt * 1e3:.6g} ms solved from r, inputs repaired"]

        layer = _every_layer(self.name, SYNSENSE, reset)
        return Reading(self.name, nodes, dt, "dialect rockpool (solved from r)", notes, layer)


def _rockpool_dt(tau: float, r: float) -> float:
    """Solve ``r = tau * exp(-dt/tau) / dt`` for dt (Newton on log, from Rockpool's default)."""
    dt = ROCKPOOL_DT
    for _ in range(50):  # f(dt) = log(tau) - dt/tau - log(dt) - log(r), f' = -1/tau - 1/dt
        f = np.log(tau) - dt / tau - np.log(dt) - np.log(r)
        dt = max(dt - f / (-1.0 / tau - 1.0 / dt), dt * 1e-3)
    return float(dt)


def _tau_over_r(nodes: dict, fallback: float) -> tuple[float, str]:
    """``tau/r`` of the first LIF or CubaLIF node with r != 1 (snnTorch's convention), else the fallback."""
    for _, n in _neurons(nodes):
        r = _values(n, "r")
        if r.size and not np.allclose(r, 1.0):
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(_tau(n)[0] / r[0]), "tau/r"
    return float(fallback), "fallback"


def _stated(stated: dict, file: str, field: str) -> Conventions:
    """A layer's conventions as the metadata states them; anything else is one clear error."""
    unknown = sorted(set(stated) - set(CHOICES))
    if unknown:
        raise InputError(file, f"{field}.{unknown[0]}", f"unknown convention (known: {', '.join(CHOICES)})")
    values = {}
    for k, v in stated.items():
        v = _text(v) if not isinstance(v, (bool, np.bool_)) else bool(v)
        if k == "drop_input" and v in ("True", "False", "true", "false"):
            v = v.lower() == "true"
        if v not in CHOICES[k]:
            raise InputError(file, f"{field}.{k}", f"{v!r} is not one of {CHOICES[k]}")
        values[k] = v
    return Conventions(**values)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


DIALECTS = {d.name: d for d in (Snnemu(), Snntorch(), Norse(), Sinabs(), Rockpool())}
DIALECT_NAMES = tuple(DIALECTS)
DETECTION_ORDER = ("snnemu", "rockpool", "norse", "sinabs", "snntorch")


def detect(nodes: dict, meta: dict) -> str | None:
    """The dialect the graph reveals, or None."""
    return next((name for name in DETECTION_ORDER if DIALECTS[name].reveals(nodes, meta)), None)


def read_graph(nodes: dict, edges: list, meta: dict, fallback: float, file: str, dialect: str | None = None,
               reset: str | None = None) -> Reading:
    """Read a flat graph in ``dialect`` (None: detected, else snnTorch's, with a warning)."""
    notes = []
    if dialect is None:
        dialect = detect(nodes, meta)
        if dialect is None:
            dialect = "snntorch"
            notes.append("the graph does not show which framework wrote it: read as snnTorch's "
                         "(--nir-from snnemu|snntorch|norse|sinabs|rockpool says which)")
    if dialect not in DIALECTS:
        raise InputError("--nir-from", "nir_from", f"unknown dialect {dialect!r} (use {', '.join(DIALECT_NAMES)})")
    if reset is not None and reset not in ("zero", "subtract"):
        raise InputError("--reset", "reset", f"expected zero or subtract, got {reset!r}")
    reading = DIALECTS[dialect].read(nodes, edges, meta, fallback, reset, file)
    reading.notes[:0] = notes
    return reading
