"""The mismatch study: a layer-trained model under asynchronous execution.

Runs the layer-trained demo model (``make model`` trains it) on
the digits test split:

1. in the functional reference's async mode with F (spikes per forward step)
   in {1, 2, 4, 8, 16, 64, inf} and the schedulers fifo, momentum and random:
   accuracy, spikes per sample and latency in forward steps (network spikes
   processed before the first output spike); the layered mode as the baseline;
2. on the emulated loihi chip in layered and async mode: accuracy, latency in
   seconds and energy per inference.

Writes ``docs/mismatch_study.md`` (the tables) and ``docs/mismatch_accuracy.png``
(accuracy against F per scheduler). Run: ``python scripts/mismatch_study.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emulator import DEMO_MODEL, RunConfig, load_inputs, run_network, summarize  # noqa: E402
from emulator.functional import run_functional  # noqa: E402
from hw_models.profile import load_profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FS = [1, 2, 4, 8, 16, 64, None]
SCHEDULERS = ["fifo", "momentum", "random"]
COLORS = {"fifo": "#0072B2", "momentum": "#D55E00", "random": "#009E73"}  # Okabe-Ito, colour-blind safe


def functional_rows(net, frames, labels):
    rows = []
    base = run_functional(net, frames, labels, RunConfig(model=str(DEMO_MODEL), mode="layered", engine="functional"))
    rows.append(("layered", "-", base.result))
    for queue in SCHEDULERS:
        for F in FS:
            cfg = RunConfig(model=str(DEMO_MODEL), mode="async", queue=queue, F=F, engine="functional")
            rows.append((queue, "inf" if F is None else str(F), run_functional(net, frames, labels, cfg).result))
    return rows


def chip_rows(net, frames, labels):
    out = []
    for mode, queue in (("layered", "fifo"), ("async", "fifo"), ("async", "momentum")):
        cfg = RunConfig(model=str(DEMO_MODEL), hw="loihi", mode=mode, queue=queue, workers=2)
        out.append(summarize(run_network(net, load_profile("loihi"), frames, labels, cfg)))
    return out


def _unlimited_f(rows, labels, net) -> str:
    """Whether F = inf gives layered mode's spikes, and the reason when it does not."""
    spikes = {(q, F): r.spikes[:, 1:].sum() for q, F, r in rows}
    if spikes["fifo", "inf"] == spikes["layered", "-"]:
        return ("- At F = inf the reference gives layered mode's spikes and accuracy: every spike of a "
                "forward step is emitted at once, so activity moves one layer per step, as in a layer phase.")
    subtract = any(p.subtract.any() for p in net.populations[1:])
    why = ("the model resets by subtraction, and a neuron left over threshold by its reset fires at the first "
           "forward step of the next timestep, before its layer's input arrives; layered mode integrates that "
           "input first") if subtract else "a neuron the leak leaves over threshold fires before its input arrives"
    return f"- Even F = inf is not exactly layered here: {why}."


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=None, help="first N test samples (default: all 360)")
    ap.add_argument("--out", default=str(ROOT / "docs"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    inputs = load_inputs(RunConfig(model=str(DEMO_MODEL), samples=args.samples, engine="functional"))
    net, frames, labels = inputs.network, inputs.frames, inputs.labels
    rows = functional_rows(net, frames, labels)
    chips = chip_rows(net, frames, labels)

    lines = [
        "# Mismatch study: a layer-trained model under asynchrony",
        "",
        f"Demo model `{DEMO_MODEL.name}` (64-64-10 LIF, trained layer-synchronized), digits test split, "
        f"{len(frames)} samples. Regenerate with `python scripts/mismatch_study.py`.",
        "",
        "## Functional reference (no hardware)",
        "",
        "Async mode in forward steps with prioritized input and refractory-until-next-timestep; "
        "latency = network spikes processed before the first output spike (mean over samples with one); "
        "steps = forward steps (for layered: its layer phases, timesteps x layers).",
        "",
        "| scheduler | F | accuracy | spikes / sample | latency (forward steps) | steps / sample |",
        "|---|---|---|---|---|---|",
    ]
    for queue, F, r in rows:
        lat = np.nanmean(r.latency_steps) if np.isfinite(r.latency_steps).any() else float("nan")
        acc = float((r.pred_rate == labels).mean())
        lines.append(f"| {queue} | {F} | {100 * acc:.1f} % | {r.spikes[:, 1:].sum(axis=1).mean():.1f} | "
                     f"{lat:.1f} | {r.forward_steps.mean():.1f} |")
    lines += [
        "",
        "## Emulated chip (loihi profile)",
        "",
        "| mode | queue | accuracy | spikes / sample | mean latency (µs) | first output (µs) | energy / inference (nJ) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in chips:
        lines.append(f"| {s['mode']} | {s['queue'] or '-'} | {100 * s['accuracy']:.1f} % | "
                     f"{s['spikes']['total'] / s['samples']:.1f} | {s['latency_s']['mean'] * 1e6:.2f} | "
                     f"{s['first_output_s']['mean'] * 1e6:.2f} | {s['energy_per_inference_j'] * 1e9:.1f} |")
    acc = {(q, F): float((r.pred_rate == labels).mean()) for q, F, r in rows}
    chip_l, chip_a = chips[0], chips[1]
    lines += [
        "",
        "## What it shows",
        "",
        f"- On the chip, running the layer-trained model asynchronously (every input spike its own packet, "
        f"fifo) costs {100 * (chip_l['accuracy'] - chip_a['accuracy']):.1f} points of accuracy "
        f"({100 * chip_l['accuracy']:.1f} % layered, {100 * chip_a['accuracy']:.1f} % async) and is slower "
        f"({chip_l['latency_s']['mean'] * 1e6:.1f} against {chip_a['latency_s']['mean'] * 1e6:.1f} µs per "
        "sample): on this cost model every packet pays a neuron update per target, where a layer phase "
        "updates each neuron once.",
        f"- In the reference, with the frame's input integrated first, accuracy moves little with F "
        f"(fifo: {100 * acc[('fifo', '1')]:.1f} % at F = 1, {100 * acc[('fifo', 'inf')]:.1f} % at F = inf): "
        "the model gains no accuracy from asynchrony, while the first output comes after fewer processed "
        "spikes as F shrinks.",
        _unlimited_f(rows, labels, net),
    ]
    (out / "mismatch_study.md").write_text("\n".join(lines) + "\n")

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    x = np.arange(len(FS))
    for queue in SCHEDULERS:
        acc = [float((r.pred_rate == labels).mean()) * 100 for q, _, r in rows if q == queue]
        ax.plot(x, acc, marker="o", color=COLORS[queue], label=f"async, {queue}")
    layered = float((rows[0][2].pred_rate == labels).mean()) * 100
    ax.axhline(layered, color="black", linestyle="--", linewidth=1, label="layered (as trained)")
    ax.set_xticks(x, ["1", "2", "4", "8", "16", "64", "∞"])
    ax.set_xlabel("F, spikes emitted per forward step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Layer-trained demo model under asynchronous execution")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "mismatch_accuracy.png")
    print("\n".join(lines))
    print(f"\nwrote {out / 'mismatch_study.md'} and {out / 'mismatch_accuracy.png'}")


if __name__ == "__main__":
    main()
