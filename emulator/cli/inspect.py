"""``snnemu inspect MODEL.nir``: what the importer made of a model.

The layers with their NIR type, shape, neurons and synapses (feed-forward and
recurrent), whose export it was read as, the timestep and where it came from,
the readout, each layer's neuron conventions and where each came from, the
import's warnings, and how many cores the model needs on a profile
(``layer-fill``).
"""

from __future__ import annotations

from ..chip import map_network, synapses_per_core
from ..errors import InputError

__all__ = ["describe_model"]


def _shape(pop) -> str:
    return "x".join(str(s) for s in (pop.shape or (pop.size,)))


def describe_model(net, hw, file: str) -> list[str]:
    syn = sum(pr.weights.nnz for pr in net.projections)
    lines = [f"{file}: {net.n_layers} layers, {net.n_neurons - net.populations[0].size:,} neurons "
             f"(+{net.populations[0].size:,} inputs), {syn:,} synapses",
             f"read as {net.dialect}'s export; dt {net.dt_s * 1e6:g} us (from {_dt_source(net.dt_source)}); "
             f"readout: {net.readout}", ""]
    rows = [("layer", "type", "shape", "neurons", "synapses in", "recurrent")]
    for i, pop in enumerate(net.populations):
        ff = net.feed_forward(i).weights.nnz if i else None
        rec = net.recurrent(i) if i else None
        rows.append((pop.name, pop.kind, _shape(pop), f"{pop.size:,}", "-" if ff is None else f"{ff:,}",
                     "-" if rec is None else f"{rec.weights.nnz:,} (1 timestep late)"))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += ["", "conventions (each from the graph, the dialect, --reset, or the default):"]
    for pop in net.populations[1:]:
        by = pop.convention_sources
        lines.append(f"  {pop.name}: " + "; ".join(f"{k} {_show(v)} ({by.get(k, 'default')})"
                                                 for k, v in pop.conventions.as_dict().items()))
    lines.append("")
    try:
        m = map_network(net, hw, "layer-fill")
        used = m.used_cores
        fan_in = synapses_per_core(net.global_weights(), m.core_of, m.n_cores)
        line = f"on {hw.name}: {len(used)} of {m.n_cores} cores (layer-fill{', packed' if m.packed else ''})"
        if m.n_ports:
            line += f", the input through {m.n_ports} I/O port{'s' if m.n_ports > 1 else ''}"
        cap = hw.core.max_synapses
        if cap is not None and fan_in.max(initial=0) > cap:
            line += f"; but core {int(fan_in.argmax())} gets {int(fan_in.max()):,} synapses, over the limit of {cap:,}"
        lines.append(line)
    except InputError as exc:
        lines.append(f"on {hw.name}: does not fit: {exc}")
    lines += [f"warning: {w}" for w in net.warnings]
    return lines


def _show(value) -> str:
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _dt_source(source: str) -> str:
    return {"metadata": "the graph's metadata dt", "tau/r": "tau / r of the first LIF or CubaLIF node (snnTorch's convention)",
            "fallback": "--dt-us, the graph gives none"}.get(source, source)
