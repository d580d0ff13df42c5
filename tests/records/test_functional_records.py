"""``snnemu run --engine functional``: records, nulls for hardware fields, traces
comparable with the chip's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emulator.cli import main

DEMO = "emulator/data/demo_digits.nir"


def run(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["run", "--model", DEMO, "--data", "digits", "--samples", "12", "--trace", "--out", str(out),
                 *extra]) == 0
    return out


def spikes(out):
    ev = pd.read_parquet(out / "events.parquet")
    ev = ev[ev.kind == "spike"]
    return sorted(zip(ev["sample"], ev.step, ev.layer, ev.neuron))


@pytest.mark.parametrize("mode", ["layered", "timestep"])
def test_engines_agree_from_their_trace_files(tmp_path, mode):
    chip = run(tmp_path, "chip", "--mode", mode)
    ref = run(tmp_path, "ref", "--mode", mode, "--engine", "functional")
    assert spikes(chip) == spikes(ref)
    a, b = (json.loads((o / "summary.json").read_text()) for o in (chip, ref))
    assert a["spikes"] == b["spikes"] and a["synaptic_events"] == b["synaptic_events"]
    assert a["accuracy"] == b["accuracy"]


def test_chip_async_equals_reference_with_one_spike_per_step_on_one_ideal_core(tmp_path):
    chip = run(tmp_path, "chip", "--mode", "async", "--hw", "ideal", "--queue", "momentum", "--input", "frame")
    ref = run(tmp_path, "ref", "--mode", "async", "--engine", "functional", "--F", "1", "--queue", "momentum")
    assert spikes(chip) == spikes(ref)


def test_functional_records(tmp_path):
    out = run(tmp_path, "f", "--mode", "async", "--engine", "functional", "--F", "4", "--stop-on-output", "3")
    assert sorted(p.name for p in out.iterdir()) == ["events.parquet", "per_sample.csv", "summary.json"]
    s = json.loads((out / "summary.json").read_text())
    assert s["engine"] == "functional" and s["F"] == 4 and s["stop_on_output"] == 3
    assert s["energy_j"]["total"] is None and s["latency_s"]["mean"] is None and s["packets"] is None
    assert s["forward_steps"]["mean"] > 0 and s["latency_forward_steps"]["mean"] is not None
    rows = pd.read_csv(out / "per_sample.csv")
    assert rows.latency_s.isna().all() and rows.energy_j.isna().all()
    assert rows.forward_steps.sum() > 0 and rows.synaptic_events.sum() == s["synaptic_events"]
    assert s["accuracy"] == pytest.approx(rows.correct.mean())
    assert (rows.spikes_lif1 + rows.spikes_lif2 == rows.spikes).all()
    assert rows.spikes_input.sum() == s["spikes"]["input"]


@pytest.mark.parametrize("argv, field", [(["--F", "0"], "F"), (["--refrac-dropout", "2"], "refrac_dropout"),
                                         (["--stop-on-output", "-1"], "stop_on_output"),
                                         (["--spike-dropout", "-0.1"], "spike_dropout"),
                                         (["--max-steps", "0"], "max_steps")])
def test_bad_functional_options(tmp_path, capsys, argv, field):
    code = main(["run", "--model", DEMO, "--engine", "functional", "--mode", "async", "--out", str(tmp_path / "o"),
                 *argv])
    assert code == 2 and f": {field}:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, field", [(["--F", "4"], "F"), (["--spike-dropout", "0.1"], "spike_dropout"),
                                         (["--engine", "functional", "--mode", "layered", "--F", "4"], "F"),
                                         (["--engine", "functional", "--mode", "timestep", "--stop-on-output", "1"],
                                          "stop_on_output")])
def test_options_that_would_be_ignored_are_refused(tmp_path, capsys, argv, field):
    code = main(["run", "--model", DEMO, "--mode", "async", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and f": {field}: applies only with" in err
