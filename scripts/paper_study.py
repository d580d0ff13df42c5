"""The study: layer-trained against unlayered-trained models, under functional asynchrony and under
hardware timing, with early decisions on the chip (``make paper``; the results go to docs/study.md).

For each dataset it trains, with ``snnemu train``, one model per kind and seed:

- ``layered``: BPTT with layer synchronization;
- ``unlayered-random`` and ``unlayered-momentum``: the async forward steps in the training graph, with
  that scheduler, at the training F and refractory dropout below;

then runs every model under every condition and writes each run's folder:

1. the functional reference, layered;
2. the functional reference, async, at the training F and at F = 1, with each scheduler;
3. the chip on ``loihi`` and on one other profile, layered and async (``fifo`` and ``momentum`` queues),
   each with and without an early decision (``--stop-on-output``).

The table (mean and standard deviation over seeds), the figures and the document are computed from
the run folders alone (``table_from_runs``), never typed in; a smoke version runs in the tests.

Run: ``python scripts/paper_study.py [--out build/study] [--doc docs/study.md] [--smoke]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from emulator import RunConfig, load_run, run, write_records  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("layered", "unlayered-random", "unlayered-momentum")
SCHEDULERS = ("fifo", "momentum", "random")


@dataclass(frozen=True)
class Dataset:
    """A dataset as the study trains on it: its spec, the architecture and the framing."""

    spec: str
    arch: str
    downsample: int = 1
    dt_us: int | None = None


# The built-in datasets (offline, what CI has); the real ones when $SNNEMU_DATA holds them (--real).
DATASETS = {"nmnist-digits": Dataset("nmnist-digits", "578-128-10", downsample=2, dt_us=10_000),
            "spoken-digits": Dataset("spoken-digits", "128-128-10", dt_us=20_000)}
REAL = {"nmnist": Dataset("nmnist", "578-128-10", downsample=2, dt_us=10_000),
        "shd": Dataset("shd", "700-128-20", dt_us=10_000)}


@dataclass
class Plan:
    """What the study runs; the defaults are the documented study, ``smoke()`` the test's."""

    datasets: list[Dataset] = field(default_factory=lambda: list(DATASETS.values()))
    seeds: tuple[int, ...] = (0, 1, 2)
    F: int = 16  # the training F (the study's default)
    refrac_dropout: float = 0.8  # in training (the study's default)
    epochs_layered: int = 60
    epochs_unlayered: int = 40
    train_samples: int | None = None  # all
    functional_samples: int | None = None  # the whole test split
    chip_samples: int | None = None  # the chip conditions on the first N test samples (None: all)
    stop_on_output: int = 8  # the early decision: K output spikes after the first
    profiles: tuple[str, ...] = ("loihi", "seneca")
    workers: int = 2

    @staticmethod
    def smoke() -> Plan:
        return Plan(datasets=[Dataset("digits", "64-16-10")], seeds=(0,), F=4, epochs_layered=2, epochs_unlayered=1,
                    train_samples=96, functional_samples=24, chip_samples=6, stop_on_output=2,
                    profiles=("loihi", "seneca"), workers=1)


def conditions(plan: Plan) -> list[tuple[str, dict]]:
    """(name, RunConfig fields) for every evaluation condition."""
    out = [("functional layered", dict(engine="functional", mode="layered"))]
    for F in (plan.F, 1):
        out += [(f"functional async F{F} {q}", dict(engine="functional", mode="async", F=F, queue=q))
                for q in SCHEDULERS]
    for hw in plan.profiles:
        chip = [(f"chip {hw} layered", dict(hw=hw, mode="layered"))]
        chip += [(f"chip {hw} async {q}", dict(hw=hw, mode="async", queue=q, input="frame")) for q in ("fifo", "momentum")]
        for name, kw in chip:
            out += [(name, kw), (f"{name} stop", {**kw, "stop_on_output": plan.stop_on_output})]
    return out


