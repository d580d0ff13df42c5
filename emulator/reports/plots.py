"""The figures of reports and comparisons (matplotlib, Agg backend, PNG).

Every figure has labelled axes with units, a colour-blind-safe palette (the
Okabe-Ito colours for categories and runs, viridis for heatmaps) and a
layout that keeps labels apart. Functions take plain tables and write one
PNG each; they compute nothing that a report states as a number.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from ..scratch import atomic_path  # noqa: E402

__all__ = ["PALETTE", "CATEGORY_COLORS", "accuracy_latency", "cdfs", "channel_raster", "class_histogram",
           "energy_stack", "event_rate", "label_points", "layer_bars", "latency", "mesh", "near_groups", "pareto",
           "polarity_images", "queue_waits", "raster", "scale_for", "scale_note", "set_scale", "small_multiples"]

# Okabe & Ito, "Color Universal Design" (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
CATEGORY_COLORS = {"synaptic": "#0072B2", "neuron": "#E69F00", "spike_out": "#009E73", "noc": "#D55E00",
                   "io": "#56B4E9", "barrier": "#CC79A7", "static": "#999999"}
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
         "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 110, "savefig.dpi": 110}


def _save(fig, path: Path) -> Path:
    try:
        with atomic_path(path) as tmp:  # a kill leaves the old plot or the new one, never half of one
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def _figure(**kwargs):
    """A figure with constrained layout (call inside ``plt.rc_context(STYLE)``)."""
    return plt.subplots(layout="constrained", **kwargs)


def scale_for(values) -> str:
    """``"log"`` where the positive values span more than a factor of 10 (max/min > 10), else ``"linear"``:
    one rule for every axis that shows a metric across runs, so that one run 100x the others does not
    flatten the rest against zero. Zero, negative and missing values are left out of the decision."""
    v = np.asarray(pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce"), dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return "log" if len(v) and v.max() / v.min() > 10 else "linear"


def set_scale(ax, which: str, values, scale: str | None = None) -> str:
    """Apply ``scale`` (default :func:`scale_for`) to the ``"x"`` or ``"y"`` axis and return it. A log axis
    that must also show zeros is symmetric-log, linear below the smallest positive value, so no point is lost."""
    scale = scale or scale_for(values)
    setter = ax.set_xscale if which == "x" else ax.set_yscale
    if scale == "log":
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not (v > 0).any():  # nothing a log axis could show
            return "linear"
        if (v <= 0).any():
            setter("symlog", linthresh=float(v[v > 0].min()))
        else:
            setter("log")
    return scale


def scale_note(scale: str) -> str:
    """What an axis label adds for its scale."""
    return " (log scale)" if scale == "log" else ""


def near_groups(points: np.ndarray, tol: float = 0.02) -> list[list[int]]:
    """Indices of points that coincide, as groups (single linkage): two points are together where they lie
    within ``tol`` of each other on both axes. ``points`` are in axes fractions (0..1 across each axis, after
    its scale), so "near" means near on the page, in log or linear space alike."""
    n = len(points)
    group = list(range(n))

    def root(i):
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i in range(n):
        for j in np.flatnonzero(np.all(np.abs(points[i + 1:] - points[i]) <= tol, axis=1)) + i + 1:
            group[root(int(j))] = root(i)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(root(i), []).append(i)
    return list(out.values())


# where a label may go around its point, in points: (dx, dy, ha, va); the first free one is taken
_SPOTS = [(6, 6, "left", "bottom"), (6, -6, "left", "top"), (-6, 6, "right", "bottom"), (-6, -6, "right", "top"),
          (0, 11, "center", "bottom"), (0, -11, "center", "top"), (14, 0, "left", "center"),
          (-14, 0, "right", "center"), (10, 20, "left", "bottom"), (-10, -20, "right", "top")]


def label_points(ax, x, y, labels: list[str], fontsize: float = 9) -> list[list[int]]:
    """Label scatter points so that every label stays readable: points that coincide on the page (within 2%
    of the axes' span, in both directions: :func:`near_groups`) share one label (``3, 5, 7``), and each label
    takes the first spot around its point that overlaps no label placed before it and stays inside the axes.
    Call after the axes' scales, limits and legend are final; returns the groups."""
    if not len(labels):
        return []
    fig = ax.figure
    fig.draw_without_rendering()  # runs the layout, so the positions below are those of the saved figure
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    frac = ax.transAxes.inverted().transform(ax.transData.transform(xy))
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed, groups = np.empty((0, 4)), near_groups(frac)
    for members in sorted(groups, key=lambda g: tuple(frac[g[0]])):
        text = ", ".join(labels[i] for i in members)
        best = None
        for dx, dy, ha, va in _SPOTS:
            ann = ax.annotate(text, xy[members[0]], xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              fontsize=fontsize, zorder=5)
            ann.set_in_layout(False)  # the layout stays the one measured above
            box = ann.get_window_extent(renderer).extents
            clash = _overlap(placed, box).sum() + _outside(box, frame.extents)
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, ann, box)
            else:
                ann.remove()
            if clash == 0:
                break
        placed = np.vstack([placed, best[2]])
    return groups


