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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hw_models.cost import CATEGORIES, price
from hw_models.profile import HwProfile, load_profile
from traces.datasets import load_events
from traces.framing import frame_counts, frame_width_us, input_shape, preprocess

from .chip import MODES, Chip, CoreCounters, Mapping, Topology, Unsafe, map_network
from .config import RunConfig, check_network, validate
from .errors import DeadlockError, InputError
from .functional import FunctionalRun, run_functional
from .model import Network, load_nir
from .parallel import fork_map
from .records import Tracer

__all__ = ["Inputs", "RunResult", "load_inputs", "run", "run_network"]

Warn = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class RunResult:
    """A chip run: per-sample rows, and per-core figures summed over samples."""

    config: RunConfig
    network: Network
    hw: HwProfile
    mapping: Mapping
    per_sample: list[dict]
    counters: CoreCounters  # summed over samples
    per_core_energy: np.ndarray  # (n_cores, len(CATEGORIES)) summed over samples
    per_link_packets: np.ndarray  # (n_links,) packets over each NoC link, summed over samples
    spikes_per_layer: dict[str, int]
    elapsed_s: float  # simulated time of all samples, back to back (static power runs all along)
    wall_s: float
    synapses_per_core: np.ndarray
    layer_spikes: np.ndarray  # (samples, populations) spike counts
    topology: Topology  # the mesh's links, for the per-link records
    tracer: Tracer | None = None
    frame_s: float | None = None  # the frames' width (None: --frames)
    engine: str = "chip"


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
    """Check ``cfg``, load everything it names and run it on its engine."""
    inputs = load_inputs(cfg, warn)
    if cfg.engine == "functional":
        return run_functional(inputs.network, inputs.frames, inputs.labels, cfg, frame_s=inputs.frame_s)
    return run_network(inputs.network, inputs.hw, inputs.frames, inputs.labels, cfg, progress, frame_s=inputs.frame_s)


def load_inputs(cfg: RunConfig, warn: Warn | None = None) -> Inputs:
    """Validate ``cfg``, load the profile (chip engine) and the model, and frame the data."""
    warn = warn or _python_warning
    validate(cfg)
    hw = load_profile(cfg.hw) if cfg.engine == "chip" else None  # a bad profile is reported first
    net = load_nir(cfg.model, dt_fallback_s=(cfg.dt_us or 1000) * 1e-6, dialect=cfg.nir_from, reset=cfg.reset)
    check_network(net, cfg, cfg.model)
    for note in net.warnings:
        warn(f"{cfg.model}: {note}")
    events = preprocess(load_events(cfg.data), max_us=cfg.max_us, factor=cfg.downsample)
    frame_us = frame_width_us(events, cfg.dt_us)  # the model's dt only turned its time constants into factors
    if cfg.frames is None:
        note = frame_mismatch(net, frame_us, "--dt-us" if cfg.dt_us else
                              f"{events.name}'s own" if events.frame_us else "the default")
        if note:
            warn(f"{cfg.model}: {note}")
    shape = input_shape(events.sensor_size)
    if int(np.prod(shape)) != net.populations[0].size:
        raise InputError(events.name, "sensor_size",
                         f"{tuple(events.sensor_size)} gives {int(np.prod(shape))} inputs; "
                         f"the model {cfg.model} expects {net.populations[0].size}")
    n = events.n_samples if cfg.samples is None else min(cfg.samples, events.n_samples)
    if n == 0:
        raise InputError(events.name, "sample", "the event set has no samples")
    if cfg.frames is not None:
        frames = frame_counts(events, bins=cfg.frames, samples=slice(0, n))
    else:
        frames = frame_counts(events, frame_us, samples=slice(0, n))
    labels = None if events.labels is None else np.asarray(events.labels[:n])
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


CHUNK = 8  # samples per task for the workers (and per progress update)


