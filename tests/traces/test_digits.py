"""Tests for traces.digits (the rate-encoded digits dataset) and traces.datasets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_digits

from emulator.errors import InputError
from traces.datasets import DATASETS, load_events
from traces.digits import (
    digits_arrays,
    encode_rate,
    load_digits_events,
    split_indices,
)
from traces.events import make_events, write_npz
from traces.framing import frame_counts


def test_split_sizes_disjoint_and_covering():
    train, test = split_indices("train"), split_indices("test")
    assert train.size == 1437 and test.size == 360
    assert not set(train.tolist()) & set(test.tolist())
    assert sorted(train.tolist() + test.tolist()) == list(range(1797))
    np.testing.assert_array_equal(split_indices("train"), train)  # fixed


def test_labels_and_images_match_sklearn():
    data = load_digits()
    for split in ("train", "test"):
        idx = split_indices(split)
        X, y = digits_arrays(split)
        assert X.shape == (idx.size, 64) and X.min() >= 0.0 and X.max() <= 1.0
        np.testing.assert_array_equal(y, data.target[idx])
        np.testing.assert_allclose(X, data.data[idx] / 16.0)
    ev = load_digits_events("test")
    np.testing.assert_array_equal(ev.labels, data.target[split_indices("test")])
    assert ev.n_samples == 360 and ev.name == "digits:test"


def test_events_contract():
    ev = load_digits_events("test", n_frames=16, dt_us=1000)
    assert ev.sensor_size == (8, 8, 1)
    assert ev.t.dtype == np.int64 and np.all(ev.t % 1000 == 0) and ev.t.max() < 16000
    assert np.all(ev.p == 0) and ev.x.max() < 8 and ev.y.max() < 8
    assert np.all(np.diff(ev.sample) >= 0)


def test_deterministic_for_seed_and_different_for_other_seed():
    a = load_digits_events("test", seed=0)
    b = load_digits_events("test", seed=0)
    c = load_digits_events("test", seed=1)
    assert a == b
    assert a != c


def test_framing_recovers_the_bernoulli_draws():
    q, _ = digits_arrays("test")
    raster = encode_rate(q, 16, 0.5, seed=7)
    ev = load_digits_events("test", n_frames=16, dt_us=1000, max_rate=0.5, seed=7)
    counts = frame_counts(ev, dt_us=1000, n_frames=16)
    np.testing.assert_array_equal(counts, raster.astype(np.int32))
    # pixel j is image row j // 8, column j % 8
    first = np.flatnonzero(ev.sample == 0)[0]
    assert raster[0, ev.t[first] // 1000, ev.y[first] * 8 + ev.x[first]]


def test_rate_of_full_and_blank_pixels():
    q = np.zeros((400, 64))
    q[:, 5] = 1.0
    q[:, 9] = 0.5
    raster = encode_rate(q, 50, 0.3, seed=0)
    assert abs(raster[:, :, 5].mean() - 0.3) < 0.01  # 20000 draws, sd ~0.003
    assert abs(raster[:, :, 9].mean() - 0.15) < 0.01
    assert raster[:, :, 0].sum() == 0
    ev = load_digits_events("train", max_rate=1.0)
    X, _ = digits_arrays("train")
    full = frame_counts(ev, 1000, 16).transpose(0, 2, 1)[X == 1.0]  # (n_full, 16)
    assert np.all(full == 1)


def test_bad_parameters():
    with pytest.raises(InputError, match="split"):
        load_digits_events("validation")
    with pytest.raises(InputError, match="max_rate"):
        load_digits_events(max_rate=1.5)
    with pytest.raises(InputError, match="n_frames"):
        load_digits_events(n_frames=0)


def test_registry_and_load_events(tmp_path):
    assert "digits" in DATASETS
    from_registry = load_events("digits", split="test")
    assert from_registry.frame_us == 1000  # the dataset's own framing: 16 frames of 1 ms
    assert from_registry == dataclasses.replace(load_digits_events("test"), frame_us=1000)
    ev = make_events(
        t=[0, 3],
        x=[1, 2],
        p=[0, 0],
        sample=[0, 1],
        sensor_size=(3, 1, 1),
        labels=[1, 0],
    )
    path = tmp_path / "mine.npz"
    write_npz(path, ev)
    back = load_events(str(path))
    assert back.n_events == 2 and back.labels.tolist() == [1, 0]
    with pytest.raises(InputError) as info:
        load_events("mnist")
    assert str(info.value).startswith("mnist: data: unknown dataset")
    with pytest.raises(InputError, match="file"):
        load_events(str(tmp_path / "absent.npz"))
