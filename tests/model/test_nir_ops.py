"""Convolutions, pooling, Flatten and Scale as sparse maps, against a direct
loop-by-loop NumPy computation written here from PyTorch's definitions."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import scipy.sparse as sp

from emulator.errors import InputError
from emulator.model.nir_ops import LinearMap, apply_node


def conv2d_loops(x, w, b, stride, pad, dilation, groups):
    """PyTorch's Conv2d by its definition (cross-correlation), zero padding (top, bottom, left, right)."""
    c_in, H, W = x.shape
    c_out, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pad
    xp = np.zeros((c_in, H + pt + pb, W + pl + pr))
    xp[:, pt:pt + H, pl:pl + W] = x
    Ho = (H + pt + pb - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (W + pl + pr - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, Ho, Wo))
    per_group = c_out // groups
    for co in range(c_out):
        g = co // per_group
        for oy in range(Ho):
            for ox in range(Wo):
                acc = b[co]
                for cl in range(cg):
                    for ky in range(kh):
                        for kx in range(kw):
                            acc += w[co, cl, ky, kx] * xp[g * cg + cl, oy * stride[0] + ky * dilation[0],
                                                          ox * stride[1] + kx * dilation[1]]
                out[co, oy, ox] = acc
    return out


def run_map(m: LinearMap, x: np.ndarray) -> np.ndarray:
    y = x.reshape(-1) @ m.matrix()
    if m.bias is not None:
        y = y + m.bias
    return np.asarray(y).reshape(m.out_shape)


CASES = [  # (in shape, out channels, kernel, stride, padding, dilation, groups)
    ((2, 9, 9), 3, (3, 3), (1, 1), 0, (1, 1), 1),
    ((2, 34, 34), 8, (3, 3), (2, 2), 0, (1, 1), 1),
    ((8, 16, 16), 16, (3, 3), (2, 2), 1, (1, 1), 1),
    ((4, 7, 8), 4, (3, 2), (1, 2), (2, 1), (2, 1), 2),
    ((3, 6, 6), 6, (3, 3), (1, 1), "same", (1, 1), 3),
    ((2, 6, 5), 2, (2, 2), (1, 1), "same", (1, 1), 1),  # even kernel: the extra pad goes to the end
    ((1, 5, 5), 2, (3, 3), (1, 1), "valid", (1, 1), 1),
]


@pytest.mark.parametrize("in_shape, c_out, kernel, stride, padding, dilation, groups", CASES)
def test_conv2d_equals_the_definition(in_shape, c_out, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(c_out, in_shape[0] // groups, *kernel))
    b = rng.normal(size=c_out)
    x = rng.normal(size=in_shape)
    node = nir.Conv2d(input_shape=in_shape[1:], weight=w, stride=stride, padding=padding, dilation=dilation,
                      groups=groups, bias=b)
    m = apply_node(LinearMap.identity(in_shape), node, "conv", "t.nir")
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        pads = [(t // 2, t - t // 2) for t in total]
    elif padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        p = (padding, padding) if isinstance(padding, int) else padding
        pads = [(p[0], p[0]), (p[1], p[1])]
    want = conv2d_loops(x, w, b, stride, pads, dilation, groups)
    assert m.out_shape == want.shape
    np.testing.assert_allclose(run_map(m, x), want, rtol=1e-12, atol=1e-12)
    # sparse: one synapse per (output, tap) inside the input, never the dense n_in x n_out
    assert m.matrix().nnz <= want.size * w[0].size


def test_conv1d_is_conv2d_with_one_row():
    rng = np.random.default_rng(1)
    w, b, x = rng.normal(size=(4, 3, 5)), rng.normal(size=4), rng.normal(size=(3, 20))
    node = nir.Conv1d(input_shape=20, weight=w, stride=2, padding=2, dilation=1, groups=1, bias=b)
    m = apply_node(LinearMap.identity((3, 20)), node, "c", "t.nir")
    want = conv2d_loops(x[:, None, :], w[:, :, None, :], b, (1, 2), [(0, 0), (2, 2)], (1, 1), 1)[:, 0, :]
    assert m.out_shape == want.shape
    np.testing.assert_allclose(run_map(m, x), want, rtol=1e-12)


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
def test_pooling_and_a_folded_chain(kind):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 8, 6))
    pool = getattr(nir, kind)(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    m = apply_node(LinearMap.identity(x.shape), pool, "p", "t.nir")
    want = x.reshape(3, 4, 2, 3, 2).sum(axis=(2, 4)) / (4 if kind == "AvgPool2d" else 1)
    np.testing.assert_allclose(run_map(m, x), want, rtol=1e-12)
    # conv -> pool -> flatten -> scale -> affine folds into one map with the bias carried through
    conv = nir.Conv2d(input_shape=(8, 6), weight=rng.normal(size=(2, 3, 3, 3)), stride=1, padding=1, dilation=1,
                      groups=1, bias=rng.normal(size=2))
    aff = nir.Affine(weight=rng.normal(size=(5, 24)), bias=rng.normal(size=5))
    scale = nir.Scale(scale=rng.normal(size=24))
    chain = LinearMap.identity(x.shape)
    for name, node in (("c", conv), ("p", pool), ("f", nir.Flatten(input_type={"input": np.array([2, 4, 3])})),
                       ("s", scale), ("a", aff)):
        chain = apply_node(chain, node, name, "t.nir")
    conv_out = conv2d_loops(x, conv.weight, conv.bias, (1, 1), [(1, 1), (1, 1)], (1, 1), 1)
    pooled = conv_out.reshape(2, 4, 2, 3, 2).sum(axis=(2, 4)) / (4 if kind == "AvgPool2d" else 1)
    want = aff.weight @ (pooled.reshape(-1) * scale.scale) + aff.bias
    np.testing.assert_allclose(run_map(chain, x), want, rtol=1e-10)
    assert isinstance(chain.matrix(), sp.csr_matrix) and chain.out_shape == (5,)


@pytest.mark.parametrize("node, field", [
    (nir.Conv2d(input_shape=(5, 5), weight=np.ones((2, 3, 3, 3)), stride=1, padding=0, dilation=1, groups=1,
                bias=np.zeros(2)), "nodes.n.weight"),
    (nir.Conv2d(input_shape=(5, 5), weight=np.ones((2, 2, 7, 7)), stride=1, padding=0, dilation=1, groups=1,
                bias=np.zeros(2)), "nodes.n"),
    (nir.Conv2d(input_shape=(5, 5), weight=np.ones((2, 2, 3, 3)), stride=2, padding="same", dilation=1, groups=1,
                bias=np.zeros(2)), "nodes.n.padding"),
    (nir.Affine(weight=np.ones((3, 49)), bias=np.zeros(3)), "nodes.n.weight"),
])
def test_shape_mismatches_name_the_node(node, field):
    with pytest.raises(InputError) as exc:
        apply_node(LinearMap.identity((2, 5, 5)), node, "n", "t.nir")
    assert str(exc.value).startswith(f"t.nir: {field}:")
