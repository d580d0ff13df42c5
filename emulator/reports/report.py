"""``snnemu report RUN_DIR``: what a run cost, readable at a glance.

Reads a run folder (the records contract, docs/design.md "Records") with pandas and
pyarrow, and writes ``report.md``, a self-contained ``report.html`` (images
embedded) and the figures as ``report_*.png``, by default into the run
folder itself. Every number in the report is computed here from
``summary.json``, ``per_sample.csv``, ``per_core.csv``, ``per_link.csv`` and,
for the trace sections, ``events.parquet``; figures only draw them. Energies
are shown in pJ and times in ns, per inference (summed over the run and
divided by the number of samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats as sps

from hw_models.cost import CATEGORIES

from ..errors import InputError
from ..records import RunFolder, load_run
from ..scratch import write_text
from . import plots
from .document import Document

__all__ = ["energy_interval", "energy_by_category", "by_layer", "has_categories",
           "header_rows", "write_report", "caveats"]


# -- the numbers ---------------------------------------------------------------------
def energy_interval(run: RunFolder) -> tuple[float, float, float]:
    """Mean energy per inference and its 95% confidence interval over samples (Student t), in J."""
    e = run.samples.energy_j.to_numpy(float)
    mean = float(e.mean())
    if len(e) < 2:
        return mean, float("nan"), float("nan")
    half = float(sps.t.ppf(0.975, len(e) - 1) * e.std(ddof=1) / np.sqrt(len(e)))
    return mean, mean - half, mean + half


def energy_by_category(run: RunFolder) -> pd.DataFrame:
    """Per category: pJ per inference and share of the total (%)."""
    e = run.summary["energy_j"]
    total = e["total"]
    pj = [e[c] / run.n * 1e12 for c in CATEGORIES]
    return pd.DataFrame({"category": list(CATEGORIES), "pJ_per_inference": pj,
                         "share_pct": [100 * e[c] / total if total else 0.0 for c in CATEGORIES]})


def by_layer(run: RunFolder) -> pd.DataFrame:
    """Per layer, from the cores that hold it: cores, energy by category (pJ per inference),
    SOPs per inference (counted where they land), and spikes per inference.

    A core holding several layers (packed mapping) counts under their joined name, ``a+b``;
    cores without neurons are ``(no neurons)``.
    """
    cores = run.cores.assign(layer=run.cores.layer.fillna("(no neurons)"))
    g = cores.groupby("layer", sort=False)
    if has_categories(run):
        cols = [f"energy_{c}_j" for c in CATEGORIES]
        out = (g[cols].sum() / run.n * 1e12).rename(columns=dict(zip(cols, CATEGORIES)))
    else:  # a run folder from before per-core categories were recorded
        out = pd.DataFrame(index=g.size().index)
    out.insert(0, "cores", g.unit.agg(lambda u: int((u == "core").sum())))  # an I/O port is none
    out["energy_pJ"] = g.energy_j.sum() / run.n * 1e12
    out["sops"] = g.synaptic_events.sum() / run.n
    spikes = {**run.summary["spikes"]["per_layer"], run.input_name: run.summary["spikes"].get("input", 0)}
    out["spikes"] = [spikes.get(name, np.nan) / run.n for name in out.index]
    order = list(run.summary.get("layer_sizes", {})) or list(spikes)
    return out.loc[sorted(out.index, key=lambda k: (order.index(k.split("+")[0]) if k.split("+")[0] in order
                                                    else len(order)))]


def has_categories(run: RunFolder) -> bool:
    """Whether ``per_core.csv`` splits each core's energy by category."""
    return run.cores is not None and all(f"energy_{c}_j" in run.cores.columns for c in CATEGORIES)


