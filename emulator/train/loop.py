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
import scipy.sparse as sp
import torch

from traces.datasets import load_events
from traces.framing import frame_counts, frame_width_us, preprocess

from ..config import TrainConfig, parse_arch, validate_train
from ..errors import InputError
from ..model import Conventions, Network, Population, Projection, save_nir
from ..reports import plots
from .forward import Layers, async_forward, layered_forward
from .surrogate import SURROGATES

__all__ = ["TrainResult", "load_split", "train"]

LOG_FIELDS = ("epoch", "loss", "train_accuracy", "test_accuracy", "spikes_per_sample", "forward_steps", "seconds")


@dataclass
class TrainResult:
    model: Path
    log: list[dict] = field(default_factory=list)
    layers: Layers | None = None


def load_split(cfg: TrainConfig, split: str):
    """``(frames (N, T, n_in) float32, labels (N,), frame width in us or None)`` of one split of the data."""
    events = preprocess(load_events(cfg.data.removesuffix(":train"), split=split), factor=cfg.downsample)
    if events.labels is None:
        raise InputError(events.name, "labels", "training needs labelled samples")
    n = events.n_samples if cfg.samples is None or split == "test" else min(cfg.samples, events.n_samples)
    width = None if cfg.frames is not None else frame_width_us(events, cfg.dt_us)
    frames = frame_counts(events, width, samples=slice(0, n)) if width else \
        frame_counts(events, bins=cfg.frames, samples=slice(0, n))
    return torch.tensor(frames, dtype=torch.float32), torch.tensor(np.asarray(events.labels[:n])), width


def _initial(sizes: list[int], cfg: TrainConfig) -> Layers:
    gen = torch.Generator().manual_seed(cfg.seed)
    weights = [torch.nn.init.xavier_uniform_(torch.empty(a, b), generator=gen).requires_grad_()
               for a, b in zip(sizes[:-1], sizes[1:])]
    return Layers(weights, [torch.full((n,), cfg.beta) for n in sizes[1:]],
                  [torch.full((n,), cfg.theta) for n in sizes[1:]])


def forward(layers: Layers, x: torch.Tensor, cfg: TrainConfig, first_sample: int = 0, training: bool = True):
    """``(output spikes (T, B, n_out), spikes per sample, forward steps per sample)``."""
    spike = SURROGATES[cfg.surrogate](cfg.slope)
    if cfg.mode == "layered":
        out, spikes = layered_forward(layers, x, spike, cfg.detach_reset)
        steps = np.full(len(x), x.shape[1] * len(layers.weights))
    else:
        out, spikes, steps = async_forward(layers, x, spike, cfg.F, cfg.scheduler,
                                           cfg.refrac_dropout if training else 0.0, cfg.seed, first_sample,
                                           cfg.detach_reset)
    per_sample = sum(s.detach().sum(dim=(0, 2)) for s in spikes)
    return out, per_sample, steps


def rate_loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of each timestep's output counts, averaged over timesteps."""
    return torch.stack([torch.nn.functional.cross_entropy(o, labels) for o in out]).mean()


def train(cfg: TrainConfig, on_batch: Callable | None = None, on_epoch: Callable | None = None) -> TrainResult:
    """Train, writing the model (NIR), a checkpoint per epoch (``MODEL.epochK.pt``), the log
    (``MODEL.train_log.csv``) and the curves (``MODEL.curves.png``) beside ``cfg.out``."""
    validate_train(cfg)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # the same sums in the same order, whatever the machine has
    x, y, width = load_split(cfg, "train")
    xt, yt, _ = load_split(cfg, "test")
    sizes = parse_arch(cfg.arch)
    if sizes[0] != x.shape[2]:
        raise InputError("--arch", "arch", f"the input size {sizes[0]} does not fit the data's {x.shape[2]} inputs")
    layers = _initial(sizes, cfg)
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
            xb = _input_dropout(x[idx], cfg, epoch, lo)
            spikes, _, _ = forward(layers, xb, cfg, first_sample=lo)
            loss = rate_loss(spikes, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((spikes.detach().sum(0).argmax(1) == y[idx]).sum())
            if on_batch is not None:
                on_batch(epoch, k + 1, -(-len(x) // cfg.batch), float(np.mean(losses)), correct / (lo + len(idx)))
        acc, spk, steps = evaluate(layers, xt, yt, cfg)
        log.append({"epoch": epoch, "loss": float(np.mean(losses)), "train_accuracy": correct / len(x),
                    "test_accuracy": acc, "spikes_per_sample": spk, "forward_steps": steps,
                    "seconds": time.perf_counter() - t0})
        spent += log[-1]["seconds"]
        if on_epoch is not None:
            on_epoch(log[-1])
        torch.save({"epoch": epoch, "weights": [w.detach() for w in layers.weights], "optimizer": opt.state_dict(),
                    "log": log}, out.with_suffix(f".epoch{epoch}.pt"))
    _write_log(out.with_suffix(".train_log.csv"), log)
    plots.training_curves(out.with_suffix(".curves.png"), log)
    save_nir(to_network(layers, cfg, width), out, metadata={
        "trained_with": cfg.mode, "F": cfg.F, "scheduler": cfg.scheduler, "refrac_dropout": cfg.refrac_dropout,
        "data": cfg.data, "framing": f"frames of {width} us" if width else f"{cfg.frames} frames", "seed": cfg.seed})
    return TrainResult(out, log, layers)


def evaluate(layers: Layers, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, batch: int = 256):
    """Test accuracy, spikes per sample and forward steps per sample (no dropout)."""
    correct, spikes, steps = 0, 0.0, 0.0
    with torch.no_grad():
        for lo in range(0, len(x), batch):
            out, per_sample, st = forward(layers, x[lo:lo + batch], cfg, first_sample=lo, training=False)
            counts = out.sum(0)
            pred = torch.where(counts.any(1), counts.argmax(1), -1)  # the readout of both engines
            correct += int((pred == y[lo:lo + batch]).sum())
            spikes += float(per_sample.sum())
            steps += float(np.sum(st))
    return correct / len(x), spikes / len(x), steps / len(x)


def _input_dropout(xb: torch.Tensor, cfg: TrainConfig, epoch: int, lo: int) -> torch.Tensor:
    """Real input dropout (the study's code throws its masked tensor away): each spike kept with 1 - p."""
    if cfg.input_dropout <= 0:
        return xb
    keep = np.random.default_rng([cfg.seed, epoch, lo]).random(xb.shape) >= cfg.input_dropout
    return xb * torch.as_tensor(keep, dtype=xb.dtype)


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
    """The trained network in the IR: one model step per frame, zero reset, V > theta, no bias."""
    sizes = layers.sizes
    dt = (width_us or 1000) * 1e-6
    pops = [Population("input", sizes[0], shape=(sizes[0],), kind="Input")]
    projections = []
    for i, n in enumerate(sizes[1:], start=1):
        pops.append(Population(f"lif{i}", n, beta=layers.beta[i - 1].double().numpy(),
                               theta=layers.theta[i - 1].double().numpy(), bias=np.zeros(n), shape=(n,),
                               conventions=Conventions()))
        projections.append(Projection(i - 1, i, sp.csr_matrix(layers.weights[i - 1].detach().double().numpy())))
    return Network(Path(cfg.out).stem, pops, projections, dt, (1, 1, sizes[0]))


def _write_log(path: Path, log: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(log)
