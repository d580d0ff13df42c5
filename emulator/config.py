"""A run's options, and a training run's: each declared once here, with its default and its check.

:class:`RunConfig` is what the Python API takes and what the CLI builds from
its arguments; :func:`validate` is the one place that checks it, so a bad value
raises the same :class:`~emulator.errors.InputError` from ``emulator.run`` as
the CLI reports. The names of the variants (engines, modes, queue policies,
NoC fidelities, input styles) are declared here too; the registries that
implement them (``emulator.chip.MODES``, ``QUEUES``, ``NOCS``) are keyed by
these names, and a test checks that they agree.

Each field's metadata is its command-line face: the flag, the help text, the
choices, the lower bound, whether it is a probability, and where it applies
(``engine`` and ``mode``). An option set away from its default where it does
not apply is refused, rather than silently ignored. See docs/design.md,
"Options". :class:`TrainConfig` (``snnemu train``) lives here too, so that the
CLI builds its flags without importing torch.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import MISSING, dataclass, field, fields

import numpy as np
import yaml

from hw_models.profile import yaml_value

from .errors import InputError
from .model import DIALECT_NAMES, parse_arch

__all__ = ["DATASET_NAMES", "ENGINES", "INPUTS", "RESETS", "LOCAL_DATASET_NAMES", "MAPPER_NAMES", "MODE_NAMES", "NOC_NAMES",
           "QUEUE_NAMES", "TRAIN_MODES", "RunConfig", "TrainConfig", "check_network", "flag_of", "hw_overrides", "option_fields",
           "parse_arch", "refuse_unused", "validate", "validate_train"]

ENGINES = ("chip", "functional")
MODE_NAMES = ("timestep", "layered", "async")
QUEUE_NAMES = ("fifo", "momentum", "random")
NOC_NAMES = ("analytic", "routers")
INPUTS = ("event", "frame")
RESETS = ("zero", "subtract")  # --reset: what the framework's dialect calls them
MAPPER_NAMES = ("layer-fill", "spread", "traffic")  # besides a mapping .yaml file
DATASET_NAMES = ("digits", "nmnist-digits", "spoken-digits")  # built in; besides event files
LOCAL_DATASET_NAMES = ("nmnist", "shd", "dvsgesture")  # NAME:ROOT, read from a local folder


def _opt(default, help: str, *, flag: str | None = None, choices: tuple | None = None, at_least: int | None = None,
         probability: bool = False, engine: str | None = None, mode: str | None = None, group: str | None = None,
         required: bool = False):
    """A field with its command-line face; ``engine``/``mode``: it applies only there. ``default`` may be
    ``dataclasses.MISSING`` (a field the caller must give); ``required``: the CLI requires the flag."""
    return field(default=default, metadata={
        "help": help, "flag": flag, "choices": choices, "at_least": at_least, "probability": probability,
        "engine": engine, "mode": mode, "group": group, "required": required or default is MISSING})


FUNCTIONAL_GROUP = "functional engine only"


@dataclass
class RunConfig:
    """Everything that defines a run; the defaults are the CLI's."""

    model: str | None = _opt(None, "NIR model file", required=True)
    hw: str = _opt("loihi", "bundled profile name or a profile .yaml", engine="chip")
    hw_set: tuple[str, ...] = _opt((), "set one field of the profile, PATH=VALUE by its dotted path, e.g. "
                                       "core.queue_capacity=8 (repeat for several)", flag="--hw-set",
                                   engine="chip")
    data: str = _opt("digits", "digits | nmnist-digits | spoken-digits | nmnist:ROOT | shd:ROOT | dvsgesture:ROOT "
                               "(add :train for the training split) | events .npz, .nir or .h5 (see snnemu data list)")
    mode: str = _opt("layered", "execution mode", choices=MODE_NAMES)
    queue: str = _opt("fifo", "async: a core's input queue policy (the functional reference's scheduler)",
                      choices=QUEUE_NAMES, mode="async")
    input: str = _opt("event", "async: input spikes one by one (event), or a frame's input as one batch (frame)",
                      choices=INPUTS, engine="chip", mode="async")
    samples: int | None = _opt(None, "first N samples (default: all)", at_least=1)
    dt_us: int | None = _opt(None, "frame width in microseconds, one model step each (default: the data's own "
                                   "framing, else 1000)", flag="--dt-us")
    frames: int | None = _opt(None, "instead of --dt-us: cut each sample into N equal frames (one timestep each)",
                              at_least=1)
    downsample: int = _opt(1, "pool K x K sensor pixels into one input (default 1)", at_least=1)
    max_us: int | None = _opt(None, "drop each sample's events at or after this time", flag="--max-us", at_least=1)
    nir_from: str | None = _opt(None, "whose NIR export the model is (default: what the graph shows, else snntorch)",
                                flag="--nir-from", choices=DIALECT_NAMES)
    reset: str | None = _opt(None, "the reset, for graphs that cannot say (default: the framework's own; "
                                   "for snnTorch its subtract at the next step)", choices=RESETS)
    mapping: str = _opt("layer-fill", "layer-fill | spread:K | traffic[:K] (few packets, short routes) | mapping.yaml",
                        engine="chip")
    noc: str = _opt("analytic", "NoC fidelity", choices=NOC_NAMES, engine="chip")
    seed: int = _opt(0, "seed of every random draw", at_least=0)
    workers: int = _opt(1, "processes running samples in parallel", at_least=1)
    scheduler: str | None = _opt(None, "run the samples on an existing Dask cluster, tcp://HOST:8786 (the "
                                       "[distributed] extra); the results are the same as on this machine")
    refractory: bool | None = _opt(None, "async: let a neuron fire again within a timestep "
                                         "(default: refractory until the next)", flag="--no-refractory",
                                   mode="async")
    realtime: bool = _opt(False, "async: frame k enters at k frame widths, not when the network has drained",
                          engine="chip", mode="async")
    stop_on_output: int | None = _opt(None, "an early decision: the chip ends a sample K output spikes after its "
                                            "first (async), or after the timestep in which that spike leaves "
                                            "(layered, timestep); the functional reference (async only) K forward "
                                            "steps after its first output spike", at_least=0)
    trace: bool = _opt(False, "also write events.parquet")
    engine: str = _opt("chip", "the emulated chip, or the NumPy functional reference (no hardware)", choices=ENGINES)
    # The functional reference's own options (its async mode works in forward steps).
    F: int | None = _opt(None, "async: spikes emitted per forward step (default: unlimited)", at_least=1,
                         engine="functional", mode="async", group=FUNCTIONAL_GROUP)
    prioritize_input: bool = _opt(True, "async: input spikes join the spike queue instead of being integrated first",
                                  flag="--no-prioritize-input", engine="functional", mode="async",
                                  group=FUNCTIONAL_GROUP)
    refrac_dropout: float = _opt(0.0, "async: probability a fired neuron is not refractory", probability=True,
                                 engine="functional", mode="async", group=FUNCTIONAL_GROUP)
    max_steps: int | None = _opt(None, "async: forward steps per timestep at most; queued spikes carry over",
                                 at_least=1, engine="functional", mode="async", group=FUNCTIONAL_GROUP)
    momentum_noise: float = _opt(0.0, "async: tie-break noise of momentum", engine="functional", mode="async",
                                 group=FUNCTIONAL_GROUP)
    input_dropout: float = _opt(0.0, "probability an input spike is dropped", probability=True,
                                engine="functional", group=FUNCTIONAL_GROUP)
    spike_dropout: float = _opt(0.0, "probability a network spike is dropped", probability=True,
                                engine="functional", group=FUNCTIONAL_GROUP)

    @property
    def refractory_on(self) -> bool:
        """Refractory until the next timestep: by default in async mode only, as in asynctorch."""
        return self.mode == "async" if self.refractory is None else self.refractory

    @property
    def queue_in_effect(self) -> str | None:
        """The queue policy, where one is used (async mode), else None."""
        return self.queue if self.mode == "async" else None


