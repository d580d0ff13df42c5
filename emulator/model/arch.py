"""The architecture spec of ``snnemu train --arch``: a short string, parsed here without torch.

Tokens are joined by ``-``; the first is the input, each later one a layer of
LIF neurons (or, for ``p``, a pooling of the layer before it)::

    578                 the input: 578 values (dense layers only)
    2x17x17             the input as C x H x W (needed before a convolution)
    128                 a dense layer of 128 neurons (a (C, H, W) input is flattened channel-major)
    8c3                 a convolution: 8 channels, 3 x 3 kernel, stride 1, no padding
    8c3s2               the same with stride 2
    p2                  sum pooling 2 x 2 (stride 2) of the currents into the convolution layer before it,
                        so that layer's neurons sit on the pooled map

For example ``2x17x17-8c3-p2-10`` is a convolution of 8 channels whose 15 x
15 maps are pooled to 7 x 7 (392 neurons), then a dense output layer of 10.
Convolutions come before dense layers. Each layer's synapses are one NIR chain
(``Conv2d``, ``SumPool2d``, ``Flatten``, ``Affine``), never unrolled to dense in
the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nir
import numpy as np

from ..errors import InputError

__all__ = ["Arch", "ArchLayer", "parse_arch"]

_CONV = re.compile(r"(\d+)c(\d+)(?:s(\d+))?")


@dataclass(frozen=True)
class ArchLayer:
    """One layer: ``kind`` ``dense`` or ``conv``, from ``in_shape`` onto neurons of ``shape``."""

    kind: str
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]
    channels: int = 0  # conv: output channels, kernel side, stride, pooling side (1: none)
    kernel: int = 0
    stride: int = 1
    pool: int = 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))


@dataclass(frozen=True)
class Arch:
    input_shape: tuple[int, ...]
    layers: tuple[ArchLayer, ...]

    @property
    def sizes(self) -> list[int]:
        """The input size, then each layer's neurons."""
        return [int(np.prod(self.input_shape))] + [lay.size for lay in self.layers]

    @property
    def dense(self) -> bool:
        return all(lay.kind == "dense" for lay in self.layers)


def parse_arch(spec: str) -> Arch:
    """``"2x17x17-8c3-p2-10"`` -> an :class:`Arch`; an unknown token or a shape that does not fit
    raises InputError naming ``--arch``."""
    tokens = str(spec).split("-")

    def bad(message: str):
        return InputError("--arch", "arch", f"{spec!r}: {message}")

    try:
        shape = tuple(int(t) for t in tokens[0].split("x"))
    except ValueError:
        raise bad(f"the input {tokens[0]!r} is not a size (578) or a shape (2x17x17)") from None
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise bad(f"the input {tokens[0]!r} must be N or C x H x W, each at least 1")
    layers: list[ArchLayer] = []
    for tok in tokens[1:]:
        here = layers[-1].shape if layers else shape
        conv = _CONV.fullmatch(tok)
        if tok.isdigit():
            if int(tok) < 1:
                raise bad("a layer needs at least 1 neuron")
            layers.append(ArchLayer("dense", here, (int(tok),)))
        elif conv:
            if len(here) != 3:
                raise bad(f"the convolution {tok!r} needs a C x H x W input; convolutions come before dense layers")
            c, k, s = int(conv[1]), int(conv[2]), int(conv[3] or 1)
            side = [(n - k) // s + 1 if k >= 1 and s >= 1 else 0 for n in here[1:]]
            if c < 1 or min(side) < 1:
                raise bad(f"the convolution {tok!r} does not fit its input {'x'.join(map(str, here))}")
            layers.append(ArchLayer("conv", here, (c, *side), channels=c, kernel=k, stride=s))
        elif re.fullmatch(r"p\d+", tok):
            k, last = int(tok[1:]), layers[-1] if layers else None
            if last is None or last.kind != "conv" or last.pool != 1:
                raise bad(f"the pooling {tok!r} must follow a convolution (one pooling each)")
            c, h, w = last.shape
            if k < 1 or h // k < 1 or w // k < 1:
                raise bad(f"the pooling {tok!r} does not fit the maps of {h}x{w}")
            layers[-1] = ArchLayer("conv", last.in_shape, (c, h // k, w // k), c, last.kernel, last.stride, k)
        else:
            raise bad(f"unknown token {tok!r}: give a dense size (128), a convolution (8c3, 8c3s2) or a "
                      "pooling (p2); the input first, like 578-128-10 or 2x17x17-8c3-p2-10")
    if not layers:
        raise bad("give an input and at least one layer, like 578-128-10")
    return Arch(shape, tuple(layers))


def layer_nodes(layer: ArchLayer, weight: np.ndarray) -> list:
    """The stateless NIR nodes of one layer's synapses, in order, without bias: a dense ``weight`` is
    ``(n_in, n_out)`` (``x @ weight``), a convolution's ``(C_out, C_in, k, k)``."""
    weight = np.asarray(weight, float)
    if layer.kind == "dense":
        nodes = [nir.Flatten(input_type={"input": np.array(layer.in_shape)}, start_dim=0)] \
            if len(layer.in_shape) > 1 else []
        return nodes + [nir.Linear(weight=weight.T.copy())]
    nodes = [nir.Conv2d(input_shape=tuple(layer.in_shape[1:]), weight=weight, stride=layer.stride, padding=0,
                        dilation=1, groups=1, bias=np.zeros(layer.channels))]
    if layer.pool > 1:
        k = np.array([layer.pool, layer.pool])
        nodes.append(nir.SumPool2d(kernel_size=k, stride=k, padding=np.array([0, 0])))
    return nodes
