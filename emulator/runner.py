"""The run API: check the options, load a model, a profile and data, run an engine.

``run(RunConfig(...))`` validates the config (:func:`emulator.config.validate`),
loads everything it names, and runs it on the engine it names: the chip
(a :class:`RunResult`, with per-sample rows, per-core counters and energy,
per-link packets) or the functional reference (a
:class:`emulator.functional.FunctionalRun`). :func:`emulator.records.write_records`
writes either. Every bad input is reported before an engine runs, so a bad
input never leaves a partial output folder.

Library code does not print: warnings go to ``warn`` (default: Python's
``warnings.warn``) and progress to ``progress(done, total)``.
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from hw_models.profile import HwProfile, load_profile
from traces.datasets import load_events
from traces.framing import frame_counts, frame_width_us, input_shape, preprocess

from .chip import map_network
from .chunks import (
    ChipState,
    RunResult,
    chip_chunk,
    chunk_ranges,
    functional_chunk,
    make_chip,
    merge_chip,
    merge_functional,
)
from .config import RunConfig, check_network, hw_overrides, validate
from .errors import InputError
from .functional import FunctionalRun, simulate
from .model import Network, load_nir
from .parallel import execute, make_pool

__all__ = ["Inputs", "RunResult", "Task", "config_key", "load_inputs", "merge", "prime", "run", "run_network", "run_task",
           "tasks_of"]

Warn = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class Inputs:
    """What a config names, loaded and checked: the model, the profile (chip engine), the frames."""

    network: Network
    hw: HwProfile | None
    frames: np.ndarray  # (samples, T, n_in) spike counts
    labels: np.ndarray | None
    frame_s: float | None  # the frames' width; None with --frames (each sample's span cut in N)


def _python_warning(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def run(cfg: RunConfig, progress: Progress | None = None, warn: Warn | None = None) -> RunResult | FunctionalRun:
    """Check ``cfg``, load everything it names and run it on its engine: here, or in chunks of
    samples on ``cfg.workers`` processes or the Dask cluster ``cfg.scheduler`` (the same records)."""
    inputs = load_inputs(cfg, warn)
    t0 = time.perf_counter()
    return _run_tasks(cfg, prime(cfg, inputs), len(inputs.frames), progress, t0)


def _run_tasks(cfg: RunConfig, state, n_samples: int, progress: Progress | None, t0: float):
    """The chunks of a primed configuration on the pool ``cfg`` names, merged; a failed chunk fails the run."""
    chunks = []

    def done(task: Task, chunk) -> None:
        chunks.append(chunk)
        if progress is not None:
            progress(sum(c.hi - c.lo for c in chunks), n_samples)

    failed = execute(run_task, tasks_of(cfg, n_samples), make_pool(cfg.workers, cfg.scheduler), done)
    if failed:
        raise failed[0][1]  # a run is all or nothing: the first failure, as it was raised
    return merge(state, chunks, time.perf_counter() - t0)


def load_inputs(cfg: RunConfig, warn: Warn | None = None) -> Inputs:
    """Validate ``cfg``, load the profile (chip engine) and the model, and frame the data. The warnings
    are given once all of it has loaded: a run that fails on its input says one thing, its error."""
    warn = warn or _python_warning
    notes = []
    validate(cfg)
    hw = load_profile(cfg.hw, hw_overrides(cfg)) if cfg.engine == "chip" else None  # a bad profile is reported first
    if hw is not None and cfg.mode not in hw.modes:  # allowed: a design-space study asks what it would do
        notes.append(f"{hw.name}: the silicon runs {', '.join(hw.modes)} only; {cfg.mode} mode here is an "
                     "emulation (summary.json: mode_supported false)")
    net = load_nir(cfg.model, dt_fallback_s=(cfg.dt_us or 1000) * 1e-6, dialect=cfg.nir_from, reset=cfg.reset)
    check_network(net, cfg, cfg.model)
    notes += [f"{cfg.model}: {note}" for note in net.warnings]
    events = preprocess(load_events(cfg.data), max_us=cfg.max_us, factor=cfg.downsample)
    frame_us = frame_width_us(events, cfg.dt_us)  # the model's dt only turned its time constants into factors
    if cfg.frames is None:
        note = frame_mismatch(net, frame_us, "--dt-us" if cfg.dt_us else
                              f"{events.name}'s own" if events.frame_us else "the default")
        notes += [f"{cfg.model}: {note}"] if note else []
    shape = input_shape(events.sensor_size)
    n_in = int(np.prod(shape))
    if n_in != net.populations[0].size:
        raise InputError(events.name, "sensor_size",
                         f"{tuple(events.sensor_size)} gives {n_in} inputs; "
                         f"the model {cfg.model} expects {net.populations[0].size}")
    n = events.n_samples if cfg.samples is None else min(cfg.samples, events.n_samples)
    if n == 0:
        raise InputError(events.name, "sample", "the event set has no samples")
    if cfg.frames is not None:
        frames = frame_counts(events, bins=cfg.frames, samples=slice(0, n))
    else:
        frames = frame_counts(events, frame_us, samples=slice(0, n))
    labels = None if events.labels is None else np.asarray(events.labels[:n])
    for note in notes:
        warn(note)
    return Inputs(net, hw, frames, labels, None if cfg.frames is not None else frame_us * 1e-6)


def frame_mismatch(net: Network, frame_us: int, why: str) -> str | None:
    """A warning when the graph states a dt (its metadata) that the frames do not keep.

    Each frame is one model step, so the model then runs its time constants
    ``frame/dt`` times slower (or faster) than it was built for. A dt read off
    ``tau/r`` (snnTorch writes an implied 100 us to carry beta) or a fallback
    says nothing about time, so it warns of nothing."""
    dt_us = net.dt_s * 1e6
    if net.dt_source != "metadata" or abs(frame_us - dt_us) <= 1e-6 * dt_us:
        return None
    return (f"the model's steps are {dt_us:g} us (metadata dt) but the frames are {frame_us} us ({why} framing): "
            f"one step per frame makes its time constants {frame_us / dt_us:g} times as long in data time; "
            f"--dt-us {dt_us:g} frames the data at the model's step")


def run_network(net: Network, hw: HwProfile, frames: np.ndarray, labels, cfg: RunConfig,
                progress: Progress | None = None, frame_s: float | None = None) -> RunResult:
    """Run ``frames`` ``(samples, T, n_in)`` through ``net`` mapped on ``hw``, in chunks of samples
    (``emulator.chunks``), here or on ``cfg.workers`` forked processes: the same records either way."""
    if cfg.realtime and frame_s is None:
        raise InputError("--realtime", "realtime", "needs the frames' width (run_network's frame_s)")
    if cfg.scheduler is not None:
        raise InputError("--scheduler", "scheduler", "a network held in memory runs on this machine; give run() "
                                                     "a config naming its files to run on a cluster")
    t0 = time.perf_counter()
    state = chip_state(net, hw, frames, labels, cfg, frame_s)
    _remember(config_key(cfg), state)  # the workers fork from here and find it
    return _run_tasks(cfg, state, len(frames), progress, t0)


def chip_state(net: Network, hw: HwProfile, frames: np.ndarray, labels, cfg: RunConfig,
               frame_s: float | None) -> ChipState:
    spikes = reference_spikes(net, frames) if cfg.mapping.partition(":")[0] == "traffic" else None
    mapping = map_network(net, hw, cfg.mapping, spikes)
    return ChipState(net, hw, mapping, frames, labels, cfg, frame_s, make_chip(net, hw, mapping, cfg, frame_s))


REFERENCE_SAMPLES = 16  # the traffic mapper's reference run: enough for rates, cheap on the reference


def reference_spikes(net: Network, frames: np.ndarray) -> np.ndarray | None:
    """Every neuron's spikes per sample in the functional reference (layered mode) on the run's first
    ``REFERENCE_SAMPLES`` samples: the traffic mapper's estimate of each source's packets. None where
    the network stays silent on them (the mapper then goes by the structure)."""
    sample = np.asarray(frames[:REFERENCE_SAMPLES])
    if not len(sample):
        return None
    res = simulate(net, sample, RunConfig(model="reference", mode="layered", engine="functional", trace=True))
    counts = np.bincount(res.events["neuron"], minlength=net.n_neurons) / len(sample)
    return counts if counts.any() else None


# -- tasks: chunks of one configuration's samples, run wherever a pool puts them --

@dataclass(frozen=True)
class Task:
    """Samples ``lo:hi`` of the run ``cfg``; ``key`` names the configuration in a worker's cache."""

    key: str
    cfg: RunConfig
    lo: int
    hi: int


