"""A run in chunks of samples: what one task computes, and how chunks merge into a run's result.

Samples are independent: each starts from a fresh chip state with its own
seed (``[seed, sample index]``), and the functional reference keys its draws
by sample index. So a run splits into chunks of consecutive samples. Within a
chunk, totals are summed in sample order; a run's totals are the chunks'
totals summed in chunk order. The chunk boundaries depend only on the number
of samples and the engine, never on how many workers there are, so a run's
records are byte-identical whether its chunks ran here, in a process pool or
on a Dask cluster (``emulator.parallel``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw_models.cost import CATEGORIES, price
from hw_models.profile import HwProfile

from .chip import MODES, Chip, CoreCounters, Mapping, Topology, Unsafe
from .config import RunConfig
from .errors import DeadlockError
from .functional import BATCH, FunctionalResult, FunctionalRun, merge_results, simulate_range
from .model import Network
from .records import Tracer

__all__ = ["CHIP_CHUNK", "ChipChunk", "ChipState", "FunctionalChunk", "RunResult", "chip_chunk", "chunk_ranges",
           "functional_chunk", "make_chip", "merge_chip", "merge_functional"]

CHIP_CHUNK = 16  # samples per chunk on the chip: small enough to spread, large enough to amortize a task
CHUNK = {"chip": CHIP_CHUNK, "functional": BATCH}  # the reference vectorizes over a chunk


def chunk_ranges(n_samples: int, engine: str) -> list[tuple[int, int]]:
    """The chunks ``[(lo, hi)]`` of a run of ``n_samples``: fixed by the count and the engine alone."""
    step = CHUNK[engine]
    return [(lo, min(lo + step, n_samples)) for lo in range(0, n_samples, step)]


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
class ChipState:
    """What a worker holds to run a chip configuration's chunks: the inputs and one chip, built once."""

    net: Network
    hw: HwProfile
    mapping: Mapping
    frames: np.ndarray
    labels: np.ndarray | None
    cfg: RunConfig
    frame_s: float | None
    chip: Chip


@dataclass
class ChipChunk:
    """Samples ``lo:hi`` on the chip: their rows, and their figures summed in sample order."""

    lo: int
    hi: int
    rows: list[dict]
    counters: CoreCounters
    energy: np.ndarray  # (n_cores, len(CATEGORIES))
    links: np.ndarray  # (n_links,)
    layer_spikes: np.ndarray  # (hi - lo, populations)
    elapsed_s: float
    trace: dict[str, list] | None  # the tracer's columns, with --trace
    wall_s: float = 0.0  # host seconds the task took


@dataclass
class FunctionalChunk:
    """Samples ``lo:hi`` on the functional reference."""

    lo: int
    hi: int
    result: FunctionalResult
    wall_s: float = 0.0


def make_chip(net: Network, hw: HwProfile, mapping: Mapping, cfg: RunConfig, frame_s: float | None) -> Chip:
    return Chip(net, hw, mapping, noc=cfg.noc, queue=cfg.queue, seed=cfg.seed, refractory=cfg.refractory_on,
                frame_s=frame_s, stop_on_output=cfg.stop_on_output)


def chip_chunk(state: ChipState, lo: int, hi: int) -> ChipChunk:
    """Run samples ``lo:hi``; a sample's latency runs from its first input injection (its start, if
    it has no input) to its end, and its energy covers the whole elapsed time."""
    chip, cfg, net, hw = state.chip, state.cfg, state.net, state.hw
    mode = MODES[cfg.mode]
    chip.tracer = _tracer(net, state.mapping, cfg)
    counters = CoreCounters.zeros(len(chip.cores))
    energy_sum = np.zeros((len(chip.cores), len(CATEGORIES)))
    links = np.zeros(chip.topo.n_links)
    layer_spikes = np.zeros((hi - lo, len(net.populations)), np.int64)
    rows, elapsed_sum = [], 0.0
    for i in range(lo, hi):
        _run_sample(chip, mode, state.frames[i], cfg, i)
        elapsed = chip.env.now  # each sample starts at 0
        t_in = chip.t_first_input or 0.0
        counts = chip.counts()
        energy = price(counts, chip.barriers, elapsed, hw, chip.used)
        spikes = np.add.reduceat(chip.spike_count, net.offsets[:-1])
        label = None if state.labels is None else int(state.labels[i])
        pred = chip.prediction()
        rows.append({
            "sample": i, "label": label, "prediction": pred,
            "correct": None if label is None else int(pred == label),
            "spikes": int(spikes[1:].sum()),
            "synaptic_events": int(counts.synaptic_events.sum()),
            "packets": int(counts.packets_out.sum() + counts.io_packets.sum()),  # the input's through I/O too
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
        })
        counters += counts
        energy_sum += energy
        links += chip.link_packets()
        layer_spikes[i - lo] = spikes
        elapsed_sum += elapsed
    return ChipChunk(lo, hi, rows, counters, energy_sum, links, layer_spikes, elapsed_sum,
                     None if chip.tracer is None else chip.tracer.cols)


def merge_chip(state: ChipState, chunks: list[ChipChunk], wall_s: float) -> RunResult:
    """The run's result from its chunks, in chunk order."""
    chunks = sorted(chunks, key=lambda c: c.lo)
    chip, net = state.chip, state.net
    counters = CoreCounters.zeros(len(chip.cores))
    energy = np.zeros((len(chip.cores), len(CATEGORIES)))
    links = np.zeros(chip.topo.n_links)
    tracer = _tracer(net, state.mapping, state.cfg)
    rows, elapsed = [], 0.0
    for c in chunks:
        rows += c.rows
        counters += c.counters
        energy += c.energy
        links += c.links
        elapsed += c.elapsed_s
        if tracer is not None:
            tracer.extend(c.trace)
    layer_spikes = (np.concatenate([c.layer_spikes for c in chunks]) if chunks
                    else np.zeros((0, len(net.populations)), np.int64))
    return RunResult(state.cfg, net, state.hw, state.mapping, rows, counters, energy, links,
                     {p.name: int(layer_spikes[:, j].sum()) for j, p in enumerate(net.populations)},
                     elapsed, wall_s, chip.synapses_per_core, layer_spikes, chip.topo, tracer,
                     frame_s=state.frame_s)


def functional_chunk(net: Network, frames: np.ndarray, labels, cfg: RunConfig, lo: int, hi: int) -> FunctionalChunk:
    return FunctionalChunk(lo, hi, simulate_range(net, frames, labels, cfg, lo, hi))


def merge_functional(net: Network, labels, cfg: RunConfig, frame_s: float | None, chunks: list[FunctionalChunk],
                     wall_s: float) -> FunctionalRun:
    chunks = sorted(chunks, key=lambda c: c.lo)
    return FunctionalRun(cfg, net, merge_results([c.result for c in chunks]), labels, wall_s, frame_s)


NAN = float("nan")  # one object: rows with no output compare equal (a dict compares nan by identity first)


def _since(t: float, t_in: float) -> float:
    return t - t_in if np.isfinite(t) else NAN


def _tracer(net: Network, mapping: Mapping, cfg: RunConfig) -> Tracer | None:
    return Tracer([p.name for p in net.populations], net.offsets, mapping.core_of) if cfg.trace else None


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