def _fmt(x, spec: str = ",.1f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _ns(x) -> str:
    return _fmt(None if x is None else x * 1e9)


def header_rows(run: RunFolder) -> list[tuple[str, str]]:
    """The summary table: (figure, value) pairs, in the units the names say."""
    s = run.summary
    acc = None if s["accuracy"] is None else 100 * s["accuracy"]
    rows = [("model", s["model"]), ("mode", s["mode"]), ("queue policy", s.get("queue") or "n/a (tick mode)"),
            ("samples", str(s["samples"])), ("accuracy (%)", _fmt(acc, ".2f"))]
    if run.hardware:
        mean, lo, hi = energy_interval(run)
        rows[1:1] = [("profile", f"{s['hw']} ({s.get('hw_source') or 'source not recorded'})")]
        rows += [("NoC fidelity", s.get("noc", "n/a")), ("mapping", s.get("mapping", "n/a")),
                 ("energy per inference (pJ)", _fmt(s["energy_per_inference_j"] * 1e12)),
                 ("energy 95% interval low (pJ)", _fmt(lo * 1e12)),
                 ("energy 95% interval high (pJ)", _fmt(hi * 1e12)),
                 ("mean latency (ns)", _ns(s["latency_s"]["mean"])),
                 ("p95 latency (ns)", _ns(s["latency_s"]["p95"])),
                 ("mean time to first output (ns)", _ns(s["first_output_s"]["mean"])),
                 ("mean time to first correct output (ns)", _ns((s.get("first_correct_s") or {}).get("mean"))),
                 ("early decision", _decision(s)),
                 ("mean decision time (ns)", _ns((s.get("decision_s") or {}).get("mean"))),
                 ("decision energy per inference (pJ)", _fmt(None if s.get("decision_energy_per_inference_j") is None
                                                             else s["decision_energy_per_inference_j"] * 1e12)),
                 ("EDP (pJ·ns)", _fmt(None if s["edp_js"] is None else s["edp_js"] * 1e21, ".4e")),
                 ("spikes per inference", _fmt(s["spikes"]["total"] / run.n, ",.2f")),
                 ("SOPs per inference", _fmt(s["synaptic_events"] / run.n, ",.2f")),
                 ("packets per inference", _fmt(s["packets"] / run.n, ",.2f")),
                 ("hops per inference", _fmt(s["hops"] / run.n, ",.2f"))]
    else:
        rows += [("engine", "functional reference (no hardware figures)"),
                 ("spikes per inference", _fmt(s["spikes"]["total"] / run.n, ",.2f")),
                 ("SOPs per inference", _fmt(s["synaptic_events"] / run.n, ",.2f"))]
    return rows


def caveats(run: RunFolder) -> list[str]:
    s = run.summary
    if not run.hardware:
        return ["The functional reference has no hardware: no time, energy, packets or cores. "
                "Compare it with chip runs by accuracy, spikes and SOPs only."]
    ports = s.get("input_on_cores") is False  # a folder from before I/O ports has no such field
    out = [
        "Included: the cores and the network-on-chip of the emulated chip, priced by the profile's "
        "per-event energies (synaptic operation, neuron update, spike out, message in/out, hops, barrier"
        + (", the input's packets through the I/O ports" if ports else "")
        + ") and its static power over each sample's elapsed time.",
        ("Excluded: the host and the sensor behind the I/O ports (input encoding, reading outputs), "
         if ports else "Excluded: off-chip I/O and the host (input encoding, sending events to the chip, reading "
         "outputs; the input neurons sit on cores), ")
        + "off-chip memory, and the idle time between samples; samples run back to back from a fresh state.",
        "Latency runs from a sample's first input injection to its end (drained, or early-stopped); "
        "time to first output ends at the first output-layer spike.",
        "Energy and SOPs by layer come from the cores that hold the layer; SOPs count where they land.",
    ]
    if s["mode"] in ("timestep", "layered"):
        out.append("Tick mode: every phase ends in a barrier, priced by the profile's barrier figures; "
                   "packets carry timing, the neuron state is integrated per phase.")
    notes = s["hw_notes"] if "hw_notes" in s else _bundled_notes(s["hw"])
    if notes is None:
        notes = "not recorded in this run folder."
    out.append(f"Profile {s['hw']} notes (pre-silicon and assumed figures are marked there): "
               + (" ".join(notes.split()) or "the profile gives none."))
    return out


def _bundled_notes(name: str) -> str | None:
    from hw_models.profile import bundled_profiles, load_profile

    return load_profile(name).notes if name in bundled_profiles() else None


# -- the document --------------------------------------------------------------------
def _table(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def write_report(path: str | Path, out: str | Path | None = None, formats: tuple[str, ...] = ("html", "md"),
                 sample: int = 0) -> list[Path]:
    """Write the report of the run folder ``path`` into ``out`` (default: the run folder).

    Returns the written report files (``report.html`` and/or ``report.md``).
    """
    run = load_run(path)
    if run.events is not None and not 0 <= sample < run.summary["samples"]:
        raise InputError(run.path, "--sample", f"must be in 0..{run.summary['samples'] - 1}, got {sample}")
    out = Path(out) if out is not None else run.path
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("report_*.png"):
        old.unlink()
    doc = Document(f"snnemu report: {run.label}")
    doc.heading("Summary")
    doc.table(_table(header_rows(run), ["figure", "value"]))
    if run.hardware:
        _energy_section(doc, run, out)
        if run.cores is not None:
            _mesh_section(doc, run, out)
        _latency_section(doc, run, out)
    _activity_section(doc, run, out)
    _trace_section(doc, run, out, sample)
    doc.heading("Caveats")
    doc.bullets(caveats(run))
    written = []
    if "md" in formats:
        written.append(out / "report.md")
        write_text(written[-1], doc.to_markdown())
    if "html" in formats:
        written.append(out / "report.html")
        write_text(written[-1], doc.to_html())
    return written


def _energy_section(doc: Document, run: RunFolder, out: Path) -> None:
    doc.heading("Energy")
    cat = energy_by_category(run)
    doc.text("Energy per inference by category (pJ), with each category's share of the total.")
    doc.table(_table([(r.category, _fmt(r.pJ_per_inference), _fmt(r.share_pct, ".2f")) for r in cat.itertuples()]
                     + [("total", _fmt(cat.pJ_per_inference.sum()), "100.00")],
                     ["category", "pJ per inference", "share (%)"]))
    static = float(cat.pJ_per_inference[cat.category == "static"].sum())
    total = float(cat.pJ_per_inference.sum())
    doc.table(_table([("dynamic", _fmt(total - static), _fmt(100 * (total - static) / total if total else 0, ".2f")),
                      ("static", _fmt(static), _fmt(100 * static / total if total else 0, ".2f"))],
                     ["part", "pJ per inference", "share (%)"]))
    if run.cores is not None and total:
        port = run.cores.unit == "io"
        in_use = ~port & (run.cores.neurons > 0)
        mine = float(run.cores.energy_j[in_use].sum()) * 1e12 / run.n
        ports = float(run.cores.energy_j[port].sum()) * 1e12 / run.n
        rest = total - mine - ports
        doc.text("The cores that hold neurons against the rest of the chip, which costs only by being on "
                 "(its static power, unless the profile gates unused cores)"
                 + (", and the I/O ports the input enters through." if port.any() else "."))
        doc.table(_table([(f"cores in use ({int(in_use.sum())})", _fmt(mine), _fmt(100 * mine / total, ".2f")),
                          *([(f"I/O ports ({int(port.sum())})", _fmt(ports), _fmt(100 * ports / total, ".2f"))]
                            if port.any() else []),
                          (f"the rest of the chip ({int((~in_use & ~port).sum())} cores)", _fmt(rest),
                           _fmt(100 * rest / total, ".2f"))],
                         ["cores", "pJ per inference", "share (%)"]))
    parts = pd.DataFrame([cat.pJ_per_inference.to_numpy()], columns=list(CATEGORIES))
    labels = ["whole inference"]
    if run.cores is not None:
        layers = by_layer(run)
        doc.text("Energy per inference by layer (pJ), from the cores that hold each layer.")
        doc.table(_table([(name, str(int(r.cores)), _fmt(r.energy_pJ), _fmt(100 * r.energy_pJ / total if total else 0, ".2f"))
                          for name, r in layers.iterrows()], ["layer", "cores", "pJ per inference", "share (%)"]))
        if has_categories(run):
            parts = pd.concat([parts, layers[list(CATEGORIES)].reset_index(drop=True)], ignore_index=True)
            labels += list(layers.index)
    doc.figure(plots.energy_stack(out / "report_energy.png", labels, parts,
                                  "energy per inference by category: whole inference and by layer"),
               "Energy per inference by category, for the whole inference and per layer: absolute (left) "
               "and shares (right).")


def _mesh_section(doc: Document, run: RunFolder, out: Path) -> None:
    doc.heading("The mesh")
    cores = run.cores[run.cores.unit == "core"]  # the I/O ports are no cells of the mesh
    cores = cores.assign(layer=cores.layer.fillna("(no neurons)"))
    mesh = run.summary.get("mesh") or {"width": int(cores.tile_x.max()) + 1, "height": int(cores.tile_y.max()) + 1,
                                       "cores_per_tile": int(((cores.tile_x == 0) & (cores.tile_y == 0)).sum())}
    used = cores[cores.neurons > 0]
    doc.text(f"{len(used)} of {len(cores)} cores hold neurons, on a {mesh['width']} x {mesh['height']} mesh "
             f"of tiles, {mesh['cores_per_tile']} per tile. Utilization is busy time over the run's "
             "elapsed time.")
    top = cores.sort_values("energy_j", ascending=False).head(5)
    doc.table(_table([(str(r.core), f"({r.tile_x},{r.tile_y})", r.layer,
                       _fmt(r.energy_j / run.n * 1e12), _fmt(100 * r.utilization, ".2f"))
                      for r in top.itertuples()],
                     ["core", "tile (x,y)", "layer", "pJ per inference", "utilization (%)"]))
    if run.links is not None:
        busiest = run.links[run.links.packets > 0].sort_values("packets", ascending=False).head(5)
        if len(busiest):
            doc.text("The busiest links (packets per inference):")
            doc.table(_table([(f"({r.tile_x},{r.tile_y}) {r.direction}", _fmt(r.packets / run.n, ",.2f"))
                              for r in busiest.itertuples()], ["link", "packets per inference"]))
        else:
            doc.text("No packet crossed a link between tiles or a tile's local port.")
    doc.figure(plots.mesh(out / "report_mesh.png", cores, run.links, mesh["width"], mesh["height"],
                          mesh["cores_per_tile"], run.n),
               "The mesh, tiles in their positions and cores inside them: energy per core, utilization, "
               "and packets per link.")


def _decision(s: dict) -> str:
    """The early-decision option and how many samples it stopped."""
    k = s.get("stop_on_output")
    if k is None:
        return "none (each sample runs all its frames)"
    return f"{k} output spikes after the first ({s.get('stopped', 0)} of {s['samples']} samples stopped early)"


def _latency_section(doc: Document, run: RunFolder, out: Path) -> None:
    doc.heading("Latency")
    s = run.summary
    rows = [(name, *(_ns(s[key][q]) for q in ("mean", "p50", "p95", "max")))
            for name, key in (("latency", "latency_s"), ("time to first output", "first_output_s"))]
    doc.table(_table(rows, ["figure (ns)", "mean", "p50", "p95", "max"]))
    doc.text(f"Energy-delay product (energy per inference x mean latency): "
             f"{_fmt(None if s['edp_js'] is None else s['edp_js'] * 1e21, '.4e')} pJ·ns.")
    doc.figure(plots.latency(out / "report_latency.png", run.samples.latency_s.to_numpy(float) * 1e6,
                             run.samples.first_output_s.to_numpy(float) * 1e6),
               "Latency per sample, and the CDFs of latency and of time to first output.")


def _activity_section(doc: Document, run: RunFolder, out: Path) -> None:
    doc.heading("Activity")
    s = run.summary
    names = list(s["spikes"]["per_layer"])
    spikes = pd.Series({k: v / run.n for k, v in s["spikes"]["per_layer"].items()})
    sops = None
    if run.cores is not None:
        sops = by_layer(run).sops.reindex(names)
    doc.table(_table([(name, _fmt(spikes[name], ",.2f"), "n/a" if sops is None else _fmt(sops[name], ",.2f"))
                      for name in names], ["layer", "spikes per inference", "SOPs per inference (into the layer)"]))
    panels = [("spikes per inference", spikes.to_frame("spikes"))]
    if sops is not None:
        panels.append(("SOPs per inference (into the layer)", sops.fillna(0).to_frame("SOPs")))
    doc.figure(plots.layer_bars(out / "report_activity.png", panels), "Spikes and SOPs per layer, per inference.")


def _trace_section(doc: Document, run: RunFolder, out: Path, sample: int) -> None:
    doc.heading("Trace")
    if run.events is None:
        doc.text("No events.parquet in this run folder: run with --trace for the spike raster and the queue waits.")
        return
    spikes = pq.read_table(run.events, columns=["t_s", "layer", "neuron", "step"],
                           filters=[("sample", "=", sample), ("kind", "=", "spike")]).to_pandas()
    sizes = run.summary.get("layer_sizes") or spikes.groupby("layer").neuron.max().add(1).to_dict()
    if spikes.t_s.isna().all():  # the functional reference has steps, not times
        step_s = run.summary.get("frame_s") or run.summary.get("dt_s", 1.0)  # older folders have no frame_s
        spikes = spikes.assign(t_s=spikes.step * step_s)
    doc.figure(plots.raster(out / "report_raster.png", spikes, list(sizes.items()), sample),
               f"Spike raster of sample {sample}, one band per layer (input at the bottom).")
    waits = pq.read_table(run.events, columns=["dst_core", "queue_wait_s"],
                          filters=[("kind", "=", "packet")]).to_pandas()
    waits = waits[waits.queue_wait_s.notna()]
    if not len(waits):
        doc.text("No queue waits: in the tick modes packets are integrated at the next phase, not queued.")
        return
    q = waits.groupby("dst_core").queue_wait_s.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack() * 1e9
    q.columns = ["p5", "p25", "p50", "p75", "p95"]
    doc.table(_table([(str(c), *(_fmt(v) for v in r)) for c, r in q.iterrows()],
                     ["core", "p5 (ns)", "p25 (ns)", "median (ns)", "p75 (ns)", "p95 (ns)"]))
    doc.figure(plots.queue_waits(out / "report_queue_waits.png", q),
               "Queue wait per core over all samples: from a packet's arrival to the start of its service.")
