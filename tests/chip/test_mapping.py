"""Tests for emulator.chip.mapping: layer-fill, packed fallback, spread:K, YAML files, errors."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import scipy.sparse as sp
import yaml

from emulator.chip import map_network
from emulator.errors import InputError
from emulator.model import Network, Population, Projection, network_from_nir
from hw_models.profile import PROFILE_DIR, load_profile, profile_from_dict


def make_net(sizes, names=None) -> Network:
    """A feed-forward network: input of sizes[0], then LIF layers (sparse one-to-one weights)."""
    names = names or ["input"] + [f"l{i}" for i in range(1, len(sizes))]
    pops = [Population(names[0], sizes[0])]
    projs = []
    for i, n in enumerate(sizes[1:], start=1):
        pops.append(Population(names[i], n, beta=np.full(n, 0.5), theta=np.ones(n),
                               bias=np.zeros(n)))
        projs.append(Projection(i - 1, i, sp.eye(sizes[i - 1], n, format="csr")))
    return Network("net", pops, projs, 1e-3, (1, 1, sizes[0]))


def small_hw(width=1, height=1, cpt=2, max_neurons=4, path="small.yaml"):
    d = yaml.safe_load((PROFILE_DIR / "generic.yaml").read_text())
    d["mesh"] = {"width": width, "height": height, "cores_per_tile": cpt}
    d["core"]["max_neurons"] = max_neurons
    return profile_from_dict(d, path)


def counts(m):
    return np.bincount(m.core_of, minlength=m.n_cores)


def loihi_input_on_cores():
    """loihi with its input neurons on cores, mapped like the other populations (its own profile routes
    them through an I/O port: the last tests here)."""
    return load_profile("loihi", {"io.input_on_cores": True})


# --- layer-fill --------------------------------------------------------------------


def test_layer_fill_on_loihi_splits_a_big_layer_over_two_cores():
    hw = loihi_input_on_cores()
    assert hw.core.max_neurons == 1024
    net = make_net([100, 1500, 10])
    m = map_network(net, hw)
    assert m.strategy == "layer-fill" and not m.packed
    assert m.n_cores == hw.mesh.n_cores == 128
    assert m.core_of.shape == (1610,)
    # input -> core 0; the 1500-neuron layer -> cores 1 (1024 neurons) and 2 (476); output -> core 3
    assert np.all(m.core_of[:100] == 0)
    assert np.all(m.core_of[100:100 + 1024] == 1)
    assert np.all(m.core_of[100 + 1024:1600] == 2)
    assert np.all(m.core_of[1600:] == 3)
    assert m.used_cores.tolist() == [0, 1, 2, 3]
    assert counts(m)[:5].tolist() == [100, 1024, 476, 10, 0]
    assert m.neurons_of(3).tolist() == list(range(1600, 1610))


def test_layer_fill_core_holds_one_population_and_ids_in_order():
    hw = loihi_input_on_cores()
    net = make_net([30, 2100, 5, 1025])
    m = map_network(net, hw)
    layer = net.layer_of()
    for c in m.used_cores:
        assert len(np.unique(layer[m.core_of == c])) == 1
    # neurons in index order fill cores in id order: core_of never decreases
    assert np.all(np.diff(m.core_of) >= 0)
    assert m.used_cores.tolist() == list(range(1 + 3 + 1 + 2))


def test_layer_fill_via_nir_graph():
    w1, w2 = np.ones((20, 12)), np.ones((3, 20))
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([12])),
            "fc1": nir.Affine(weight=w1, bias=np.zeros(20)),
            "lif1": nir.LIF(tau=np.full(20, 0.02), r=np.full(20, 20.0), v_leak=np.zeros(20), v_threshold=np.ones(20)),
            "fc2": nir.Linear(weight=w2),
            "lif2": nir.LIF(tau=np.full(3, 0.02), r=np.full(3, 20.0), v_leak=np.zeros(3), v_threshold=np.ones(3)),
            "output": nir.Output(output_type=np.array([3])),
        },
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        metadata={"dt": 1e-3},
    )
    net = network_from_nir(g)
    # 12 + 20 + 3 neurons on cores of 8: input 2 cores, lif1 3 cores, lif2 1 core
    hw = small_hw(width=2, height=2, cpt=2, max_neurons=8)
    m = map_network(net, hw)
    assert counts(m).tolist() == [8, 4, 8, 8, 4, 3, 0, 0]
    assert not m.packed


def test_packed_fallback_on_ideal_profile():
    hw = load_profile("ideal")
    assert hw.mesh.n_cores == 1 and hw.core.max_neurons is None
    net = make_net([5, 7, 3])
    m = map_network(net, hw)
    assert m.packed is True
    assert m.n_cores == 1
    assert m.core_of.tolist() == [0] * 15


def test_packed_fallback_with_a_neuron_limit():
    # 2 cores of 4 neurons; layers of 3, 3, 2: one core per layer needs 3 cores > 2,
    # packed one after the other they need ceil(8/4) = 2, which fits.
    hw = small_hw(cpt=2, max_neurons=4)
    m = map_network(make_net([3, 3, 2]), hw)
    assert m.packed is True
    assert m.core_of.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_no_packing_when_layers_fit():
    hw = small_hw(cpt=3, max_neurons=4)
    m = map_network(make_net([3, 3, 2]), hw)
    assert m.packed is False
    assert m.core_of.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]


# --- spread:K ----------------------------------------------------------------------


def test_spread_k_each_population_on_k_cores_of_its_own():
    hw = loihi_input_on_cores()
    net = make_net([10, 9, 4])
    m = map_network(net, hw, "spread:3")
    assert m.strategy == "spread:3"
    layer = net.layer_of()
    for i in range(3):
        cores = np.unique(m.core_of[layer == i])
        assert cores.tolist() == [3 * i, 3 * i + 1, 3 * i + 2]
    c = counts(m)
    assert c[:9].tolist() == [4, 3, 3, 3, 3, 3, 2, 1, 1]
    assert c[9:].sum() == 0
    # even split: the sizes on one population's cores differ by at most one
    for i in range(3):
        part = c[3 * i:3 * i + 3]
        assert part.sum() == net.populations[i].size
        assert part.max() - part.min() <= 1
    # neurons keep index order within a population
    assert np.all(np.diff(m.core_of) >= 0)


def test_spread_1_is_one_core_per_population():
    m = map_network(make_net([5, 6, 2]), loihi_input_on_cores(), "spread:1")
    assert m.core_of.tolist() == [0] * 5 + [1] * 6 + [2] * 2


@pytest.mark.parametrize("spec", ["spread", "spread:0", "spread:-2", "spread:abc", "spread:1.5"])
def test_spread_bad_argument(spec):
    with pytest.raises(InputError) as err:
        map_network(make_net([4, 4]), loihi_input_on_cores(), spec)
    assert err.value.field == "spread"
    assert "spread:K" in str(err.value)


def test_spread_too_many_cores_for_the_chip():
    hw = small_hw(width=2, height=1, cpt=2, max_neurons=8)  # 4 cores
    with pytest.raises(InputError) as err:
        map_network(make_net([4, 4, 4]), hw, "spread:2")  # needs 6 cores
    assert "6 cores" in str(err.value)


def test_spread_respects_max_neurons():
    hw = small_hw(width=4, height=1, cpt=2, max_neurons=4)
    with pytest.raises(InputError) as err:
        map_network(make_net([12, 4]), hw, "spread:2")  # 6 input neurons per core > 4
    assert err.value.field == "core.max_neurons"


def test_unknown_mapping_name():
    with pytest.raises(InputError) as err:
        map_network(make_net([4, 4]), loihi_input_on_cores(), "round-robin")
    assert "round-robin" in str(err.value)


# --- YAML mapping file --------------------------------------------------------------


def write_yaml(tmp_path, spec, name="map.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_yaml_mapping(tmp_path):
    net = make_net([4, 6, 2], names=["input", "hidden", "out"])
    path = write_yaml(tmp_path, {"input": [7], "hidden": [2, 5], "out": [0]})
    m = map_network(net, loihi_input_on_cores(), path)
    assert m.strategy == f"file:{path}"
    assert m.core_of.tolist() == [7] * 4 + [2, 2, 2, 5, 5, 5] + [0, 0]
    assert m.used_cores.tolist() == [0, 2, 5, 7]


def test_yaml_mapping_list_order_is_kept(tmp_path):
    net = make_net([4, 4], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [3, 1], "hidden": [0]}, "order.yml")
    m = map_network(net, loihi_input_on_cores(), path)
    assert m.core_of.tolist() == [3, 3, 1, 1, 0, 0, 0, 0]


def test_yaml_unknown_population(tmp_path):
    net = make_net([4, 4], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [0], "hidden": [1], "nosuch": [2]})
    with pytest.raises(InputError) as err:
        map_network(net, loihi_input_on_cores(), path)
    assert err.value.file == path
    assert err.value.field == "nosuch"


def test_yaml_missing_population(tmp_path):
    net = make_net([4, 4], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [0]})
    with pytest.raises(InputError) as err:
        map_network(net, loihi_input_on_cores(), path)
    assert err.value.file == path
    assert err.value.field == "hidden"


def test_yaml_core_beyond_the_chip(tmp_path):
    net = make_net([4, 4], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [0], "hidden": [128]})  # loihi has cores 0..127
    with pytest.raises(InputError) as err:
        map_network(net, loihi_input_on_cores(), path)
    assert err.value.file == path
    assert "129 cores" in str(err.value) and "128" in str(err.value)


def test_yaml_core_over_max_neurons(tmp_path):
    net = make_net([4, 1500], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [0], "hidden": [1]})
    with pytest.raises(InputError) as err:
        map_network(net, loihi_input_on_cores(), path)
    assert err.value.file == path
    assert err.value.field == "core.max_neurons"
    assert "1500" in str(err.value) and "1024" in str(err.value)


@pytest.mark.parametrize("content", ["- 1\n- 2\n", "input: [0]\nhidden: []\n", "input: [0]\nhidden: [-1]\n",
                                     "input: [0]\nhidden: 3\n", "input: [0\n"])
def test_yaml_malformed(tmp_path, content):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        map_network(make_net([4, 4], names=["input", "hidden"]), loihi_input_on_cores(), str(path))
    assert err.value.file == str(path)


def test_yaml_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        map_network(make_net([4, 4]), loihi_input_on_cores(), str(tmp_path / "none.yaml"))
    assert err.value.field == "file"


# --- too large for the chip ----------------------------------------------------------


def test_too_large_for_the_chip_names_cores_needed():
    # 2 cores of 4 neurons; layers of 5, 5, 2 need 2 + 2 + 1 = 5 cores (3 packed)
    hw = small_hw(cpt=2, max_neurons=4, path="two_cores.yaml")
    with pytest.raises(InputError) as err:
        map_network(make_net([5, 5, 2]), hw)
    msg = str(err.value)
    assert err.value.file == "two_cores.yaml"
    assert "5 cores" in msg and "3 packed" in msg
    assert "has 2" in msg


def test_too_large_for_loihi():
    hw = loihi_input_on_cores()
    net = make_net([1024 * 100, 1024 * 29])  # 129 cores needed, 128 on the chip
    with pytest.raises(InputError) as err:
        map_network(net, hw)
    assert "129 cores" in str(err.value)
    assert err.value.file == hw.path


def test_yaml_boolean_core_id_is_rejected(tmp_path):
    net = make_net([4, 4], names=["input", "hidden"])
    path = write_yaml(tmp_path, {"input": [0], "hidden": [True]})
    with pytest.raises(InputError) as err:
        map_network(net, loihi_input_on_cores(), path)
    assert err.value.field == "hidden"


# --- input through I/O ports ---------------------------------------------------------


def test_with_io_ports_the_strategies_place_the_layers_after_the_input():
    hw = load_profile("loihi")  # one port at tile (0,0): unit 128
    net = make_net([100, 1500, 10])
    m = map_network(net, hw)
    assert m.n_ports == 1 and m.n_units == 129
    assert np.all(m.core_of[:100] == 128)
    assert np.all(m.core_of[100:100 + 1024] == 0) and np.all(m.core_of[100 + 1024:1600] == 1)
    assert np.all(m.core_of[1600:] == 2) and m.used_cores.tolist() == [0, 1, 2]
    spread = map_network(make_net([10, 9, 4]), hw, "spread:3")  # the input's cores 0-2 stay empty
    assert spread.core_of.tolist() == [128] * 10 + [3, 3, 3, 4, 4, 4, 5, 5, 5] + [6, 6, 7, 8]
    # an input too large for the cores fits: it takes none
    assert map_network(make_net([1024 * 100, 1024 * 27]), hw).used_cores.tolist() == list(range(27))