def train_models(plan: Plan, out: Path, log, made: dict) -> dict:
    """Train (or reuse) every model; returns ``{(dataset, kind, seed): path}``; counts in ``made``."""
    from emulator.train import TrainConfig, train

    models = {}
    for ds in plan.datasets:
        for kind in KINDS:
            for seed in plan.seeds:
                path = out / "models" / _slug(ds.spec) / f"{kind}-s{seed}.nir"
                models[ds.spec, kind, seed] = path
                made["models"] = made.get("models", 0) + 1
                if path.is_file():
                    continue
                made["trained"] = made.get("trained", 0) + 1
                layered = kind == "layered"
                cfg = TrainConfig(arch=ds.arch, data=ds.spec, downsample=ds.downsample, dt_us=ds.dt_us,
                                  mode="layered" if layered else "async",
                                  scheduler="random" if layered else kind.split("-")[1], F=plan.F,
                                  refrac_dropout=plan.refrac_dropout, seed=seed, samples=plan.train_samples,
                                  epochs=plan.epochs_layered if layered else plan.epochs_unlayered, out=str(path))
                t0 = time.perf_counter()
                res = train(cfg)
                log(f"trained {ds.spec} {kind} seed {seed}: test accuracy {100 * res.log[-1]['test_accuracy']:.1f}% "
                    f"({len(res.log)} epochs, {time.perf_counter() - t0:.0f} s)")
    return models


def evaluate(plan: Plan, models: dict, out: Path, log, made: dict) -> None:
    """Run every model under every condition, each into its own run folder (reused when there); counts in
    ``made``."""
    conds = conditions(plan)
    for (spec, kind, seed), model in models.items():
        ds = next(d for d in plan.datasets if d.spec == spec)
        t0 = time.perf_counter()
        for name, kw in conds:
            folder = run_folder(out, spec, kind, seed, name)
            made["runs"] = made.get("runs", 0) + 1
            if (folder / "summary.json").is_file():
                continue
            made["ran"] = made.get("ran", 0) + 1
            samples = plan.functional_samples if kw.get("engine") == "functional" else plan.chip_samples
            cfg = RunConfig(model=str(model), data=ds.spec, downsample=ds.downsample, dt_us=ds.dt_us,
                            samples=samples, seed=seed, workers=plan.workers, **kw)
            where = f"{spec} {kind} seed {seed}, {name}"
            write_records(run(cfg, warn=lambda m, where=where: log(f"{where}: {m}")), folder)
        log(f"evaluated {spec} {kind} seed {seed}: {len(conds)} conditions, {time.perf_counter() - t0:.0f} s")


def run_folder(out: Path, spec: str, kind: str, seed: int, condition: str) -> Path:
    return out / "runs" / _slug(spec) / f"{kind}-s{seed}" / condition.replace(" ", "_")


def _slug(spec: str) -> str:
    return spec.split(":")[0]


# -- the table, from the run folders alone --

METRICS = ("accuracy", "spikes", "sops", "first_output_steps", "first_correct_steps", "first_output_us",
           "first_correct_us", "decision_us", "decision_energy_nj", "energy_nj", "dynamic_energy_nj",
           "neuron_energy_nj", "static_energy_nj", "edp_nj_us")
FUNCTIONAL_COLUMNS = ("accuracy", "spikes", "sops", "first_output_steps", "first_correct_steps")
CHIP_COLUMNS = ("accuracy", "spikes", "sops", "first_output_us", "first_correct_us", "decision_us",
                "decision_energy_nj", "energy_nj", "dynamic_energy_nj", "edp_nj_us")


