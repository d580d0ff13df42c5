"""A sweep file: its axes, expanded into configurations, each validated before anything runs.

The file (YAML) names fixed options and axes; each axis is a list of values::

    combine: product          # or zip
    data: digits
    samples: 40
    seed: 0
    options: {dt_us: 1000}    # what every configuration shares (snnemu run's options, by field name)
    axes:
      model: [demo]
      hw: [loihi, {name: seneca, overrides: {core.queue_capacity: [8, 64]}}]
      mode: [layered, async]
      queue: [fifo, momentum]
      noc.hop_latency_s.east_west: [2.0e-9, 8.0e-9]   # a profile field: overrides every profile

An axis is a :class:`~emulator.config.RunConfig` field or a profile field by
its dotted path. ``product`` takes every combination, ``zip`` the i-th value
of every axis together. A value that a configuration cannot use (a queue
policy outside async mode, a profile on the functional engine) is dropped,
and configurations that become equal run once. Bad input is reported as
``SWEEP.yaml: KEY: what is wrong``, naming the sweep file and its key.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from hw_models.profile import read_yaml

from ..config import MODE_NAMES, QUEUE_NAMES, RunConfig, check_network, validate
from ..errors import InputError
from ..model import DEMO_MODEL, DEMO_UNLAYERED_MODEL, load_nir
from ..runner import config_key, load_inputs

__all__ = ["COMBINES", "SweepPoint", "example_text", "grid_points", "load_sweep", "parse_modes", "points_of"]

COMBINES = ("product", "zip")
TOP_KEYS = ("combine", "data", "samples", "seed", "options", "axes")
PROFILE_SECTIONS = ("mesh", "core", "noc", "io", "barrier")  # a dotted axis under one of these is a profile field
NOT_OPTIONS = ("workers", "scheduler", "hw_set")  # where it runs is the command line's; overrides are axes
BUNDLED_MODELS = {"demo": DEMO_MODEL, "demo-unlayered": DEMO_UNLAYERED_MODEL}
EXAMPLE = Path(__file__).with_name("example.yaml")


@dataclass
class SweepPoint:
    """One configuration: its folder name, its options, and its value on every axis (None: not used)."""

    name: str
    config: RunConfig
    axes: dict
    n_samples: int = 0  # how many samples it runs (known once its data is loaded)
    from_hw: tuple[str, ...] = ()  # the profile paths its hw entry's own overrides set (axes.hw.overrides)


def example_text() -> str:
    """The annotated example sweep of ``snnemu sweep --example``."""
    return EXAMPLE.read_text(encoding="utf-8")


def load_sweep(path: str | Path) -> list[SweepPoint]:
    """Read, expand and validate a sweep file."""
    data = read_yaml(path)  # the profile files' reader: 2e-9 is a number, a duplicate key an error
    return points_of(data, str(path))


def points_of(data, file: str) -> list[SweepPoint]:
    """The configurations of a parsed sweep, in order (the first axis varies slowest)."""
    if not isinstance(data, dict):
        raise InputError(file, "(top level)", "expected a mapping with axes: and options:")
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(file, str(key), f"unknown key{_did_you_mean(key, TOP_KEYS)} (allowed: {', '.join(TOP_KEYS)})")
    combine = data.get("combine", "product")
    if combine not in COMBINES:
        raise InputError(file, "combine", f"expected product or zip, got {combine!r}")
    base = _base_options(data, file)
    axes = _axes(data.get("axes"), file)
    if combine == "zip":
        lengths = {name: len(values) for name, values in axes.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(file, "axes", "zip needs axes of one length; got "
                             + ", ".join(f"{k}: {n}" for k, n in lengths.items()))
        combos = list(zip(*axes.values()))
    else:
        combos = list(itertools.product(*axes.values()))
    points, seen = [], set()
    for combo in combos:
        point = _point(dict(zip(axes, combo)), base, file)
        key = config_key(point.config)
        if key not in seen:  # e.g. layered with each queue policy: one configuration
            seen.add(key)
            points.append(point)
    _name(points)
    _check_inputs(points, file)
    return points


def _base_options(data: dict, file: str) -> dict:
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise InputError(file, "options", "expected a mapping of run options")
    names = _option_names()
    for key in options:
        if key not in names:
            raise InputError(file, f"options.{key}", f"not a run option{_did_you_mean(key, names)}")
    base = dict(options)
    for key in ("data", "samples", "seed"):
        if key in data:
            base[key] = data[key]
    return base


def _option_names() -> list[str]:
    return [f.name for f in fields(RunConfig) if f.name not in NOT_OPTIONS]


def _axes(raw, file: str) -> dict[str, list]:
    if not isinstance(raw, dict) or not raw:
        raise InputError(file, "axes", "expected a mapping of axes, each a list of values (e.g. mode: [layered, async])")
    names = _option_names()
    axes = {}
    for name, values in raw.items():
        name = str(name)
        if name not in names and name.split(".")[0] not in PROFILE_SECTIONS:
            raise InputError(file, f"axes.{name}", "not a run option nor a profile field (mesh.*, core.*, noc.*, "
                                                   f"io.*, barrier.*){_did_you_mean(name, names)}")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise InputError(file, f"axes.{name}", "has no values")
        axes[name] = _profiles(values, file) if name == "hw" else values
    return axes


def _profiles(entries: list, file: str) -> list[tuple[str, dict]]:
    """``hw`` entries as (profile, {path: value}): an entry with overrides gives one per combination."""
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            out.append((str(entry), {}))
            continue
        where = f"axes.hw[{i}]"
        if "name" not in entry or set(entry) - {"name", "overrides"}:
            raise InputError(file, where, "expected a profile name, or {name: PROFILE, overrides: {PATH: [values]}}")
        overrides = entry.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise InputError(file, f"{where}.overrides", "expected a mapping {dotted path: [values]}")
        lists = {k: v if isinstance(v, list) else [v] for k, v in overrides.items()}
        for combo in itertools.product(*lists.values()):
            out.append((str(entry["name"]), dict(zip(lists, combo))))
    return out


def parse_modes(text: str) -> list[tuple[str, str]]:
    """``layered,async:momentum,timestep`` -> [(mode, queue)]; async alone means fifo."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        mode, _, queue = item.partition(":")
        if mode not in MODE_NAMES:
            raise InputError("--modes", "modes", f"unknown mode {mode!r} (use {', '.join(MODE_NAMES)})")
        if queue and (mode != "async" or queue not in QUEUE_NAMES):
            raise InputError("--modes", "modes",
                             f"{item!r}: a queue policy ({', '.join(QUEUE_NAMES)}) goes with async only")
        out.append((mode, queue or "fifo"))
    if not out:
        raise InputError("--modes", "modes", "names no mode")
    return out


