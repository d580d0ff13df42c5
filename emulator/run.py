"""The run API: load a model, a profile and data, run the chip, price the counts.

``run(RunConfig(...))`` returns a :class:`RunResult` with per-sample rows,
per-core rows and totals; :func:`emulator.records.write_records` writes them.
Everything that can be wrong with the input is checked before the chip runs,
so a bad input never leaves a partial output folder.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from hw_models.cost import CATEGORIES, price
from hw_models.profile import load_profile
from traces.datasets import load_events
from traces.events import clip_time, downsample, frame_counts, input_shape
from traces.recorder import Tracer

from .chip import COUNTERS, Chip
from .errors import DeadlockError, InputError
from .mapping import map_network
from .modes import MODES
from .nir_io import load_nir

__all__ = ["RunConfig", "RunResult", "run", "run_network"]


@dataclass
class RunConfig:
    model: str
    hw: str = "loihi"
    data: str = "digits"
    mode: str = "layered"
    queue: str = "fifo"
    input: str = "event"
    samples: int | None = None
    dt_us: int | None = None  # frame width; None: the model's dt (1000 us if it has none)
    frames: int | None = None  # instead of dt_us: cut each sample into this many equal frames
    downsample: int = 1  # pool downsample x downsample pixels into one input
    max_us: int | None = None  # drop each sample's events at or after this time
    mapping: str = "layer-fill"
    noc: str = "analytic"
    seed: int = 0
    trace: bool = False
    refractory: bool | None = None  # None: on in async mode, as in asynctorch
    progress: bool = False
    workers: int = 1  # processes running samples in parallel
    realtime: bool = False  # async: frame k enters at k * dt instead of when drained
    engine: str = "chip"  # or "functional": the NumPy reference, no hardware
    F: int | None = None  # functional async: spikes per forward step (None: unlimited)
    prioritize_input: bool = True  # functional async: a frame's input as one current
    refrac_dropout: float = 0.0
    stop_on_output: int | None = None
    max_steps: int | None = None
    input_dropout: float = 0.0
    spike_dropout: float = 0.0
    momentum_noise: float = 0.0


@dataclass
class RunResult:
    config: RunConfig
    network: object
    hw: object
    mapping: object
    per_sample: list[dict]
    per_core_counts: np.ndarray  # (n_cores, len(COUNTERS)) summed over samples
    per_core_energy: np.ndarray  # (n_cores, len(CATEGORIES)) summed over samples
    per_link_packets: np.ndarray  # (n_links,) packets over each NoC link, summed over samples
    spikes_per_layer: dict[str, int]
    elapsed_s: float  # simulated time of all samples, back to back (static power runs all along)
    wall_s: float
    synapses_per_core: np.ndarray
    layer_spikes: np.ndarray  # (samples, populations) spike counts
    tracer: Tracer | None = None


def run(cfg: RunConfig) -> RunResult:
    """Load everything named in ``cfg`` and run it on the chip."""
    net, frames, labels = load_inputs(cfg)
    return run_network(net, load_profile(cfg.hw), frames, labels, cfg)


def load_inputs(cfg: RunConfig):
    """Check ``cfg``, load the model and frame the data: ``(net, frames, labels)``."""
    for key, allowed in (("mode", MODES), ("input", ("event", "frame"))):
        if getattr(cfg, key) not in allowed:
            raise InputError(f"--{key}", key, f"unknown {key} {getattr(cfg, key)!r} (use {', '.join(allowed)})")
    if cfg.workers < 1:
        raise InputError("--workers", "workers", f"must be at least 1, got {cfg.workers}")
    if cfg.samples is not None and cfg.samples < 1:
        raise InputError("--samples", "samples", f"must be at least 1, got {cfg.samples}")
    if cfg.dt_us is not None and cfg.dt_us <= 0:
        raise InputError("--dt-us", "dt_us", "must be a positive number of microseconds")
    if cfg.engine == "chip":
        load_profile(cfg.hw)  # a bad profile is reported before anything else is loaded
    if cfg.frames is not None and cfg.dt_us is not None:
        raise InputError("--frames", "frames", "give either --frames or --dt-us, not both")
    net = load_nir(cfg.model, dt_fallback_s=(cfg.dt_us or 1000) * 1e-6)
    for note in net.warnings:
        print(f"snnemu: warning: {cfg.model}: {note}", file=sys.stderr)
    dt_us = cfg.dt_us or max(1, round(net.dt_s * 1e6))
    if cfg.frames is None and abs(dt_us * 1e-6 - net.dt_s) > 1e-12:
        print(f"snnemu: warning: frames of {dt_us} us, but the model's dt is {net.dt_s * 1e6:g} us "
              f"({net.dt_source}): each frame is one timestep of the model", file=sys.stderr)
    events = load_events(cfg.data)
    if cfg.max_us is not None:
        events = clip_time(events, cfg.max_us)
    events = downsample(events, cfg.downsample)
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
        frames = frame_counts(events, dt_us, samples=slice(0, n))
    labels = None if events.labels is None else np.asarray(events.labels[:n])
    return net, frames, labels


def run_network(net, hw, frames: np.ndarray, labels, cfg: RunConfig) -> RunResult:
    """Run ``frames`` ``(samples, T, n_in)`` through ``net`` mapped on ``hw``.

    With ``cfg.workers > 1`` chunks of samples run in worker processes. Every
    sample starts from a fresh state and its own seed, and the totals are
    summed in sample order here, so the records are byte-identical whatever
    the number of workers.
    """
    wall0 = time.perf_counter()
    mapping = map_network(net, hw, cfg.mapping)
    chip = _chip(net, hw, mapping, cfg)
    n_cores = len(chip.cores)
    tot_counts = np.zeros((n_cores, len(COUNTERS)))
    tot_energy = np.zeros((n_cores, len(CATEGORIES)))
    tot_links = np.zeros(chip.topo.n_links)
    layer_spikes = np.zeros((len(frames), len(net.populations)), np.int64)
    tracer = _tracer(net, cfg)
    rows, elapsed_s = [], 0.0
    progress = tqdm(total=len(frames), desc=f"{cfg.mode} on {hw.name}", unit="sample", disable=None,
                    leave=False) if cfg.progress else None  # tqdm hides itself when stderr is no terminal
    for results, cols in _chunks(chip, net, hw, mapping, frames, labels, cfg):
        for i, row, counts, energy, links, spikes, elapsed in results:
            rows.append(row)
            elapsed_s += elapsed
            tot_counts += counts
            tot_energy += energy
            tot_links += links
            layer_spikes[i] = spikes
        if tracer is not None:
            for key, values in cols.items():
                tracer.cols[key] += values
        if progress is not None:
            progress.update(len(results))
    if progress is not None:
        progress.close()
    return RunResult(cfg, net, hw, mapping, rows, tot_counts, tot_energy, tot_links,
                     {p.name: int(layer_spikes[:, j].sum()) for j, p in enumerate(net.populations)},
                     elapsed_s, time.perf_counter() - wall0,
                     chip.synapses_per_core, layer_spikes, tracer)


CHUNK = 8  # samples per task for the workers (and per progress update)


def _tracer(net, cfg: RunConfig) -> Tracer | None:
    return Tracer([p.name for p in net.populations], net.offsets) if cfg.trace else None


def _chip(net, hw, mapping, cfg: RunConfig) -> Chip:
    refractory = cfg.mode == "async" if cfg.refractory is None else cfg.refractory
    return Chip(net, hw, mapping, noc=cfg.noc, queue=cfg.queue, seed=cfg.seed, refractory=refractory)


def _chunks(chip, net, hw, mapping, frames, labels, cfg: RunConfig):
    """Yield ``(results, trace columns)`` per chunk of samples, in sample order."""
    tasks = [(lo, min(lo + CHUNK, len(frames))) for lo in range(0, len(frames), CHUNK)]
    if cfg.workers <= 1 or len(tasks) <= 1:
        for lo, hi in tasks:
            yield _run_samples(chip, net, hw, frames, labels, cfg, lo, hi)
        return
    ctx = multiprocessing.get_context("fork")
    global _WORKER
    _WORKER = (net, hw, mapping, frames, labels, cfg)
    try:
        with ctx.Pool(cfg.workers) as pool:
            yield from pool.imap(_worker_task, tasks)
    finally:
        _WORKER = None


_WORKER = None  # (net, hw, mapping, frames, labels, cfg), inherited by forked workers
_WORKER_CHIP = None


def _worker_task(task):
    global _WORKER_CHIP
    net, hw, mapping, frames, labels, cfg = _WORKER
    if _WORKER_CHIP is None:
        _WORKER_CHIP = _chip(net, hw, mapping, cfg)
    return _run_samples(_WORKER_CHIP, net, hw, frames, labels, cfg, *task)


def _run_samples(chip, net, hw, frames, labels, cfg: RunConfig, lo: int, hi: int):
    """Run samples ``lo:hi``; returns ``([(i, row, counts, energy, link packets, layer spikes, elapsed)],
    trace columns)``.

    A sample's latency runs from its first input injection (its start, if it
    has no input) to its end; its energy covers the whole elapsed time.
    """
    mode = MODES[cfg.mode]
    kwargs = {"batch_input": cfg.input == "frame", "realtime": cfg.realtime} if cfg.mode == "async" else {}
    chip.tracer = _tracer(net, cfg)
    out = []
    for i in range(lo, hi):
        chip.begin_sample(i)
        proc = chip.env.process(mode(chip, frames[i], **kwargs))
        try:
            chip.env.run(until=proc)
        except RuntimeError as exc:
            if "No scheduled events left" not in str(exc):
                raise
            raise DeadlockError(f"deadlock in sample {i} at t={chip.env.now:.3e} s: {chip.stuck()}") from None
        elapsed = chip.env.now  # each sample starts at 0
        t_in = chip.t_first_input or 0.0
        counts = chip.counts()
        named = {k: counts[:, j] for j, k in enumerate(COUNTERS)}
        energy = price(named, chip.barriers, elapsed, hw, chip.used)
        spikes = np.add.reduceat(chip.spike_count, net.offsets[:-1])
        if net.readout == "membrane":  # an LI output layer: the highest potential at the end
            pred = int(np.argmax(chip.V[chip.out_lo:]))
        else:
            out_counts = chip.spike_count[chip.out_lo:]
            pred = int(out_counts.argmax()) if out_counts.any() else -1
        label = None if labels is None else int(labels[i])
        out.append((i, {
            "sample": i, "label": label, "prediction": pred,
            "correct": None if label is None else int(pred == label),
            "spikes": int(spikes[1:].sum()),
            "synaptic_events": int(named["syn"].sum()),
            "packets": int(named["msg_out"].sum()),
            "hops": int(named["hops_ew"].sum() + named["hops_ns"].sum()),
            "latency_s": elapsed - t_in,
            "first_output_s": chip.out_first - t_in if np.isfinite(chip.out_first) else float("nan"),
            "energy_j": float(energy.sum()),
        }, counts, energy, chip.link_packets(), spikes, elapsed))
    return out, ({} if chip.tracer is None else chip.tracer.cols)
