"""``snnemu train``: determinism, resuming, the written model against the chip, bad input."""

from __future__ import annotations

import csv

import nir
import numpy as np
import pytest

from emulator.cli import main
from emulator.config import RunConfig
from emulator.functional import simulate
from emulator.model import load_nir
from emulator.runner import run_network
from hw_models.profile import load_profile

torch = pytest.importorskip("torch", reason="the [train] extra (torch) is not installed")
train = pytest.importorskip("emulator.train")


def config(tmp_path, name="m", **kw):
    return train.TrainConfig(**{"arch": "64-32-10", "out": str(tmp_path / f"{name}.nir"), "samples": 128,
                                "epochs": 2, "batch": 32, "lr": 5e-3, **kw})


def test_same_seed_same_weights_and_a_resumed_run_ends_alike(tmp_path):
    a = train.train(config(tmp_path, "a"))
    b = train.train(config(tmp_path, "b"))
    for wa, wb in zip(a.layers.weights, b.layers.weights):
        assert torch.equal(wa, wb)
    first = train.train(config(tmp_path, "c", epochs=1))
    resumed = train.train(config(tmp_path, "c", resume=str(tmp_path / "c.epoch1.pt")))
    for wa, wr in zip(a.layers.weights, resumed.layers.weights):
        assert torch.equal(wa, wr)
    assert [r["epoch"] for r in resumed.log] == [1, 2] and first.log[0]["loss"] == resumed.log[0]["loss"]
    other = train.train(config(tmp_path, "d", seed=1))
    assert not torch.equal(other.layers.weights[0], a.layers.weights[0])


@pytest.mark.parametrize("arch", ["64-32-10", "1x8x8-4c3-p2-10"])
def test_the_files_and_the_model_run_on_the_chip_as_trained(arch, tmp_path):
    res = train.train(config(tmp_path, arch=arch, epochs=3))
    rows = list(csv.DictReader(open(tmp_path / "m.train_log.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert (tmp_path / "m.curves.png").stat().st_size > 1000 and (tmp_path / "m.epoch3.pt").is_file()
    net = load_nir(tmp_path / "m.nir")
    assert not net.warnings and net.dialect == "snnemu"
    kinds = {type(n).__name__ for n in nir.read(str(tmp_path / "m.nir")).nodes.values()}  # and type-checks
    assert ("Conv2d" in kinds and "SumPool2d" in kinds) == ("c" in arch)  # never unrolled to dense
    xt, yt, *_ = train.loop.load_split(config(tmp_path), "test")
    x = xt[:20]
    # the trained weights, in float64, through the training graph's layered pass
    layers = train.Layers([w.detach().double() for w in res.layers.weights], [b.double() for b in res.layers.beta],
                          [t.double() for t in res.layers.theta], arch=res.layers.arch)
    _, want = train.layered_forward(layers, x.double(), train.atan())
    frames = x.numpy().astype(np.int32)
    chip = run_network(net, load_profile("loihi"), frames, None, RunConfig(model="m", mode="layered", trace=True))
    ev = chip.tracer.table().to_pandas()
    for i, pop in enumerate(net.populations[1:]):
        got = np.zeros((len(x), x.shape[1], pop.size), int)
        s = ev[(ev.kind == "spike") & (ev.layer == pop.name)]
        np.add.at(got, (s["sample"], s.step, s.neuron), 1)
        np.testing.assert_array_equal(got, np.moveaxis(want[i].numpy(), 0, 1).astype(int))
    # async on one ideal core equals the reference at F = 1
    ref = simulate(net, frames, RunConfig(mode="async", F=1, queue="momentum"))
    asy = run_network(net, load_profile("ideal"), frames, None, RunConfig(model="m", mode="async", queue="momentum",
                                                                           input="frame"))
    assert asy.spikes_per_layer == {p.name: int(n) for p, n in zip(net.populations, ref.spikes.sum(axis=0))}


def test_an_async_trained_model_replays_in_the_reference(tmp_path):
    """The training graph's unlayered pass, with the reference's draws: the written model, run by the
    reference with the same F, scheduler and seed, gives the evaluation's spikes and steps."""
    cfg = config(tmp_path, mode="async", F=4, epochs=1)
    res = train.train(cfg)
    xt, yt, *_ = train.loop.load_split(cfg, "test")
    acc, spikes, steps = train.evaluate(res.layers, xt, yt, cfg)
    ref = simulate(load_nir(res.model), xt.numpy().astype(np.int32), RunConfig(mode="async", F=4, queue="random"),
                   labels=yt.numpy())
    assert ref.spikes[:, 1:].sum(axis=1).mean() == pytest.approx(spikes)
    assert ref.forward_steps.mean() == pytest.approx(steps)
    assert float((ref.pred_rate == yt.numpy()).mean()) == pytest.approx(acc)


@pytest.mark.parametrize("args, message", [
    (["--arch", "64-x8-10"], "--arch: arch: '64-x8-10': unknown token 'x8'"),
    (["--arch", "64-32-10", "--F", "0"], "--F: F: must be at least 1, got 0"),
    (["--arch", "60-32-10"], "--arch: arch: the input 60 does not fit the data's 64 inputs (1x8x8)"),
    (["--arch", "2x4x8-4c3-10"], "--arch: arch: the input 2x4x8 does not fit the data's 64 inputs (1x8x8)"),
])
def test_bad_input_is_one_line(args, message, tmp_path, capsys):
    assert main(["train", *args, "--samples", "8", "--epochs", "1", "--out", str(tmp_path / "m.nir")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"snnemu: error: {message}")
    assert not (tmp_path / "m.nir").exists()


def test_a_dataset_without_labels_is_refused(tmp_path, capsys):
    from traces.events import make_events, write_npz

    path = tmp_path / "unlabelled.npz"
    write_npz(path, make_events(t=[0, 5], x=[1, 2], p=[0, 0], sample=[0, 1], sensor_size=(8, 1, 1)))
    assert main(["train", "--arch", "8-10", "--data", str(path), "--out", str(tmp_path / "m.nir")]) == 2
    assert "labels: training needs labelled samples" in capsys.readouterr().err


def test_a_spike_penalty_trains_a_sparser_model(tmp_path):
    free = train.train(config(tmp_path, "free"))
    sparse = train.train(config(tmp_path, "sparse", spike_penalty=0.005))
    assert sparse.log[-1]["spikes_per_sample"] < 0.75 * free.log[-1]["spikes_per_sample"]
    assert load_nir(tmp_path / "sparse.nir").populations[1].size == 32


@pytest.mark.parametrize("args, message", [
    (["--loss", "count"], "--loss: loss: unknown loss 'count' (use rate, first-spike)"),
    (["--spike-penalty", "-1"], "--spike-penalty: spike_penalty: must be at least 0, got -1.0"),
])
def test_bad_loss_options_are_one_line(args, message, tmp_path, capsys):
    assert main(["train", "--arch", "64-10", *args, "--out", str(tmp_path / "m.nir")]) == 2
    assert capsys.readouterr().err.strip() == f"snnemu: error: {message}"
