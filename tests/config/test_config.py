"""The options module: one declaration for the API and the CLI, the same checks for both,
and the registries keyed by the names it declares."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from emulator import DEMO_MODEL, FunctionalRun, InputError, RunConfig, RunResult, run, summarize, validate
from emulator.chip import MAPPERS, MODES, NOCS, QUEUES
from emulator.cli import build_parser, main
from emulator.cli.main import config_from_args
from emulator.config import (
    DATASET_NAMES,
    ENGINES,
    INPUTS,
    LOCAL_DATASET_NAMES,
    MAPPER_NAMES,
    MODE_NAMES,
    NOC_NAMES,
    QUEUE_NAMES,
)
from emulator.model import DIALECT_NAMES
from traces.datasets import DATASETS
from traces.local import LOCAL

DEMO = str(DEMO_MODEL)

# (RunConfig changes, the CLI's flags for the same run, the error it must give)
BAD = [
    ({"engine": "functional", "F": 0}, ["--engine", "functional", "--F", "0"], "--F: F: must be at least 1, got 0"),
    ({"engine": "functional", "spike_dropout": 7.0}, ["--engine", "functional", "--spike-dropout", "7"],
     "--spike-dropout: spike_dropout: must be a probability, got 7.0"),
    ({"F": 2}, ["--F", "2"], "--F: F: applies only with --engine functional, not chip: the run would ignore it"),
    ({"engine": "functional", "mode": "layered", "max_steps": 3},
     ["--engine", "functional", "--mode", "layered", "--max-steps", "3"],
     "--max-steps: max_steps: applies only with --mode async, not layered: the run would ignore it"),
    ({"engine": "functional", "mode": "layered", "prioritize_input": False},
     ["--engine", "functional", "--mode", "layered", "--no-prioritize-input"],
     "--no-prioritize-input: prioritize_input: applies only with --mode async, not layered: "
     "the run would ignore it"),
    ({"realtime": True}, ["--realtime"],
     "--realtime: realtime: applies only to the chip in async mode with --input event"),
    ({"workers": 0}, ["--workers", "0"], "--workers: workers: must be at least 1, got 0"),
    ({"samples": 0}, ["--samples", "0"], "--samples: samples: must be at least 1, got 0"),
    ({"dt_us": 100, "frames": 4}, ["--dt-us", "100", "--frames", "4"],
     "--frames: frames: give either --frames or --dt-us, not both"),
]


@pytest.mark.parametrize("changes, flags, message", BAD)
def test_the_api_refuses_what_the_cli_refuses_with_the_same_line(changes, flags, message, tmp_path, capsys):
    with pytest.raises(InputError) as exc:
        run(RunConfig(model=DEMO, **changes))
    assert str(exc.value) == message
    assert main(["run", "--model", DEMO, *flags, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"snnemu: error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_the_issues_example_no_longer_runs_the_chip_silently():
    """``F=0`` and ``spike_dropout=7.0`` on the functional engine used to run the chip on loihi."""
    with pytest.raises(InputError, match="F: must be at least 1"):
        run(RunConfig(model=DEMO, engine="functional", F=0, spike_dropout=7.0))


def test_unknown_names_are_refused_by_the_api():
    for key in ("engine", "mode", "queue", "input", "noc", "nir_from", "reset"):
        with pytest.raises(InputError, match=f": {key}: unknown {key} 'nope'"):
            validate(RunConfig(model=DEMO, **{key: "nope"}))


def test_registries_are_keyed_by_the_declared_names():
    assert tuple(MODES) == MODE_NAMES
    assert tuple(QUEUES) == QUEUE_NAMES
    assert tuple(NOCS) == NOC_NAMES
    assert tuple(MAPPERS) == MAPPER_NAMES
    assert tuple(DATASETS) == DATASET_NAMES
    assert tuple(LOCAL) == LOCAL_DATASET_NAMES
    run_parser = build_parser()._subparsers._group_actions[0].choices["run"]
    choices = {a.dest: tuple(a.choices) for a in run_parser._actions if a.choices}
    assert choices == {"mode": MODE_NAMES, "queue": QUEUE_NAMES, "input": INPUTS, "noc": NOC_NAMES,
                       "engine": ENGINES, "nir_from": DIALECT_NAMES, "reset": ("zero", "subtract")}


def test_every_option_has_a_flag_and_the_cli_defaults_are_the_configs():
    args = build_parser().parse_args(["run", "--model", DEMO, "--out", "x"])
    assert config_from_args(args) == RunConfig(model=DEMO)
    flags = build_parser().parse_args(["run", "--model", DEMO, "--out", "x", "--no-refractory",
                                       "--no-prioritize-input", "--realtime", "--trace", "--F", "3",
                                       "--refrac-dropout", "0.25", "--dt-us", "500"])
    assert (flags.refractory, flags.prioritize_input, flags.realtime, flags.trace) == (False, False, True, True)
    assert (flags.F, flags.refrac_dropout, flags.dt_us) == (3, 0.25, 500)


def test_run_dispatches_on_the_engine():
    chip = run(RunConfig(model=DEMO, hw="ideal", samples=2))
    ref = run(RunConfig(model=DEMO, engine="functional", samples=2))
    assert isinstance(chip, RunResult) and isinstance(ref, FunctionalRun)
    assert summarize(chip)["engine"] == "chip" and summarize(ref)["engine"] == "functional"
    assert summarize(ref)["hw"] is None and summarize(ref)["energy_j"]["total"] is None
    # the two engines agree on layered mode's spikes (the reference is the chip's oracle)
    assert summarize(chip)["spikes"] == summarize(ref)["spikes"]


def test_warnings_go_to_the_callback_or_to_python_warnings():
    cfg = RunConfig(model=DEMO, hw="ideal", samples=1, dt_us=500)  # the model's dt is 1 ms: a warning
    seen = []
    run(cfg, warn=seen.append)
    assert seen == [f"{DEMO}: the model's steps are 1000 us (metadata dt) but the frames are 500 us (--dt-us "
                    "framing): one step per frame makes its time constants 0.5 times as long in data time; "
                    "--dt-us 1000 frames the data at the model's step"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(cfg)
    assert [str(w.message) for w in caught] == seen


def test_the_train_command_is_built_from_its_config():
    """snnemu train's flags and defaults are TrainConfig's (declared once, without torch)."""
    from emulator.config import TrainConfig

    args = build_parser().parse_args(["train", "--arch", "64-10", "--out", "m.nir"])
    from_cli = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    assert from_cli == TrainConfig(arch="64-10", out="m.nir")
    flags = build_parser().parse_args(["train", "--arch", "64-10", "--out", "m.nir", "--F", "4", "--mode", "async",
                                       "--refrac-dropout", "0.5", "--detach-reset", "--max-seconds", "60"])
    assert (flags.F, flags.mode, flags.refrac_dropout, flags.detach_reset, flags.max_seconds) == \
        (4, "async", 0.5, True, 60.0)


def test_a_mode_the_silicon_does_not_run_is_allowed_said_once_and_recorded():
    said = []
    res = run(RunConfig(model=DEMO, hw="truenorth", mode="async", samples=2), warn=said.append)
    assert [w for w in said if "silicon" in w] == [
        "truenorth: the silicon runs timestep only; async mode here is an emulation (summary.json: mode_supported "
        "false)"]
    assert summarize(res)["mode_supported"] is False
    said.clear()
    assert summarize(run(RunConfig(model=DEMO, hw="truenorth", mode="timestep", samples=2),
                         warn=said.append))["mode_supported"] is True
    assert not [w for w in said if "silicon" in w]