def config_key(cfg: RunConfig) -> str:
    """What identifies a configuration: every option but where it runs (``workers``, ``scheduler``)."""
    return repr(sorted((k, v) for k, v in asdict(cfg).items() if k not in ("workers", "scheduler")))


def tasks_of(cfg: RunConfig, n_samples: int) -> list[Task]:
    key = config_key(cfg)
    return [Task(key, cfg, lo, hi) for lo, hi in chunk_ranges(n_samples, cfg.engine)]


@dataclass
class FunctionalState:
    inputs: Inputs
    cfg: RunConfig


_STATES: OrderedDict = OrderedDict()  # a worker's loaded configurations, newest last
_KEEP = 2  # configurations kept loaded per process: a sweep's tasks come mostly grouped by configuration


def prime(cfg: RunConfig, inputs: Inputs):
    """Build the state of ``cfg`` from loaded inputs and keep it in this process's cache, so that
    forked workers inherit it instead of loading the configuration again."""
    if cfg.engine == "functional":
        state = FunctionalState(inputs, cfg)
    else:
        state = chip_state(inputs.network, inputs.hw, inputs.frames, inputs.labels, cfg, inputs.frame_s)
    _remember(config_key(cfg), state)
    return state


def _remember(key: str, state) -> None:
    _STATES[key] = state
    _STATES.move_to_end(key)
    while len(_STATES) > _KEEP:
        _STATES.popitem(last=False)


def run_task(task: Task):
    """One chunk (run by a pool's worker): the configuration's state from the cache, or loaded."""
    t0 = time.perf_counter()
    state = _STATES.get(task.key)
    if state is None:
        state = prime(task.cfg, load_inputs(task.cfg, warn=lambda message: None))  # the caller warned already
    if task.cfg.engine == "functional":
        inputs = state.inputs
        chunk = functional_chunk(inputs.network, inputs.frames, inputs.labels, task.cfg, task.lo, task.hi)
    else:
        chunk = chip_chunk(state, task.lo, task.hi)
    chunk.wall_s = time.perf_counter() - t0
    return chunk


def merge(state, chunks: list, wall_s: float) -> RunResult | FunctionalRun:
    """A configuration's result from all its chunks (``state``: what :func:`prime` built)."""
    if isinstance(state, FunctionalState):
        inputs = state.inputs
        return merge_functional(inputs.network, inputs.labels, state.cfg, inputs.frame_s, chunks, wall_s)
    return merge_chip(state, chunks, wall_s)
