"""NIR's stateless nodes as sparse linear maps: convolutions, pooling, Flatten,
Scale, Affine and Linear.

Each node maps a tensor of shape ``in_shape`` to one of ``out_shape``, both
flattened channel-major, the PyTorch layout ``(C, H, W)`` (``(C, L)`` in 1-D),
as ``y = x @ W + b`` with ``W`` a CSR matrix of shape ``(n_in, n_out)``. A
convolution becomes one synapse per (output position, kernel tap) that lands
inside the input, built with vectorized index arithmetic; nothing dense of
size ``n_in x n_out`` is ever made for a convolution or a pooling. A chain of
such nodes between two neuron layers folds into one map (``W1 @ W2``, the
biases carried through), so it becomes one projection.

Padding follows PyTorch: an int or a tuple per spatial dimension,
``"valid"`` (none) or ``"same"`` (stride 1; the extra pixel of an even total
goes to the end). AvgPool counts padding in its divisor
(``count_include_pad=True``, PyTorch's default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, check_size

__all__ = ["LinearMap", "apply_node", "floats", "fold_nodes", "LINEAR_NODES"]

LINEAR_NODES = ("Affine", "Linear", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Scale")
# unrolling a convolution (index and weight arrays, the mask, the COO to CSR copy): measured 44 B a synapse at the
# import's peak (3x3 over 1500 x 1500, neurons included); the rest is room for the chip's layout of them
BYTES_PER_SYNAPSE = 64


@dataclass
class LinearMap:
    """``y = x @ weights + bias`` from ``in_shape`` to ``out_shape`` (None weights: the identity)."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weights: sp.csr_matrix | None = None
    bias: np.ndarray | None = None

    @staticmethod
    def identity(shape) -> LinearMap:
        return LinearMap(tuple(shape), tuple(shape))

    def then(self, w: sp.csr_matrix | None, b: np.ndarray | None, out_shape) -> LinearMap:
        """This map followed by ``x -> x @ w + b``."""
        weights = self.weights if w is None else (w if self.weights is None else (self.weights @ w).tocsr())
        bias = self.bias if w is None or self.bias is None else np.asarray(self.bias @ w).reshape(-1)
        if b is not None:
            bias = b.copy() if bias is None else bias + b
        return LinearMap(self.in_shape, tuple(out_shape), weights, bias)

    def matrix(self) -> sp.csr_matrix:
        n = int(np.prod(self.in_shape))
        w = sp.identity(n, format="csr") if self.weights is None else self.weights.tocsr()
        w = w.astype(float)
        w.eliminate_zeros()
        w.sort_indices()
        return w


def floats(value, file: str, field: str) -> np.ndarray:
    """``value`` as a float array; anything that is not numbers (strings, objects, None) is an
    InputError naming the field and the dtype."""
    arr = np.asarray(value) if value is not None else np.asarray(None)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise InputError(file, field, f"must hold numbers, got dtype {arr.dtype}")
    return arr.astype(float)