def hw_overrides(cfg: RunConfig) -> dict:
    """``--hw-set PATH=VALUE`` items as ``{path: value}``, each value read as YAML (8, 2.0e-9, null, true)."""
    out = {}
    for item in cfg.hw_set:
        path, eq, text = str(item).partition("=")
        if not eq or not path.strip():
            raise InputError("--hw-set", "hw_set", f"{item!r}: expected PATH=VALUE, e.g. core.queue_capacity=8")
        try:
            out[path.strip()] = yaml_value(text)
        except yaml.YAMLError:
            raise InputError("--hw-set", path.strip(), f"{text!r} is not a value") from None
    return out


def option_fields():
    """The options in declaration order (for the CLI's parser)."""
    return fields(RunConfig)


def flag_of(f) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def validate(cfg: RunConfig) -> RunConfig:
    """Check every option of ``cfg``; raises InputError naming the flag and the field."""
    by_name = {f.name: f for f in fields(RunConfig)}
    for f in by_name.values():
        _check_type(f, getattr(cfg, f.name))
    for name in ("engine", "mode", "queue", "input", "noc", "nir_from", "reset"):
        allowed = by_name[name].metadata["choices"]
        if getattr(cfg, name) not in allowed and (getattr(cfg, name) is not None or by_name[name].default is not None):
            value = getattr(cfg, name)
            raise InputError(f"--{name}", name, f"unknown {name} {value!r} (use {', '.join(allowed)})")
    for f in by_name.values():
        value, meta = getattr(cfg, f.name), f.metadata
        if meta["at_least"] is not None and value is not None and value < meta["at_least"]:
            raise InputError(flag_of(f), f.name, f"must be at least {meta['at_least']}, got {value}")
        if meta["probability"] and not 0.0 <= value <= 1.0:
            raise InputError(flag_of(f), f.name, f"must be a probability, got {value}")
    if cfg.realtime and (cfg.engine != "chip" or cfg.mode != "async" or cfg.input != "event"):
        raise InputError("--realtime", "realtime", "applies only to the chip in async mode with --input event")
    if cfg.realtime and cfg.frames is not None:
        raise InputError("--realtime", "realtime", "needs frames of one width (--dt-us, or the data's own), "
                                                   "not --frames")
    refuse_unused(cfg, {f.name for f in by_name.values() if getattr(cfg, f.name) != f.default})
    if cfg.stop_on_output is not None and cfg.engine == "functional" and cfg.mode != "async":
        raise InputError("--stop-on-output", "stop_on_output", "applies only with --mode async on the "
                                                               "functional engine")
    if cfg.dt_us is not None and cfg.dt_us <= 0:
        raise InputError("--dt-us", "dt_us", "must be a positive number of microseconds")
    if cfg.frames is not None and cfg.dt_us is not None:
        raise InputError("--frames", "frames", "give either --frames or --dt-us, not both")
    if not cfg.model:
        raise InputError("--model", "model", "no model given")
    hw_overrides(cfg)
    if cfg.scheduler is not None and not str(cfg.scheduler).startswith(("tcp://", "tls://", "inproc://")):
        raise InputError("--scheduler", "scheduler", f"{cfg.scheduler!r}: expected a Dask scheduler address, "
                                                     "tcp://HOST:8786")
    return cfg


