"""``snnemu train``'s options, their defaults (the layer-synchronization study's code) and checks."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

__all__ = ["TRAIN_MODES", "TrainConfig", "parse_arch", "validate_train"]

TRAIN_MODES = ("layered", "async")
SCHEDULERS = ("random", "momentum", "fifo")


@dataclass
class TrainConfig:
    """A training run. The defaults follow the study's code: Adam at 1e-3 with weight decay 1e-5,
    theta 0.3, F = 16, the random scheduler, refractory dropout 0.8 in training, no bias, xavier-uniform
    weights."""

    arch: str  # dense layer sizes, input first: "64-128-10"
    out: str  # the model's .nir file; the checkpoints, train_log.csv and the curves go beside it
    data: str = "digits"  # a --data spec; its training split trains, its test split tests
    mode: str = "layered"  # layered: BPTT, layer by layer; async: unlayered, the scheduler in the graph
    scheduler: str = "random"
    F: int = 16
    refrac_dropout: float = 0.8
    input_dropout: float = 0.0  # each input spike dropped with this probability in training
    epochs: int = 10
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    theta: float = 0.3
    beta: float = 0.9
    surrogate: str = "atan"
    slope: float = 2.0  # the surrogate's alpha (atan) or k (fast_sigmoid)
    detach_reset: bool = False
    dt_us: int | None = None  # the frame width (default: the data's own framing, else 1 ms)
    frames: int | None = None
    downsample: int = 1
    seed: int = 0
    resume: str | None = None  # a checkpoint to go on from
    samples: int | None = None  # the first N training samples (default: all)
    max_seconds: float | None = None  # stop after the epoch that passes this much training time


def parse_arch(spec: str) -> list[int]:
    """``"64-128-10"`` -> ``[64, 128, 10]``: the input size, then each layer's neurons."""
    try:
        sizes = [int(tok) for tok in str(spec).split("-")]
    except ValueError:
        bad = next(t for t in str(spec).split("-") if not t.strip().isdigit())
        raise InputError("--arch", "arch", f"unknown token {bad!r} in {spec!r}: give layer sizes, "
                                           "input first, like 578-128-10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError("--arch", "arch", f"{spec!r}: give at least an input size and one layer, each >= 1")
    return sizes


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Check every option; raises InputError naming the flag and the field."""
    if cfg.mode not in TRAIN_MODES:
        raise InputError("--mode", "mode", f"unknown mode {cfg.mode!r} (use {', '.join(TRAIN_MODES)})")
    if cfg.scheduler not in SCHEDULERS:
        raise InputError("--scheduler", "scheduler", f"unknown scheduler {cfg.scheduler!r} (use {', '.join(SCHEDULERS)})")
    if cfg.surrogate not in ("atan", "fast_sigmoid"):
        raise InputError("--surrogate", "surrogate", f"unknown surrogate {cfg.surrogate!r} (use atan, fast_sigmoid)")
    for name in ("F", "epochs", "batch", "downsample"):
        if getattr(cfg, name) < 1:
            raise InputError(f"--{name}", name, f"must be at least 1, got {getattr(cfg, name)}")
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
