"""``snnemu train``: the command line of ``emulator.train`` (torch is imported only when it runs)."""

from __future__ import annotations

import dataclasses

from tqdm import tqdm

from ..errors import InputError

__all__ = ["add_train_parser", "run_train"]

FLAGS = {"F": "--F", "refrac_dropout": "--refrac-dropout", "input_dropout": "--input-dropout",
         "weight_decay": "--weight-decay", "detach_reset": "--detach-reset", "dt_us": "--dt-us"}


def add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model, layered (BPTT) or unlayered (the scheduler in the graph)")
    p.add_argument("--arch", required=True, help="dense layer sizes, input first, e.g. 64-128-10")
    p.add_argument("--out", required=True, help="the model's .nir file (checkpoints, train_log.csv and the curves "
                                                "go beside it)")
    p.add_argument("--data", default="digits", help="a dataset spec, as for snnemu run --data (its train split)")
    p.add_argument("--mode", default="layered", help="layered | async")
    p.add_argument("--scheduler", default="random", help="async: random | momentum | fifo")
    p.add_argument("--F", type=int, default=16, help="async: spikes emitted per forward step")
    p.add_argument("--refrac-dropout", type=float, default=0.8, help="async: probability a fired neuron stays "
                                                                    "non-refractory, in training")
    p.add_argument("--input-dropout", type=float, default=0.0, help="probability an input spike is dropped")
    for name, kind, default in (("epochs", int, 10), ("batch", int, 64), ("lr", float, 1e-3),
                                ("weight-decay", float, 1e-5), ("theta", float, 0.3), ("beta", float, 0.9),
                                ("seed", int, 0), ("downsample", int, 1)):
        p.add_argument(f"--{name}", type=kind, default=default)
    p.add_argument("--surrogate", default="atan", help="atan (asynctorch's) | fast_sigmoid")
    p.add_argument("--slope", type=float, default=2.0, help="the surrogate's slope")
    p.add_argument("--detach-reset", action="store_true", help="no gradient through the reset")
    p.add_argument("--dt-us", type=int, default=None, help="frame width (default: the data's own framing)")
    p.add_argument("--frames", type=int, default=None, help="instead of --dt-us: N equal frames per sample")
    p.add_argument("--samples", type=int, default=None, help="the first N training samples")
    p.add_argument("--resume", default=None, help="a checkpoint (MODEL.epochK.pt) to go on from")


def run_train(args) -> int:
    try:
        from ..train import TrainConfig, train
    except ImportError as exc:
        raise InputError("snnemu train", "torch", f"needs torch, the [train] extra ({exc})") from None
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
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
