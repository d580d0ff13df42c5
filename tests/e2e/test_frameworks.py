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
import subprocess
import sys
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


def load_case(folder: Path, case: str, tmp_path: Path):
    path = tmp_path / f"{case}.nir"
    path.write_bytes(gzip.decompress((folder / f"{case}.nir.gz").read_bytes()))
    data = np.load(folder / f"{case}.npz")
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


def check_case(folder: Path, case: str, tmp_path: Path) -> None:
    net, frames, want = load_case(folder, case, tmp_path)
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


@pytest.mark.parametrize("case", CASES)
def test_the_framework_export_runs_as_the_framework_runs_it(case, tmp_path):
    check_case(FIXTURES, case, tmp_path)


@pytest.mark.parametrize("framework", ["snntorch", "norse", "rockpool"])
def test_live_where_the_framework_installs_here(framework, tmp_path):
    """The same, with the framework run now: the fixture script in this environment. Sinabs pins an
    older nir and never shares it (its fixtures are committed); Norse needs ``--no-deps`` to keep CPU
    torch. Each framework is skipped, with the reason, where it is not installed."""
    pytest.importorskip(framework, reason=f"{framework} is not installed here (the committed fixtures cover it)")
    script = Path(__file__).resolve().parents[2] / "scripts" / "framework_fixtures.py"
    out = tmp_path / "fixtures"
    proc = subprocess.run([sys.executable, str(script), framework, "--out", str(out)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cases = sorted(p.name.removesuffix(".nir.gz") for p in out.glob("*.nir.gz"))
    assert cases == [c for c in CASES if c.startswith(framework + "_")]
    for case in cases:
        check_case(out, case, tmp_path)


def test_a_dialect_named_by_hand_overrides_detection(tmp_path):
    """Norse's export is found and repaired; named as snnemu's, its batch axis is not stripped."""
    from emulator.errors import InputError

    path = tmp_path / "norse.nir"
    path.write_bytes(gzip.decompress((FIXTURES / "norse_a_linear.nir.gz").read_bytes()))
    net = load_nir(path)
    assert net.dialect == "norse" and net.dt_s == 1e-3
    assert any("norse issue 411" in w for w in net.warnings) and any("batch axis" in w for w in net.warnings)
    with pytest.raises(InputError, match="norse.nir: nodes.0.weight: shape .5, 4. does not fit its input of shape .2, 4."):
        load_nir(path, dialect="snnemu")


def test_dt_above_tau_is_refused_naming_the_node(tmp_path):
    """A graph whose dt exceeds a tau (Norse's tau * dt read as seconds, say): beta = 1 - dt/tau < 0."""
    from builders import nir_chain

    from emulator.errors import InputError
    from emulator.model import network_from_nir

    g = nir_chain([np.ones((2, 3))], dt=1e-3)
    g.nodes["lif0"].tau[:] = [2e-3, 5e-4]
    with pytest.raises(InputError, match=r"m.nir: nodes.lif0.tau: dt = 0.001 s exceeds tau = 0.0005 s \(neuron 1\): "
                                         r"forward Euler gives beta = 1 - dt/tau = -1 < 0"):
        network_from_nir(g, "m", "m.nir")


def test_compare_checks_every_mode_before_it_runs_any(tmp_path, capsys):
    """A Sinabs model (several spikes per step) cannot run in async mode: compare refuses before the
    layered run, leaving no run folder behind."""
    from emulator.cli import main

    path = tmp_path / "sinabs.nir"
    path.write_bytes(gzip.decompress((FIXTURES / "sinabs_f_multispike.nir.gz").read_bytes()))
    out = tmp_path / "cmp"
    assert main(["compare", "--model", str(path), "--modes", "layered,async", "--data", "digits",
                 "--samples", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "several spikes per step run in the timestep and layered modes only" in err[0]
    assert not (out / "runs").exists()


def test_an_exported_snntorch_model_keeps_where_its_dt_came_from(tmp_path):
    """snnemu's export of a snnTorch model writes its implied dt with its source, so the re-read file
    warns of no frame width mismatch (the dt only carried beta)."""
    from emulator.model import save_nir
    from emulator.runner import frame_mismatch

    net, _, _ = load_case(FIXTURES, "snntorch_a_linear", tmp_path)
    save_nir(net, tmp_path / "again.nir")
    back = load_nir(tmp_path / "again.nir")
    assert (back.dialect, back.dt_source) == ("snnemu", "tau/r") and back.dt_s == net.dt_s
    assert frame_mismatch(back, 1000, "digits's own") is None
    assert [p.conventions for p in back.populations] == [p.conventions for p in net.populations]


def test_norse_if_and_li_layers_are_repaired_too(tmp_path):
    """Norse writes IAFCell as IF with r = 1 (it does v += input) and LIBoxCell's tau times dt, as LIF's."""
    import nir

    from emulator.model import network_from_nir

    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])),
                            "0": nir.Linear(weight=np.full((2, 3), 0.5)),
                            "1": nir.LIF(tau=np.full(2, 5e-6), r=np.ones(2), v_leak=np.zeros(2),
                                         v_threshold=np.ones(2), v_reset=np.zeros(2)),
                            "2": nir.Linear(weight=np.full((2, 2), 0.25)),
                            "3": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                            "4": nir.Linear(weight=np.full((1, 2), 0.5)),
                            "5": nir.LI(tau=np.full(1, 5e-6), r=np.ones(1), v_leak=np.zeros(1)),
                            "output": nir.Output(output_type=np.array([1]))},
                     edges=[("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "4"), ("4", "5"),
                            ("5", "output")])
    net = network_from_nir(g, "n", "n.nir")
    assert net.dialect == "norse"
    np.testing.assert_allclose(net.populations[1].beta, 1 - 1e-3 / 5e-3)  # tau 5 ms, once divided by dt
    np.testing.assert_allclose(net.projections[1].weights.toarray(), np.full((2, 2), 0.25))  # IF: v += input
    np.testing.assert_allclose(net.populations[3].beta, 0.8)  # LI: tau repaired like LIF's
