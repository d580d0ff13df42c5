"""Export and round trips (NIR -> IR -> NIR -> IR is lossless), ``snnemu inspect`` and
``snnemu export``, import warnings, and the output spikes as NIR EventData."""

from __future__ import annotations

import json

import nir
import numpy as np
import pandas as pd
import pytest

from emulator.cli import main
from emulator.model import load_nir, network_from_nir, network_to_nir

DT = 1e-3


def lif(shape, beta=0.8, theta=1.0):
    tau = np.full(shape, DT / (1 - beta))
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(shape), v_threshold=np.full(shape, theta))


def everything_graph(seed=0):
    """Conv -> LIF -> pool/flatten/affine -> CubaLIF with a recurrent loop -> affine -> LI."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(size=(4, 2, 3, 3)), stride=1, padding=1, dilation=1,
                           groups=1, bias=rng.normal(size=4) * 0.1),
        "l1": lif((4, 8, 8)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0),
        "fc": nir.Affine(weight=rng.normal(size=(12, 64)) * 0.3, bias=rng.normal(size=12) * 0.1),
        "l2": nir.CubaLIF(tau_syn=np.full(12, 3e-3), tau_mem=np.full(12, 5e-3), r=np.full(12, 5.0),
                          v_leak=np.zeros(12), v_threshold=np.ones(12), w_in=np.full(12, 3.0)),
        "rec": nir.Linear(weight=rng.normal(size=(12, 12)) * 0.3),
        "fc2": nir.Affine(weight=rng.normal(size=(5, 12)), bias=np.zeros(5)),
        "li": nir.LI(tau=np.full(5, 0.01), r=np.full(5, 10.0), v_leak=np.zeros(5)),
        "output": nir.Output(output_type=np.array([5])),
    }
    edges = [("input", "conv"), ("conv", "l1"), ("l1", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "l2"),
             ("l2", "rec"), ("rec", "l2"), ("l2", "fc2"), ("fc2", "li"), ("li", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, "reset": "zero"})


def assert_same_network(a, b):
    assert [p.size for p in a.populations] == [p.size for p in b.populations]
    for p, q in zip(a.populations[1:], b.populations[1:]):
        assert (p.spiking, p.alpha is None) == (q.spiking, q.alpha is None)
        for attr in ("beta", "theta", "bias", "alpha", "gain", "ibias"):
            x, y = getattr(p, attr), getattr(q, attr)
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15, err_msg=f"{p.name}.{attr}")
        np.testing.assert_array_equal(p.subtract, q.subtract)
    assert [(r.src, r.dst, r.delay) for r in a.projections] == [(r.src, r.dst, r.delay) for r in b.projections]
    for r, s in zip(a.projections, b.projections):
        np.testing.assert_allclose(r.weights.toarray(), s.weights.toarray(), rtol=1e-12, atol=1e-15)
    assert a.dt_s == b.dt_s and a.readout == b.readout


def test_round_trip_is_lossless(tmp_path):
    first = network_from_nir(everything_graph())
    nir.write(str(tmp_path / "x.nir"), network_to_nir(first))
    second = load_nir(tmp_path / "x.nir")
    assert_same_network(first, second)
    nir.write(str(tmp_path / "y.nir"), network_to_nir(second))
    assert_same_network(second, load_nir(tmp_path / "y.nir"))
    assert [p.kind for p in second.populations] == ["Input", "LIF", "CubaLIF", "LI"]


def test_export_and_inspect_commands(tmp_path, capsys):
    nir.write(str(tmp_path / "m.nir"), everything_graph())
    assert main(["inspect", str(tmp_path / "m.nir"), "--hw", "loihi"]) == 0
    out = capsys.readouterr().out
    net = network_from_nir(everything_graph())
    assert f"{net.n_layers} layers" in out and "dt 1000 us (from the graph's metadata dt)" in out
    assert "readout: membrane" in out and "CubaLIF" in out and "4x8x8" in out
    assert f"{net.recurrent(2).weights.nnz:,} (1 timestep late)" in out
    assert f"{net.feed_forward(1).weights.nnz:,}" in out and "on loihi:" in out
    assert main(["export", "--model", str(tmp_path / "m.nir"), "--to", str(tmp_path / "e.nir")]) == 0
    assert_same_network(net, load_nir(tmp_path / "e.nir"))


def test_inspect_says_where_dt_came_from(tmp_path, capsys):
    tau = np.full(3, 5e-3)
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=np.eye(3)),
                            "l": nir.LIF(tau=tau, r=tau / 5e-4, v_leak=np.full(3, 0.1), v_threshold=np.ones(3)),
                            "output": nir.Output(output_type=np.array([3]))},
                     edges=[("input", "fc"), ("fc", "l"), ("l", "output")], metadata={})
    nir.write(str(tmp_path / "s.nir"), g)
    assert main(["inspect", str(tmp_path / "s.nir")]) == 0
    out = capsys.readouterr().out
    assert "dt 500 us (from tau / r" in out
    assert "warning: the graph does not show which framework wrote it: read as snnTorch's" in out
    assert "warning: snnTorch's export cannot say which reset was used" in out
    assert "warning: nodes.l.v_leak is not 0" in out


def test_run_trace_writes_output_spikes_as_nir_event_data(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--model", "emulator/data/demo_digits.nir", "--samples", "4", "--mode", "async", "--trace",
                 "--out", str(out)]) == 0
    data = nir.read_data(str(out / "output_spikes.nir")).nodes["lif2"].observables["spikes"]
    ev = pd.read_parquet(out / "events.parquet")
    spk = ev[(ev.kind == "spike") & (ev.layer == "lif2")]
    assert data.n_neurons == 10 and data.idx.shape[0] == 4
    for b in range(4):
        mine = spk[spk["sample"] == b].sort_values(["t_s", "neuron"])
        valid = data.idx[b] >= 0
        assert sorted(zip(data.time[b][valid], data.idx[b][valid])) == sorted(zip(mine.t_s, mine.neuron))
    s = json.loads((out / "summary.json").read_text())
    assert int((data.idx >= 0).sum()) == s["spikes"]["per_layer"]["lif2"]


@pytest.mark.parametrize("graph_change, field", [
    ("no_input", "nodes"),
    ("branch", "nodes.extra"),
    ("wrong_dtype", "file"),
])
def test_bad_graphs_exit_2(tmp_path, capsys, graph_change, field):
    path = tmp_path / "bad.nir"
    if graph_change == "wrong_dtype":
        path.write_text("this is text, not an HDF5 NIR file")
    else:
        g = everything_graph()
        nodes, edges = dict(g.nodes), list(g.edges)
        if graph_change == "no_input":
            del nodes["input"]
            edges = [e for e in edges if e[0] != "input"]
        else:
            nodes["extra"] = nir.Affine(weight=np.ones((5, 256)), bias=np.zeros(5))
            edges.append(("l1", "extra"))
        nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, metadata=g.metadata, type_check=False))
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"bad.nir: {field}:" in err[0]


@pytest.mark.parametrize("change, field", [
    ("string_weights", "nodes.fc.weight"),
    ("text_dt", "metadata.dt"),
    ("negative_dt", "metadata.dt"),
])
def test_wrong_dtypes_and_missing_metadata(change, field):
    g = everything_graph()
    nodes, meta = dict(g.nodes), dict(g.metadata)
    if change == "string_weights":
        nodes["fc"] = nir.Affine(weight=np.full((12, 64), "x"), bias=np.zeros(12))
    elif change == "text_dt":
        meta["dt"] = "one millisecond"
    else:
        meta["dt"] = -1e-3
    from emulator.errors import InputError

    with pytest.raises(InputError) as exc:
        network_from_nir(nir.NIRGraph(nodes=nodes, edges=g.edges, metadata=meta, type_check=False), file="m.nir")
    assert str(exc.value).startswith(f"m.nir: {field}:")


def test_threshold_layer_has_no_memory():
    """Threshold(1): fires exactly when this timestep's input exceeds 1, whatever came before.
    Input weights 0.6: one input spike gives 0.6 (silent), two give 1.2 (fires)."""
    from builders import chip_spikes

    from emulator.config import RunConfig
    from emulator.runner import run_network
    from hw_models.profile import load_profile

    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                            "fc": nir.Linear(weight=np.array([[0.6, 0.6]])),
                            "th": nir.Threshold(threshold=np.array([1.0])),
                            "output": nir.Output(output_type=np.array([1]))},
                     edges=[("input", "fc"), ("fc", "th"), ("th", "output")], metadata={"dt": DT, "reset": "zero"})
    net = network_from_nir(g)
    frames = np.array([[[1, 0], [0, 1], [1, 1], [1, 0], [1, 1]]], np.int32)
    for mode in ("layered", "async"):
        res = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="t", mode=mode, trace=True))
        assert chip_spikes(res, net, 5)[0][:, 0].tolist() == [0, 0, 1, 0, 1]  # a LIF would have fired at t1


def test_nested_subgraph_is_inlined():
    """snnTorch-style nesting: the recurrent layer as a subgraph ``k`` with its own Input/Output."""
    rng = np.random.default_rng(7)
    w_in, w_rec, w_out = rng.normal(size=(6, 4)), rng.normal(size=(6, 6)) * 0.3, rng.normal(size=(3, 6))
    inner = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([6])), "lif": lif((6,)),
                                "w_rec": nir.Linear(weight=w_rec), "output": nir.Output(output_type=np.array([6]))},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    outer = {"input": nir.Input(input_type=np.array([4])), "fc": nir.Linear(weight=w_in), "k": inner,
             "fc2": nir.Linear(weight=w_out), "out": lif((3,)), "output": nir.Output(output_type=np.array([3]))}
    nested = network_from_nir(nir.NIRGraph(nodes=outer, edges=[("input", "fc"), ("fc", "k"), ("k", "fc2"),
                                                               ("fc2", "out"), ("out", "output")],
                                           metadata={"dt": DT, "reset": "zero"}, type_check=False))
    flat_nodes = {"input": outer["input"], "fc": outer["fc"], "k.lif": inner.nodes["lif"],
                  "k.w_rec": inner.nodes["w_rec"], "fc2": outer["fc2"], "out": outer["out"], "output": outer["output"]}
    flat = network_from_nir(nir.NIRGraph(nodes=flat_nodes, edges=[
        ("input", "fc"), ("fc", "k.lif"), ("k.lif", "k.w_rec"), ("k.w_rec", "k.lif"), ("k.lif", "fc2"),
        ("fc2", "out"), ("out", "output")], metadata={"dt": DT, "reset": "zero"}))
    assert_same_network(nested, flat)
    assert [p.name for p in nested.populations] == ["input", "k.lif", "out"]


def test_export_errors_are_one_line(tmp_path, capsys):
    from emulator.errors import InputError
    from emulator.model import save_nir

    net = network_from_nir(everything_graph())
    save_nir(net, tmp_path / "new" / "folder" / "m.nir")  # the folder is made
    assert (tmp_path / "new" / "folder" / "m.nir").is_file()
    with pytest.raises(InputError, match="--to"):
        save_nir(net, tmp_path)  # a folder, not a file
    net.populations[1].name = "fc1"  # a name the export gives its own Affine nodes
    with pytest.raises(InputError, match="'fc1'"):
        save_nir(net, tmp_path / "x.nir")


def test_an_edge_to_a_missing_node_and_a_flat_event_index(tmp_path):
    from emulator.errors import InputError
    from traces.nir_events import read_nir_events

    g = everything_graph()
    with pytest.raises(InputError, match=r"m.nir: edges: the edge \(fc2, ghost\)"):
        network_from_nir(nir.NIRGraph(nodes=g.nodes, edges=[*g.edges, ("fc2", "ghost")], metadata=g.metadata,
                                      type_check=False), file="m.nir")
    data = nir.EventData(idx=np.array([0, 1]), time=np.array([0.1, 0.2]), n_neurons=2, t_max=1.0)
    nir.write_data(str(tmp_path / "flat.nir"),
                   nir.NIRGraphData(nodes={"input": nir.NIRNodeData(observables={"spikes": data})}))
    with pytest.raises(InputError, match="input.spikes.idx"):
        read_nir_events(tmp_path / "flat.nir")
