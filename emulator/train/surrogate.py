"""Surrogate gradients: the spike is a step forward, a smooth bump backward.

- ``atan``: asynctorch's, ``1 / (pi * (1 + (pi * alpha * x / 2)^2))`` (peak ``1/pi``; snnTorch's
  ATan is scaled differently);
- ``fast_sigmoid``: ``1 / (1 + k*|x|)^2``.

``x`` is ``V - theta``; each surrogate's slope (``alpha``, ``k``) is a parameter.
"""

from __future__ import annotations

import math

import torch

__all__ = ["SURROGATES", "atan", "fast_sigmoid"]


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope, kind):
        ctx.save_for_backward(x)
        ctx.slope, ctx.kind = slope, kind
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.kind == "atan":
            d = 1.0 / (math.pi * (1.0 + (math.pi * ctx.slope * x / 2.0) ** 2))
        else:
            d = 1.0 / (1.0 + ctx.slope * x.abs()) ** 2
        return grad * d, None, None


def atan(alpha: float = 2.0):
    """The spike with asynctorch's arctan surrogate of slope ``alpha``."""
    return lambda x: _Spike.apply(x, alpha, "atan")


def fast_sigmoid(k: float = 25.0):
    """The spike with the fast-sigmoid surrogate of slope ``k``."""
    return lambda x: _Spike.apply(x, k, "fast_sigmoid")


SURROGATES = {"atan": atan, "fast_sigmoid": fast_sigmoid}
