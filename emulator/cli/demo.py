"""``snnemu demo``: the bundled demo models on the bundled digits data.

Two 64-64-10 LIF models trained on the ``digits`` training split by ``snnemu
train`` (``make model``): one layer-synchronized (BPTT), one unlayered (the
async scheduler in the training graph). On the ``digits`` test split and the
``loihi`` profile it runs the layer-trained model in ``layered`` and in
``async`` mode, and the unlayered-trained one in ``async`` mode with an early
decision; prints a side-by-side table, writes the three run folders with
their reports, and ends with their comparison (``OUT/comparison``).

Async runs take each frame's input as one batch (``--input frame``), the
input the unlayered model was trained with. The early decision ends a sample
25 output spikes after its first (``--stop-on-output 25``): the smallest K of
10, 20, 25, 30 that kept the unlayered model within 2 points of its accuracy
without a stop on the *training* split, with the demo's mapping (96.3 %
without, 93.6 % at 20, 94.8 % at 25). Every run uses ``spread:2``: each layer
on two cores, the first (cores 2 and 3) in tile (0, 0) beside loihi's I/O port,
the second (cores 4 and 5) in tile (1, 0), so that spikes cross the mesh and
the reports' NoC figures show them; layer-fill would keep all traffic inside
tile (0, 0).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import RunConfig
from ..model import DEMO_MODEL, DEMO_UNLAYERED_MODEL
from ..records import summarize, write_records
from ..reports import write_comparison, write_report
from ..runner import run

__all__ = ["DEMO_MAPPING", "DEMO_RUNS", "DEMO_STOP", "run_demo", "comparison_table"]

DEMO_STOP = 25  # see the module docstring
DEMO_MAPPING = "spread:2"  # two cores per layer on two tiles: spikes cross the mesh, so the NoC figures show it

# (folder, model, options): the problem (a layer-trained model loses accuracy asynchronously) and the answer
DEMO_RUNS = (("layered", DEMO_MODEL, {"mode": "layered"}),
             ("async", DEMO_MODEL, {"mode": "async", "input": "frame"}),
             ("unlayered-async-decision", DEMO_UNLAYERED_MODEL,
              {"mode": "async", "input": "frame", "stop_on_output": DEMO_STOP}))


def comparison_table(summaries: list[dict]) -> str:
    """A plain-text table, one column per run."""
    def fmt_acc(s):
        return "n/a" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f} %"

    rows = [
        ("model", lambda s: s["model"]),
        ("mode", lambda s: s["mode"] + (f" ({s['queue']})" if s["queue"] else "")),
        ("early decision", lambda s: "-" if s["stop_on_output"] is None else f"K = {s['stop_on_output']}"),
        ("accuracy", fmt_acc),
        ("spikes / inference", lambda s: f"{s['spikes']['total'] / s['samples']:.1f}"),
        ("synaptic events / inference", lambda s: f"{s['synaptic_events'] / s['samples']:.0f}"),
        ("mean decision time", lambda s: f"{s['decision_s']['mean'] * 1e6:.2f} us"),
        ("mean first output", lambda s: "n/a" if s["first_output_s"]["mean"] is None
         else f"{s['first_output_s']['mean'] * 1e6:.2f} us"),
        ("energy / inference", lambda s: f"{s['energy_per_inference_j'] * 1e9:.2f} nJ"),
        ("  of which dynamic", lambda s: f"{(s['energy_j']['total'] - s['energy_j']['static']) / s['samples'] * 1e9:.2f} nJ"),
        ("EDP", lambda s: f"{s['edp_js'] * 1e15:.0f} nJ us"),
    ]
    width = max(len(r[0]) for r in rows)
    cells = [[get(s) for s in summaries] for _, get in rows]
    cols = [max(20, 2 + max(len(row[k]) for row in cells)) for k in range(len(summaries))]
    return "\n".join(f"{name:<{width}}" + "".join(f"{c:>{w}}" for c, w in zip(row, cols))
                     for (name, _), row in zip(rows, cells))


def run_demo(out: str | Path = "demo_out", samples: int | None = None, progress=None, warn=None) -> list[dict]:
    """Run, print and write the demo; ``progress(desc)`` makes a progress callback per run."""
    out = Path(out)
    summaries = []
    for folder, model, options in DEMO_RUNS:
        cfg = RunConfig(model=str(model), hw="loihi", data="digits", samples=samples, mapping=DEMO_MAPPING,
                        workers=min(4, os.cpu_count() or 1), **options)
        desc = f"{model.stem}, {cfg.mode} on loihi"
        res = run(cfg, progress=None if progress is None else progress(desc), warn=warn)
        write_records(res, out / folder)
        summaries.append(summarize(res))
    print("the demo models on the digits test split, loihi profile (layer-trained: demo_digits, "
          "unlayered-trained: demo_digits_unlayered):\n")
    print(comparison_table(summaries))
    folders = [out / folder for folder, _, _ in DEMO_RUNS]
    for folder in folders:
        write_report(folder)
    html = write_comparison(folders, out / "comparison")
    print(f"\nrun folders (each with report.html): {', '.join(map(str, folders))}")
    print(f"comparison: {html}")
    return summaries
