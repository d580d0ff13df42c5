"""``snnemu compare``: run folders side by side, as tables, ratios and plots.

Reads run folders (given with ``--runs``, or made by the run grid of
``emulator.sweep`` under ``OUT/runs/``; this module never runs anything), and
writes into ``OUT``:

- ``comparison.csv``: one row per run, SI units (per inference where the
  name says so), and each metric's ratio to the baseline row (``*_ratio``);
- ``comparison.md`` and a self-contained ``comparison.html``: the same
  figures in ns and pJ, with the plots;
- ``compare_*.png``: accuracy against mean latency, energy by category, the
  latency CDFs and spikes per layer. An axis whose values span more than a
  factor of 10 is logarithmic (``plots.scale_for``), and the caption says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hw_models.cost import CATEGORIES

from ..errors import InputError
from ..records import RunFolder, load_run
from ..scratch import PREFIX, check_writable, write_text
from . import plots
from .document import Document

__all__ = ["METRICS", "baseline_index", "check_out", "comparison_table", "write_comparison"]

# (column, how to read it from a run folder's summary); SI units, per inference where named so
METRICS = {
    "accuracy": lambda s, n: s["accuracy"],
    "spikes_per_inference": lambda s, n: s["spikes"]["total"] / n,
    "sops_per_inference": lambda s, n: s["synaptic_events"] / n,
    "packets_per_inference": lambda s, n: None if s["packets"] is None else s["packets"] / n,
    "hops_per_inference": lambda s, n: None if s["hops"] is None else s["hops"] / n,
    "latency_mean_s": lambda s, n: s["latency_s"]["mean"],
    "latency_p95_s": lambda s, n: s["latency_s"]["p95"],
    "first_output_mean_s": lambda s, n: s["first_output_s"]["mean"],
    # the early-decision fields (older run folders have none)
    "first_correct_mean_s": lambda s, n: (s.get("first_correct_s") or {}).get("mean"),
    "decision_mean_s": lambda s, n: (s.get("decision_s") or {}).get("mean"),
    "energy_per_inference_j": lambda s, n: s["energy_per_inference_j"],
    "decision_energy_per_inference_j": lambda s, n: s.get("decision_energy_per_inference_j"),
    "edp_js": lambda s, n: s["edp_js"],
}

METRIC_NAMES = {"accuracy": "accuracy", "spikes_per_inference": "spikes", "sops_per_inference": "SOPs",
                "packets_per_inference": "packets", "hops_per_inference": "hops", "latency_mean_s": "mean latency",
                "latency_p95_s": "p95 latency", "first_output_mean_s": "first output",
                "first_correct_mean_s": "first correct output", "decision_mean_s": "decision time",
                "energy_per_inference_j": "energy", "decision_energy_per_inference_j": "decision energy",
                "edp_js": "EDP"}


def comparison_table(runs: list[RunFolder], baseline: int = 0) -> pd.DataFrame:
    """One row per run: identity, metrics (SI), energy per category per inference, and ratios to ``baseline``."""
    rows = []
    for r in runs:
        s = r.summary
        row = {"run": r.label, "folder": str(r.path), "model": s["model"], "hw": s["hw"] or "functional",
               "mode": s["mode"], "queue": s.get("queue") or "", "samples": s["samples"]}
        row.update({k: get(s, r.n) for k, get in METRICS.items()})
        row.update({f"energy_{c}_per_inference_j": None if s["energy_j"][c] is None else s["energy_j"][c] / r.n
                    for c in CATEGORIES})
        rows.append(row)
    df = pd.DataFrame(rows)
    for k in METRICS:
        col = pd.to_numeric(df[k], errors="coerce").astype(float)
        base = col.iloc[baseline]
        df[f"{k}_ratio"] = col / base if base and np.isfinite(base) else np.nan
    return df


def _labels(runs: list[RunFolder]) -> list[str]:
    """Short, unique run labels: the parts (model, hw, mode) that differ between runs; runs that
    still share a label (a different NoC, seed or data) get their run number added."""
    parts = [r.label.split(" / ") for r in runs]
    keep = [i for i in range(3) if len({p[i] for p in parts}) > 1] or [2]
    labels = [" / ".join(p[i] for i in keep) for p in parts]
    return [f"{lab} #{i + 1}" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


def _fmt(x, scale: float = 1.0, spec: str = ",.1f") -> str:
    return "n/a" if x is None or pd.isna(x) else format(x * scale, spec)


def write_comparison(folders: list[str | Path], out: str | Path, baseline: int | str | None = None) -> Path:
    """Read the run folders, write the comparison into ``out``; returns ``comparison.html``."""
    runs = [load_run(f) for f in folders]
    if not runs:
        raise InputError("--runs", "runs", "no run folder to compare")
    labels = _labels(runs)
    base = baseline_index(baseline, labels)
    out = check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("compare_*.png"):
        old.unlink()
    df = comparison_table(runs, base)
    df.insert(1, "label", labels)
    write_text(out / "comparison.csv", df.to_csv(index=False))

    doc = Document("snnemu comparison: " + ", ".join(labels))
    doc.text(f"{len(runs)} runs; ratios are to the baseline, run {base + 1} ({labels[base]}).")
    doc.heading("Runs")
    doc.table(pd.DataFrame({
        "#": range(1, len(runs) + 1), "run": labels, "samples": df.samples,
        "accuracy (%)": [_fmt(x, 100, ".2f") for x in df.accuracy],
        "spikes / inf.": [_fmt(x, 1, ",.2f") for x in df.spikes_per_inference],
        "SOPs / inf.": [_fmt(x, 1, ",.2f") for x in df.sops_per_inference],
        "packets / inf.": [_fmt(x, 1, ",.2f") for x in df.packets_per_inference],
        "hops / inf.": [_fmt(x, 1, ",.2f") for x in df.hops_per_inference],
        "mean latency (ns)": [_fmt(x, 1e9) for x in df.latency_mean_s],
        "p95 latency (ns)": [_fmt(x, 1e9) for x in df.latency_p95_s],
        "first output (ns)": [_fmt(x, 1e9) for x in df.first_output_mean_s],
        "first correct (ns)": [_fmt(x, 1e9) for x in df.first_correct_mean_s],
        "decision (ns)": [_fmt(x, 1e9) for x in df.decision_mean_s],
        "energy / inf. (pJ)": [_fmt(x, 1e12) for x in df.energy_per_inference_j],
        "decision energy / inf. (pJ)": [_fmt(x, 1e12) for x in df.decision_energy_per_inference_j],
        "EDP (pJ·ns)": [_fmt(x, 1e21, ".4e") for x in df.edp_js],
    }))
    doc.heading(f"Ratios to the baseline ({labels[base]})")
    doc.table(pd.DataFrame({"#": range(1, len(runs) + 1), "run": labels,
                            **{METRIC_NAMES[k]: [_fmt(x, 1, ".3f") for x in df[f"{k}_ratio"]] for k in METRICS}}))
    hw_runs = [i for i, r in enumerate(runs) if r.hardware]
    if hw_runs:
        doc.heading("Plots")
        latency_us = [None if pd.isna(x) else x * 1e6 for x in df.latency_mean_s]
        latency_scale = plots.scale_for(latency_us)
        doc.figure(plots.accuracy_latency(out / "compare_accuracy_latency.png", labels, latency_us,
                                          [None if pd.isna(x) else x for x in df.accuracy], latency_scale),
                   "Accuracy against mean latency per inference, one numbered point per run; runs on the same "
                   "spot share a label." + _log_note(latency_scale, "latency axis", "latencies"))
        parts = pd.DataFrame({c: df[f"energy_{c}_per_inference_j"].iloc[hw_runs].astype(float) * 1e12
                              for c in CATEGORIES}).reset_index(drop=True)
        energy_scale = plots.scale_for(parts.sum(axis=1))
        doc.figure(plots.energy_stack(out / "compare_energy.png", [labels[i] for i in hw_runs], parts,
                                      "energy per inference by category", energy_scale),
                   "Energy per inference per run: the total on a logarithmic axis (left; the totals span more "
                   "than a factor of 10, and stacked segments would mislead on a log axis) and the shares by "
                   "category (right)." if energy_scale == "log" else
                   "Energy per inference by category, per run: absolute (left) and shares (right).")
        doc.figure(plots.cdfs(out / "compare_latency_cdf.png",
                              {labels[i]: runs[i].samples.latency_s.to_numpy(float) * 1e6 for i in hw_runs},
                              "latency per sample (µs)", "latency CDF per run"),
                   "The CDF of latency per sample, per run.")
    layers = pd.DataFrame({lab: pd.Series(r.summary["spikes"]["per_layer"]) / r.n for lab, r in zip(labels, runs)})
    doc.figure(plots.layer_bars(out / "compare_spikes_per_layer.png", [("spikes per inference", layers)]),
               "Spikes per layer per inference, per run.")
    doc.heading("Run folders")
    doc.bullets([f"{i + 1}: {lab}: {r.path}" for i, (lab, r) in enumerate(zip(labels, runs))])
    write_text(out / "comparison.md", doc.to_markdown())
    html = out / "comparison.html"
    write_text(html, doc.to_html())
    return html


def _log_note(scale: str, axis: str, what: str) -> str:
    return f" The {axis} is logarithmic: the {what} span more than a factor of 10." if scale == "log" else ""


def baseline_index(baseline: int | str | None, labels: list[str]) -> int:
    """``--baseline``: a 1-based run number or a run label; default the first run."""
    if baseline is None:
        return 0
    if isinstance(baseline, int) or str(baseline).isdigit():
        i = int(baseline) - 1
        if not 0 <= i < len(labels):
            raise InputError("--baseline", "baseline", f"run number must be 1..{len(labels)}, got {baseline}")
        return i
    if baseline not in labels:
        raise InputError("--baseline", "baseline", f"no run labelled {baseline!r} (runs: {', '.join(labels)})")
    return labels.index(baseline)


# a comparison's own files, and what the run grid behind ``--model`` leaves next to them (its chunks and plan)
OURS = {"comparison.csv", "comparison.md", "comparison.html", "runs", "chunks", "sweep.json"}


def check_out(out: str | Path) -> Path:
    """``out`` may be new, empty, or an earlier comparison folder; anything else is refused."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    if out.exists():
        foreign = [p.name for p in out.iterdir() if p.name not in OURS and not p.name.startswith(PREFIX)
                   and not (p.name.startswith("compare_") and p.name.endswith(".png"))]
        if foreign:
            raise InputError(out, "--out", f"holds files that are not a comparison's ({foreign[0]}); choose a new folder")
    check_writable(out, "--out")
    return out