def grid_points(models: list[str], hws: list[str], modes: list[tuple[str, str]], options: dict) -> list[SweepPoint]:
    """``snnemu compare --model ... --hw ... --modes ...``: every (model, profile, mode) with the
    shared ``options``, named ``MODEL-HW-MODE[-QUEUE]``, validated (errors name the flags)."""
    points, used = [], set()
    for model in models:
        for hw in hws:
            for mode, queue in modes:
                values = {"model": model, "hw": (hw, {}), "mode": mode, "queue": queue}
                point = _point(values, options, "--model", sweep_keys=False)
                # same file names from different folders: keep both runs
                point.name = _unique(f"{Path(model).stem}-{Path(hw).stem}-{mode}"
                                     + (f"-{queue}" if mode == "async" else ""), used)
                points.append(point)
    _check_inputs(points, "--model", sweep_keys=False)
    return points


def _point(values: dict, base: dict, file: str, sweep_keys: bool = True) -> SweepPoint:
    options = dict(base)
    overrides, from_hw = {}, ()
    for name, value in values.items():
        if name == "hw":
            options["hw"], own = value
            overrides.update(own)
            from_hw = tuple(own)
        elif "." in name:
            overrides[name] = value
        else:
            options[name] = value
    if "model" in options:
        options["model"] = str(BUNDLED_MODELS.get(str(options["model"]), options["model"]))
    # the shared overrides (compare's --hw-set), then the axes' (a later item wins: config.hw_overrides)
    options["hw_set"] = (*base.get("hw_set", ()), *(f"{k}={_yaml_value(v)}" for k, v in overrides.items()))
    try:
        cfg = RunConfig(**options)
    except TypeError as exc:
        raise InputError(file, "options", str(exc)) from None
    cfg, unused = _applicable(cfg)
    try:
        validate(cfg)
    except InputError as exc:
        if not sweep_keys:
            raise
        raise InputError(file, _key_of(exc.field, values, overrides), exc.message) from None
    axes = {}
    for name, value in values.items():
        if name == "hw":
            value = Path(value[0]).stem
        elif name == "model":
            value = Path(str(value)).stem
        axes[name] = None if name in unused else value
    for path, value in overrides.items():
        axes[path] = None if "hw_set" in unused else value
    return SweepPoint("", cfg, axes, from_hw=from_hw)