def metrics_of(folder: Path) -> dict:
    """One run folder's figures, per inference, in the table's units (None where an engine has none)."""
    r = load_run(folder)
    s, n = r.summary, r.n

    def mean(key, scale=1.0):
        v = (s.get(key) or {}).get("mean")
        return None if v is None else v * scale

    energy = s["energy_per_inference_j"]
    return {
        "accuracy": None if s["accuracy"] is None else 100 * s["accuracy"],
        "spikes": s["spikes"]["total"] / n,
        "sops": s["synaptic_events"] / n,
        "first_output_steps": mean("latency_forward_steps"),
        "first_correct_steps": mean("latency_forward_steps_correct"),
        "first_output_us": mean("first_output_s", 1e6),
        "first_correct_us": mean("first_correct_s", 1e6),
        "decision_us": mean("decision_s", 1e6),
        "decision_energy_nj": None if s.get("decision_energy_per_inference_j") is None
        else s["decision_energy_per_inference_j"] * 1e9,
        "energy_nj": None if energy is None else energy * 1e9,
        "dynamic_energy_nj": None if energy is None else (s["energy_j"]["total"] - s["energy_j"]["static"]) / n * 1e9,
        "neuron_energy_nj": None if energy is None else s["energy_j"]["neuron"] / n * 1e9,
        "static_energy_nj": None if energy is None else s["energy_j"]["static"] / n * 1e9,
        "edp_nj_us": None if s["edp_js"] is None else s["edp_js"] * 1e15,
    }


def table_from_runs(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run folder under ``out/runs`` as one row, and the mean and std over seeds per (dataset,
    kind, condition). Nothing is typed in: the figures are the folders'."""
    rows = []
    for summary in sorted((out / "runs").glob("*/*/*/summary.json")):
        folder = summary.parent
        dataset, model, condition = folder.parts[-3:]
        kind, seed = model.rsplit("-s", 1)
        rows.append({"dataset": dataset, "kind": kind, "seed": int(seed), "condition": condition.replace("_", " "),
                     **metrics_of(folder)})
    runs = pd.DataFrame(rows)
    runs[list(METRICS)] = runs[list(METRICS)].apply(pd.to_numeric, errors="coerce")
    grouped = runs.groupby(["dataset", "condition", "kind"], sort=False)[list(METRICS)]
    table = grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).reset_index()
    return runs, table


# -- the figures --

COLORS = {"layered": "tab:blue", "unlayered-random": "tab:orange", "unlayered-momentum": "tab:green"}
LABELS = {"layered": "layer-trained", "unlayered-random": "unlayered (random)",
          "unlayered-momentum": "unlayered (momentum)"}


def _short(condition: str, hw: str) -> str:
    """A chip condition as a point label: L, F, M (layered, async fifo, async momentum), + for the stop."""
    c = condition.removeprefix(f"chip {hw} ")
    return {"layered": "L", "async fifo": "F", "async momentum": "M"}[c.removesuffix(" stop")] + \
        ("+" if c.endswith(" stop") else "")


