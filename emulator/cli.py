"""The ``snnemu`` command line.

``snnemu run``, ``snnemu hw list|show``, ``snnemu report``, ``snnemu compare``, ``snnemu data
list|show|export``, ``snnemu inspect``, ``snnemu export``, ``snnemu demo``. Bad input prints one
line (``snnemu: error: FILE: FIELD: what is wrong``) and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys

from .errors import DeadlockError, InputError

__all__ = ["main"]



def _run_parser(sub) -> None:
    p = sub.add_parser("run", help="run a model on the emulated chip and write the records")
    p.add_argument("--model", required=True, help="NIR model file")
    p.add_argument("--hw", default="loihi", help="bundled profile name or a profile .yaml")
    p.add_argument("--data", default="digits",
                   help="digits | nmnist-digits | spoken-digits | nmnist:ROOT | shd:ROOT | dvsgesture:ROOT (add :train "
                        "for the training split) | events .npz, .nir or .h5 (see snnemu data list)")
    p.add_argument("--mode", default="layered", choices=["timestep", "layered", "async"])
    p.add_argument("--queue", default="fifo", choices=["fifo", "momentum", "random"])
    p.add_argument("--input", default="event", choices=["event", "frame"])
    p.add_argument("--samples", type=int, default=None, help="first N samples (default: all)")
    p.add_argument("--dt-us", type=int, default=None,
                   help="frame width in microseconds (default: the model's dt, else 1000)")
    p.add_argument("--frames", type=int, default=None,
                   help="instead of --dt-us: cut each sample into N equal frames (one timestep each)")
    p.add_argument("--downsample", type=int, default=1, help="pool K x K sensor pixels into one input (default 1)")
    p.add_argument("--max-us", type=int, default=None, help="drop each sample's events at or after this time")
    p.add_argument("--mapping", default="layer-fill", help="layer-fill | spread:K | mapping.yaml")
    p.add_argument("--noc", default="analytic", choices=["analytic", "routers"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes running samples in parallel")
    p.add_argument("--no-refractory", action="store_true",
                   help="async: let a neuron fire again within a timestep (default: refractory until the next)")
    p.add_argument("--realtime", action="store_true",
                   help="async: frame k enters at k times the model's dt, not when the network has drained")
    p.add_argument("--trace", action="store_true", help="also write events.parquet")
    p.add_argument("--engine", default="chip", choices=["chip", "functional"],
                   help="the emulated chip, or the NumPy functional reference (no hardware)")
    f = p.add_argument_group("functional engine only")
    f.add_argument("--F", type=int, default=None, help="async: spikes emitted per forward step (default: unlimited)")
    f.add_argument("--no-prioritize-input", action="store_true",
                   help="async: input spikes join the spike queue instead of being integrated first")
    f.add_argument("--refrac-dropout", type=float, default=0.0,
                   help="async: probability a fired neuron is not refractory")
    f.add_argument("--stop-on-output", type=int, default=None,
                   help="async: end a sample K forward steps after its first output spike")
    f.add_argument("--max-steps", type=int, default=None,
                   help="async: forward steps per timestep at most; queued spikes carry over")
    f.add_argument("--momentum-noise", type=float, default=0.0, help="async: tie-break noise of momentum")
    f.add_argument("--input-dropout", type=float, default=0.0, help="probability an input spike is dropped")
    f.add_argument("--spike-dropout", type=float, default=0.0, help="probability a network spike is dropped")
    p.add_argument("--out", required=True, help="output folder")


def _cmd_run(args) -> int:
    from .records import check_out_dir, summarize, write_records
    from .run import RunConfig, load_inputs, run

    check_out_dir(args.out)
    _check_options(args)
    cfg = RunConfig(model=args.model, hw=args.hw, data=args.data, mode=args.mode, queue=args.queue,
                    input=args.input, samples=args.samples, dt_us=args.dt_us, frames=args.frames,
                    downsample=args.downsample, max_us=args.max_us, mapping=args.mapping,
                    noc=args.noc, seed=args.seed, trace=args.trace, progress=True,
                    refractory=False if args.no_refractory else None, workers=args.workers,
                    engine=args.engine, F=args.F, prioritize_input=not args.no_prioritize_input,
                    refrac_dropout=args.refrac_dropout, stop_on_output=args.stop_on_output,
                    max_steps=args.max_steps, input_dropout=args.input_dropout, spike_dropout=args.spike_dropout,
                    momentum_noise=args.momentum_noise, realtime=args.realtime)
    if args.engine == "functional":
        from .functional_run import run_functional, write_functional_records
        from .functional_run import summarize as summarize_functional

        fres = run_functional(*load_inputs(cfg), cfg)
        out = write_functional_records(fres, args.out)
        s = summarize_functional(fres)
        print(f"functional {s['mode']}: {s['samples']} samples, accuracy {_percent(s['accuracy'])}, "
              f"{s['spikes']['total'] / s['samples']:.1f} spikes/sample, "
              f"{s['forward_steps']['mean']:.1f} steps/sample -> {out}")
        return 0
    res = run(cfg)
    out = write_records(res, args.out)
    s = summarize(res)
    print(f"{s['mode']} on {s['hw']}: {s['samples']} samples, accuracy {_percent(s['accuracy'])}, "
          f"{s['energy_per_inference_j'] * 1e9:.2f} nJ/inference, "
          f"mean latency {s['latency_s']['mean'] * 1e6:.2f} us -> {out}")
    return 0


def _percent(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _check_options(args) -> None:
    """Ranges of the functional engine's options, and none that would be ignored."""
    for name, low in (("F", 1), ("max_steps", 1), ("stop_on_output", 0)):
        value = getattr(args, name)
        if value is not None and value < low:
            raise InputError(f"--{name.replace('_', '-')}", name, f"must be at least {low}, got {value}")
    for name in ("refrac_dropout", "input_dropout", "spike_dropout"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise InputError(f"--{name.replace('_', '-')}", name, f"must be a probability, got {getattr(args, name)}")
    if args.realtime and (args.engine != "chip" or args.mode != "async" or args.input != "event"):
        raise InputError("--realtime", "realtime", "applies only to the chip in async mode with --input event")
    only = FUNCTIONAL if args.engine == "chip" else FUNCTIONAL_ASYNC if args.mode != "async" else {}
    for name, default in only.items():
        if getattr(args, name) != default:
            where = "--engine functional" if args.engine == "chip" else "--mode async"
            raise InputError(f"--{name.replace('_', '-')}", name, f"applies only with {where}")


FUNCTIONAL_ASYNC = {"F": None, "no_prioritize_input": False, "refrac_dropout": 0.0, "stop_on_output": None,
                    "max_steps": None, "momentum_noise": 0.0}
FUNCTIONAL = {**FUNCTIONAL_ASYNC, "input_dropout": 0.0, "spike_dropout": 0.0}


def _cmd_hw(args) -> int:
    from hw_models.profile import bundled_profiles, describe, load_profile, summary_line

    if args.hw_cmd == "list":
        for name in bundled_profiles():
            print(summary_line(load_profile(name)))
    else:
        print(describe(load_profile(args.name)))
    return 0


def _cmd_report(args) -> int:
    from .report import write_report

    formats = ("html", "md") if args.format == "both" else (args.format,)
    for path in write_report(args.run_dir, out=args.out, formats=formats, sample=args.sample):
        print(path)
    return 0


def _cmd_compare(args) -> int:
    from .compare import baseline_index, check_out, parse_modes, run_combinations, write_comparison

    out = check_out(args.out)
    folders = list(args.runs or [])
    if args.model:
        if args.runs:
            raise InputError("--runs", "runs", "give either --model (to run) or --runs (to read), not both")
        modes, hws = parse_modes(args.modes), args.hw or ["loihi"]
        if args.baseline is not None and str(args.baseline).isdigit():  # before hours of runs, not after
            baseline_index(args.baseline, [""] * (len(args.model) * len(hws) * len(modes)))
        folders = run_combinations(args.model, hws, modes, args.data, out,
                                   samples=args.samples, workers=args.workers, seed=args.seed)
    elif not folders:
        raise InputError("--model", "model", "give --model files to run, or --runs folders to read")
    html = write_comparison(folders, out, baseline=args.baseline)
    print(f"comparison of {len(folders)} runs: {html}")
    return 0


def _cmd_data(args) -> int:
    from .data_cmd import data_export, data_list, data_show

    if args.data_cmd == "list":
        print("\n".join(data_list()))
        return 0
    prep = {"samples": args.samples, "max_us": args.max_us, "factor": args.downsample}
    if args.data_cmd == "show":
        for path in data_show(args.name, args.sample, args.out, **prep):
            print(path)
    else:
        ev = data_export(args.name, args.to, **prep)
        print(f"{ev.n_samples} samples, {ev.n_events} events, sensor {'x'.join(map(str, ev.sensor_size))} -> {args.to}")
    return 0


def _data_parser(sub) -> None:
    data = sub.add_parser("data", help="event datasets: list, show, export")
    data_sub = data.add_subparsers(dest="data_cmd", required=True)
    data_sub.add_parser("list", help="the built-in datasets, and the local ones found under $SNNEMU_DATA")
    show = data_sub.add_parser("show", help="events_summary.json and plots of a dataset and one sample")
    export = data_sub.add_parser("export", help="write a dataset as an events .npz or NIR EventData (.nir)")
    for p in (show, export):
        p.add_argument("name", help="a dataset spec, as for snnemu run --data")
        p.add_argument("--samples", type=int, default=None, help="first N samples (default: all)")
        p.add_argument("--max-us", type=int, default=None, help="drop each sample's events at or after this time")
        p.add_argument("--downsample", type=int, default=1, help="pool K x K pixels into one")
    show.add_argument("--sample", type=int, default=0, help="the sample to plot (default 0)")
    show.add_argument("--out", required=True, help="output folder")
    export.add_argument("--to", required=True, help="FILE.npz or FILE.nir")


def _cmd_inspect(args) -> int:
    from hw_models.profile import load_profile

    from .inspect_cmd import describe_model
    from .nir_io import load_nir

    net = load_nir(args.model, dt_fallback_s=args.dt_us * 1e-6)
    print("\n".join(describe_model(net, load_profile(args.hw), args.model)))
    return 0


def _cmd_export(args) -> int:
    from .nir_io import load_nir, save_nir

    net = load_nir(args.model, dt_fallback_s=args.dt_us * 1e-6)
    save_nir(net, args.to)
    print(f"{args.model} -> {args.to}: {net.n_layers} layers, dt {net.dt_s * 1e6:g} us")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, samples=args.samples)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snnemu", description="Discrete-event emulator of a many-core neuromorphic chip.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _run_parser(sub)
    hw = sub.add_parser("hw", help="hardware profiles")
    hw_sub = hw.add_subparsers(dest="hw_cmd", required=True)
    hw_sub.add_parser("list", help="the bundled profiles, one line each")
    show = hw_sub.add_parser("show", help="one whole profile, validated, with units")
    show.add_argument("name")
    rep = sub.add_parser("report", help="energy, mesh, latency and activity report of a run folder")
    rep.add_argument("run_dir", help="a run folder written by snnemu run --out")
    rep.add_argument("--format", default="both", choices=["html", "md", "both"],
                     help="report.html (self-contained), report.md, or both (default); PNGs are written either way")
    rep.add_argument("--out", default=None, help="folder for the report (default: the run folder)")
    rep.add_argument("--sample", type=int, default=0, help="the sample of the spike raster (with --trace runs)")
    cmp = sub.add_parser("compare", help="run models x profiles x modes (or read run folders) and compare them")
    cmp.add_argument("--model", action="append", help="NIR model file (repeat for several)")
    cmp.add_argument("--hw", action="append", help="profile name or .yaml (repeat; default loihi)")
    cmp.add_argument("--data", default="digits", help="a dataset spec, as for snnemu run --data")
    cmp.add_argument("--modes", default="layered,async",
                     help="comma-separated: timestep, layered, async[:fifo|momentum|random] (default layered,async)")
    cmp.add_argument("--runs", nargs="+", help="existing run folders to compare instead of running")
    cmp.add_argument("--baseline", default=None, help="the ratios' baseline: run number (1-based) or label; default 1")
    cmp.add_argument("--samples", type=int, default=None, help="first N samples (default: all)")
    cmp.add_argument("--workers", type=int, default=1, help="processes running samples in parallel")
    cmp.add_argument("--seed", type=int, default=0)
    cmp.add_argument("--out", required=True, help="output folder (run folders go to OUT/runs/)")
    _data_parser(sub)
    ins = sub.add_parser("inspect", help="the layers, neurons, synapses, dt and cores of a NIR model")
    ins.add_argument("model", help="NIR model file")
    ins.add_argument("--hw", default="loihi", help="profile for the core count (default loihi)")
    ins.add_argument("--dt-us", type=int, default=1000, help="dt when the graph gives none (default 1000)")
    exp = sub.add_parser("export", help="write a model as the emulator reads it, back to NIR")
    exp.add_argument("--model", required=True, help="NIR model file")
    exp.add_argument("--to", required=True, help="output .nir file")
    exp.add_argument("--dt-us", type=int, default=1000, help="dt when the graph gives none (default 1000)")
    demo = sub.add_parser("demo", help="run the demo model in layered and async mode on loihi")
    demo.add_argument("--out", default="demo_out")
    demo.add_argument("--samples", type=int, default=None)
    args = parser.parse_args(argv)
    commands = {"run": _cmd_run, "hw": _cmd_hw, "report": _cmd_report, "compare": _cmd_compare,
                "data": _cmd_data, "inspect": _cmd_inspect, "export": _cmd_export, "demo": _cmd_demo}
    try:
        return commands[args.cmd](args)
    except InputError as exc:
        print(f"snnemu: error: {exc}", file=sys.stderr)
        return 2
    except DeadlockError as exc:
        print(f"snnemu: error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
