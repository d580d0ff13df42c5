"""``snnemu train``: the command line of ``emulator.train``. Its flags come from
:class:`emulator.config.TrainConfig`, where the options, their defaults and their help are
declared; torch is imported only when the command runs."""

from __future__ import annotations

import dataclasses

from ..config import TrainConfig, refuse_unused, validate_train
from ..errors import InputError
from ..progress import Progress
from .boundary import given_options

__all__ = ["add_train_parser", "run_train"]


def add_train_parser(sub, add_option) -> None:
    """``snnemu train``'s parser, one flag per TrainConfig field (``add_option``: the CLI's own)."""
    p = sub.add_parser("train", help="train a model, layered (BPTT) or unlayered (the scheduler in the graph)")
    for f in dataclasses.fields(TrainConfig):
        add_option(p, f)


def run_train(args) -> int:
    try:
        from ..train import train
    except ImportError as exc:
        raise InputError("snnemu train", "torch", f"needs torch, the [train] extra ({exc})") from None
    cfg = validate_train(TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}))
    refuse_unused(cfg, given_options(args))  # also a flag that repeats its default: --F 16 --mode layered
    bars = {}

    def on_batch(epoch, k, n, loss, acc):  # a bar on a terminal, a line every few seconds elsewhere
        bar = bars.setdefault(epoch, Progress(f"epoch {epoch}", "batch"))
        bar(k, n, loss=f"{loss:.3f}", acc=f"{acc:.3f}")

    def on_epoch(row):  # a line per epoch as it ends, whether or not stderr is a terminal
        print(f"epoch {row['epoch']}: loss {row['loss']:.4f}, train {100 * row['train_accuracy']:.1f}%, "
              f"test {100 * row['test_accuracy']:.1f}%, {row['spikes_per_sample']:.1f} spikes/sample, "
              f"{row['forward_steps']:.1f} steps/sample, {row['seconds']:.1f} s", flush=True)

    res = train(cfg, on_batch=on_batch, on_epoch=on_epoch)
    print(f"{cfg.mode} training of {cfg.arch} on {cfg.data}: test accuracy "
          f"{100 * res.log[-1]['test_accuracy']:.1f}% -> {res.model}")
    return 0