def figures(table: pd.DataFrame, plan: Plan, out: Path, figs: Path) -> list[Path]:
    figs.mkdir(parents=True, exist_ok=True)
    datasets = list(table.dataset.unique())
    hw = plan.profiles[0]
    chip = table[table.condition.str.startswith(f"chip {hw}")]
    made = []

    def each_dataset(name, draw, width=6.0):
        fig, axes = plt.subplots(1, len(datasets), figsize=(width * len(datasets), 4.2), squeeze=False)
        for ax, ds in zip(axes[0], datasets):
            draw(ax, ds)
            ax.set_title(ds)
        fig.tight_layout()
        path = figs / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    def accuracy_vs_decision(ax, ds):
        for kind, g in chip[chip.dataset == ds].groupby("kind"):
            ax.errorbar(g.decision_us, g.accuracy, xerr=g.decision_us_std, yerr=g.accuracy_std, fmt="o",
                        color=COLORS[kind], label=LABELS[kind], capsize=2)
            for x, y, c in zip(g.decision_us, g.accuracy, g.condition):
                ax.annotate(_short(c, hw), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6)
        ax.set_xscale("log")
        ax.set(xlabel=f"decision time on {hw} (us, log)", ylabel="accuracy (%)")
        ax.legend(fontsize=7)

    def spikes(ax, ds):
        conds = [c for c in table.condition.unique() if "stop" not in c and "F1 " not in c]
        sub = table[(table.dataset == ds) & table.condition.isin(conds)]
        x = np.arange(len(conds))
        for i, kind in enumerate(KINDS):
            g = sub[sub.kind == kind].set_index("condition").reindex(conds)
            ax.bar(x + (i - 1) * 0.27, g.spikes, 0.27, yerr=g.spikes_std, color=COLORS[kind], label=LABELS[kind])
        ax.set_xticks(x, conds, rotation=60, ha="right", fontsize=7)
        ax.set(ylabel="spikes per inference")
        ax.legend(fontsize=7)

    def energy_by_category(ax, ds):
        cats = ("synaptic", "neuron", "spike_out", "noc", "barrier", "static")
        conds = [c for c in chip.condition.unique() if "stop" not in c]
        labels, parts = [], []
        for cond in conds:
            for kind in KINDS:
                folders = [run_folder(out, ds, kind, s, cond) for s in plan.seeds]
                sums = [load_run(f).summary for f in folders if (f / "summary.json").is_file()]
                if not sums:
                    continue
                labels.append(f"{LABELS[kind]}\n{cond.removeprefix(f'chip {hw} ')}")
                parts.append([np.mean([s["energy_j"][c] / s["samples"] * 1e9 for s in sums]) for c in cats])
        parts = np.array(parts).T
        bottom = np.zeros(len(labels))
        for cat, row in zip(cats, parts):
            ax.bar(range(len(labels)), row, bottom=bottom, label=cat)
            bottom += row
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=6)
        ax.set(ylabel=f"energy per inference on {hw} (nJ)")
        ax.legend(fontsize=7)

    def latency_cdf(ax, ds):
        cond = f"chip {hw} async fifo"
        for kind in KINDS:
            values = np.concatenate([load_run(f).samples.first_correct_s.to_numpy(float) * 1e6
                                     for f in (run_folder(out, ds, kind, s, cond) for s in plan.seeds)
                                     if (f / "summary.json").is_file()] or [np.zeros(0)])
            values = np.sort(values[np.isfinite(values)])
            if len(values):
                ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", color=COLORS[kind],
                        label=LABELS[kind])
        ax.set_xscale("log")
        ax.set(xlabel=f"time to the first correct output, {cond} (us, log)", ylabel="fraction of samples")
        ax.legend(fontsize=7)

    def pareto(ax, ds):
        sub = chip[chip.dataset == ds].dropna(subset=["decision_energy_nj", "accuracy"])
        for kind, g in sub.groupby("kind"):
            ax.scatter(g.decision_energy_nj, g.accuracy, color=COLORS[kind], label=LABELS[kind])
            for x, y, c in zip(g.decision_energy_nj, g.accuracy, g.condition):
                ax.annotate(_short(c, hw), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6)
        pts = sub.sort_values("decision_energy_nj")
        front = pts[pts.accuracy >= pts.accuracy.cummax()]
        ax.plot(front.decision_energy_nj, front.accuracy, "k--", lw=1, label="Pareto front")
        ax.set_xscale("log")
        ax.set(xlabel=f"energy per decision on {hw} (nJ, log)", ylabel="accuracy (%)")
        ax.legend(fontsize=7)

    each_dataset("study_accuracy_vs_decision.png", accuracy_vs_decision)
    each_dataset("study_spikes.png", spikes, width=7.5)
    each_dataset("study_energy.png", energy_by_category, width=8.0)
    each_dataset("study_latency_cdf.png", latency_cdf)
    each_dataset("study_pareto.png", pareto)
    return made


# -- the claims, point by point, from the table --

def _cell(table: pd.DataFrame):
    """``get(dataset, condition, kind, column)``: one figure of the table (NaN where there is none)."""
    def get(ds, cond, kind, col):
        row = table[(table.dataset == ds) & (table.condition == cond) & (table.kind == kind)]
        return float(row[col].iloc[0]) if len(row) and pd.notna(row[col].iloc[0]) else float("nan")
    return get


