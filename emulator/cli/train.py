"""``snnemu train``: the command line of ``emulator.train``. Its flags come from
:class:`emulator.config.TrainConfig`, where the options and their defaults are declared; torch is
imported only when the command runs."""

from __future__ import annotations

import dataclasses

from tqdm import tqdm

from ..config import TrainConfig
from ..errors import InputError

__all__ = ["add_train_parser", "run_train"]

HELP = {
    "arch": "dense layer sizes, input first, e.g. 64-128-10",
    "out": "the model's .nir file (MODEL.epochK.pt, MODEL.train_log.csv and MODEL.curves.png go beside it)",
    "data": "a dataset spec, as for snnemu run --data (its train split trains, its test split tests)",
    "mode": "layered (BPTT) | async (unlayered: the scheduler in the training graph)",
    "scheduler": "async: random | momentum | fifo",
    "F": "async: spikes emitted per forward step",
    "refrac_dropout": "async: probability a fired neuron is not made refractory, in training",
    "input_dropout": "probability an input spike is dropped, in training",
    "epochs": "passes over the training split", "batch": "samples per step of the optimizer",
    "lr": "Adam's learning rate", "weight_decay": "Adam's weight decay", "theta": "every neuron's threshold",
    "beta": "every neuron's leak per step", "downsample": "pool K x K sensor pixels into one input",
    "seed": "the initial weights, the batches and every random draw",
    "surrogate": "atan (asynctorch's) | fast_sigmoid",
    "slope": "the surrogate's slope (alpha of atan, k of fast_sigmoid)",
    "detach_reset": "no gradient through the reset",
    "dt_us": "frame width in microseconds (default: the data's own framing, else 1000)",
    "frames": "instead of --dt-us: cut each sample into N equal frames",
    "samples": "the first N training samples (default: all)",
    "resume": "a checkpoint (MODEL.epochK.pt) to go on from",
    "max_seconds": "stop after the epoch that passes this much training time",
}


def add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model, layered (BPTT) or unlayered (the scheduler in the graph)")
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + (f.name if f.name == "F" else f.name.replace("_", "-"))
        if f.default is dataclasses.MISSING:
            p.add_argument(flag, dest=f.name, required=True, help=HELP.get(f.name))
        elif isinstance(f.default, bool):
            p.add_argument(flag, dest=f.name, action="store_true", help=HELP.get(f.name))
        else:
            kind = str(f.type)
            p.add_argument(flag, dest=f.name, default=f.default, help=HELP.get(f.name),
                           type=float if "float" in kind else int if "int" in kind else str)


def run_train(args) -> int:
    try:
        from ..train import train
    except ImportError as exc:
        raise InputError("snnemu train", "torch", f"needs torch, the [train] extra ({exc})") from None
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    bar, bar_epoch = None, None

    def on_batch(epoch, k, n, loss, acc):
        nonlocal bar, bar_epoch
        if bar_epoch != epoch:
            bar, bar_epoch = tqdm(total=n, desc=f"epoch {epoch}", unit="batch", leave=False, disable=None), epoch
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}", refresh=False)
        bar.update(1)
        if k == n:
            bar.close()

    def on_epoch(row):  # a line per epoch as it ends, whether or not stderr is a terminal
        print(f"epoch {row['epoch']}: loss {row['loss']:.4f}, train {100 * row['train_accuracy']:.1f}%, "
              f"test {100 * row['test_accuracy']:.1f}%, {row['spikes_per_sample']:.1f} spikes/sample, "
              f"{row['forward_steps']:.1f} steps/sample, {row['seconds']:.1f} s", flush=True)

    res = train(cfg, on_batch=on_batch, on_epoch=on_epoch)
    print(f"{cfg.mode} training of {cfg.arch} on {cfg.data}: test accuracy "
          f"{100 * res.log[-1]['test_accuracy']:.1f}% -> {res.model}")
    return 0