def run_network(net: Network, hw: HwProfile, frames: np.ndarray, labels, cfg: RunConfig,
                progress: Progress | None = None, frame_s: float | None = None) -> RunResult:
    """Run ``frames`` ``(samples, T, n_in)`` through ``net`` mapped on ``hw``.

    With ``cfg.workers > 1`` chunks of samples run in worker processes. Every
    sample starts from a fresh state and its own seed, and the totals are
    summed in sample order here, so the records are byte-identical whatever
    the number of workers.
    """
    if cfg.realtime and frame_s is None:
        raise InputError("--realtime", "realtime", "needs the frames' width (run_network's frame_s)")
    wall0 = time.perf_counter()
    mapping = map_network(net, hw, cfg.mapping)
    context = (net, hw, mapping, frames, labels, cfg, frame_s)
    chip = _make_chip(context)
    n_cores = len(chip.cores)
    counters = CoreCounters.zeros(n_cores)
    tot_energy = np.zeros((n_cores, len(CATEGORIES)))
    tot_links = np.zeros(chip.topo.n_links)
    layer_spikes = np.zeros((len(frames), len(net.populations)), np.int64)
    tracer = _tracer(net, mapping, cfg)
    rows, elapsed_s, done = [], 0.0, 0
    tasks = [(lo, min(lo + CHUNK, len(frames))) for lo in range(0, len(frames), CHUNK)]
    for results, cols in fork_map(_run_samples, tasks, context, _make_chip, cfg.workers, state=chip):
        for i, row, counts, energy, links, spikes, elapsed in results:
            rows.append(row)
            elapsed_s += elapsed
            counters += counts
            tot_energy += energy
            tot_links += links
            layer_spikes[i] = spikes
        if tracer is not None:
            tracer.extend(cols)
        done += len(results)
        if progress is not None:
            progress(done, len(frames))
    return RunResult(cfg, net, hw, mapping, rows, counters, tot_energy, tot_links,
                     {p.name: int(layer_spikes[:, j].sum()) for j, p in enumerate(net.populations)},
                     elapsed_s, time.perf_counter() - wall0,
                     chip.synapses_per_core, layer_spikes, chip.topo, tracer, frame_s=frame_s)


NAN = float("nan")  # one object: rows with no output compare equal (a dict compares nan by identity first)


def _since(t: float, t_in: float) -> float:
    return t - t_in if np.isfinite(t) else NAN


def _tracer(net: Network, mapping: Mapping, cfg: RunConfig) -> Tracer | None:
    return Tracer([p.name for p in net.populations], net.offsets, mapping.core_of) if cfg.trace else None


def _make_chip(context) -> Chip:
    net, hw, mapping, _, _, cfg, frame_s = context
    return Chip(net, hw, mapping, noc=cfg.noc, queue=cfg.queue, seed=cfg.seed, refractory=cfg.refractory_on,
                frame_s=frame_s, stop_on_output=cfg.stop_on_output)


def _run_sample(chip: Chip, mode, frames: np.ndarray, cfg: RunConfig, i: int) -> None:
    """Sample ``i`` on a fresh clock; a sample the async fast path cannot keep exact runs again
    on the general path (``emulator.chip.modes.async_fast``)."""
    for general_only in (False, True):
        chip.begin_sample(i, mode)
        chip.general_only = general_only
        proc = chip.env.process(mode.run(chip, frames, cfg))
        try:
            chip.env.run(until=proc)
            return
        except Unsafe:
            continue
        except RuntimeError as exc:
            if "No scheduled events left" not in str(exc):
                raise
            raise DeadlockError(f"deadlock in sample {i} at t={chip.env.now:.3e} s: {chip.stuck()}") from None


def _run_samples(chip: Chip, context, task: tuple[int, int]):
    """Run samples ``lo:hi``; returns ``([(i, row, counters, energy, link packets, layer spikes, elapsed)],
    trace columns)``.

    A sample's latency runs from its first input injection (its start, if it
    has no input) to its end; its energy covers the whole elapsed time.
    """
    net, hw, _, frames, labels, cfg, _ = context
    lo, hi = task
    mode = MODES[cfg.mode]
    chip.tracer = _tracer(net, chip.mapping, cfg)
    out = []
    for i in range(lo, hi):
        _run_sample(chip, mode, frames[i], cfg, i)
        elapsed = chip.env.now  # each sample starts at 0
        t_in = chip.t_first_input or 0.0
        counts = chip.counts()
        energy = price(counts, chip.barriers, elapsed, hw, chip.used)
        spikes = np.add.reduceat(chip.spike_count, net.offsets[:-1])
        label = None if labels is None else int(labels[i])
        pred = chip.prediction()
        out.append((i, {
            "sample": i, "label": label, "prediction": pred,
            "correct": None if label is None else int(pred == label),
            "spikes": int(spikes[1:].sum()),
            "synaptic_events": int(counts.synaptic_events.sum()),
            "packets": int(counts.packets_out.sum()),
            "hops": int(counts.hops_ew.sum() + counts.hops_ns.sum()),
            "latency_s": elapsed - t_in,
            "first_output_s": _since(chip.out_first, t_in),
            "first_correct_s": NAN if label is None or not 0 <= label < len(chip.out_first_by)
            else _since(chip.out_first_by[label], t_in),
            "energy_j": float(energy.sum()),
            # the decision: the early stop (stop_on_output), else the sample's end, and the energy until then
            "decision_s": elapsed - t_in,
            "decision_energy_j": float(energy.sum()),
            "stopped": int(chip.decision_reached()),
        }, counts, energy, chip.link_packets(), spikes, elapsed))
    return out, ({} if chip.tracer is None else chip.tracer.cols)
