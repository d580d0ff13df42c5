"""``--arch`` specs: the shapes they give, the NIR chains they write, and the one-line refusals."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from emulator.errors import InputError
from emulator.model import fold_nodes, layer_nodes, load_nir, network_from_nir, parse_arch, save_nir


@pytest.mark.parametrize("spec, sizes, shapes", [
    ("578-128-10", [578, 128, 10], [(128,), (10,)]),
    ("2x17x17-8c3-p2-10", [578, 392, 10], [(8, 7, 7), (10,)]),  # (17 - 3) + 1 = 15, pooled to 7
    ("2x17x17-16c5s2-4c3-32-10", [578, 784, 100, 32, 10], [(16, 7, 7), (4, 5, 5), (32,), (10,)]),
])
def test_specs_give_the_layer_shapes(spec, sizes, shapes):
    arch = parse_arch(spec)
    assert arch.sizes == sizes and [lay.shape for lay in arch.layers] == shapes


@pytest.mark.parametrize("spec, message", [
    ("64-x8-10", "unknown token 'x8'"),
    ("578-8c3-10", "the convolution '8c3' needs a C x H x W input"),
    ("2x17x17-p2-10", "the pooling 'p2' must follow a convolution"),
    ("2x17x17-8c3-p2-p2-10", "the pooling 'p2' must follow a convolution (one pooling each)"),
    ("1x4x4-2c5-10", "the convolution '2c5' does not fit its input 1x4x4"),
    ("2x17-10", "the input '2x17' must be N or C x H x W"),
    ("64", "give an input and at least one layer"),
])
def test_bad_specs_are_refused_naming_the_flag(spec, message):
    with pytest.raises(InputError) as exc:
        parse_arch(spec)
    assert str(exc.value).startswith("--arch: arch: ") and message in str(exc.value)


def test_a_convolution_layer_writes_conv2d_and_sumpool_that_fold_to_its_synapses():
    """The chain's fold against a direct sum over kernel taps and pooling windows."""
    lay = parse_arch("2x6x6-3c3-p2-4").layers[0]
    w = np.random.default_rng(0).normal(size=(3, 2, 3, 3))
    nodes = layer_nodes(lay, w)
    assert [type(n).__name__ for n in nodes] == ["Conv2d", "SumPool2d"]
    got = fold_nodes(nodes, lay.in_shape).matrix().toarray()
    want = np.zeros((2 * 6 * 6, 3 * 2 * 2))
    for co in range(3):
        for py in range(2):
            for px in range(2):
                for oy in range(2 * py, 2 * py + 2):  # the pooled window of conv outputs
                    for ox in range(2 * px, 2 * px + 2):
                        for ci in range(2):
                            for ky in range(3):
                                for kx in range(3):
                                    want[(ci * 6 + oy + ky) * 6 + ox + kx, (co * 2 + py) * 2 + px] += w[co, ci, ky, kx]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _conv_graph(w_conv, w_dense):
    """Input 1x6x6 -> Conv2d(3c3) -> SumPool2d(2) -> LIF (3x2x2) -> Flatten -> Linear -> LIF."""
    lay0, lay1 = parse_arch("1x6x6-3c3-p2-4").layers
    chain0, chain1 = layer_nodes(lay0, w_conv), layer_nodes(lay1, w_dense)
    lif = {"tau": 0.01, "r": 10.0, "v_leak": 0.0, "v_threshold": 1.0, "v_reset": 0.0}
    nodes = {"input": nir.Input(input_type=np.array([1, 6, 6])), "c": chain0[0], "p": chain0[1],
             "lif1": nir.LIF(**{k: np.full((3, 2, 2), v) for k, v in lif.items()}), "f": chain1[0], "d": chain1[1],
             "lif2": nir.LIF(**{k: np.full(4, v) for k, v in lif.items()}), "output": nir.Output(output_type=np.array([4]))}
    edges = [("input", "c"), ("c", "p"), ("p", "lif1"), ("lif1", "f"), ("f", "d"), ("d", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3})


def test_the_export_writes_a_convolution_back_as_one_and_densifies_changed_synapses(tmp_path):
    rng = np.random.default_rng(1)
    net = network_from_nir(_conv_graph(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=(12, 4))), "cnn")
    save_nir(net, tmp_path / "a.nir")
    kinds = [type(n).__name__ for n in nir.read(str(tmp_path / "a.nir")).nodes.values()]  # type-checks, too
    assert kinds.count("Conv2d") == 1 and kinds.count("SumPool2d") == 1 and "Affine" not in kinds
    again = load_nir(tmp_path / "a.nir")
    for a, b in zip(net.projections, again.projections):
        np.testing.assert_allclose(a.weights.toarray(), b.weights.toarray(), rtol=1e-12)
    # synapses changed after the import no longer fit their nodes: written densely, as they are now
    net.projections[0].weights = net.projections[0].weights * 2.0
    save_nir(net, tmp_path / "b.nir")
    written = nir.read(str(tmp_path / "b.nir"), type_check=False).nodes
    assert isinstance(written["fc0"], nir.Affine) and "Conv2d" not in {type(n).__name__ for n in written.values()}
    np.testing.assert_allclose(load_nir(tmp_path / "b.nir").projections[0].weights.toarray(),
                               net.projections[0].weights.toarray(), rtol=1e-12)
