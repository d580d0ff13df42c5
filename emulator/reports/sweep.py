"""The report of a design-space sweep: many configurations, one run folder each, read back and set side by side.

Reads the run folders of the configurations that completed (this module never runs anything) and the sweep's
axes (one row per folder, one column per axis), and writes into ``out``:

- ``sweep_table.csv``: one row per configuration: its name, its axis values, its metrics (SI units);
- ``sweep.md`` and a self-contained ``sweep.html``: the Pareto fronts of accuracy against energy, latency
  and decision time, one small-multiples figure per axis that takes more than one value, the table
  (sortable in the HTML page) and the configurations that failed;
- ``sweep_*.png``: the figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import EngFormatter

from hw_models.cost import CATEGORIES

from ..errors import InputError
from ..records import RunFolder, load_run
from ..scratch import write_text
from . import plots
from .compare import METRICS, comparison_table
from .document import Document

__all__ = ["PARETO_COSTS", "pareto_front", "sweep_table", "write_sweep_report"]

# the costs that accuracy is traded against: (column, what the text calls it, unit, file name part)
PARETO_COSTS = [("energy_per_inference_j", "energy per inference", "J", "energy"),
                ("latency_mean_s", "mean latency", "s", "latency"),
                ("decision_mean_s", "mean decision time", "s", "decision")]

# the metrics of the small multiples: (column, label, unit, whether the log rule applies); accuracy is a bounded
# percentage, read in absolute points, so its axis stays linear
TREND_METRICS = [("accuracy", "accuracy", "%", False), ("energy_per_inference_j", "energy / inference", "J", True),
                 ("latency_mean_s", "mean latency", "s", True), ("spikes_per_inference", "spikes / inference", "", True),
                 ("decision_mean_s", "decision time", "s", True)]

# the table's metric columns: (column, header, scale, format), in ns, pJ and % as in ``snnemu compare``
TABLE_METRICS = [("accuracy", "accuracy (%)", 100, ".2f"), ("energy_per_inference_j", "energy / inf. (pJ)", 1e12, ",.1f"),
                 ("latency_mean_s", "mean latency (ns)", 1e9, ",.1f"), ("latency_p95_s", "p95 latency (ns)", 1e9, ",.1f"),
                 ("decision_mean_s", "decision (ns)", 1e9, ",.1f"),
                 ("decision_energy_per_inference_j", "decision energy / inf. (pJ)", 1e12, ",.1f"),
                 ("spikes_per_inference", "spikes / inf.", 1, ",.2f"), ("sops_per_inference", "SOPs / inf.", 1, ",.2f"),
                 ("packets_per_inference", "packets / inf.", 1, ",.2f"), ("hops_per_inference", "hops / inf.", 1, ",.2f"),
                 ("edp_js", "EDP (pJ·ns)", 1e21, ".4e")]


def pareto_front(x_minimize: np.ndarray, y_maximize: np.ndarray) -> np.ndarray:
    """Which points are non-dominated, for a cost ``x`` (lower is better) and a benefit ``y`` (higher is better).

    A point is dominated where another is at least as good on both and strictly better on one; points equal on
    both dominate neither, so both stay on the front. A point with a missing (NaN) value is never on the front
    and dominates nothing."""
    x, y = np.asarray(x_minimize, float), np.asarray(y_maximize, float)
    ok = np.isfinite(x) & np.isfinite(y)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        better = ok & (x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i]))
        front[i] = not better.any()
    return front


def sweep_table(runs: list[RunFolder], axes: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per configuration: ``config`` (its name), the axis columns, then the metrics (SI) and the energy
    per category from :func:`~emulator.reports.compare.comparison_table`, then ``samples`` and ``folder``."""
    if len(axes) != len(runs):
        raise InputError("axes", "axes", f"has {len(axes)} rows for {len(runs)} run folders")
    metrics = list(METRICS) + [f"energy_{c}_per_inference_j" for c in CATEGORIES]
    clash = [a for a in axes.columns if a in metrics or a == "config"]
    if clash:
        raise InputError("axes", clash[0], "is the name of a report column; name the axis otherwise")
    extra = [c for c in ("samples", "folder") if c not in axes.columns]  # an axis "samples" says it already
    df = comparison_table(runs) if runs else pd.DataFrame(columns=metrics + extra)
    # the axes say what each configuration is; the runs' own model/hw/mode columns would only repeat them
    return pd.concat([pd.DataFrame({"config": names}), axes.reset_index(drop=True),
                      df[metrics + extra].reset_index(drop=True)], axis=1)