def _applicable(cfg: RunConfig) -> tuple[RunConfig, set[str]]:
    """``cfg`` with every option it would not use set back to its default (so that equal runs compare
    equal), and the names of those options."""
    defaults = RunConfig(model=cfg.model)
    unused = set()
    for f in fields(RunConfig):
        meta = f.metadata
        if (meta["engine"] and cfg.engine != meta["engine"]) or (meta["mode"] and cfg.mode != meta["mode"]):
            unused.add(f.name)
    return RunConfig(**{**cfg.__dict__, **{k: getattr(defaults, k) for k in unused}}), unused


def _key_of(field: str, values: dict, overrides: dict) -> str:
    """The sweep file's key of the field an error names."""
    if field in values:
        return f"axes.{field}"
    if field in overrides:
        return f"axes.hw.overrides.{field}"
    return field if field in TOP_KEYS else f"options.{field}"


def _yaml_value(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _name(points: list[SweepPoint]) -> None:
    """Folder names from the axes whose values differ, e.g. ``demo-loihi-async-fifo-queue_capacity=8``."""
    keys = list(dict.fromkeys(k for p in points for k in p.axes))  # the axes, and the profiles' own overrides
    varying = [k for k in keys if len({repr(p.axes.get(k)) for p in points if p.axes.get(k) is not None}) > 1]
    varying = varying or keys[:1]
    used = set()
    for p in points:
        parts = []
        for a in varying:
            value = p.axes.get(a)
            if value is None:
                continue
            parts.append(f"{a.split('.')[-1]}={value}" if "." in a else str(value))
        p.name = _unique(re.sub(r"[^A-Za-z0-9._=+-]", "_", "-".join(parts) or "run"), used)


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``, ... if it is taken; marks it taken."""
    unique, k = name, 2
    while unique in used:
        unique, k = f"{name}-{k}", k + 1
    used.add(unique)
    return unique


def _check_inputs(points: list[SweepPoint], file: str, sweep_keys: bool = True) -> None:
    """Check every configuration's model against its mode first (cheap: each model is read once),
    then load what each names (profile, model, data), so that any bad input is reported before a
    task runs."""
    models = {}

    def conventions(p: SweepPoint) -> None:
        cfg = p.config
        key = (cfg.model, cfg.dt_us, cfg.nir_from, cfg.reset)
        if key not in models:
            models[key] = load_nir(cfg.model, dt_fallback_s=(cfg.dt_us or 1000) * 1e-6, dialect=cfg.nir_from,
                                   reset=cfg.reset)
        check_network(models[key], cfg, cfg.model)

    def inputs(p: SweepPoint) -> None:
        p.n_samples = len(load_inputs(p.config, warn=lambda message: None).frames)

    for check in (conventions, inputs):
        for p in points:
            try:
                check(p)
            except InputError as exc:
                if not sweep_keys:
                    raise
                named = [k for k in ("model", "data", "hw") if Path(str(getattr(p.config, k))) == Path(exc.file)]
                overrides = dict(item.split("=", 1) for item in p.config.hw_set)
                axes = {k: v for k, v in p.axes.items() if k not in p.from_hw}
                key = _key_of(named[0] if named else exc.field, axes, overrides)
                raise InputError(file, key, f"{p.name}: {exc.file}: {exc.field}: {exc.message}") from None


def _did_you_mean(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
