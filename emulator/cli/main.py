"""The ``snnemu`` command line.

``snnemu run``, ``snnemu hw list|show``, ``snnemu report``, ``snnemu compare``, ``snnemu data
list|show|export``, ``snnemu inspect``, ``snnemu export``, ``snnemu demo``, ``snnemu train``
(``cli/train.py``). Bad input prints one
line (``snnemu: error: FILE: FIELD: what is wrong``) and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import RunConfig, flag_of, option_fields, refuse_unused, validate
from ..progress import Progress
from .boundary import OneLineParser, Unset, error_boundary, given_options
from .sweep import add_compare_parser, add_sweep_parser, run_compare, run_sweep
from .train import add_train_parser, run_train

__all__ = ["build_parser", "main"]


def _run_parser(sub) -> None:
    """``snnemu run``: one flag per option of :class:`~emulator.config.RunConfig`, from its declaration."""
    p = sub.add_parser("run", help="run a model on the emulated chip and write the records")
    groups = {}
    for f in option_fields():
        group = f.metadata["group"]
        _add_option(p if group is None else groups.setdefault(group, p.add_argument_group(group)), f)
    p.add_argument("--out", required=True, help="output folder")


def _add_option(target, f) -> None:
    """The flag of one RunConfig field, from its declaration."""
    meta = f.metadata
    kwargs = {"dest": f.name, "help": meta["help"]}
    if f.name == "refractory":  # --no-refractory: False; unset: the mode's default
        kwargs.update(action="store_const", const=False, default=None)
    elif isinstance(f.default, tuple):  # repeatable: --hw-set A=1 --hw-set B=2
        kwargs.update(action="append", default=None)
    elif isinstance(f.default, bool):  # --X turns on an option that is off, --no-X one that is on
        kwargs.update(action="store_false" if f.default else "store_true")
    else:
        kwargs.update(type=_type_of(f), choices=meta["choices"])
        if meta["required"]:
            kwargs["required"] = True
        else:
            kwargs["default"] = Unset(f.default)  # told apart from the same value given (given_options)
    target.add_argument(flag_of(f), **kwargs)


def _model_options(parser) -> None:
    """``--nir-from`` and ``--reset``, for every command that loads a model."""
    for f in option_fields():
        if f.name in ("nir_from", "reset"):
            _add_option(parser, f)


def config_from_args(args, **given) -> RunConfig:
    """The RunConfig of parsed arguments (a repeatable flag never given is an empty tuple)."""
    values = {f.name: getattr(args, f.name) for f in option_fields() if hasattr(args, f.name)}
    values.update({f.name: tuple(values.get(f.name) or ()) for f in option_fields() if isinstance(f.default, tuple)})
    return RunConfig(**{**values, **given})


def _given_config(args) -> RunConfig:
    """``snnemu run``'s RunConfig; a flag the run would ignore is refused even where it repeats its
    default (``--queue fifo --mode layered``)."""
    cfg = validate(config_from_args(args))
    refuse_unused(cfg, given_options(args))
    return cfg


def _type_of(f):
    """The argparse type of an option, from its annotation (a string, with postponed annotations)."""
    kind = str(f.type)
    return float if "float" in kind else int if "int" in kind else str


def _cmd_run(args) -> int:
    from ..records import check_out_dir, summarize, write_records
    from ..runner import run

    check_out_dir(args.out)
    cfg = _given_config(args)
    desc = f"functional {cfg.mode}" if cfg.engine == "functional" else f"{cfg.mode} on {Path(cfg.hw).stem}"
    res = run(cfg, progress=_progress(desc), warn=_warn)
    out = write_records(res, args.out)
    s = summarize(res)
    if cfg.engine == "functional":
        print(f"functional {s['mode']}: {s['samples']} samples, accuracy {_percent(s['accuracy'])}, "
              f"{s['spikes']['total'] / s['samples']:.1f} spikes/sample, "
              f"{s['forward_steps']['mean']:.1f} steps/sample -> {out}")
        return 0
    print(f"{s['mode']} on {s['hw']}: {s['samples']} samples, accuracy {_percent(s['accuracy'])}, "
          f"{s['energy_per_inference_j'] * 1e9:.2f} nJ/inference, "
          f"mean latency {s['latency_s']['mean'] * 1e6:.2f} us -> {out}")
    return 0


def _percent(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _warn(message: str) -> None:
    print(f"snnemu: warning: {message}", file=sys.stderr)


def _progress(desc: str) -> Progress:
    """A progress callback for the run API: samples done, on stderr."""
    return Progress(desc, "sample")


def _cmd_hw(args) -> int:
    from hw_models.profile import bundled_profiles, describe, load_profile, summary_line

    if args.hw_cmd == "list":
        for name in bundled_profiles():
            print(summary_line(load_profile(name)))
    else:
        print(describe(load_profile(args.name)))
    return 0


def _cmd_report(args) -> int:
    from ..reports import write_report

    formats = ("html", "md") if args.format == "both" else (args.format,)
    for path in write_report(args.run_dir, out=args.out, formats=formats, sample=args.sample):
        print(path)
    return 0


def _cmd_data(args) -> int:
    from .data import data_export, data_list, data_show

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

    from ..model import load_nir
    from .inspect import describe_model

    net = load_nir(args.model, dt_fallback_s=args.dt_us * 1e-6, dialect=args.nir_from, reset=args.reset)
    print("\n".join(describe_model(net, load_profile(args.hw), args.model)))
    return 0


def _cmd_export(args) -> int:
    from ..model import load_nir, save_nir

    net = load_nir(args.model, dt_fallback_s=args.dt_us * 1e-6, dialect=args.nir_from, reset=args.reset)
    save_nir(net, args.to)
    print(f"{args.model} -> {args.to}: {net.n_layers} layers, dt {net.dt_s * 1e6:g} us")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, samples=args.samples, progress=_progress, warn=_warn)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole ``snnemu`` command line."""
    parser = OneLineParser(prog="snnemu", description="Discrete-event emulator of a many-core neuromorphic chip.")
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
    add_compare_parser(sub, _add_option)
    add_sweep_parser(sub)
    _data_parser(sub)
    ins = sub.add_parser("inspect", help="the layers, neurons, synapses, dt and cores of a NIR model")
    ins.add_argument("model", help="NIR model file")
    ins.add_argument("--hw", default="loihi", help="profile for the core count (default loihi)")
    ins.add_argument("--dt-us", type=int, default=1000, help="dt when the graph gives none (default 1000)")
    _model_options(ins)
    exp = sub.add_parser("export", help="write a model as the emulator reads it, back to NIR")
    exp.add_argument("--model", required=True, help="NIR model file")
    exp.add_argument("--to", required=True, help="output .nir file")
    exp.add_argument("--dt-us", type=int, default=1000, help="dt when the graph gives none (default 1000)")
    _model_options(exp)
    demo = sub.add_parser("demo", help="run the demo model in layered and async mode on loihi")
    demo.add_argument("--out", default="demo_out")
    demo.add_argument("--samples", type=int, default=None)
    add_train_parser(sub, _add_option)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; whatever goes wrong ends as one line on stderr and an exit code
    (``cli/boundary.py``: 2 bad input, 3 a deadlock, 1 a bug, with its traceback saved)."""
    commands = {"run": _cmd_run, "hw": _cmd_hw, "report": _cmd_report,
                "compare": lambda args: run_compare(args, _warn), "sweep": lambda args: run_sweep(args, _warn),
                "data": _cmd_data, "inspect": _cmd_inspect, "export": _cmd_export, "demo": _cmd_demo,
                "train": run_train}
    with error_boundary() as outcome:
        args = build_parser().parse_args(argv)
        outcome.code = commands[args.cmd](args)
    return outcome.code
