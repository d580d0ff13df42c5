"""The training loop: data, initial weights, epochs, checkpoints, the log, and the model as NIR.

Loss: the cross-entropy of each timestep's output spike counts, averaged over
timesteps (snnTorch's ``ce_rate_loss``); accuracy: the argmax of the summed
counts. Determinism: the same seed gives the same weights on the CPU, with
torch's deterministic algorithms, one thread, and the batches of each epoch
drawn from ``numpy.random.default_rng([seed, epoch])``, so that a run resumed
from a checkpoint ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from traces.datasets import load_events
from traces.framing import frame_counts, frame_width_us, input_shape, preprocess

from ..config import TrainConfig, parse_arch, validate_train
from ..errors import InputError
from ..functional import INPUT, drop
from ..model import Arch, ArchLayer, Conventions, Network, Population, Projection, layer_nodes, save_nir
from ..reports import plots
from ..scratch import atomic_path
from .forward import Layers, async_forward, layered_forward
from .surrogate import SURROGATES

__all__ = ["LOSSES", "TrainResult", "evaluate", "first_spike_loss", "load_split", "objective", "rate_loss", "train"]

LOG_FIELDS = ("epoch", "loss", "train_accuracy", "test_accuracy", "spikes_per_sample", "forward_steps", "seconds")


@dataclass
class TrainResult:
    model: Path
    log: list[dict] = field(default_factory=list)
    layers: Layers | None = None


def load_split(cfg: TrainConfig, split: str):
    """``(frames (N, T, n_in) float32, labels (N,), frame width in us or None, input shape (C, H, W))`` of
    one split of the data."""
    events = preprocess(load_events(cfg.data.removesuffix(":train"), split=split), factor=cfg.downsample)
    if events.labels is None:
        raise InputError(events.name, "labels", "training needs labelled samples")
    n = events.n_samples if cfg.samples is None or split == "test" else min(cfg.samples, events.n_samples)
    width = None if cfg.frames is not None else frame_width_us(events, cfg.dt_us)
    frames = frame_counts(events, width, samples=slice(0, n)) if width else \
        frame_counts(events, bins=cfg.frames, samples=slice(0, n))
    return (torch.tensor(frames, dtype=torch.float32), torch.tensor(np.asarray(events.labels[:n])), width,
            input_shape(events.sensor_size))


def _initial(arch: Arch, cfg: TrainConfig) -> Layers:
    gen = torch.Generator().manual_seed(cfg.seed)
    weights = [torch.nn.init.xavier_uniform_(torch.empty(*_weight_shape(lay)), generator=gen).requires_grad_()
               for lay in arch.layers]
    sizes = arch.sizes
    return Layers(weights, [torch.full((n,), cfg.beta) for n in sizes[1:]],
                  [torch.full((n,), cfg.theta) for n in sizes[1:]], arch=arch)


def _weight_shape(lay: ArchLayer) -> tuple[int, ...]:
    if lay.kind == "dense":
        return lay.n_in, lay.size
    return lay.channels, lay.in_shape[0], lay.kernel, lay.kernel


def _check_input(arch: Arch, n_in: int, shape: tuple[int, int, int]) -> None:
    """The architecture's input must be the data's: its size, and for a convolution its C x H x W."""
    fits = arch.input_shape == tuple(shape) if len(arch.input_shape) == 3 else arch.sizes[0] == n_in
    if not fits:
        raise InputError("--arch", "arch", f"the input {'x'.join(map(str, arch.input_shape))} does not fit the "
                                           f"data's {n_in} inputs ({'x'.join(map(str, shape))})")


def forward(layers: Layers, x: torch.Tensor, cfg: TrainConfig, first_sample: int = 0, training: bool = True):
    """``(output spikes (T, B, n_out), every layer's spikes [layer](T, B, n), forward steps per sample)``."""
    spike = SURROGATES[cfg.surrogate](cfg.slope)
    if cfg.mode == "layered":
        out, spikes = layered_forward(layers, x, spike, cfg.detach_reset)
        steps = np.full(len(x), x.shape[1] * len(layers.weights))
    else:
        out, spikes, steps = async_forward(layers, x, spike, cfg.F, cfg.scheduler,
                                           cfg.refrac_dropout if training else 0.0, cfg.seed, first_sample,
                                           cfg.detach_reset, momentum_noise=cfg.momentum_noise)
    return out, spikes, steps


def spikes_per_sample(spikes: list[torch.Tensor]) -> torch.Tensor:
    """``(B,)``: every layer's spikes of each sample, over all timesteps (with gradient)."""
    return sum(s.sum(dim=(0, 2)) for s in spikes)


def rate_loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of each timestep's output counts, averaged over timesteps."""
    return torch.stack([torch.nn.functional.cross_entropy(o, labels) for o in out]).mean()


def first_spike_loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of minus each output neuron's first-spike timestep, counted as the timesteps
    before its first spike (T if it never fires): ``sum_t prod_{t' <= t} (1 - s_t')``, a product of
    spikes, so the surrogate gradient reaches it. The earliest neuron is the most likely class."""
    silent_so_far = torch.cumprod(1.0 - out.clamp(max=1.0), dim=0)  # (T, B, n): 1 until the first spike
    return torch.nn.functional.cross_entropy(-silent_so_far.sum(dim=0), labels)


LOSSES = {"rate": rate_loss, "first-spike": first_spike_loss}


def objective(out: torch.Tensor, spikes: list[torch.Tensor], labels: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """The loss trained on: the chosen loss, plus the spike-count penalty."""
    loss = LOSSES[cfg.loss](out, labels)
    if cfg.spike_penalty > 0:
        loss = loss + cfg.spike_penalty * spikes_per_sample(spikes).mean()
    return loss


def train(cfg: TrainConfig, on_batch: Callable | None = None, on_epoch: Callable | None = None) -> TrainResult:
    """Train, writing the model (NIR), a checkpoint per epoch (``MODEL.epochK.pt``), the log
    (``MODEL.train_log.csv``) and the curves (``MODEL.curves.png``) beside ``cfg.out``."""
    validate_train(cfg)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # the same sums in the same order, whatever the machine has
    x, y, width, shape = load_split(cfg, "train")
    xt, yt, _, _ = load_split(cfg, "test")
    arch = parse_arch(cfg.arch)
    _check_input(arch, x.shape[2], shape)
    layers = _initial(arch, cfg)
    opt = torch.optim.Adam(layers.weights, lr=cfg.lr, weight_decay=cfg.weight_decay)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log, first = [], 1
    if cfg.resume:
        first, log = _resume(cfg.resume, layers, opt)
    spent = sum(r["seconds"] for r in log)
    for epoch in range(first, cfg.epochs + 1):
        if cfg.max_seconds is not None and spent >= cfg.max_seconds:
            break
        t0 = time.perf_counter()
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(x))
        losses, correct = [], 0
        for k, lo in enumerate(range(0, len(x), cfg.batch)):
            idx = torch.as_tensor(order[lo:lo + cfg.batch])
            xb = _input_dropout(x[idx], cfg, lo)
            out_spikes, spikes, _ = forward(layers, xb, cfg, first_sample=lo)
            loss = objective(out_spikes, spikes, y[idx], cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((out_spikes.detach().sum(0).argmax(1) == y[idx]).sum())
            if on_batch is not None:
                on_batch(epoch, k + 1, -(-len(x) // cfg.batch), float(np.mean(losses)), correct / (lo + len(idx)))
        acc, spk, steps = evaluate(layers, xt, yt, cfg)
        log.append({"epoch": epoch, "loss": float(np.mean(losses)), "train_accuracy": correct / len(x),
                    "test_accuracy": acc, "spikes_per_sample": spk, "forward_steps": steps,
                    "seconds": time.perf_counter() - t0})
        spent += log[-1]["seconds"]
        if on_epoch is not None:
            on_epoch(log[-1])
        with atomic_path(out.with_suffix(f".epoch{epoch}.pt")) as tmp:  # a resume never finds half a checkpoint
            torch.save({"epoch": epoch, "weights": [w.detach() for w in layers.weights],
                        "optimizer": opt.state_dict(), "log": log}, tmp)
    _write_log(out.with_suffix(".train_log.csv"), log)
    plots.training_curves(out.with_suffix(".curves.png"), log)
    save_nir(to_network(layers, cfg, width), out, metadata={
        "trained_with": cfg.mode, "F": cfg.F, "scheduler": cfg.scheduler, "refrac_dropout": cfg.refrac_dropout,
        "momentum_noise": cfg.momentum_noise, "loss": cfg.loss, "spike_penalty": cfg.spike_penalty,
        "data": cfg.data, "framing": f"frames of {width} us" if width else f"{cfg.frames} frames", "seed": cfg.seed})
    return TrainResult(out, log, layers)


def evaluate(layers: Layers, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, batch: int = 256):
    """Test accuracy, spikes per sample and forward steps per sample (no dropout)."""
    correct, spikes, steps = 0, 0.0, 0.0
    with torch.no_grad():
        for lo in range(0, len(x), batch):
            out, every, st = forward(layers, x[lo:lo + batch], cfg, first_sample=lo, training=False)
            per_sample = spikes_per_sample(every)
            counts = out.sum(0)
            pred = torch.where(counts.any(1), counts.argmax(1), -1)  # the readout of both engines
            correct += int((pred == y[lo:lo + batch]).sum())
            spikes += float(per_sample.sum())
            steps += float(np.sum(st))
    return correct / len(x), spikes / len(x), steps / len(x)


def _input_dropout(xb: torch.Tensor, cfg: TrainConfig, first_sample: int) -> torch.Tensor:
    """Real input dropout (the study's code throws its masked tensor away): each spike kept with 1 - p,
    drawn as the reference draws its ``input_dropout`` (keyed by seed, sample and timestep)."""
    if cfg.input_dropout <= 0:
        return xb
    ids = first_sample + np.arange(len(xb))
    x = xb.numpy()
    kept = np.stack([drop(x[:, t], cfg.input_dropout, cfg.seed, INPUT * 1000, ids, t) for t in range(x.shape[1])], 1)
    return torch.as_tensor(kept, dtype=xb.dtype)


def _resume(path: str, layers: Layers, opt) -> tuple[int, list]:
    try:
        ckpt = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(path, "--resume", f"not a readable checkpoint ({exc})") from None
    with torch.no_grad():
        for w, saved in zip(layers.weights, ckpt["weights"]):
            if w.shape != saved.shape:
                raise InputError(path, "weights", f"shape {tuple(saved.shape)} does not fit {tuple(w.shape)}")
            w.copy_(saved)
    opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt["epoch"]) + 1, list(ckpt["log"])


def to_network(layers: Layers, cfg: TrainConfig, width_us: int | None) -> Network:
    """The trained network in the IR: one model step per frame, zero reset, V > theta, no bias. Each
    projection keeps its NIR nodes, so a convolution is written as a ``Conv2d``."""
    arch = layers.arch
    dt = (width_us or 1000) * 1e-6
    n_in = arch.sizes[0]
    pops = [Population("input", n_in, shape=arch.input_shape, kind="Input")]
    projections = []
    for i, lay in enumerate(arch.layers, start=1):
        pops.append(Population(f"lif{i}", lay.size, beta=layers.beta[i - 1].double().numpy(),
                               theta=layers.theta[i - 1].double().numpy(), bias=np.zeros(lay.size), shape=lay.shape,
                               conventions=Conventions()))
        weight = layers.weights[i - 1].detach().double().numpy()
        projections.append(Projection(i - 1, i, layers.synapses(i - 1), nodes=tuple(layer_nodes(lay, weight))))
    in_shape = (1, 1, n_in) if len(arch.input_shape) == 1 else arch.input_shape
    return Network(Path(cfg.out).stem, pops, projections, dt, in_shape)


def _write_log(path: Path, log: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(log)
