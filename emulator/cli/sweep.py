"""``snnemu sweep`` and ``snnemu compare``: many configurations on one task engine (``emulator.sweep``).

``snnemu sweep SWEEP.yaml --out DIR`` runs a sweep file's configurations;
``snnemu compare --model ... --hw ... --modes ...`` runs models x profiles x
modes with any ``snnemu run`` option (or reads ``--runs`` folders) and
compares them. Both run locally on ``--workers`` processes, or on a Dask
cluster (``--scheduler``, ``--local-cluster``), and end with a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import option_fields
from ..errors import InputError
from ..progress import Progress
from .boundary import INTERRUPTED, SOME_FAILED

__all__ = ["add_compare_parser", "add_sweep_parser", "run_compare", "run_sweep"]


def _pool_options(p) -> None:
    p.add_argument("--workers", type=int, default=1, help="local processes running tasks in parallel (default 1)")
    p.add_argument("--scheduler", default=None, help="run on an existing Dask cluster, tcp://HOST:8786 "
                                                     "(pip install 'snnemu[distributed]')")
    p.add_argument("--local-cluster", type=int, default=None, metavar="N",
                   help="run on a Dask LocalCluster of N worker processes started here")


def add_sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a sweep file's grid of configurations, resumably, with a Pareto report")
    p.add_argument("sweep", nargs="?", help="the sweep file (YAML); snnemu sweep --example prints one")
    p.add_argument("--out", help="output folder: runs/, store/, sweep.html")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out; finished chunks are kept")
    p.add_argument("--example", action="store_true", help="print an annotated example sweep file and exit")
    _pool_options(p)


def add_compare_parser(sub, add_option) -> None:
    """``compare``: its own flags, and every ``snnemu run`` option but the ones it varies."""
    p = sub.add_parser("compare", help="run models x profiles x modes (or read run folders) and compare them")
    p.add_argument("--model", action="append", help="NIR model file (repeat for several)")
    p.add_argument("--hw", action="append", help="profile name or .yaml (repeat; default loihi)")
    p.add_argument("--modes", default="layered,async",
                   help="comma-separated: timestep, layered, async[:fifo|momentum|random] (default layered,async)")
    p.add_argument("--runs", nargs="+", help="existing run folders to compare instead of running")
    p.add_argument("--baseline", default=None, help="the ratios' baseline: run number (1-based) or label; default 1")
    p.add_argument("--out", required=True, help="output folder (run folders go to OUT/runs/)")
    p.add_argument("--local-cluster", type=int, default=None, metavar="N",
                   help="run on a Dask LocalCluster of N worker processes started here")
    for f in option_fields():
        if f.name not in ("model", "hw", "mode", "queue"):
            add_option(p, f)


def _pool(args):
    from ..parallel import make_pool

    _check_pool_options(args)
    return make_pool(args.workers, args.scheduler, args.local_cluster)


def _check_pool_options(args) -> None:
    """Where the tasks go: checked before the sweep file is read, so that a bad value is the only line."""
    if args.scheduler is not None and not str(args.scheduler).startswith(("tcp://", "tls://")):
        raise InputError("--scheduler", "scheduler", f"{args.scheduler!r}: expected tcp://HOST:8786")
    if args.workers < 1:
        raise InputError("--workers", "workers", f"must be at least 1, got {args.workers}")
    if args.local_cluster is not None and args.local_cluster < 1:
        raise InputError("--local-cluster", "local_cluster", f"must be at least 1, got {args.local_cluster}")


def run_sweep(args, warn) -> int:
    from ..sweep import check_sweep_out, example_text, load_sweep, run_points

    if args.example:
        print(example_text(), end="")
        return 0
    if not args.sweep or not args.out:
        raise InputError("sweep", "arguments", "give a sweep file and --out DIR (snnemu sweep --example prints a file)")
    _check_pool_options(args)
    out = check_sweep_out(args.out, args.resume)
    points = load_sweep(args.sweep)  # every configuration validated before any task starts
    print(f"sweep {args.sweep}: {len(points)} configurations -> {out}", file=sys.stderr)
    try:
        outcome = run_points(points, out, _pool(args), progress=Progress("sweep", "task"), warn=warn)
    except KeyboardInterrupt:
        print(f"\nsnnemu: interrupted; the finished chunks are kept: snnemu sweep {args.sweep} --out {out} --resume",
              file=sys.stderr)
        return INTERRUPTED
    if outcome.reused:
        print(f"resumed: {outcome.reused} chunks were already done, {outcome.computed} computed now", file=sys.stderr)
    _print_table(outcome.folders)
    return _finish(outcome, out / "sweep.html")


def run_compare(args, warn) -> int:
    from ..reports import baseline_index, check_out, write_comparison
    from ..sweep import grid_points, parse_modes, run_points
    from .main import config_from_args

    out = check_out(args.out)
    folders = list(args.runs or [])
    if args.model:
        if args.runs:
            raise InputError("--runs", "runs", "give either --model (to run) or --runs (to read), not both")
        shared = config_from_args(args, model=args.model[0], hw="loihi").__dict__  # what every run shares
        options = {k: v for k, v in shared.items() if k not in ("model", "hw", "mode", "queue", "workers",
                                                                 "scheduler")}
        points = grid_points(args.model, args.hw or ["loihi"], parse_modes(args.modes), options)
        if args.baseline is not None and str(args.baseline).isdigit():  # before hours of runs, not after
            baseline_index(args.baseline, [""] * len(points))
        outcome = run_points(points, out, _pool(args), progress=Progress("compare", "task"), warn=warn,
                             report=False, on_config=lambda name, folder: print(f"  ran {name}", file=sys.stderr))
        if outcome.failed:
            return _finish(outcome, None)
        folders = outcome.folders
    elif not folders:
        raise InputError("--model", "model", "give --model files to run, or --runs folders to read")
    html = write_comparison(folders, out, baseline=args.baseline)
    print(f"comparison of {len(folders)} runs: {html}")
    return 0


def _finish(outcome, report: Path | None) -> int:
    if report is not None and outcome.folders:
        print(f"report: {report}")
    for name, error in outcome.failed:
        print(f"snnemu: error: configuration {name} failed: {error}", file=sys.stderr)
    if outcome.failed:
        print(f"{len(outcome.failed)} of {len(outcome.failed) + len(outcome.folders)} configurations failed",
              file=sys.stderr)
        return SOME_FAILED
    return 0


def _print_table(folders: list[Path]) -> None:
    """The finished configurations, one line each, as compare shows them."""
    from ..records import load_run

    rows = []
    for folder in folders:
        s = load_run(folder).summary
        acc = "n/a" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f}%"
        energy = s.get("energy_per_inference_j")
        latency = (s.get("latency_s") or {}).get("mean")
        rows.append((folder.name, acc, "n/a" if energy is None else f"{energy * 1e9:.2f}",
                     "n/a" if latency is None else f"{latency * 1e6:.2f}"))
    head = ("configuration", "accuracy", "nJ/inference", "mean latency (us)")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