def claims(table: pd.DataFrame, plan: Plan) -> list[str]:
    """The paper's claims beside the measured figures; each sentence's numbers come from ``table``. Each
    setting is compared with the layer-trained model in layered mode on the same engine and samples."""
    lines = []

    get = _cell(table)

    settings = [(f"functional async F{plan.F} random", "functional layered", "forward steps", "first_correct_steps")]
    settings += [(f"chip {hw} async fifo", f"chip {hw} layered", "us", "first_correct_us") for hw in plan.profiles]
    for ds in table.dataset.unique():
        lines.append(f"### {ds}\n")
        for cond, base, unit, lat in settings:
            base_acc = get(ds, base, "layered", "accuracy")
            lay = {c: get(ds, cond, "layered", c) for c in ("accuracy", "spikes", lat)}
            lines.append(f"**{cond}** (against the layer-trained model in {base}: {base_acc:.1f} %):\n")
            lines.append(f"- layer-trained models lose accuracy or gain nothing: {lay['accuracy']:.1f} % here, "
                         f"{lay['accuracy'] - base_acc:+.1f} points "
                         f"({'holds' if lay['accuracy'] <= base_acc else 'does not hold: it gains'}).")
            for kind in KINDS[1:]:
                u = {c: get(ds, cond, kind, c) for c in ("accuracy", "spikes", lat)}
                spikes, speed = _ratio(u["spikes"], lay["spikes"]), _ratio(lay[lat], u[lat])
                lines.append(f"- {kind}: spikes {spikes:.2f}x the layer-trained model's (claim: down to 0.5x; "
                             f"{'fewer' if spikes < 1 else 'not fewer'}); first correct output {u[lat]:.1f} {unit} "
                             f"against {lay[lat]:.1f}, {speed:.2f}x as fast (claim: up to 2x); accuracy "
                             f"{u['accuracy']:.1f} %, {u['accuracy'] - lay['accuracy']:+.1f} points (claim: up to "
                             f"+10).")
            if cond.startswith("chip"):
                stop = {kind: {c: get(ds, f"{cond} stop", kind, c)
                               for c in ("accuracy", "decision_us", "decision_energy_nj")} for kind in KINDS}
                lay_s = stop["layered"]
                lines.append(f"- with the early decision (K = {plan.stop_on_output}), the layer-trained model: "
                             f"{lay_s['accuracy']:.1f} % in {lay_s['decision_us']:.1f} µs and "
                             f"{lay_s['decision_energy_nj']:.1f} nJ; " + "; ".join(
                                 f"{kind}: {stop[kind]['accuracy']:.1f} % in {stop[kind]['decision_us']:.1f} µs "
                                 f"({_ratio(lay_s['decision_us'], stop[kind]['decision_us']):.2f}x as fast) and "
                                 f"{stop[kind]['decision_energy_nj']:.1f} nJ" for kind in KINDS[1:]) + ".")
            lines.append("")
    return lines


def why(table: pd.DataFrame, plan: Plan) -> list[str]:
    """The mechanisms behind the chip's figures, with their sizes from ``table``."""
    lines = []

    get = _cell(table)

    for ds in table.dataset.unique():
        for hw in plan.profiles:
            lay, asy = f"chip {hw} layered", f"chip {hw} async fifo"
            e_l, e_a = get(ds, lay, "layered", "energy_nj"), get(ds, asy, "layered", "energy_nj")
            st_a = get(ds, asy, "layered", "static_energy_nj")
            n_l, n_a = get(ds, lay, "layered", "neuron_energy_nj"), get(ds, asy, "layered", "neuron_energy_nj")
            t_l, t_a = get(ds, lay, "layered", "decision_us"), get(ds, asy, "layered", "decision_us")
            stop = get(ds, f"{asy} stop", "unlayered-random", "decision_energy_nj")
            full = get(ds, asy, "unlayered-random", "energy_nj")
            share = _ratio(st_a, e_a)
            energy_rule = ("so energy follows the time a sample takes" if share > 0.5 else
                           "so energy follows the work done, not the time")
            updates = ("since an async packet pays an update per target where a layer phase updates each "
                       "neuron once" if n_a > n_l else "fewer than layered here")
            lines.append(
                f"- {ds} on {hw}, the layer-trained model: async takes {t_a:.1f} µs per sample against "
                f"{t_l:.1f} layered and {e_a:.1f} nJ against {e_l:.1f}. Static power is {100 * share:.0f} % of "
                f"the async energy, {energy_rule}; neuron updates cost {n_a:.1f} nJ async against {n_l:.1f} "
                f"layered, {updates}. The early decision takes the unlayered-random model from {full:.1f} to "
                f"{stop:.1f} nJ per inference: it ends the sample, its work and its static power.")
    return lines + [""]


