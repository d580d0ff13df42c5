"""Framing by bins, downsampling, clipping, NIR EventData in and out, and the
``snnemu data`` commands; runs that use them."""

from __future__ import annotations

import json
import os

import nir
import numpy as np
import pytest
from builders import nir_chain

from emulator.cli import main
from emulator.errors import InputError
from traces.datasets import load_events
from traces.events import make_events, read_npz
from traces.framing import clip_time, downsample, frame_counts
from traces.nir_events import read_nir_events, write_nir_events


def small_set():
    """Two samples on a 6x4x2 sensor with hand-placed events."""
    return make_events(t=[0, 10, 99, 0, 40], x=[5, 0, 3, 1, 2], y=[3, 0, 1, 2, 2], p=[1, 0, 1, 0, 0],
                       sample=[0, 0, 0, 1, 1], sensor_size=(6, 4, 2), labels=[4, 2])


def test_frames_by_number_of_bins_follow_each_sample_span():
    ev = small_set()
    f = frame_counts(ev, bins=2)
    assert f.shape == (2, 2, 48)
    # sample 0 spans 0..99: bins [0, 50) and [50, 100); sample 1 spans 0..40: [0, 20.5) and [20.5, 41)
    neuron = lambda x, y, p: (p * 4 + y) * 6 + x  # noqa: E731
    assert f[0, 0, neuron(5, 3, 1)] == 1 and f[0, 0, neuron(0, 0, 0)] == 1 and f[0, 1, neuron(3, 1, 1)] == 1
    assert f[1, 0, neuron(1, 2, 0)] == 1 and f[1, 1, neuron(2, 2, 0)] == 1
    assert f.sum() == ev.n_events
    with pytest.raises(InputError):
        frame_counts(ev, 1000, bins=2)


def test_downsample_pools_pixels_and_keeps_every_event():
    ev = downsample(small_set(), 4)
    assert ev.sensor_size == (2, 1, 2)
    assert sorted(zip(ev.sample, ev.t, ev.x, ev.y)) == [(0, 0, 1, 0), (0, 10, 0, 0), (0, 99, 0, 0), (1, 0, 0, 0),
                                                        (1, 40, 0, 0)]
    # a 128x128 sensor pooled by 4 is the paper's 32x32
    big = make_events(t=[0], x=[127], y=[127], p=[1], sample=[0], sensor_size=(128, 128, 2))
    assert downsample(big, 4).sensor_size == (32, 32, 2) and downsample(big, 4).x[0] == 31


def test_clip_keeps_events_before_max_us():
    ev = clip_time(small_set(), 40)
    assert ev.t.tolist() == [0, 10, 0] and ev.n_samples == 2 and ev.labels.tolist() == [4, 2]


def test_nir_event_data_round_trip(tmp_path):
    ev = small_set()
    write_nir_events(tmp_path / "ev.nir", ev)
    graph = nir.read_data(str(tmp_path / "ev.nir"))
    data = graph.nodes["input"].observables["spikes"]
    assert data.n_neurons == 48 and data.idx.shape == (2, 3) and data.idx[1, 2] == -1
    back = read_nir_events(tmp_path / "ev.nir")
    assert back.sensor_size == (48, 1, 1) and back.n_samples == 2
    # the same input neurons, so the same frames
    np.testing.assert_array_equal(frame_counts(back, 10), frame_counts(ev, 10))
    assert np.array_equal(load_events(str(tmp_path / "ev.nir")).t, back.t)


def test_data_export_npz_and_nir_and_show(tmp_path, capsys):
    assert main(["data", "export", "nmnist-digits", "--samples", "5", "--max-us", "100000", "--downsample", "2",
                 "--to", str(tmp_path / "n.npz")]) == 0
    ev = read_npz(tmp_path / "n.npz")
    assert ev.sensor_size == (17, 17, 2) and ev.n_samples == 5 and ev.t.max() < 100_000
    full = load_events("nmnist-digits")
    assert ev.n_events == int(((full.sample < 5) & (full.t < 100_000)).sum())
    assert main(["data", "export", str(tmp_path / "n.npz"), "--to", str(tmp_path / "n.nir")]) == 0
    np.testing.assert_array_equal(frame_counts(load_events(str(tmp_path / "n.nir")), 1000), frame_counts(ev, 1000))
    out = tmp_path / "show"
    assert main(["data", "show", "nmnist-digits", "--sample", "2", "--out", str(out)]) == 0
    s = json.loads((out / "events_summary.json").read_text())
    sel = full.sample == 2
    assert s["sample"]["events"] == int(sel.sum()) and s["events"] == full.n_events
    assert s["sample"]["polarity"] == {"0": int((full.p[sel] == 0).sum()), "1": int((full.p[sel] == 1).sum())}
    assert sum(s["classes"].values()) == 360
    assert {p.name for p in out.glob("*.png")} == {"data_event_rate.png", "data_polarity.png", "data_classes.png"}
    assert main(["data", "show", "digits", "--sample", "360", "--out", str(out)]) == 2
    assert main(["data", "export", "digits", "--to", str(tmp_path / "x.csv")]) == 2


def test_exported_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        for name in ("e.npz", "e.nir"):
            assert main(["data", "export", "digits", "--samples", "2", "--to", str(tmp_path / name)]) == 0
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name  # 0666 & ~umask, not mkstemp's 0600
    finally:
        os.umask(old)


def test_data_show_one_dimensional_sensor_draws_a_raster(tmp_path):
    ev = make_events(t=[0, 5, 9], x=[1, 699, 3], p=[0, 0, 0], sample=[0, 0, 1], sensor_size=(700, 1, 1))
    from traces.events import write_npz

    write_npz(tmp_path / "a.npz", ev)
    assert main(["data", "show", str(tmp_path / "a.npz"), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "data_raster.png").is_file() and not (tmp_path / "o" / "data_classes.png").exists()


def test_data_list_names_the_datasets(capsys, monkeypatch, tmp_path):
    (tmp_path / "SHD").mkdir()
    monkeypatch.setenv("SNNEMU_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "nmnist-digits", "nmnist:ROOT", "shd:ROOT", "dvsgesture:ROOT"):
        assert name in out
    assert f"found in {tmp_path / 'SHD'}" in out and "expected NMNIST/Test" in out


def test_run_with_frames_downsample_and_max_us(tmp_path):
    """A 17x17x2 input (nmnist-digits pooled by 2) through a 578-10 model, 10 frames per sample."""
    rng = np.random.default_rng(0)
    model = tmp_path / "m.nir"
    nir.write(str(model), nir_chain([rng.normal(0, 0.3, (10, 578))], beta=0.9, theta=1.0))
    out = tmp_path / "run"
    assert main(["run", "--model", str(model), "--hw", "ideal", "--data", "nmnist-digits", "--samples", "3",
                 "--downsample", "2", "--frames", "10", "--max-us", "200000", "--mode", "layered", "--trace",
                 "--out", str(out)]) == 0
    import pandas as pd

    ev = pd.read_parquet(out / "events.parquet")
    inputs = ev[(ev.kind == "spike") & (ev.layer == "input")]
    assert inputs.step.max() == 9  # ten frames
    full = load_events("nmnist-digits")
    assert len(inputs) == int(((full.sample < 3) & (full.t < 200_000)).sum())  # every clipped event, pooled
    assert main(["run", "--model", str(model), "--data", "nmnist-digits", "--frames", "4", "--dt-us", "1000",
                 "--out", str(tmp_path / "r2")]) == 2