def write_sweep_report(folders: list[Path], axes: pd.DataFrame, out: Path,
                       failed: list[tuple[str, str]] | None = None) -> Path:
    """Read the completed configurations' run folders (``axes``: one row each, same order) and write the sweep's
    report into ``out``; ``failed``: (configuration, error) of those that did not complete. Returns sweep.html."""
    runs = [load_run(f) for f in folders]
    names = [Path(f).name for f in folders]
    df = sweep_table(runs, axes, names)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("sweep_*.png"):  # a figure of an earlier sweep must not pass for this one's
        old.unlink()
    write_text(out / "sweep_table.csv", df.to_csv(index=False))
    numbers = [str(i + 1) for i in range(len(df))]
    varied = [a for a in axes.columns if axes[a].map(_axis_cell).nunique() > 1]
    fixed = [a for a in axes.columns if a not in varied]

    doc = Document(f"snnemu sweep: {len(runs)} configurations" + (f", {len(failed)} failed" if failed else ""))
    doc.text(_summary(axes, varied, fixed, len(runs), len(failed or [])))
    if runs:
        _pareto_section(doc, df, numbers, [not r.hardware for r in runs], out)
        _trends_section(doc, df, varied, out)
        doc.heading("Configurations")
        doc.text("One row per configuration: its axes, then its metrics per inference. In the HTML page a click on "
                 "a column's header sorts by it (n/a last); # numbers the points of the plots.")
        doc.table(_formatted(df, list(axes.columns), numbers), sortable=True)
    if failed:
        doc.heading("Failed configurations")
        doc.table(pd.DataFrame({"configuration": [n for n, _ in failed], "error": [e for _, e in failed]}))
    write_text(out / "sweep.md", doc.to_markdown())
    html = out / "sweep.html"
    write_text(html, doc.to_html())
    return html


def _summary(axes: pd.DataFrame, varied: list[str], fixed: list[str], done: int, failed: int) -> str:
    parts = [f"{done} configurations completed" + (f", {failed} failed" if failed else "") + "."]
    if varied:
        parts.append("Axes: " + "; ".join(f"{a} ({_values(axes[a])})" for a in varied) + ".")
    if fixed:
        parts.append("The same in every configuration: "
                     + "; ".join(f"{a} = {_axis_cell(axes[a].iloc[0])}" for a in fixed) + ".")
    return " ".join(parts)


def _values(col: pd.Series, most: int = 8) -> str:
    """An axis' values in sweep order, or their count where there are many."""
    values = list(dict.fromkeys(_axis_cell(v) for v in col))
    return ", ".join(values) if len(values) <= most else f"{len(values)} values"