_KINDS = {"int": (numbers.Integral,), "float": (numbers.Real,), "str": (str, os.PathLike), "bool": (bool, np.bool_)}


def _check_type(f, value) -> None:
    """``value`` is of the field's declared kind (``int | None``: a whole number or None), so that a
    sweep file's ``samples: many`` is one line, not a comparison failing deep inside."""
    kinds = str(f.type).replace(" ", "").split("|")
    if value is None and "None" in kinds:
        return
    if kinds[0].startswith("tuple"):
        ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    else:
        allowed = _KINDS[kinds[0]]
        ok = isinstance(value, allowed) and (bool in allowed or not isinstance(value, (bool, np.bool_)))
    if not ok:
        want = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false"}.get(
            kinds[0], "a list of PATH=VALUE items")
        raise InputError(flag_of(f), f.name, f"must be {want}{' or null' if 'None' in kinds else ''}, got {value!r}")


def refuse_unused(cfg: RunConfig | TrainConfig, given: set[str]) -> None:
    """Refuse the options in ``given`` that this run would not use (its engine or its mode ignores
    them), naming the flag: the API gives the options set away from their defaults, the CLI every
    flag on the command line, even one that repeats its default (``--queue fifo --mode layered``)."""
    for f in fields(cfg):
        meta = f.metadata
        if f.name not in given or f.name == "realtime":  # realtime's own check says more
            continue
        if meta["engine"] is not None and cfg.engine != meta["engine"]:
            raise InputError(flag_of(f), f.name, f"applies only with --engine {meta['engine']}, not "
                                                 f"{cfg.engine}: the run would ignore it")
        if meta["mode"] is not None and cfg.mode != meta["mode"]:
            raise InputError(flag_of(f), f.name, f"applies only with --mode {meta['mode']}, not {cfg.mode}: "
                                                 "the run would ignore it")


