"""Training: layered BPTT and unlayered backpropagation (the scheduler inside the training graph).

Needs torch (the optional ``[train]`` extra); nothing else in snnemu imports this package (the CLI
imports it when ``snnemu train`` runs). ``train(TrainConfig(...))`` mirrors the command. The training
graph's forward passes (``forward.py``) are tested equal to the functional reference, so a trained
model runs on the chip as it was trained; see docs/design.md, "Architecture".
"""

from ..config import TRAIN_MODES, TrainConfig, parse_arch, validate_train
from .forward import Layers, async_forward, layered_forward
from .loop import TrainResult, evaluate, rate_loss, to_network, train
from .surrogate import SURROGATES, atan, fast_sigmoid

__all__ = ["Layers", "SURROGATES", "TRAIN_MODES", "TrainConfig", "TrainResult", "async_forward", "atan", "evaluate",
           "fast_sigmoid", "layered_forward", "parse_arch", "rate_loss", "to_network", "train", "validate_train"]
