"""Tests for hw_models.profile: bundled presets, published figures, validation."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml

from emulator.errors import InputError
from hw_models.profile import (
    PROFILE_DIR,
    BarrierSpec,
    bundled_profiles,
    describe,
    load_profile,
    profile_from_dict,
    summary_line,
)

BUNDLED = ["generic", "ideal", "loihi", "seneca", "truenorth"]


def loihi_dict() -> dict:
    return yaml.safe_load((PROFILE_DIR / "loihi.yaml").read_text())


def write(tmp_path, data, name="p.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_bundled_profiles_listed_sorted():
    assert bundled_profiles() == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_profile_loads(name):
    p = load_profile(name)
    assert p.name == name
    assert p.source
    assert p.path.endswith(f"{name}.yaml")
    assert p.mesh.n_cores == p.mesh.width * p.mesh.height * p.mesh.cores_per_tile
    assert p.barrier.latency_s == tuple(sorted(p.barrier.latency_s))


def test_load_by_path_equals_load_by_name():
    assert load_profile(str(PROFILE_DIR / "loihi.yaml")) == load_profile("loihi")


def test_loihi_figures_are_sanafes_calibrated_ones():
    """sanafe/examples/loihi.yaml (SANA-FE 2.2.9): dense, sparse and conv synapses, LIF access and update (two-tier),
    the hops, the sync table."""
    p = load_profile("loihi")
    assert (p.mesh.width, p.mesh.height, p.mesh.cores_per_tile) == (8, 4, 4)
    assert p.mesh.n_tiles == 32 and p.mesh.n_cores == 128
    assert p.core.max_neurons == 1024
    assert p.core.queue_capacity == 64
    assert p.core.update_all_neurons is True and p.core.pipeline == "overlap"
    assert p.core.energy_j.synaptic_op == 35.5e-12
    assert p.core.latency_s.synaptic_op == 3.8e-9
    assert (p.core.sparse_synapse.latency_s, p.core.sparse_synapse.energy_j) == (4.7e-9, 33.6e-12)
    assert (p.core.conv_synapse.latency_s, p.core.conv_synapse.energy_j) == (3.1e-9, 24.0e-12)
    assert p.core.two_tier
    assert (p.core.neuron_access.latency_s, p.core.neuron_access.energy_j) == (6.0e-9, 51.2e-12)
    assert (p.core.latency_s.neuron_update, p.core.energy_j.neuron_update) == (3.7e-9, 21.6e-12)
    assert p.noc.hop_latency_s.east_west == 4.1e-9
    assert p.noc.hop_latency_s.north_south == 6.5e-9
    assert p.noc.hop_energy_j.east_west == 3.0e-12
    assert p.noc.hop_energy_j.north_south == 4.2e-12
    assert p.noc.local_latency_s == 2.1e-9  # Davies Table 2 (SANA-FE charges nothing within a tile)
    assert p.noc.local_energy_j == 1.7e-12
    assert p.core.latency_s.spike_out == 30e-9
    assert p.core.energy_j.spike_out == 69.3e-12
    assert p.core.latency_s.message_out == 5.1e-9
    assert p.core.energy_j.message_out == 111e-12
    assert p.core.latency_s.message_in == 16e-9
    assert p.barrier.latency_s == ((1, 0.6e-6), (2, 1.0e-6), (4, 1.4e-6), (29, 1.8e-6))
    assert p.core.static_power_w * p.mesh.n_cores == pytest.approx(104e-3)


def test_seneca_and_truenorth_figures():
    s = load_profile("seneca")
    assert s.core.energy_j.synaptic_op == 2.8e-12
    load_3fp16_store = 3.7e-12 + 3 * 1.4e-12 + 3.9e-12
    assert s.core.energy_j.neuron_update == pytest.approx(load_3fp16_store)
    assert s.noc.hop_energy_j.north_south == 2e-12
    t = load_profile("truenorth")
    assert t.mesh.n_cores == 4096
    assert (t.core.max_neurons, t.core.max_synapses) == (256, 65536)
    assert t.core.energy_j.synaptic_op == 2.5e-12
    assert t.barrier.latency_for(1) == 1e-3
    assert t.core.static_power_w * t.mesh.n_cores == pytest.approx(63e-3)


@pytest.mark.parametrize(  # SANA-FE's sync table {1: 0.6, 2: 1.0, 4: 1.4, 29: 1.8} us, linear between
    "tiles, expected",
    [(1, 0.6e-6), (2, 1.0e-6), (3, 1.2e-6), (4, 1.4e-6), (16, 1.4e-6 + 0.4e-6 * 12 / 25), (29, 1.8e-6),
     (32, 1.8e-6)],
)
def test_barrier_table_is_interpolated_linearly_in_tiles(tiles, expected):
    assert load_profile("loihi").barrier.latency_for(tiles) == pytest.approx(expected, rel=1e-12)


def test_barrier_outside_the_table_takes_its_end_values():
    b = BarrierSpec(latency_s=((4, 2e-9), (8, 5e-9)), energy_j=0.0)
    assert b.latency_for(1) == 2e-9
    assert b.latency_for(6) == pytest.approx(3.5e-9)
    assert b.latency_for(8) == 5e-9
    assert b.latency_for(9) == 5e-9


def test_pipeline_is_serial_unless_the_profile_says_overlap(tmp_path):
    assert load_profile("loihi").core.pipeline == "overlap"
    assert {load_profile(n).core.pipeline for n in ("seneca", "truenorth", "generic", "ideal")} == {"serial"}
    data = loihi_dict()
    del data["core"]["pipeline"]
    assert profile_from_dict(data, "x.yaml").core.pipeline == "serial"
    data["core"]["pipeline"] = "parallel"
    with pytest.raises(InputError, match=r"x.yaml: core.pipeline: expected serial or overlap"):
        profile_from_dict(data, "x.yaml")


def test_power_gating_is_none_unless_the_profile_gates_unused_cores():
    assert {load_profile(n).core.power_gating for n in ("loihi", "seneca", "truenorth", "generic", "ideal")} \
        == {"none"}
    data = loihi_dict()
    del data["core"]["power_gating"]
    assert profile_from_dict(data, "x.yaml").core.power_gating == "none"
    data["core"].update(power_gating="unused", gated_static_power_w=1e-5)
    core = profile_from_dict(data, "x.yaml").core
    assert (core.power_gating, core.gated_static_power_w) == ("unused", 1e-5)
    data["core"]["power_gating"] = "sleep"
    with pytest.raises(InputError, match=r"x.yaml: core.power_gating: expected none, unused or idle"):
        profile_from_dict(data, "x.yaml")


def test_barrier_table_sorted_on_load():
    data = loihi_dict()
    data["barrier"]["latency_s"] = {32: 465e-9, 1: 113e-9}
    p = profile_from_dict(data, "x.yaml")
    assert p.barrier.latency_s == ((1, 113e-9), (32, 465e-9))


def test_ideal_is_all_zeros_and_unlimited():
    p = load_profile("ideal")
    tables = (
        p.core.latency_s,
        p.core.energy_j,
        p.noc.hop_latency_s,
        p.noc.hop_energy_j,
    )
    for costs in tables:
        assert all(v == 0.0 for v in dataclasses.astuple(costs))
    assert p.noc.local_latency_s == p.noc.local_energy_j == 0.0
    assert p.core.static_power_w == p.noc.static_power_w == 0.0
    assert p.barrier.latency_for(1) == 0.0 and p.barrier.energy_j == 0.0
    assert p.core.max_neurons is None
    assert p.core.max_synapses is None
    assert p.core.queue_capacity is None
    assert p.core.update_all_neurons is False
    assert p.mesh.n_cores == 1


def test_max_synapses_optional_and_notes_optional():
    data = loihi_dict()
    del data["core"]["max_synapses"]
    del data["notes"]
    p = profile_from_dict(data, "x.yaml")
    assert p.core.max_synapses is None
    assert p.notes == ""


def test_ints_accepted_where_floats_expected():
    data = loihi_dict()
    data["core"]["static_power_w"] = 0
    p = profile_from_dict(data, "x.yaml")
    assert p.core.static_power_w == 0.0 and isinstance(p.core.static_power_w, float)


def test_yaml_exponent_without_dot_is_a_float(tmp_path):
    text = (PROFILE_DIR / "loihi.yaml").read_text().replace("3.8e-9", "38e-10")
    p = load_profile(str(write(tmp_path, text)))
    assert p.core.latency_s.synaptic_op == pytest.approx(3.8e-9)


def test_profiles_are_frozen():
    p = load_profile("loihi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.core.energy_j.synaptic_op = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.mesh.width = 1


def _set(data, dotted, value):
    *parents, last = dotted.split(".")
    for k in parents:
        data = data[k]
    data[last] = value


def _del(data, dotted):
    *parents, last = dotted.split(".")
    for k in parents:
        data = data[k]
    del data[last]


BAD_VALUES = [
    ("core.foo", 1, "unknown key"),
    ("foo", 1, "unknown key"),
    ("core.latency_s.bogus_op", 1e-9, "unknown key"),
    ("core.energy_j.synaptic_op", -1e-12, ">= 0"),
    ("core.energy_j.synaptic_op", True, "bool"),
    ("core.latency_s.message_in", "fast", "number"),
    ("core.static_power_w", -0.1, ">= 0"),
    ("noc.hop_latency_s.north_south", float("nan"), ">= 0"),
    ("noc.buffer_packets", 0, ">= 1"),
    ("noc.buffer_packets", 1.5, "integer"),
    ("mesh.width", 0, ">= 1"),
    ("mesh.height", -2, ">= 1"),
    ("mesh.cores_per_tile", True, "integer"),
    ("core.max_neurons", 0, ">= 1"),
    ("core.update_all_neurons", 1, "true or false"),
    ("core.latency_s", [1, 2], "mapping"),
    ("barrier.energy_j", None, "number"),
    ("name", 3, "string"),
    ("core.sparse_synapse.latency_s", -1e-9, ">= 0"),
    ("core.conv_synapse.energy_j", "cheap", "number"),
    ("core.conv_synapse.width", 8, "unknown key"),
    ("core.neuron_access", 5e-9, "mapping"),
    ("core.neuron_access.energy_j", float("inf"), ">= 0"),
]


@pytest.mark.parametrize("key, value, words", BAD_VALUES)
def test_bad_values_raise_input_error(tmp_path, key, value, words):
    data = loihi_dict()
    _set(data, key, value)
    path = write(tmp_path, data)
    with pytest.raises(InputError) as info:
        load_profile(str(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}: {key}: ")
    assert words in msg
    assert info.value.field == key


@pytest.mark.parametrize(
    "key", ["noc.local_energy_j", "mesh", "core.energy_j.spike_out", "source", "core.neuron_access.latency_s",
            "core.sparse_synapse.energy_j"]
)
def test_missing_key_raises_input_error(tmp_path, key):
    data = loihi_dict()
    _del(data, key)
    path = write(tmp_path, data)
    with pytest.raises(InputError, match="missing required key") as info:
        load_profile(str(path))
    assert str(info.value).startswith(f"{path}: {key}: ")


@pytest.mark.parametrize(
    "table, key",
    [
        ({0: 1e-9}, "barrier.latency_s.0"),
        ({"big": 1e-9}, "barrier.latency_s.big"),
        ({1: -1e-9}, "barrier.latency_s.1"),
        ({}, "barrier.latency_s"),
    ],
)
def test_bad_barrier_table(table, key):
    data = loihi_dict()
    data["barrier"]["latency_s"] = table
    with pytest.raises(InputError) as info:
        profile_from_dict(data, "b.yaml")
    assert str(info.value).startswith(f"b.yaml: {key}: ")


def test_malformed_yaml(tmp_path):
    path = write(tmp_path, "name: loihi\nmesh: {width: 8, height: [\n")
    with pytest.raises(InputError) as info:
        load_profile(str(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}: yaml: ")
    assert "\n" not in msg


def test_duplicate_yaml_key(tmp_path):
    text = (PROFILE_DIR / "ideal.yaml").read_text() + "name: again\n"
    path = write(tmp_path, text)
    with pytest.raises(InputError, match="duplicate key") as info:
        load_profile(str(path))
    assert str(info.value).startswith(f"{path}: yaml: ")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", ""])
def test_top_level_not_a_mapping(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match="expected a mapping") as info:
        load_profile(str(path))
    assert str(path) in str(info.value)


def test_unknown_name_lists_bundled():
    with pytest.raises(InputError) as info:
        load_profile("loihi3")
    msg = str(info.value)
    assert "loihi3" in msg
    for name in BUNDLED:
        assert name in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match="cannot read") as info:
        load_profile(str(path))
    assert str(info.value).startswith(f"{path}: file: ")


def test_profile_from_dict_does_not_mutate_input():
    data = loihi_dict()
    before = copy.deepcopy(data)
    profile_from_dict(data, "x.yaml")
    assert data == before


@pytest.mark.parametrize("name", BUNDLED)
def test_describe_shows_name_and_units(name):
    p = load_profile(name)
    text = describe(p)
    assert name in text and p.source in text
    for unit in ("ns", "pJ", "mW"):
        assert unit in text
    assert len(text.splitlines()) > 10


def test_describe_loihi_synaptic_op_row():
    text = describe(load_profile("loihi"))
    row = next(line for line in text.splitlines() if "synaptic_op" in line)
    assert "3.80 ns" in row and "35.5 pJ" in row


@pytest.mark.parametrize("name", BUNDLED)
def test_summary_line(name):
    p = load_profile(name)
    line = summary_line(p)
    assert "\n" not in line
    assert name in line and p.source in line
    assert f"{p.mesh.width}x{p.mesh.height}" in line
    assert str(p.mesh.n_cores) in line


def test_overrides_may_set_the_optional_core_fields_a_file_leaves_out():
    """loihi.yaml has no wake-up figures and seneca.yaml no synapse kinds; --hw-set may still give them, and a
    cost section given by half names its missing half."""
    p = load_profile("loihi", {"core.power_gating": "idle", "core.wake_latency_s": 1e-8, "core.wake_energy_j": 2e-12})
    assert (p.core.power_gating, p.core.wake_latency_s, p.core.wake_energy_j) == ("idle", 1e-8, 2e-12)
    s = load_profile("seneca", {"core.conv_synapse.latency_s": 1e-9, "core.conv_synapse.energy_j": 1e-12})
    assert (s.core.conv_synapse.latency_s, s.core.conv_synapse.energy_j) == (1e-9, 1e-12)
    assert s.core.sparse_synapse is None
    with pytest.raises(InputError, match=r"seneca.yaml: core.neuron_access.energy_j: missing required key"):
        load_profile("seneca", {"core.neuron_access.latency_s": 1e-9})
    for path in ("core.bogus", "core.conv_synapse.width", "noc.wake_latency_s", "core.latency_s.bogus_op"):
        with pytest.raises(InputError, match="no such field"):
            load_profile("seneca", {path: 1})