def _pair(value, n: int, field: str, file: str, at_least: int = 1) -> tuple[int, ...]:
    """``n`` whole numbers of at least ``at_least`` (one value stands for all ``n``)."""
    arr = floats(value, file, field).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise InputError(file, field, f"expected {n} values, got {arr.size}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < at_least):
        raise InputError(file, field, f"must be whole numbers of at least {at_least}, got {tuple(arr.tolist())}")
    return tuple(int(v) for v in arr)


def _padding(pad, kernel, dilation, stride, field: str, file: str) -> list[tuple[int, int]]:
    """(before, after) per spatial dimension."""
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, str):
        if pad == "valid":
            return [(0, 0)] * len(kernel)
        if pad == "same":
            if any(s != 1 for s in stride):
                raise InputError(file, field, "padding 'same' needs stride 1 (as in PyTorch)")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return [(t // 2, t - t // 2) for t in total]
        raise InputError(file, field, f"unknown padding {pad!r} (use an int, a tuple, 'same' or 'valid')")
    p = _pair(pad, len(kernel), field, file, at_least=0)
    return [(v, v) for v in p]


def _windows(in_hw, kernel, stride, dilation, pads, field: str, file: str):
    """Output size and, per spatial dimension, the input index of (output position, tap)."""
    out, idx = [], []
    for size, k, s, d, (p0, p1) in zip(in_hw, kernel, stride, dilation, pads):
        o = (size + p0 + p1 - d * (k - 1) - 1) // s + 1
        if o < 1:
            raise InputError(file, field, f"the kernel ({k}, dilation {d}) does not fit an input of {size} "
                                          f"with padding {p0}+{p1}")
        out.append(o)
        idx.append(np.arange(o)[:, None] * s - p0 + np.arange(k)[None, :] * d)  # (o, k)
    return out, idx


def _conv(node, in_shape, name: str, file: str):
    w = floats(node.weight, file, f"nodes.{name}.weight")
    nd = w.ndim - 2
    if nd not in (1, 2) or len(in_shape) != nd + 1:
        raise InputError(file, f"nodes.{name}.weight",
                         f"a {nd}-D convolution on an input of shape {tuple(in_shape)} (expected (C, {'H, W' if nd == 2 else 'L'}))")
    groups = _pair(node.groups, 1, f"nodes.{name}.groups", file)[0]
    c_in, spatial = in_shape[0], tuple(in_shape[1:])
    declared = getattr(node, "input_shape", None)
    if declared is not None and np.asarray(declared).size:
        declared = np.asarray(declared).reshape(-1)[-nd:]
        if tuple(declared.tolist()) != spatial:
            raise InputError(file, f"nodes.{name}.input_shape", f"declares an input of {tuple(declared.tolist())}; "
                                                             f"it gets {spatial}")
    c_out, cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    if groups < 1 or c_in % groups or c_out % groups or cg != c_in // groups:
        raise InputError(file, f"nodes.{name}.weight", f"shape {w.shape} with groups={groups} does not fit "
                                                     f"{c_in} input channels")
    if not np.all(np.isfinite(w)):
        raise InputError(file, f"nodes.{name}.weight", "NaN or infinite weights")
    stride = _pair(node.stride, nd, f"nodes.{name}.stride", file)
    dilation = _pair(node.dilation, nd, f"nodes.{name}.dilation", file)
    pads = _padding(node.padding, kernel, dilation, stride, f"nodes.{name}.padding", file)
    out_sp, idx = _windows(spatial, kernel, stride, dilation, pads, f"nodes.{name}", file)
    if nd == 1:  # treat (C, L) as (C, 1, L)
        spatial, out_sp, kernel = (1, *spatial), [1, *out_sp], (1, *kernel)
        idx = [np.zeros((1, 1), int), idx[0]]
        w = w[:, :, None, :]
    (H, W), (Ho, Wo), (kh, kw) = spatial, out_sp, kernel
    _check_synapses(c_out * Ho * Wo * cg * kh * kw, f"nodes.{name}", file, f"{c_out}x{Ho}x{Wo} outputs")
    co = np.arange(c_out)[:, None, None, None, None, None]
    oy = np.arange(Ho)[None, :, None, None, None, None]
    ox = np.arange(Wo)[None, None, :, None, None, None]
    cl = np.arange(cg)[None, None, None, :, None, None]
    ky = np.arange(kh)[None, None, None, None, :, None]
    kx = np.arange(kw)[None, None, None, None, None, :]
    iy = idx[0][oy, ky]
    ix = idx[1][ox, kx]
    ci = (co // (c_out // groups)) * cg + cl
    shape = np.broadcast_shapes(co.shape, oy.shape, ox.shape, cl.shape, ky.shape, kx.shape)
    iy, ix, ci = (np.broadcast_to(a, shape) for a in (iy, ix, ci))
    vals = np.broadcast_to(w[co, cl, ky, kx], shape)
    dst = np.broadcast_to((co * Ho + oy) * Wo + ox, shape)
    keep = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W) & (vals != 0)
    src = (ci[keep] * H + iy[keep]) * W + ix[keep]
    mat = sp.csr_matrix((vals[keep], (src, dst[keep])), shape=(c_in * H * W, c_out * Ho * Wo))
    bias = floats(node.bias, file, f"nodes.{name}.bias").reshape(-1) if getattr(node, "bias", None) is not None \
        else np.zeros(c_out)
    if bias.size == 1:
        bias = np.repeat(bias, c_out)
    if bias.size != c_out or not np.all(np.isfinite(bias)):
        raise InputError(file, f"nodes.{name}.bias", f"expected {c_out} finite values, got {bias.size}")
    out_shape = (c_out, *out_sp) if nd == 2 else (c_out, out_sp[1])
    return mat, np.repeat(bias, Ho * Wo), out_shape


def _pool(node, in_shape, name: str, file: str, average: bool):
    if len(in_shape) != 3:
        raise InputError(file, f"nodes.{name}", f"2-D pooling needs an input of shape (C, H, W), got {tuple(in_shape)}")
    kernel = _pair(node.kernel_size, 2, f"nodes.{name}.kernel_size", file)
    stride = _pair(node.stride if node.stride is not None else node.kernel_size, 2, f"nodes.{name}.stride", file)
    pads = _padding(node.padding, kernel, (1, 1), stride, f"nodes.{name}.padding", file)
    c, H, W = in_shape
    (Ho, Wo), idx = _windows((H, W), kernel, stride, (1, 1), pads, f"nodes.{name}", file)
    _check_synapses(c * Ho * Wo * kernel[0] * kernel[1], f"nodes.{name}", file, f"{c}x{Ho}x{Wo} outputs")
    ch = np.arange(c)[:, None, None, None, None]
    oy = np.arange(Ho)[None, :, None, None, None]
    ox = np.arange(Wo)[None, None, :, None, None]
    ky = np.arange(kernel[0])[None, None, None, :, None]
    kx = np.arange(kernel[1])[None, None, None, None, :]
    shape = np.broadcast_shapes(ch.shape, oy.shape, ox.shape, ky.shape, kx.shape)
    iy = np.broadcast_to(idx[0][oy, ky], shape)
    ix = np.broadcast_to(idx[1][ox, kx], shape)
    chb = np.broadcast_to(ch, shape)
    dst = np.broadcast_to((ch * Ho + oy) * Wo + ox, shape)
    keep = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    value = 1.0 / (kernel[0] * kernel[1]) if average else 1.0
    src = (chb[keep] * H + iy[keep]) * W + ix[keep]
    mat = sp.csr_matrix((np.full(int(keep.sum()), value), (src, dst[keep])), shape=(c * H * W, c * Ho * Wo))
    return mat, None, (c, Ho, Wo)


def _check_synapses(n: int, field: str, file: str, what: str) -> None:
    """Refuse a convolution or pooling whose unrolled synapses would not fit in memory: the index
    arithmetic holds several int64 and float64 arrays per synapse before the sparse matrix."""
    check_size(file, field, n * BYTES_PER_SYNAPSE, f"its {n:,} synapses ({what})")


def _dense(node, in_shape, name: str, file: str):
    w = floats(node.weight, file, f"nodes.{name}.weight")
    n_in = int(np.prod(in_shape))
    if w.ndim != 2 or w.shape[1] != n_in:
        raise InputError(file, f"nodes.{name}.weight",
                         f"shape {w.shape} does not fit its input of shape {tuple(in_shape)} ({n_in} values); "
                         f"expected (N, {n_in})")
    if not np.all(np.isfinite(w)):
        raise InputError(file, f"nodes.{name}.weight", "NaN or infinite weights")
    mat = sp.csr_matrix(w.T)
    bias = None
    if type(node).__name__ == "Affine":
        bias = floats(node.bias, file, f"nodes.{name}.bias").reshape(-1)
        if bias.size == 1:
            bias = np.repeat(bias, w.shape[0])
        if bias.size != w.shape[0] or not np.all(np.isfinite(bias)):
            raise InputError(file, f"nodes.{name}.bias", f"expected {w.shape[0]} finite values, got {bias.size}")
    return mat, bias, (w.shape[0],)


def _scale(node, in_shape, name: str, file: str):
    n = int(np.prod(in_shape))
    s = floats(node.scale, file, f"nodes.{name}.scale")
    try:
        s = np.broadcast_to(s.reshape(s.shape if s.ndim <= len(in_shape) else -1), in_shape).reshape(-1)
    except ValueError:
        raise InputError(file, f"nodes.{name}.scale", f"shape {s.shape} does not broadcast to {tuple(in_shape)}") from None
    return sp.diags(s, format="csr", shape=(n, n)), None, tuple(in_shape)


def _flatten(node, in_shape, name: str, file: str):
    """Flatten keeps the channel-major order, so it only changes the shape. Every dimension is
    flattened: exporters disagree on whether ``start_dim`` counts the batch dimension, and a
    neuron layer or a dense node after a Flatten sees the same values either way."""
    return None, None, (int(np.prod(in_shape)),)


_BUILDERS = {"Affine": _dense, "Linear": _dense, "Conv1d": _conv, "Conv2d": _conv, "Scale": _scale,
             "Flatten": _flatten, "SumPool2d": lambda *a: _pool(*a, average=False),
             "AvgPool2d": lambda *a: _pool(*a, average=True)}


def apply_node(m: LinearMap, node, name: str, file: str) -> LinearMap:
    """``m`` followed by the stateless NIR ``node``."""
    w, b, out = _BUILDERS[type(node).__name__](node, m.out_shape, name, file)
    return m.then(w, b, out)


def fold_nodes(nodes, in_shape, file: str = "", names=None) -> LinearMap:
    """A chain of stateless nodes applied to an input of ``in_shape``, as one map."""
    m = LinearMap.identity(in_shape)
    for k, node in enumerate(nodes):
        m = apply_node(m, node, names[k] if names else f"{type(node).__name__}{k}", file)
    return m