def _overlap(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The areas that ``box`` (x0, y0, x1, y1) shares with each of ``boxes`` (one per row)."""
    w = np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0])
    h = np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def _outside(box: np.ndarray, frame: np.ndarray) -> float:
    """The area of ``box`` outside ``frame`` (a label pushed off the axes is as bad as one overprinted)."""
    return float((box[2] - box[0]) * (box[3] - box[1]) - _overlap(frame[None], box)[0])


def _stacked(ax, labels: list[str], parts: pd.DataFrame, xlabel: str) -> None:
    """Horizontal bars, one per label, stacked by the columns of ``parts``."""
    left = np.zeros(len(labels))
    y = np.arange(len(labels))
    for cat in parts.columns:
        vals = parts[cat].to_numpy(float)
        ax.barh(y, vals, left=left, color=CATEGORY_COLORS.get(cat), label=cat, height=0.6)
        left += vals
    ax.set_yticks(y, labels)
    if not ax.yaxis_inverted():  # first label on top (axes sharing y invert once)
        ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def energy_stack(path: Path, labels: list[str], parts: pd.DataFrame, title: str, scale: str | None = None) -> Path:
    """Energy per inference by category (``parts`` in pJ), one bar per label (a layer, or a run): absolute on
    the left, each bar's shares on the right, so small bars stay readable. Where the totals call for a log axis
    (:func:`scale_for`, or ``scale``), the left panel shows each total alone: a stacked segment's length means
    nothing on a log axis, and its category split is in the shares panel."""
    totals = parts.sum(axis=1).to_numpy(float)
    scale = scale or scale_for(totals)
    with plt.rc_context(STYLE):
        fig, (a, b) = _figure(ncols=2, figsize=(11, 1.7 + 0.42 * len(labels)), width_ratios=[3, 2], sharey=True)
        if scale == "log":
            _log_totals(a, labels, totals * 1e-12)
        else:
            _stacked(a, labels, parts * 1e-12, "energy per inference")
        a.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(unit="J"))
        shares = parts.div(pd.Series(totals, index=parts.index).replace(0, np.nan), axis=0).fillna(0) * 100
        _stacked(b, labels, shares, "share of the bar's energy (%)")
        b.set_xlim(0, 100)
        for i, row in enumerate(shares.to_numpy(float)):
            left = 0.0
            for v in row:  # the share inside each segment wide enough to hold it
                if v >= 9:
                    b.text(left + v / 2, i, f"{v:.0f}%", ha="center", va="center", fontsize=8, color="white")
                left += v
        b.tick_params(axis="y", left=False)
        fig.suptitle(title)
        (a if scale != "log" else b).legend(ncols=6 if scale != "log" else 3, loc="lower left",
                                            bbox_to_anchor=(0, 1.02), frameon=False)
        return _save(fig, path)


def _log_totals(ax, labels: list[str], totals_j: np.ndarray) -> None:
    """Total bars on a log axis, each with its value at its end; the bars start at the axis' left bound (a
    decade below the smallest total), since a log axis has no zero."""
    positive = totals_j[totals_j > 0]
    low = 10 ** (math.floor(math.log10(positive.min())) - 1) if len(positive) else 1e-15
    y = np.arange(len(labels))
    ax.barh(y, np.where(totals_j > 0, totals_j - low, 0), left=low, color="#777777", height=0.6, label="total")
    ax.set_xscale("log")
    ax.set_xlim(low, positive.max() * 8 if len(positive) else 1)
    fmt = matplotlib.ticker.EngFormatter(unit="J", places=3)
    for i, v in enumerate(totals_j):
        ax.text(max(v, low) * 1.15, i, fmt(v), va="center", fontsize=8)
    ax.set_yticks(y, labels)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_xlabel("total energy per inference (log scale; categories: right)")
    ax.grid(axis="x", alpha=0.3)


def _core_grid(cores: pd.DataFrame, values: np.ndarray, width: int, height: int, cpt: int):
    """The cores as cells of their tiles: returns (image, cells per tile along x, along y)."""
    sub_x = math.ceil(math.sqrt(cpt))
    sub_y = math.ceil(cpt / sub_x)
    img = np.full((height * sub_y, width * sub_x), np.nan)
    k = cores.core.to_numpy() % cpt
    img[cores.tile_y.to_numpy() * sub_y + k // sub_x, cores.tile_x.to_numpy() * sub_x + k % sub_x] = values
    return img, sub_x, sub_y


def _mesh_axes(ax, width: int, height: int) -> None:
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    step = max(1, math.ceil(max(width, height) / 8))
    ax.set_xticks(np.arange(0, width, step) + 0.5, [str(i) for i in range(0, width, step)])
    ax.set_yticks(np.arange(0, height, step) + 0.5, [str(i) for i in range(0, height, step)])
    ax.set_xlabel("tile x (east →)")
    ax.set_ylabel("tile y (north →)")
    for s in ax.spines.values():
        s.set_visible(False)


def mesh(path: Path, cores: pd.DataFrame, links: pd.DataFrame | None, width: int, height: int, cpt: int,
         samples: int) -> Path:
    """Heatmaps drawn as the mesh: energy per core, utilization per core, packets per link."""
    panels = 3 if links is not None else 2
    aspect = width / height
    wide = aspect > 1.6  # wide meshes stack their panels vertically
    rows, cols = (panels, 1) if wide else (1, panels)
    panel_w = 7.5 if wide else min(4.6, 2.2 + 2.4 * aspect)
    with plt.rc_context(STYLE):
        fig, axes = _figure(nrows=rows, ncols=cols, figsize=(panel_w * cols + 0.8, (panel_w / aspect + 0.9) * rows))
        axes = np.atleast_1d(axes)
        for ax, (values, label) in zip(axes, ((cores.energy_j.to_numpy() / samples * 1e12, "energy per core (pJ/inference)"),
                                              (100 * cores.utilization.to_numpy(), "utilization (% of elapsed time)"))):
            img, sub_x, sub_y = _core_grid(cores, values, width, height, cpt)
            im = ax.imshow(img, origin="lower", extent=(0, width, 0, height), cmap="viridis",
                           interpolation="nearest", vmin=0)
            ax.vlines(np.arange(1, width), 0, height, color="white", lw=2)
            ax.hlines(np.arange(1, height), 0, width, color="white", lw=2)
            _mesh_axes(ax, width, height)
            ax.set_title(label)
            fig.colorbar(im, ax=ax, shrink=0.85)
        if links is not None:
            _links_panel(fig, axes[2], links, width, height, samples)
        return _save(fig, path)


def _links_panel(fig, ax, links: pd.DataFrame, width: int, height: int, samples: int) -> None:
    """Directed links as arrows between tile centres (grey lines: links no packet used);
    local ports as dots."""
    per_inf = links.packets.to_numpy(float) / samples
    vmax = max(per_inf.max(initial=0.0), 1e-12)
    tx, ty = np.meshgrid(np.arange(width), np.arange(height))
    squares = [[(x + 0.12, y + 0.12), (x + 0.88, y + 0.12), (x + 0.88, y + 0.88), (x + 0.12, y + 0.88)]
               for x, y in zip(tx.ravel(), ty.ravel())]
    ax.add_collection(PolyCollection(squares, facecolors="#eeeeee", edgecolors="none", zorder=0))
    # offset each direction to its right-hand side, so a link and its opposite do not overlap
    offset = {"east": (0, -0.13), "west": (0, 0.13), "north": (0.13, 0), "south": (-0.13, 0), "local": (0, 0)}
    mesh_links = (links.direction != "local").to_numpy()
    m = links[mesh_links]
    off = np.array([offset[d] for d in m.direction]).reshape(-1, 2)
    x0, y0 = m.tile_x.to_numpy() + 0.5 + off[:, 0], m.tile_y.to_numpy() + 0.5 + off[:, 1]
    dx, dy = (m.to_x - m.tile_x).to_numpy(float), (m.to_y - m.tile_y).to_numpy(float)
    v = per_inf[mesh_links]
    idle = v == 0
    ax.add_collection(LineCollection(np.stack([np.c_[x0, y0], np.c_[x0 + dx, y0 + dy]], axis=1)[idle],
                                     colors="#cccccc", linewidths=0.8))
    if (~idle).any():  # each used link an arrow, on the right-hand side of its direction
        ax.quiver(x0[~idle], y0[~idle], dx[~idle], dy[~idle], v[~idle], cmap="viridis", clim=(0, vmax),
                  angles="xy", scale_units="xy", scale=1, width=0.012, headwidth=3.5, headlength=4, zorder=2)
    local = links[~mesh_links]
    v_local = per_inf[~mesh_links]
    used = v_local > 0
    ax.scatter(local.tile_x[used] + 0.5, local.tile_y[used] + 0.5, c=v_local[used], cmap="viridis", vmin=0,
               vmax=vmax, s=60, marker="o", edgecolors="black", linewidths=0.5, zorder=3)
    sm = matplotlib.cm.ScalarMappable(cmap="viridis", norm=matplotlib.colors.Normalize(0, vmax))
    fig.colorbar(sm, ax=ax, shrink=0.85)
    _mesh_axes(ax, width, height)
    ax.set_title("packets per link per inference\n(arrows: used links, dots: tile-local ports)")


def _cdf(ax, values: np.ndarray, label: str, **kwargs) -> None:
    v = np.sort(values[np.isfinite(values)])
    if len(v):
        ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post", label=label, **kwargs)


def latency(path: Path, latency_us: np.ndarray, first_us: np.ndarray) -> Path:
    """Latency per sample (histogram) and the CDFs of latency and of time to first output."""
    with plt.rc_context(STYLE):
        fig, (a, b) = _figure(ncols=2, figsize=(9, 3.4))
        a.hist(latency_us, bins=min(40, max(5, len(latency_us) // 5)), color=PALETTE[0])
        a.set_xlabel("latency per sample (µs)")
        a.set_ylabel("samples")
        a.set_title("latency distribution")
        _cdf(b, latency_us, "latency (end of sample)", color=PALETTE[0])
        _cdf(b, first_us, "time to first output", color=PALETTE[1], linestyle="--")
        b.set_xlabel("time from first input (µs)")
        b.set_ylabel("fraction of samples")
        b.set_ylim(0, 1.02)
        b.set_title("CDF")
        b.legend(loc="lower right")
        for ax in (a, b):
            ax.grid(alpha=0.3)
        return _save(fig, path)


def cdfs(path: Path, series: dict[str, np.ndarray], xlabel: str, title: str) -> Path:
    """One CDF per run, overlaid."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(9, 3.8))
        for i, (name, values) in enumerate(series.items()):
            # line styles cycle too, so runs with equal latencies stay visible on top of each other
            _cdf(ax, values, name, color=PALETTE[i % len(PALETTE)], linestyle=["-", "--", "-.", ":"][i % 4], lw=1.6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of samples")
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        return _save(fig, path)


def layer_bars(path: Path, panels: list[tuple[str, pd.DataFrame]]) -> Path:
    """Grouped bars per layer: each panel is (y label, layers x series table)."""
    with plt.rc_context(STYLE):
        series = max(len(df.columns) for _, df in panels)
        fig, axes = _figure(ncols=len(panels), figsize=(4.6 * len(panels) + (2.8 if series > 1 else 0), 3.6))
        for ax, (ylabel, df) in zip(np.atleast_1d(axes), panels):
            n = max(len(df.columns), 1)
            x = np.arange(len(df.index))
            w = 0.8 / n
            for i, col in enumerate(df.columns):
                ax.bar(x + (i - (n - 1) / 2) * w, df[col].to_numpy(float), width=w, label=str(col),
                       color=PALETTE[i % len(PALETTE)])
            ax.set_xticks(x, [str(i) for i in df.index], rotation=30 if len(df.index) > 4 else 0, ha="right"
                          if len(df.index) > 4 else "center")
            ax.set_xlabel("layer")
            ax.set_ylabel(ylabel)
            ax.grid(axis="y", alpha=0.3)
            if n > 1 and ax is np.atleast_1d(axes)[-1]:
                ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        return _save(fig, path)


def raster(path: Path, spikes: pd.DataFrame, layers: list[tuple[str, int]], sample: int) -> Path:
    """Spike raster of one sample: time in µs, one band per layer (neuron index within it)."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(9, 4.2))
        base, ticks = 0, []
        for i, (name, size) in enumerate(layers):
            s = spikes[spikes.layer == name]
            ax.scatter(s.t_s * 1e6, base + s.neuron, s=4, marker="|", color=PALETTE[i % len(PALETTE)], linewidths=1)
            ticks.append((base + size / 2, name))
            if i:
                ax.axhline(base - 0.5, color="#888888", lw=0.6)
            base += size
        ax.set_yticks([t for t, _ in ticks], [n for _, n in ticks])
        ax.set_ylim(-0.5, base - 0.5)
        ax.set_xlabel("time (µs)")
        ax.set_ylabel("layer (neurons in bands)")
        ax.set_title(f"spike raster, sample {sample}")
        return _save(fig, path)


def queue_waits(path: Path, stats: pd.DataFrame) -> Path:
    """Queue wait per core as boxes: quartiles and median, whiskers at the 5th and 95th
    percentiles. ``stats`` has one row per core (index) and columns p5, p25, p50, p75, p95 in ns."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(8, 1.4 + 0.3 * len(stats)))
        boxes = [{"label": str(core), "whislo": r.p5, "q1": r.p25, "med": r.p50, "q3": r.p75, "whishi": r.p95,
                  "fliers": []} for core, r in stats.iterrows()]
        ax.bxp(boxes, orientation="horizontal", showfliers=False, widths=0.6, medianprops={"color": PALETTE[3]})
        ax.invert_yaxis()
        ax.set_xlabel("queue wait, arrival to start of service (ns)")
        ax.set_ylabel("destination core")
        ax.set_title("queue wait per core (box: quartiles; whiskers: 5th-95th percentile)")
        ax.grid(axis="x", alpha=0.3)
        return _save(fig, path)


def accuracy_latency(path: Path, names: list[str], latency_us: list[float | None],
                     accuracy: list[float | None], scale: str | None = None) -> Path:
    """Accuracy against mean latency, one numbered point per run; the legend names the numbers. The latency
    axis follows :func:`scale_for` (or ``scale``); runs that land on the same spot share one label (``2, 3``)."""
    keep = [i for i, (x, y) in enumerate(zip(latency_us, accuracy)) if x is not None and y is not None
            and np.isfinite(x) and np.isfinite(y)]
    x = np.array([latency_us[i] for i in keep], float) * 1e-6  # in s, for engineering units on the axis
    y = np.array([100 * accuracy[i] for i in keep], float)
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(8, 4))
        for k, i in enumerate(keep):
            ax.scatter([x[k]], [y[k]], s=70, color=PALETTE[i % len(PALETTE)], marker="osD^v<>"[i // len(PALETTE) % 7],
                       label=f"{i + 1}: {names[i]}", zorder=3, alpha=0.85)
        scale = set_scale(ax, "x", x, scale)
        _eng_axis(ax, "x", "s")
        ax.set_xlabel("mean latency per inference" + scale_note(scale))
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.margins(0.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        label_points(ax, x, y, [str(i + 1) for i in keep])
        return _save(fig, path)


def _eng_axis(ax, which: str, unit: str) -> None:
    """Engineering units on an axis (``12 µs``, ``3 pJ``). A log axis spanning under two decades labels its
    2s and 5s too, or it may show a single number."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    eng = matplotlib.ticker.EngFormatter(unit=unit)
    axis.set_major_formatter(eng)

    def minor(v, _):
        lo, hi = sorted(axis.get_view_interval())
        if v <= 0 or lo <= 0 or math.log10(hi / lo) >= 2:
            return ""
        return eng(v) if round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ""

    if axis.get_scale() != "linear":
        axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor))


LABEL_ALL_MAX = 40  # beyond this many points, the labels of all would overprint each other: only the front's get one


def pareto(path: Path, x: np.ndarray, accuracy: np.ndarray, numbers: list[str], front: np.ndarray, xlabel: str,
           unit: str, title: str) -> Path:
    """Accuracy (up is better) against a cost ``x`` in ``unit`` (left is better), one point per configuration,
    labelled with ``numbers`` (beyond :data:`LABEL_ALL_MAX` points, the non-dominated ones only): the
    non-dominated ones (``front``) filled and joined by the front's step line, the dominated ones hollow and grey.
    The caller leaves out points with a missing value."""
    x, y, front = np.asarray(x, float), 100 * np.asarray(accuracy, float), np.asarray(front, bool)
    order = np.argsort(x[front])
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(8, 4.2))
        ax.scatter(x[~front], y[~front], s=55, facecolors="none", edgecolors="#888888", linewidths=1.2,
                   label="dominated", zorder=3)
        # sorted by cost, a front's accuracy rises: the step is the best accuracy reachable at each cost
        ax.step(x[front][order], y[front][order], where="post", color=PALETTE[0], lw=1.4, zorder=2,
                label="Pareto front")
        ax.scatter(x[front], y[front], s=60, color=PALETTE[0], zorder=4, label="non-dominated")
        scale = set_scale(ax, "x", x)
        _eng_axis(ax, "x", unit)
        ax.set_xlabel(f"{xlabel}{scale_note(scale)}, better: left")
        ax.set_ylabel("accuracy (%), better: up")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.margins(0.12)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        few = len(x) <= LABEL_ALL_MAX
        label_points(ax, x[front | few], y[front | few], [n for n, f in zip(numbers, front) if f or few])
        return _save(fig, path)


LEGEND_MAX = 15  # lines named in a small-multiples legend; more would crowd out the panels


def _numeric_x(ax, name: str, x: np.ndarray) -> str:
    """A numeric sweep axis: the log rule, engineering units (seconds for a name with an ``_s`` part), and a tick
    at each value swept where they are few, so a reader sees the values themselves."""
    scale = set_scale(ax, "x", x)
    unit = "s" if any(part.endswith("_s") for part in name.split(".")) else ""
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(unit=unit))
    values = np.unique(x[np.isfinite(x)])
    if len(values) <= 8:
        ax.set_xticks(values)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    return scale


def small_multiples(path: Path, axis_name: str, x: pd.Series, lines: pd.Series,
                    panels: list[tuple[str, np.ndarray, str, bool]]) -> Path:
    """How each metric moves along one sweep axis: a row of panels, one per metric (``panels``: label, one value
    per configuration, unit, whether the log rule applies), metric against ``x``, the axis' value. Configurations
    with the same key in ``lines`` (the values of every other axis) are joined by a line. A numeric axis has a
    numeric scale (the log rule applies); any other is categorical (in the order of a ``pd.Categorical``'s
    categories, else of first appearance), each line dodged a little sideways so that lines with equal values
    stay visible."""
    x, lines = x.reset_index(drop=True), lines.reset_index(drop=True)
    numeric = (pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
               and not isinstance(x.dtype, pd.CategoricalDtype))
    cats = list(x.cat.categories) if isinstance(x.dtype, pd.CategoricalDtype) else list(dict.fromkeys(x.astype(str)))
    keys = list(dict.fromkeys(lines))
    dodge = 0.3 / max(len(keys) - 1, 1) if not numeric and len(keys) > 1 else 0.0
    pos = x.to_numpy(float) if numeric else np.array([cats.index(v) for v in x.astype(str)], float)
    with plt.rc_context(STYLE):
        legend_rows = math.ceil(min(len(keys), LEGEND_MAX) / 4) if len(keys) > 1 else 0
        fig, axes = _figure(ncols=len(panels), figsize=(2.6 * len(panels) + 0.4, 3.0 + 0.2 * (legend_rows + 1)),
                            sharex=True)
        axes = np.atleast_1d(axes)
        for ax, (label, values, unit, log_rule) in zip(axes, panels):
            values = np.asarray(values, float)
            for k, key in enumerate(keys):
                idx = np.flatnonzero((lines == key).to_numpy() & np.isfinite(values))
                idx = idx[np.argsort(pos[idx], kind="stable")]
                ax.plot(pos[idx] + (k - (len(keys) - 1) / 2) * dodge, values[idx], color=PALETTE[k % len(PALETTE)],
                        marker="osD^v<>"[k % 7], linestyle=["-", "--", "-.", ":"][k % 4], ms=5, lw=1.3,
                        label=str(key))
            scale = set_scale(ax, "y", values) if log_rule else "linear"
            if unit in ("J", "s"):
                _eng_axis(ax, "y", unit)
            ax.set_ylabel(label + (f" ({unit})" if unit not in ("J", "s", "") else "") + scale_note(scale))
            ax.grid(alpha=0.3)
        x_scale = _numeric_x(axes[0], axis_name, pos) if numeric else "linear"
        if not numeric:
            slanted = sum(map(len, cats)) > 4 * len(cats) + 8  # long names would run into each other
            axes[0].set_xticks(range(len(cats)), cats)
            axes[0].set_xlim(-0.5, len(cats) - 0.5)
            for ax in axes:
                ax.tick_params(axis="x", labelrotation=30 if slanted else 0)
                if slanted:
                    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        fig.supxlabel(axis_name + scale_note(x_scale))
        shown = min(len(keys), LEGEND_MAX)
        title = f"each metric along {axis_name}"
        if len(keys) > 1:  # the legend's title is the figure's: a suptitle would overlap a legend above the panels
            handles, names = axes[0].get_legend_handles_labels()
            fig.legend(handles[:shown], names[:shown], loc="outside upper center", ncols=min(shown, 4), frameon=False,
                       fontsize=8, title=f"{title}, one line per combination of the other axes"
                       + (f" (the first {shown} of {len(keys)})" if len(keys) > shown else ""),
                       title_fontproperties={"size": STYLE["axes.titlesize"]})
        else:
            fig.suptitle(title)
        return _save(fig, path)


def event_rate(path: Path, t_us: np.ndarray, p: np.ndarray, n_pol: int, sample: int) -> Path:
    """Events over time in one sample, one line per polarity (100 bins over its span)."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(8, 3.4))
        span = max(int(t_us.max(initial=0)) + 1, 1)
        edges = np.linspace(0, span, 101)
        width_ms = span / 100 / 1000
        for pol in range(n_pol):
            counts, _ = np.histogram(t_us[p == pol], bins=edges)
            label = ("OFF (p=0)", "ON (p=1)")[pol] if n_pol == 2 else f"p={pol}"
            ax.step(edges[:-1] / 1000, counts, where="post", color=PALETTE[pol % len(PALETTE)], label=label)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(f"events per {width_ms:.3g} ms bin")
        ax.set_title(f"event count over time, sample {sample}")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right")
        return _save(fig, path)


def polarity_images(path: Path, images: np.ndarray, sample: int) -> Path:
    """Accumulated events per pixel, one panel per polarity: ``images`` (p, H, W)."""
    n = len(images)
    with plt.rc_context(STYLE):
        fig, axes = _figure(ncols=n, figsize=(3.6 * n + 0.8, 4.0))
        for pol, ax in enumerate(np.atleast_1d(axes)):
            im = ax.imshow(images[pol], cmap="viridis", interpolation="nearest")
            ax.set_title(("OFF (p=0)", "ON (p=1)")[pol] if n == 2 else f"p={pol}")
            ax.set_xlabel("x (pixel)")
            ax.set_ylabel("y (pixel)")
            fig.colorbar(im, ax=ax, shrink=0.85, label="events")
        fig.suptitle(f"accumulated events, sample {sample}")
        return _save(fig, path)


def channel_raster(path: Path, t_us: np.ndarray, channel: np.ndarray, p: np.ndarray, n_channels: int,
                   sample: int) -> Path:
    """Events of a 1-D sensor: time against channel, coloured by polarity."""
    n_pol = int(p.max(initial=0)) + 1
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(8, 4))
        for pol in range(n_pol):
            sel = p == pol
            label = ("DOWN / OFF (p=0)", "UP / ON (p=1)")[pol] if n_pol == 2 else f"p={pol}"
            ax.scatter(t_us[sel] / 1000, channel[sel], s=4, marker="|", color=PALETTE[pol % len(PALETTE)],
                       linewidths=0.8, label=label)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("channel")
        ax.set_ylim(-0.5, n_channels - 0.5)
        ax.set_title(f"event raster, sample {sample}")
        if n_pol > 1:
            ax.legend(loc="upper right", markerscale=3)
        return _save(fig, path)


def class_histogram(path: Path, labels: np.ndarray) -> Path:
    with plt.rc_context(STYLE):
        fig, ax = _figure(figsize=(7, 3.2))
        classes, counts = np.unique(labels, return_counts=True)
        ax.bar(classes, counts, color=PALETTE[0])
        ax.set_xticks(classes, [str(c) for c in classes])
        ax.set_xlabel("class label")
        ax.set_ylabel("samples")
        ax.set_title("class histogram")
        ax.grid(axis="y", alpha=0.3)
        return _save(fig, path)


def training_curves(path: Path, log: list[dict]) -> Path:
    """Loss, and train and test accuracy, per epoch (``snnemu train``)."""
    epochs = [r["epoch"] for r in log]
    with plt.rc_context(STYLE):
        fig, (ax_loss, ax_acc) = _figure(ncols=2, figsize=(8, 3.2))
        ax_loss.plot(epochs, [r["loss"] for r in log], marker="o", color=PALETTE[0])
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss (cross-entropy per timestep)")
        ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in log], marker="o", color=PALETTE[1], label="train")
        ax_acc.plot(epochs, [100 * r["test_accuracy"] for r in log], marker="s", color=PALETTE[2], label="test")
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy (%)")
        ax_acc.legend(loc="lower right")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
        return _save(fig, path)