def _ratio(a: float, b: float) -> float:
    return a / b if b and np.isfinite(b) else float("nan")


def write_document(runs, table, plan: Plan, out: Path, doc: Path, figs: list[Path], command: str,
                   wall_s: float | None, made: dict | None = None) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    # uncommitted changes other than this study's own outputs (the document and its figures, written by now)
    own = {os.path.relpath(p.resolve(), ROOT) for p in [doc, *figs] if p.resolve().is_relative_to(ROOT)}
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                            cwd=ROOT).stdout.splitlines()
    dirty = [line for line in status if line[3:] not in own]
    show = table.copy()
    for m in METRICS:
        show[m] = [_pm(a, b) for a, b in zip(table[m], table[f"{m}_std"])]
    on_chip = show.condition.str.startswith("chip")
    functional = show[~on_chip][["dataset", "condition", "kind", *FUNCTIONAL_COLUMNS]]
    chip = show[on_chip][["dataset", "condition", "kind", *CHIP_COLUMNS]]
    lines = [
        "# The study: layer-trained and unlayered-trained models under asynchrony and hardware timing",
        "",
        "Made by `scripts/paper_study.py`; every figure below is computed from the run folders it wrote "
        "(`table_from_runs`), none typed in.",
        "",
        f"- command: `{command}`",
        f"- commit: `{commit}`{' (with uncommitted changes)' if dirty else ''}",
        f"- wall time{'' if _reused(made, out) else ' of the whole study (training and every run)'}: "
        f"{'not measured' if wall_s is None else f'{wall_s / 60:.1f} min'} on this machine ({os.cpu_count()} cores)"
        + _reused(made, out),
        f"- seeds: {', '.join(map(str, plan.seeds))} (the initial weights, batches and draws of training, and "
        "the runs' draws)",
        f"- training: F = {plan.F}, refractory dropout {plan.refrac_dropout}, {plan.epochs_layered} epochs "
        f"layered and {plan.epochs_unlayered} unlayered, the study's other defaults (`snnemu train`)",
        f"- datasets: {', '.join(f'{d.spec} ({d.arch})' for d in plan.datasets)}",
        f"- samples: the functional conditions on {plan.functional_samples or 'all'} test samples, the chip "
        f"conditions on {f'the first {plan.chip_samples} (a subset, for time)' if plan.chip_samples else 'all'}",
        f"- early decision (`stop`): `--stop-on-output {plan.stop_on_output}` on the chip; chip async runs take "
        "each frame's input as one batch (`--input frame`), as the models were trained",
        "",
        "Per inference, mean ± std over seeds. Functional reference: accuracy (%), spikes, SOPs, and the "
        "latency to the first and to the first correct output in forward steps (network spikes processed "
        "before it).",
        "",
        _markdown(functional),
        "",
        "On the chip: accuracy (%), spikes, SOPs, the time to the first and to the first correct output (µs, "
        "simulated), the decision time (µs) and energy (nJ), the energy per inference (nJ, total and "
        "dynamic) and EDP (nJ·µs).",
        "",
        _markdown(chip),
        "",
        "## Figures",
        "",
        *[f"![{p.stem}]({os.path.relpath(p, doc.parent)})\n\n{CAPTIONS[p.stem].format(hw=plan.profiles[0])}\n"
          for p in figs],
        "## The paper's claims beside the measurements",
        "",
        *claims(table, plan),
        "## Why hardware timing changes the picture",
        "",
        *why(table, plan),
    ]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n")
    runs.to_csv(out / "runs.csv", index=False)
    table.to_csv(out / "table.csv", index=False)


