"""End-to-end tests of the ``snnemu`` command line (emulator.cli.main).

Bad input must give exit code 2, exactly one ``snnemu: error: FILE: FIELD: ...`` line
on stderr, no traceback and no output folder. Good runs write the records of
docs/design.md, "Records".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pandas as pd
import pytest
import yaml
from builders import changed

from emulator.cli import main
from hw_models.profile import PROFILE_DIR

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "emulator" / "data" / "demo_digits.nir"
BUNDLED = ["generic", "ideal", "loihi", "seneca", "truenorth"]
GENERIC = yaml.safe_load((PROFILE_DIR / "generic.yaml").read_text())


# --- builders of (bad) inputs ----------------------------------------------------------


def write_profile(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump(changed(GENERIC, **changes)))
    return path


def lif(n):
    return nir.LIF(tau=np.full(n, 0.02), r=np.full(n, 20.0), v_leak=np.zeros(n), v_threshold=np.ones(n))


def write_nir(path: Path, n_in=64, hidden=8, n_out=4, middle=None, w1=None) -> Path:
    """Input -> fc1 -> (middle or LIF) -> fc2 -> LIF -> Output."""
    w1 = np.ones((hidden, n_in)) * 0.1 if w1 is None else w1
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        "fc1": nir.Affine(weight=w1, bias=np.zeros(hidden)),
        "lif1": lif(hidden) if middle is None else middle,
        "fc2": nir.Affine(weight=np.ones((n_out, hidden)) * 0.1, bias=np.zeros(n_out)),
        "lif2": lif(n_out),
        "output": nir.Output(output_type=np.array([n_out])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3, "reset": "zero"}))
    return path


def write_events(path: Path, x, sensor=(8, 8, 1)) -> Path:
    x = np.asarray(x)
    n = len(x)
    np.savez(path, t=np.arange(n) * 100, x=x, y=np.zeros(n, np.int64), p=np.zeros(n, np.int64),
             sample=np.zeros(n, np.int64), sensor_size=np.asarray(sensor), labels=np.array([0]))
    return path


def bad_profile(d: Path):
    return ["--hw", str(write_profile(d / "badkey.yaml", core__bogus_key=1))], "badkey.yaml", "core.bogus_key"


def too_big(d: Path):
    p = write_profile(d / "tiny.yaml", mesh={"width": 1, "height": 1, "cores_per_tile": 1}, core__max_neurons=8)
    return ["--hw", str(p)], "tiny.yaml", "mesh"


def outside_sensor(d: Path):
    return ["--data", str(write_events(d / "outside.npz", [1, 2, 9, 3]))], "outside.npz", "x"


def corrupt_npz(d: Path):
    p = d / "corrupt.npz"
    p.write_bytes(b"\x00garbage bytes, not a zip archive\xff" * 20)
    return ["--data", str(p)], "corrupt.npz", "file"


def li_in_the_middle(d: Path):
    li = nir.LI(tau=np.full(8, 0.02), r=np.ones(8), v_leak=np.zeros(8))  # never fires: only a readout
    return ["--model", str(write_nir(d / "li.nir", middle=li))], "li.nir", "nodes.lif1"


def conv_graph(with_flatten: bool, in_channels: int = 1) -> nir.NIRGraph:
    """Input (1,8,8) -> Conv2d -> LIF (2,8,8) -> [Flatten -> Affine -> LIF] -> Output."""
    conv = nir.Conv2d(input_shape=(8, 8), weight=np.ones((2, in_channels, 3, 3)), stride=1, padding=1,
                      dilation=1, groups=1, bias=np.zeros(2))
    lif1 = nir.LIF(tau=np.full((2, 8, 8), 0.02), r=np.full((2, 8, 8), 20.0), v_leak=np.zeros((2, 8, 8)),
                   v_threshold=np.ones((2, 8, 8)))
    nodes = {"input": nir.Input(input_type=np.array([1, 8, 8])), "conv": conv, "lif1": lif1}
    edges = [("input", "conv"), ("conv", "lif1")]
    if with_flatten:
        nodes.update(flat=nir.Flatten(input_type={"input": np.array([2, 8, 8])}, start_dim=0),
                     fc2=nir.Affine(weight=np.ones((4, 128)), bias=np.zeros(4)), lif2=lif(4),
                     output=nir.Output(output_type=np.array([4])))
        edges += [("lif1", "flat"), ("flat", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    else:
        nodes["output"] = nir.Output(output_type=np.array([2, 8, 8]))
        edges.append(("lif1", "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}, type_check=in_channels == 1)


def conv_shape_mismatch(d: Path):
    # a Conv2d whose kernels expect 3 input channels, on a 1-channel input
    nir.write(str(d / "conv.nir"), conv_graph(with_flatten=False, in_channels=3))
    return ["--model", str(d / "conv.nir")], "conv.nir", "nodes.conv.weight"


def nan_weights(d: Path):
    w = np.ones((8, 64)) * 0.1
    w[3, 5] = np.nan
    return ["--model", str(write_nir(d / "nan.nir", w1=w))], "nan.nir", "nodes.fc1.weight"


def size_mismatch_data(d: Path):
    # a 4x4 sensor (16 inputs) for the 64-input demo model
    return ["--data", str(write_events(d / "small.npz", [0, 1, 2], sensor=(4, 4, 1)))], "small.npz", "sensor_size"


def size_mismatch_model(d: Path):
    # a 16-input model on the digits data (8x8 = 64 inputs); the message names the model
    return ["--model", str(write_nir(d / "m16.nir", n_in=16))], "m16.nir", "sensor_size"


def no_samples(d: Path):
    path = d / "empty.npz"
    z = np.zeros(0, np.int64)
    np.savez(path, t=z, x=z, y=z, p=z, sample=z, sensor_size=np.array([8, 8, 1]), labels=z)
    return ["--data", str(path)], "empty.npz", "sample"


def missing_model(d: Path):
    return ["--model", str(d / "nowhere.nir")], "nowhere.nir", "file"


BAD = [bad_profile, too_big, outside_sensor, corrupt_npz, li_in_the_middle, conv_shape_mismatch,
       nan_weights, size_mismatch_data, size_mismatch_model, no_samples, missing_model]


def run_args(out: Path, extra: list[str]) -> list[str]:
    args = {"--model": str(DEMO), "--data": "digits", "--samples": "2", "--mode": "async", "--out": str(out)}
    for k, v in zip(extra[0::2], extra[1::2], strict=True):
        args[k] = v
    return ["run", *[x for kv in args.items() for x in kv]]


# --- bad input: one line, exit 2, no folder --------------------------------------------------


@pytest.mark.parametrize("make", BAD, ids=lambda f: f.__name__)
def test_bad_input_one_line_exit_2_no_output(tmp_path, capsys, make):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    extra, file_name, field = make(inputs)
    runs = tmp_path / "runs"
    runs.mkdir()
    before_runs, before_inputs = sorted(os.listdir(runs)), sorted(os.listdir(inputs))
    out = runs / "out"
    code = main(run_args(out, extra))
    cap = capsys.readouterr()
    assert code == 2
    lines = cap.err.splitlines()
    assert len(lines) == 1, cap.err
    line = lines[0]
    assert line.startswith("snnemu: error: ")
    assert file_name in line
    assert f": {field}:" in line, line
    assert "Traceback" not in cap.err and "Traceback" not in cap.out
    assert cap.out == ""
    # no output folder, not even a partial or temporary one
    assert not out.exists()
    assert sorted(os.listdir(runs)) == before_runs == []
    assert sorted(os.listdir(inputs)) == before_inputs


def test_too_big_names_cores_needed(tmp_path, capsys):
    extra, _, _ = too_big(tmp_path)
    assert main(run_args(tmp_path / "out", extra)) == 2
    err = capsys.readouterr().err
    # demo model: 64 + 64 + 10 neurons on cores of 8 -> 8 + 8 + 2 = 18 cores; the chip has 1
    assert "18 cores" in err and "has 1" in err


def test_bad_input_in_a_subprocess_prints_no_traceback(tmp_path):
    extra, file_name, field = outside_sensor(tmp_path)
    out = tmp_path / "runs" / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "emulator.cli", *run_args(out, extra)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("snnemu: error: ")
    assert file_name in lines[0] and f": {field}:" in lines[0]
    assert not out.exists() and not out.parent.exists()


@pytest.mark.parametrize("argv, field", [
    (["--hw", "nosuch"], "hw"),
    (["--mapping", "spread:0"], "spread"),
    (["--dt-us", "0"], "dt_us"),
    (["--data", "nosuch"], "data"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, field):
    out = tmp_path / "out"
    assert main(run_args(out, argv)) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("snnemu: error: ") and f": {field}:" in err[0]
    assert os.listdir(tmp_path) == []


def test_a_conv_flatten_model_runs(tmp_path, capsys):
    nir.write(str(tmp_path / "convflat.nir"), conv_graph(with_flatten=True))
    assert main(run_args(tmp_path / "out", ["--model", str(tmp_path / "convflat.nir")])) == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["layer_sizes"] == {"input": 64, "lif1": 128, "lif2": 4}


def test_zero_samples_is_an_input_error(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(run_args(out, ["--samples", "0"]))
    assert code == 2
    assert capsys.readouterr().err.startswith("snnemu: error: ")
    assert not out.exists()


def test_negative_samples_is_an_input_error(tmp_path, capsys):
    out = tmp_path / "out"
    data = tmp_path / "ev.npz"  # two samples of two events: -1 runs only the first
    np.savez(data, t=np.array([0, 100, 0, 100]), x=np.array([1, 2, 3, 4]), y=np.zeros(4, np.int64),
             p=np.zeros(4, np.int64), sample=np.array([0, 0, 1, 1]), sensor_size=np.array([8, 8, 1]),
             labels=np.array([0, 1]))
    code = main(run_args(out, ["--samples", "-1", "--data", str(data)]))
    assert code == 2
    assert not out.exists()


# --- hw list / show -----------------------------------------------------------------------


def test_hw_list(capsys):
    assert main(["hw", "list"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert len(lines) == len(BUNDLED)
    assert [line.split()[0] for line in lines] == BUNDLED
    assert "128 cores" in next(line for line in lines if line.startswith("loihi"))
    assert "mesh 1x1, 1 core/tile, 1 core " in next(line for line in lines if line.startswith("ideal"))


def test_hw_show_loihi(capsys):
    assert main(["hw", "show", "loihi"]) == 0
    out = capsys.readouterr().out
    assert "loihi" in out
    assert " ns" in out and " pJ" in out
    assert "Davies" in out  # the source is cited


def test_hw_show_unknown_profile(capsys):
    assert main(["hw", "show", "nosuch"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("snnemu: error: nosuch: hw:")


def test_hw_show_bad_profile_file(tmp_path, capsys):
    p = write_profile(tmp_path / "neg.yaml", core__energy_j={**GENERIC["core"]["energy_j"], "synaptic_op": -1e-12})
    assert main(["hw", "show", str(p)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "neg.yaml: core.energy_j.synaptic_op:" in err[0]


# --- a good run with the demo model -------------------------------------------------------------


SUMMARY_KEYS = {"schema", "model", "hw", "mode", "queue", "samples", "accuracy", "spikes", "synaptic_events",
                "neuron_updates", "packets", "hops", "latency_s", "first_output_s", "first_correct_s", "decision_s",
                "energy_j", "edp_js", "decision_energy_per_inference_j", "stopped", "wall_s"}
STATS = {"mean", "p50", "p95", "max"}
ENERGY = {"total", "synaptic", "neuron", "spike_out", "noc", "io", "barrier", "static"}
PER_SAMPLE = ["sample", "label", "prediction", "correct", "spikes", "synaptic_events", "packets", "hops",
              "latency_s", "first_output_s", "first_correct_s", "energy_j", "decision_s", "decision_energy_j",
              "stopped"]
PER_CORE = {"core", "unit", "tile_x", "tile_y", "neurons", "synapses", "packets_in", "packets_out", "synaptic_events",
            "busy_s", "utilization", "energy_j"}
TRACE = ["t_s", "sample", "kind", "layer", "neuron", "core", "dst_core", "hops", "queue_wait_s", "step"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("good")
    out = base / "run"
    code = main(["run", "--model", str(DEMO), "--data", "digits", "--samples", "3", "--mode", "async",
                 "--out", str(out), "--trace"])
    return base, out, code


def test_run_writes_records(demo_run):
    base, out, code = demo_run
    assert code == 0
    assert sorted(os.listdir(out)) == ["events.parquet", "output_spikes.nir", "per_core.csv", "per_link.csv",
                                       "per_sample.csv", "summary.json"]
    # the temporary folder was renamed: nothing else is left next to the output
    assert os.listdir(base) == ["run"]


def test_run_prints_one_line(tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["run", "--model", str(DEMO), "--data", "digits", "--samples", "2", "--mode", "layered",
                 "--out", str(out)]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert len(lines) == 1 and "layered on loihi: 2 samples" in lines[0] and str(out) in lines[0]
    assert "Traceback" not in cap.err
    # without --trace there is no events.parquet
    assert sorted(os.listdir(out)) == ["per_core.csv", "per_link.csv", "per_sample.csv", "summary.json"]


def test_summary_has_design_keys(demo_run):
    _, out, _ = demo_run
    s = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(s)
    assert s["model"] == "demo_digits" and s["hw"] == "loihi" and s["mode"] == "async"
    assert s["queue"] == "fifo" and s["samples"] == 3
    assert s["accuracy"] is not None and 0.0 <= s["accuracy"] <= 1.0
    assert {"total", "per_layer"} <= set(s["spikes"])
    assert s["spikes"]["total"] == sum(s["spikes"]["per_layer"].values()) > 0
    assert set(s["latency_s"]) >= STATS and set(s["first_output_s"]) >= STATS
    assert set(s["energy_j"]) >= ENERGY
    parts = sum(s["energy_j"][k] for k in ENERGY - {"total"})
    assert parts == pytest.approx(s["energy_j"]["total"], rel=1e-9)
    assert s["latency_s"]["mean"] > 0 and s["latency_s"]["max"] >= s["latency_s"]["p95"] >= s["latency_s"]["p50"]
    assert s["synaptic_events"] > 0 and s["packets"] > 0 and s["neuron_updates"] > 0
    # loihi: two-tier neurons (every neuron accessed each frame), dense synapses, no gating
    assert s["neuron_accesses"] >= s["samples"] * 74 and (s["sparse_events"], s["conv_events"], s["wakeups"]) == (0, 0, 0)
    assert s["edp_js"] > 0 and s["wall_s"] > 0


def test_per_sample_and_per_core_tables(demo_run):
    _, out, _ = demo_run
    s = json.loads((out / "summary.json").read_text())
    ps = pd.read_csv(out / "per_sample.csv")
    assert list(ps.columns) == PER_SAMPLE
    assert ps["sample"].tolist() == [0, 1, 2]
    assert ps["energy_j"].sum() == pytest.approx(s["energy_j"]["total"], rel=1e-9)
    assert ps["synaptic_events"].sum() == s["synaptic_events"]
    assert ps["packets"].sum() == s["packets"]
    assert ps["correct"].mean() == pytest.approx(s["accuracy"])
    pc = pd.read_csv(out / "per_core.csv")
    assert PER_CORE <= set(pc.columns)
    assert "layer" in pc.columns or "layers" in pc.columns
    assert len(pc) == 128 + 1 and pc.unit.tolist() == ["core"] * 128 + ["io"]  # loihi's I/O port after its cores
    assert pc["energy_j"].sum() == pytest.approx(s["energy_j"]["total"], rel=1e-9)
    assert pc["packets_out"].sum() == pc["packets_in"].sum() == s["packets"]
    assert pc.packets_out.iloc[-1] == s["io_packets"] > 0 and pc.energy_io_j.iloc[-1] == s["energy_j"]["io"] > 0
    assert pc["synaptic_events"].sum() == s["synaptic_events"]
    assert pc["neurons"].sum() == 64 + 64 + 10 and pc.neurons.iloc[-1] == 64  # the input enters at the port


def test_trace_columns_and_counts(demo_run):
    _, out, _ = demo_run
    s = json.loads((out / "summary.json").read_text())
    ev = pd.read_parquet(out / "events.parquet")
    assert list(ev.columns) == TRACE
    assert set(ev["kind"]) == {"spike", "packet"}
    assert (ev["kind"] == "packet").sum() == s["packets"]
    spikes = ev[ev["kind"] == "spike"]
    assert len(spikes[spikes["layer"] != "input"]) == s["spikes"]["total"]
    assert sorted(ev["sample"].unique().tolist()) == [0, 1, 2]
    assert (ev["t_s"] >= 0).all()


def test_run_folder_permissions_follow_umask(demo_run, tmp_path):
    _, out, _ = demo_run
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (out.stat().st_mode & 0o777) == (ref.stat().st_mode & 0o777)


def test_out_that_is_not_a_run_folder_is_refused(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("years of work")
    code = main(run_args(tmp_path, ["--samples", "1"]))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("snnemu: error: ") and ": --out:" in err
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
