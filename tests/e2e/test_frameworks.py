"""Ground truth from four frameworks: their own NIR exports, run on both engines, against their own
forward passes (fixtures made by ``scripts/framework_fixtures.py`` in each framework's environment).

Each fixture holds the exporter's graph, a seeded binary input of 12 steps for 2 samples, and every
neuron layer's spikes per step as the framework computed them. The graph is read in the dialect it
reveals (never named here), run in layered mode, and must give the framework's spikes exactly:
snnTorch 1.0.0, Norse 1.1.0, Sinabs 3.1.3 and Rockpool 3.1.0.

Some exporters drop what no dialect can get back (Sinabs's tau_syn and spike function, Rockpool's
recurrent weights and spike limit): those runs must differ from the framework, as the README's
table says.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.model import load_nir
from emulator.runner import run_network
from hw_models.profile import load_profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frameworks"
CASES = sorted(p.name.removesuffix(".nir.gz") for p in FIXTURES.glob("*.nir.gz"))
LOST = {"sinabs_d_synaptic": "Sinabs's exporter drops tau_syn",
        "sinabs_a_linear_singlespike": "Sinabs's exporter does not write the spike function: MultiSpike is assumed",
        "rockpool_c_recurrent": "Rockpool's exporter drops the recurrent weights",
        "rockpool_f_multispike": "Rockpool's exporter drops max_spikes_per_dt"}


def load_case(case: str, tmp_path: Path):
    path = tmp_path / f"{case}.nir"
    path.write_bytes(gzip.decompress((FIXTURES / f"{case}.nir.gz").read_bytes()))
    data = np.load(FIXTURES / f"{case}.npz")
    reset = "zero" if case.startswith("snntorch_e_zero") else None  # NIR cannot say: --reset zero
    net = load_nir(path, reset=reset)
    x = data["input"]  # (T, batch, *input shape), time-major
    frames = np.moveaxis(x.reshape(x.shape[0], x.shape[1], -1), 0, 1).astype(np.int32)
    want = {k.removeprefix("spikes_"): np.moveaxis(data[k], 0, 1) for k in data.files if k.startswith("spikes_")}
    return net, frames, want


def per_layer(events, net, n_samples: int, T: int) -> dict[str, np.ndarray]:
    """Spike counts ``(samples, T, neurons)`` per layer from the reference's recorded events."""
    out = {}
    for j, pop in enumerate(net.populations[1:], start=1):
        lo = net.offsets[j]
        sel = (events["neuron"] >= lo) & (events["neuron"] < net.offsets[j + 1])
        m = np.zeros((n_samples, T, pop.size), int)
        np.add.at(m, (events["sample"][sel], events["step"][sel], events["neuron"][sel] - lo), 1)
        out[pop.name] = m
    return out


def test_every_framework_has_fixtures():
    assert {c.split("_")[0] for c in CASES} == {"snntorch", "norse", "sinabs", "rockpool"}


@pytest.mark.parametrize("case", CASES)
def test_the_framework_export_runs_as_the_framework_runs_it(case, tmp_path):
    net, frames, want = load_case(case, tmp_path)
    assert net.dialect == case.split("_")[0]  # the graph revealed its producer
    assert set(want) == {p.name for p in net.populations[1:]}
    ref = simulate(net, frames, RunConfig(mode="layered", trace=True))
    got = per_layer(ref.events, net, *frames.shape[:2])
    if case in LOST:
        assert any((got[k] != want[k]).any() for k in want), LOST[case]
        return
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{case}: layer {name}")
    chip = run_network(net, load_profile("ideal"), frames, None, RunConfig(model=case, mode="layered"))
    assert chip.spikes_per_layer == {p.name: int(n) for p, n in zip(net.populations, ref.spikes.sum(axis=0))}