def check_network(net, cfg: RunConfig, file: str) -> None:
    """Refuse a network whose neuron conventions the run's mode cannot run, naming the layer.

    Async mode evaluates a neuron once per arriving packet, so a step has no
    single moment at which to count several spikes; and a ``subtract-next``
    neuron keeps its potential above threshold until the next timestep, so it
    would fire at every packet unless it is refractory.
    """
    for p in net.populations[1:]:
        c = p.conventions
        if c.spikes == "several" and cfg.mode == "async":
            raise InputError(file, f"nodes.{p.name}", "several spikes per step run in the timestep and layered "
                                                      "modes only, not in async mode")
        if c.spikes == "several" and (p.theta <= 0).any():
            raise InputError(file, f"nodes.{p.name}.v_threshold", "several spikes per step need a threshold above 0")
        if c.reset == "subtract-next" and cfg.mode == "async" and not cfg.refractory_on:
            raise InputError("--no-refractory", "refractory", f"layer {p.name} resets at the next step "
                                                              "(subtract-next): in async mode it must be refractory")
        if c.reset == "subtract-next" and cfg.mode == "async" and cfg.refrac_dropout > 0:
            raise InputError("--refrac-dropout", "refrac_dropout", f"layer {p.name} resets at the next step "
                                                                   "(subtract-next): a neuron left non-refractory "
                                                                   "would fire at every forward step")


# -- snnemu train (emulator.train): declared here, so that the CLI needs no torch to know them --

TRAIN_MODES = ("layered", "async")
TRAIN_SCHEDULERS = ("random", "momentum", "fifo")  # the study's default first
TRAIN_LOSSES = ("rate", "first-spike")


