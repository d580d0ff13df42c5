"""``snnemu demo``: the bundled demo model on the bundled digits data.

Runs the demo model (64-64-10 LIF, see ``scripts/build_demo_model.py``) on the
``digits`` test split in ``layered`` and in ``async`` mode on the ``loihi``
profile, prints a side-by-side table, writes both run folders with their
reports, and ends with the comparison of the two (``OUT/comparison``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import RunConfig
from ..model import DEMO_MODEL
from ..records import summarize, write_records
from ..reports import write_comparison, write_report
from ..runner import run

__all__ = ["run_demo", "comparison_table"]


def comparison_table(summaries: list[dict]) -> str:
    """A plain-text table, one column per run."""
    def fmt_acc(s):
        return "n/a" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f} %"

    rows = [
        ("mode", lambda s: s["mode"] + (f" ({s['queue']})" if s["queue"] else "")),
        ("accuracy", fmt_acc),
        ("spikes / inference", lambda s: f"{s['spikes']['total'] / s['samples']:.1f}"),
        ("synaptic events / inference", lambda s: f"{s['synaptic_events'] / s['samples']:.0f}"),
        ("mean latency", lambda s: f"{s['latency_s']['mean'] * 1e6:.2f} us"),
        ("mean first output", lambda s: "n/a" if s["first_output_s"]["mean"] is None
         else f"{s['first_output_s']['mean'] * 1e6:.2f} us"),
        ("energy / inference", lambda s: f"{s['energy_per_inference_j'] * 1e9:.2f} nJ"),
        ("  of which dynamic", lambda s: f"{(s['energy_j']['total'] - s['energy_j']['static']) / s['samples'] * 1e9:.2f} nJ"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = []
    for name, get in rows:
        cells = "".join(f"{get(s):>20}" for s in summaries)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)


def run_demo(out: str | Path = "demo_out", samples: int | None = None, progress=None, warn=None) -> list[dict]:
    """Run, print and write the demo; ``progress(desc)`` makes a progress callback per run."""
    out = Path(out)
    summaries = []
    for mode in ("layered", "async"):
        cfg = RunConfig(model=str(DEMO_MODEL), hw="loihi", data="digits", mode=mode,
                        samples=samples, workers=min(4, os.cpu_count() or 1))
        res = run(cfg, progress=None if progress is None else progress(f"{mode} on loihi"), warn=warn)
        write_records(res, out / mode)
        summaries.append(summarize(res))
    print(f"demo model {DEMO_MODEL.name} on the digits test split, loihi profile:\n")
    print(comparison_table(summaries))
    for mode in ("layered", "async"):
        write_report(out / mode)
    html = write_comparison([out / "layered", out / "async"], out / "comparison")
    print(f"\nrun folders (each with report.html): {out / 'layered'}, {out / 'async'}")
    print(f"comparison: {html}")
    return summaries
