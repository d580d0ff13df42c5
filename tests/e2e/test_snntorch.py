"""Ground truth from the framework the model came from: snnTorch networks with seeded
random weights, per-neuron beta and threshold and zero reset, exported with
``snntorch.export_nir.export_to_nir`` and run on the emulated chip in layered mode,
read in the snnTorch dialect with ``reset="zero"`` (``--reset zero``: NIR cannot say).
The output spike counts per timestep equal snnTorch's own forward pass, exactly.

Needs the ``[interop]`` extra (snntorch, nirtorch and CPU torch); skipped without it.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import chip_spikes

from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile

torch = pytest.importorskip("torch", reason="the [interop] extra (torch, snntorch) is not installed")
snn = pytest.importorskip("snntorch", reason="the [interop] extra (snntorch) is not installed")
nn = torch.nn
export_nir = pytest.importorskip("snntorch.export_nir", reason="snntorch's NIR export needs nirtorch")
utils = pytest.importorskip("snntorch.utils")

T = 12


def leaky(shape, gen, output=False):
    """snnTorch Leaky with per-neuron beta in [0.5, 0.95) and threshold in [0.5, 1.5), zero reset."""
    beta = torch.rand(shape, generator=gen) * 0.45 + 0.5
    thr = torch.rand(shape, generator=gen) + 0.5
    return snn.Leaky(beta=beta, threshold=thr, init_hidden=True, reset_mechanism="zero", output=output)


def snntorch_spikes(net, x):
    """The last layer's spikes per timestep from snnTorch's forward pass, ``(T, n_out)``."""
    utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            spk, _ = net(x[t:t + 1])
            out.append(spk.reshape(-1).numpy())
    return np.array(out, dtype=int)


def chip_output(net, x):
    graph = export_nir.export_to_nir(net, x[:1], ignore_dims=[0])
    model = network_from_nir(graph, "snntorch", reset="zero")
    frames = x.reshape(1, x.shape[0], -1).numpy().astype(np.int32)
    res = run_network(model, load_profile("ideal"), frames, None, RunConfig(model="snntorch", trace=True))
    return chip_spikes(res, model, x.shape[0])[-1], model


def strengthen(net, factor):
    """PyTorch's default initialisation is too weak to drive spikes through several layers."""
    with torch.no_grad():
        for m in net:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.mul_(factor)


def binary_input(shape, gen, p=0.3):
    return (torch.rand((T, *shape), generator=gen) < p).float()


def test_linear_leaky_linear_leaky():
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(40, 30), leaky((30,), gen), nn.Linear(30, 10), leaky((10,), gen, output=True))
    strengthen(net, 4.0)
    x = binary_input((40,), gen)
    want = snntorch_spikes(net, x)
    got, model = chip_output(net, x)
    assert want.sum() > 10  # the network is active
    np.testing.assert_array_equal(got, want)
    assert model.dt_source == "tau/r"


def test_cnn_on_34x34_events():
    """Conv2d(2->8, k3, s2) - Leaky - Conv2d(8->16, k3, s2, p1) - Leaky - AvgPool2d(2) - Flatten - Linear - Leaky."""
    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(2, 8, 3, stride=2), leaky((8, 16, 16), gen),
                        nn.Conv2d(8, 16, 3, stride=2, padding=1), leaky((16, 8, 8), gen),
                        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10), leaky((10,), gen, output=True))
    strengthen(net, 6.0)
    x = binary_input((2, 34, 34), gen)
    want = snntorch_spikes(net, x)
    got, model = chip_output(net, x)
    assert want.sum() > 5
    np.testing.assert_array_equal(got, want)
    assert [p.shape for p in model.populations] == [(2, 34, 34), (8, 16, 16), (16, 8, 8), (10,)]
    # the convolutions are sparse: about (outputs x taps) synapses, not dense
    assert model.projections[0].weights.nnz <= 8 * 16 * 16 * 2 * 9


def test_recurrent_rleaky_export():
    """An RLeaky layer exports as ``lif -> w_rec -> lif``: a recurrent projection with a one-timestep
    delay. The snnTorch dialect knows a looped layer is an RLeaky, whose zero reset also drops the
    input of the step after a spike, so the chip follows RLeaky's own forward pass."""
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    beta, thr = torch.rand(20, generator=gen) * 0.45 + 0.5, torch.rand(20, generator=gen) + 0.5
    rleaky = snn.RLeaky(beta=beta, threshold=thr, linear_features=20, init_hidden=True, reset_mechanism="zero")
    net = nn.Sequential(nn.Linear(30, 20), rleaky, nn.Linear(20, 5), leaky((5,), gen, output=True))
    strengthen(net, 3.0)
    with torch.no_grad():
        rleaky.recurrent.weight.mul_(3.0)
    x = binary_input((30,), gen)
    want = snntorch_spikes(net, x)
    got, model = chip_output(net, x)
    assert [(p.src, p.dst, p.delay) for p in model.projections] == [(0, 1, 0), (1, 1, 1), (1, 2, 0)]
    assert model.populations[1].conventions.drop_input and not model.populations[2].conventions.drop_input
    assert want.sum() > 5
    np.testing.assert_array_equal(got, want)


def test_nir_cannot_tell_rleaky_zero_reset_from_leaky():
    """snnTorch's RLeaky with zero reset also zeroes the step after a spike (its input is lost),
    Leaky does not; both export the same NIR LIF node. Only the loop around it tells them apart,
    which is what the snnTorch dialect looks at (see the test above)."""
    half, one = torch.tensor([0.5]), torch.tensor([1.0])  # per-neuron tensors: NIR's type inference needs shapes
    rl = snn.RLeaky(beta=half, threshold=one, linear_features=1, init_hidden=True, reset_mechanism="zero")
    lk = snn.Leaky(beta=half, threshold=one, init_hidden=True, reset_mechanism="zero")
    with torch.no_grad():
        rl.recurrent.weight.zero_()
        rl.recurrent.bias.zero_()
        x = torch.full((1, 1), 1.5)
        assert [int(rl(x)[0].item()) for _ in range(4)] == [1, 0, 1, 0]
        assert [int(lk(x).item()) for _ in range(4)] == [1, 1, 1, 1]
    nodes_rl = export_nir.export_to_nir(nn.Sequential(nn.Linear(1, 1), rl), x, ignore_dims=[0]).nodes
    nodes_lk = export_nir.export_to_nir(nn.Sequential(nn.Linear(1, 1), lk), x, ignore_dims=[0]).nodes
    lif_rl = next(n for k, n in nodes_rl.items() if k.endswith("lif"))
    lif_lk = next(n for n in nodes_lk.values() if type(n).__name__ == "LIF")
    for attr in ("tau", "r", "v_leak", "v_threshold"):
        np.testing.assert_allclose(np.asarray(getattr(lif_rl, attr)), np.asarray(getattr(lif_lk, attr)))