@dataclass
class TrainConfig:
    """A training run. The defaults follow the study's code: Adam at 1e-3 with weight decay 1e-5,
    theta 0.3, F = 16, the random scheduler, refractory dropout 0.8 in training, no bias, xavier-uniform
    weights."""

    arch: str = _opt(MISSING, "the input, then the layers: dense sizes (578-128-10), or convolutions (Nc K, "
                              "stride sS), pooling (pK) and a dense head (2x17x17-8c3-p2-10)")
    out: str = _opt(MISSING, "the model's .nir file (MODEL.epochK.pt, MODEL.train_log.csv and MODEL.curves.png "
                             "go beside it)")
    data: str = _opt("digits", "a dataset spec, as for snnemu run --data (its train split trains, its test split "
                               "tests)")
    mode: str = _opt("layered", "layered (BPTT) | async (unlayered: the scheduler in the training graph)")
    scheduler: str = _opt("random", "async: random | momentum | fifo", mode="async")
    momentum_noise: float = _opt(0.0, "async, momentum: tie-break noise (lambda of lambda*U)", mode="async")
    F: int = _opt(16, "async: spikes emitted per forward step", mode="async")
    refrac_dropout: float = _opt(0.8, "async: probability a fired neuron is not made refractory, in training",
                                 mode="async")
    input_dropout: float = _opt(0.0, "probability an input spike is dropped, in training")
    epochs: int = _opt(10, "passes over the training split")
    batch: int = _opt(64, "samples per step of the optimizer")
    lr: float = _opt(1e-3, "Adam's learning rate")
    weight_decay: float = _opt(1e-5, "Adam's weight decay")
    theta: float = _opt(0.3, "every neuron's threshold")
    beta: float = _opt(0.9, "every neuron's leak per step")
    surrogate: str = _opt("atan", "atan (asynctorch's) | fast_sigmoid")
    slope: float = _opt(2.0, "the surrogate's slope (alpha of atan, k of fast_sigmoid)")
    detach_reset: bool = _opt(False, "no gradient through the reset")
    loss: str = _opt("rate", "rate: cross-entropy of each timestep's output counts, averaged | first-spike: "
                             "cross-entropy of minus each output neuron's first-spike timestep")
    spike_penalty: float = _opt(0.0, "add this times the spikes per sample (all layers) to the loss")
    dt_us: int | None = _opt(None, "frame width in microseconds (default: the data's own framing, else 1000)",
                             flag="--dt-us")
    frames: int | None = _opt(None, "instead of --dt-us: cut each sample into N equal frames")
    downsample: int = _opt(1, "pool K x K sensor pixels into one input")
    seed: int = _opt(0, "the initial weights, the batches and every random draw")
    resume: str | None = _opt(None, "a checkpoint (MODEL.epochK.pt) to go on from")
    samples: int | None = _opt(None, "the first N training samples (default: all)")
    max_seconds: float | None = _opt(None, "stop after the epoch that passes this much training time")


TRAIN_FIELDS = {f.name: f for f in fields(TrainConfig)}


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Check every option; raises InputError naming the flag and the field."""
    if cfg.mode not in TRAIN_MODES:
        raise InputError("--mode", "mode", f"unknown mode {cfg.mode!r} (use {', '.join(TRAIN_MODES)})")
    if cfg.scheduler not in TRAIN_SCHEDULERS:
        raise InputError("--scheduler", "scheduler",
                         f"unknown scheduler {cfg.scheduler!r} (use {', '.join(TRAIN_SCHEDULERS)})")
    if cfg.loss not in TRAIN_LOSSES:
        raise InputError("--loss", "loss", f"unknown loss {cfg.loss!r} (use {', '.join(TRAIN_LOSSES)})")
    for name in ("spike_penalty", "momentum_noise"):
        if getattr(cfg, name) < 0:
            raise InputError(f"--{name.replace('_', '-')}", name, f"must be at least 0, got {getattr(cfg, name)}")
    if cfg.surrogate not in ("atan", "fast_sigmoid"):
        raise InputError("--surrogate", "surrogate", f"unknown surrogate {cfg.surrogate!r} (use atan, fast_sigmoid)")
    for name in ("F", "epochs", "batch", "downsample", "samples", "frames", "dt_us"):
        if getattr(cfg, name) is not None and getattr(cfg, name) < 1:
            raise InputError(flag_of(TRAIN_FIELDS[name]), name, f"must be at least 1, got {getattr(cfg, name)}")
    if cfg.seed < 0:
        raise InputError("--seed", "seed", f"must be at least 0, got {cfg.seed}")
    if cfg.max_seconds is not None and not cfg.max_seconds > 0:
        raise InputError("--max-seconds", "max_seconds", f"must be positive, got {cfg.max_seconds}")
    for name in ("refrac_dropout", "input_dropout"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise InputError(f"--{name.replace('_', '-')}", name, f"must be a probability, got {getattr(cfg, name)}")
    if cfg.lr <= 0 or cfg.theta <= 0 or not 0.0 <= cfg.beta <= 1.0:
        raise InputError("--lr", "lr", "lr and theta must be positive and beta in [0, 1]")
    if cfg.frames is not None and cfg.dt_us is not None:
        raise InputError("--frames", "frames", "give either --frames or --dt-us, not both")
    if not str(cfg.out).endswith(".nir"):
        raise InputError(cfg.out, "--out", "the model is written as a .nir file")
    parse_arch(cfg.arch)
    return cfg