def _reused(made: dict | None, out: Path) -> str:
    """What the invocation reused (models and run folders already in ``out``), which its wall time leaves out."""
    if not made or (made.get("trained", 0) == made.get("models", 0) and made.get("ran", 0) == made.get("runs", 0)):
        return ""
    where = out.resolve().relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out.name  # no path of this machine
    return (f", of an invocation that trained {made.get('trained', 0)} of {made.get('models', 0)} models and made "
            f"{made.get('ran', 0)} of {made.get('runs', 0)} runs, reusing the rest from `{where}`")


KEY = "Points: L layered, F async fifo, M async momentum; + with the early decision."
CAPTIONS = {
    "study_accuracy_vs_decision": "Accuracy against the decision time on {hw}, mean and std over seeds. " + KEY,
    "study_spikes": "Spikes per inference under each condition without an early decision.",
    "study_energy": "Energy per inference on {hw} by category, mean over seeds.",
    "study_latency_cdf": "The time to the first correct output on {hw}, async fifo, every sample of every seed.",
    "study_pareto": "Accuracy against the energy per decision on {hw}; the dashed line is the Pareto front. " + KEY,
}


def _markdown(df: pd.DataFrame) -> str:
    rows = [list(df.columns), ["---"] * len(df.columns), *df.astype(str).values.tolist()]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def _pm(mean, std) -> str:
    if pd.isna(mean):
        return "n/a"
    spec = ".1f" if abs(mean) >= 10 else ".2f"
    return f"{mean:{spec}} ± {std:{spec}}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "study"), help="models and run folders go here")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "study.md"), help="the document to write")
    ap.add_argument("--smoke", action="store_true", help="tiny models, few samples, one seed")
    ap.add_argument("--real", action="store_true", help="also N-MNIST and SHD from $SNNEMU_DATA, where they are")
    ap.add_argument("--table-only", action="store_true", help="rebuild the table and document from the folders")
    args = ap.parse_args(argv)
    plan = Plan.smoke() if args.smoke else Plan()
    if args.real:  # the loaders refuse a folder that does not hold the dataset, naming it
        root = os.environ.get("SNNEMU_DATA")
        if not root:
            print("paper_study.py: error: --real needs SNNEMU_DATA, the folder holding NMNIST and SHD", file=sys.stderr)
            return 2
        plan.datasets += [Dataset(f"{name}:{root}", d.arch, d.downsample, d.dt_us) for name, d in REAL.items()]
    out, doc = Path(args.out), Path(args.doc)
    t0 = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - t0:7.0f} s] {message}", file=sys.stderr, flush=True)

    counts: dict = {}  # models trained and runs made by this invocation, of all
    if not args.table_only:
        models = train_models(plan, out, log, counts)
        evaluate(plan, models, out, log, counts)
    command = ("python scripts/paper_study.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    made = out / "study_run.json"  # the full run's own command and wall time, for a later --table-only
    if args.table_only:
        run_info = json.loads(made.read_text()) if made.is_file() else {"command": command, "wall_s": None}
    else:
        run_info = {"command": command, "wall_s": time.perf_counter() - t0, "made": counts}
        made.write_text(json.dumps(run_info))
    runs, table = table_from_runs(out)
    figs = figures(table, plan, out, doc.parent / "figures")
    write_document(runs, table, plan, out, doc, figs, run_info["command"], run_info["wall_s"], run_info.get("made"))
    log(f"{len(runs)} runs -> {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