def _pareto_section(doc: Document, df: pd.DataFrame, numbers: list[str], functional: list[bool], out: Path) -> None:
    doc.heading("Pareto fronts")
    accuracy = df.accuracy.to_numpy(float)
    for col, name, unit, stem in PARETO_COSTS:
        cost = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        shown = np.isfinite(cost) & np.isfinite(accuracy)
        if not shown.any():
            if stem != "decision":  # older run folders have no decision time: nothing to say then
                doc.text(f"No configuration has a value for {name} (functional-engine runs have none): "
                         "no front to draw.")
            continue
        front = pareto_front(cost, accuracy)
        path = plots.pareto(out / f"sweep_pareto_{stem}.png", cost[shown], accuracy[shown],
                            [n for n, s in zip(numbers, shown) if s], front[shown], name, unit,
                            f"accuracy against {name}")
        left_out = [i for i, s in enumerate(shown) if not s]
        why = " (functional-engine runs have no hardware figures)" if any(functional[i] for i in left_out) else ""
        scale = plots.scale_for(cost[shown])
        doc.figure(path, f"Accuracy against {name}, one point per configuration, numbered as in the table. Filled, "
                         "and joined by the front's step line: the non-dominated ones, where no other configuration "
                         "is at least as accurate at no more cost and better in one of the two; hollow grey: the "
                         "others."
                   + (f" With more than {plots.LABEL_ALL_MAX} points only the non-dominated are numbered."
                      if shown.sum() > plots.LABEL_ALL_MAX else "")
                   + (f" The {name} axis is logarithmic: its values span more than a factor of 10." if scale == "log"
                      else "")
                   + (f" Left out, with no {name}{why}: " + ", ".join(f"{numbers[i]} {df.config[i]}" for i in left_out)
                      + "." if left_out else ""))
        best = df[front].sort_values(col)
        doc.text(f"Non-dominated in accuracy against {name}, cheapest first: "
                 + "; ".join(f"{numbers[i]} {row.config} ({100 * row.accuracy:.2f}%, {_eng(row[col], unit)})"
                             for i, row in best.iterrows()) + ".")


def _eng(value: float, unit: str) -> str:
    return EngFormatter(unit=unit, places=3)(value)


def _trends_section(doc: Document, df: pd.DataFrame, varied: list[str], out: Path) -> None:
    if not varied:
        return
    doc.heading("Along each axis")
    present = [m for m in TREND_METRICS if pd.to_numeric(df[m[0]], errors="coerce").notna().any()]
    for k, axis in enumerate(varied):
        others = [a for a in varied if a != axis]
        lines = pd.Series([", ".join(f"{a}={_axis_cell(v)}" for a, v in zip(others, row))
                           for row in df[others].itertuples(index=False)]) if others else pd.Series(["all"] * len(df))
        x = _axis_values(df[axis])
        panels = [(label, pd.to_numeric(df[col], errors="coerce").to_numpy(float) * (100 if unit == "%" else 1),
                   unit, log_rule) for col, label, unit, log_rule in present]
        path = plots.small_multiples(out / f"sweep_axis_{k + 1}_{_file_part(axis)}.png", axis, x, lines, panels)
        doc.figure(path, f"Each metric against {axis}" + (
            "; each line joins the configurations that share the values of the other axes "
            f"({', '.join(others)})." if others else ".")
            + " A metric's axis is logarithmic where its values span more than a factor of 10 (marked 'log scale').")


def _axis_values(col: pd.Series) -> pd.Series:
    """An axis for the small multiples: numbers stay numbers (a numeric scale); an axis that does not apply to
    some configurations is categorical, its numbers in order and n/a last; any other keeps the sweep's order."""
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric and col.notna().all():
        return col
    cells = col.map(_axis_cell)
    if numeric:
        order = [_axis_cell(v) for v in sorted(col.dropna().unique())] + ["n/a"]
        return pd.Series(pd.Categorical(cells, categories=order, ordered=True))
    return cells


def _file_part(name: str) -> str:
    """An axis name as part of a file name (``noc.hop_latency_s.east_west`` -> ``noc_hop_latency_s_east_west``)."""
    return "".join(c if c.isalnum() else "_" for c in str(name)).strip("_") or "axis"


def _fmt(x, scale: float, spec: str) -> str:
    return "n/a" if x is None or pd.isna(x) else format(x * scale, spec)


def _axis_cell(v) -> str:
    """An axis value as the report writes it; an axis that does not apply to a configuration is n/a."""
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)):
        return "n/a"
    return format(v, "g") if isinstance(v, float | np.floating) else str(v)


def _formatted(df: pd.DataFrame, axes: list[str], numbers: list[str]) -> pd.DataFrame:
    """The table as shown: #, name, axis values, then the metrics in ns, pJ and %."""
    cols = {"#": numbers, "config": list(df.config)}
    cols.update({a: [_axis_cell(v) for v in df[a]] for a in axes})
    cols.update({head: [_fmt(v, scale, spec) for v in pd.to_numeric(df[col], errors="coerce")]
                 for col, head, scale, spec in TABLE_METRICS})
    return pd.DataFrame(cols)
