"""NIR import: forward-Euler conversion, dt sources, reset, errors, round trip."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from builders import nir_chain

from emulator.errors import InputError
from emulator.model import load_nir, network_from_nir, network_to_nir


def lif_graph(tau=0.02, r=1.0, v_leak=0.0, metadata=None, bias=None):
    w = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])  # 3 out x 2 in
    syn = nir.Affine(weight=w, bias=np.array(bias)) if bias is not None else nir.Linear(weight=w)
    nodes = {"input": nir.Input(input_type=np.array([2])), "fc": syn,
             "lif": nir.LIF(tau=np.full(3, tau), r=np.full(3, r), v_leak=np.full(3, v_leak),
                            v_threshold=np.array([1.0, 2.0, 3.0])),
             "output": nir.Output(output_type=np.array([3]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {})


def test_forward_euler_with_dt_from_metadata():
    net = network_from_nir(lif_graph(tau=0.02, r=2.0, metadata={"dt": 1e-3}))
    assert net.dt_s == 1e-3 and net.dt_source == "metadata"
    lif = net.populations[1]
    np.testing.assert_allclose(lif.beta, 1 - 1e-3 / 0.02)
    scale = 1e-3 * 2.0 / 0.02  # dt * r / tau
    np.testing.assert_allclose(net.projections[0].weights.toarray(), np.array([[1.0, 0.5, 3.0], [-2.0, 0.0, 1.0]]) * scale)
    np.testing.assert_array_equal(lif.theta, [1.0, 2.0, 3.0])
    assert net.projections[0].weights.nnz == 5  # the zero weight is not a synapse


def test_dt_from_tau_over_r_then_fallback():
    net = network_from_nir(lif_graph(tau=5e-3, r=5.0))  # snnTorch convention: tau/r = dt
    assert net.dt_s == pytest.approx(1e-3) and net.dt_source == "tau/r"
    np.testing.assert_allclose(net.populations[1].beta, 0.8)
    np.testing.assert_allclose(net.projections[0].weights.toarray()[0, 0], 1.0)  # dt*r/tau = 1
    net = network_from_nir(lif_graph(tau=5e-3, r=1.0), dt_fallback_s=2e-3)
    assert net.dt_s == 2e-3 and net.dt_source == "fallback"


def test_affine_bias_and_v_leak_become_a_constant_bias():
    net = network_from_nir(lif_graph(tau=0.01, r=1.0, v_leak=0.5, metadata={"dt": 1e-3}, bias=[1.0, 0.0, -1.0]))
    scale = 1e-3 / 0.01
    np.testing.assert_allclose(net.populations[1].bias, np.array([1.0, 0.0, -1.0]) * scale + scale * 0.5)


def test_reset_mode_from_metadata():
    assert not network_from_nir(lif_graph(metadata={"dt": 1e-3})).populations[1].subtract.any()
    assert network_from_nir(lif_graph(metadata={"dt": 1e-3, "reset": "subtract"})).populations[1].subtract.all()
    with pytest.raises(InputError, match="metadata.reset"):
        network_from_nir(lif_graph(metadata={"dt": 1e-3, "reset": "bounce"}))


def test_if_neurons():
    g = lif_graph(metadata={"dt": 1e-3})
    g.nodes["lif"] = nir.IF(r=np.full(3, 1000.0), v_threshold=np.ones(3))
    net = network_from_nir(g)
    np.testing.assert_array_equal(net.populations[1].beta, 1.0)
    np.testing.assert_allclose(net.projections[0].weights.toarray()[0, 0], 1.0)  # dt * r


def test_round_trip_is_lossless(tmp_path):
    g = nir_chain([np.arange(12.0).reshape(4, 3) - 5, np.ones((2, 4))], beta=0.75, theta=1.5, reset="subtract")
    net = network_from_nir(g)
    path = tmp_path / "m.nir"
    nir.write(str(path), network_to_nir(net))
    back = load_nir(path)
    assert back.dt_s == net.dt_s
    for a, b in zip(net.populations, back.populations):
        assert a.size == b.size
        if not a.is_input:
            np.testing.assert_allclose(a.beta, b.beta)
            np.testing.assert_array_equal(a.theta, b.theta)
            np.testing.assert_array_equal(a.subtract, b.subtract)
    for a, b in zip(net.projections, back.projections):
        np.testing.assert_allclose(a.weights.toarray(), b.weights.toarray())


@pytest.mark.parametrize("bad, field", [
    ("unsupported", "nodes.integ"),
    ("shape", "nodes.fc.weight"),
    ("nan", "nodes.fc.weight"),
])
def test_bad_graphs_name_the_node(bad, field):
    g = lif_graph(metadata={"dt": 1e-3})
    if bad == "unsupported":  # NIR's integrator node I
        g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                                "integ": nir.I(r=np.ones(2)),
                                "lif": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
                                "output": nir.Output(output_type=np.array([2]))},
                         edges=[("input", "integ"), ("integ", "lif"), ("lif", "output")], metadata={"dt": 1e-3})
    elif bad == "shape":
        g.nodes["fc"] = nir.Linear(weight=np.ones((3, 5)))
        g = nir.NIRGraph(nodes=g.nodes, edges=g.edges, metadata=g.metadata, type_check=False)
    else:
        g.nodes["fc"].weight[0, 0] = np.nan
    with pytest.raises(InputError) as err:
        network_from_nir(g, file="model.nir")
    assert str(err.value).startswith(f"model.nir: {field}:")


def test_unreadable_file(tmp_path):
    p = tmp_path / "junk.nir"
    p.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="junk.nir: file:"):
        load_nir(p)
    with pytest.raises(InputError, match="no such file"):
        load_nir(tmp_path / "missing.nir")


@pytest.mark.parametrize("change, field", [
    (lambda g: g.nodes["fc"].bias.__setitem__(0, np.nan), "nodes.fc.bias"),
    (lambda g: g.metadata.__setitem__("dt", -1e-3), "metadata.dt"),
    (lambda g: g.metadata.__setitem__("dt", 0.0), "metadata.dt"),
])
def test_bad_bias_and_dt(change, field):
    g = lif_graph(metadata={"dt": 1e-3}, bias=[1.0, 0.0, -1.0])
    change(g)
    with pytest.raises(InputError, match=f"model.nir: {field}:"):
        network_from_nir(g, file="model.nir")


def test_wrong_size_bias():
    g = lif_graph(metadata={"dt": 1e-3}, bias=[1.0, 0.0, -1.0])
    g.nodes["fc"].bias = np.ones(5)
    with pytest.raises(InputError, match="nodes.fc.bias"):
        network_from_nir(g, file="model.nir")
