"""Tests for traces.events: the npz contract, validation errors and framing."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.errors import InputError
from traces.events import (
    EventSet,
    input_shape,
    make_events,
    read_npz,
    write_npz,
)
from traces.framing import frame_counts


def _random_events(seed: int = 0, n: int = 200, labels: bool = True) -> EventSet:
    rng = np.random.default_rng(seed)
    return make_events(
        t=rng.integers(0, 5000, n),
        x=rng.integers(0, 34, n),
        y=rng.integers(0, 34, n),
        p=rng.integers(0, 2, n),
        sample=rng.integers(0, 7, n),
        sensor_size=(34, 34, 2),
        labels=np.arange(8) % 3 if labels else None,
        name="random",
    )


def _save_raw(path, **arrays) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _good_raw() -> dict[str, np.ndarray]:
    return {
        "t": np.array([0, 10, 20], dtype=np.int64),
        "x": np.array([0, 1, 2], dtype=np.int64),
        "y": np.array([0, 1, 1], dtype=np.int64),
        "p": np.array([0, 1, 0], dtype=np.int64),
        "sample": np.array([0, 0, 1], dtype=np.int64),
        "sensor_size": np.array([3, 2, 2], dtype=np.int64),
        "labels": np.array([4, 5], dtype=np.int64),
    }


def test_round_trip_2d_and_1d(tmp_path):
    ev = _random_events()
    path = tmp_path / "ev.npz"
    write_npz(path, ev)
    back = read_npz(path)
    assert back == EventSet(**{**ev.__dict__, "name": str(path)})
    assert back.n_samples == 8 and back.labels.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]

    one_d = make_events(
        t=[5, 1], x=[699, 3], p=[0, 0], sample=[0, 0], sensor_size=(700, 1, 1)
    )
    write_npz(tmp_path / "shd.npz", one_d)
    back = read_npz(tmp_path / "shd.npz")
    assert back.y is None and back.labels is None and back.n_samples == 1
    assert back.t.tolist() == [1, 5] and back.x.tolist() == [3, 699]


def test_sorted_by_sample_then_time_stably():
    ev = make_events(
        t=[30, 10, 10, 0, 10],
        x=[0, 1, 2, 3, 4],
        p=[0] * 5,
        sample=[1, 1, 0, 1, 1],
        sensor_size=(5, 1, 1),
    )
    assert ev.sample.tolist() == [0, 1, 1, 1, 1]
    assert ev.t.tolist() == [10, 0, 10, 10, 30]
    assert ev.x.tolist() == [2, 3, 1, 4, 0]  # the two t=10 events keep file order
    assert ev.t.dtype == np.int64 and not ev.t.flags.writeable


def test_n_samples_from_labels_or_samples():
    ev = make_events(t=[0], x=[0], p=[0], sample=[2], sensor_size=(1, 1, 1))
    assert ev.n_samples == 3 and ev.labels is None
    ev = make_events(
        t=[0], x=[0], p=[0], sample=[0], sensor_size=(1, 1, 1), labels=[1, 2, 3, 4]
    )
    assert ev.n_samples == 4
    empty = make_events(t=[], x=[], p=[], sample=[], sensor_size=(1, 1, 1))
    assert empty.n_samples == 0 and empty.n_events == 0


def test_input_shape_is_p_y_x():
    assert input_shape((34, 32, 2)) == (2, 32, 34)
    assert input_shape((700, 1, 1)) == (1, 1, 700)


def test_frame_counts_hand_computed_1d():
    # Sensor of 4 neurons (x only), dt = 100 us.
    ev = make_events(
        t=[0, 50, 50, 120, 399, 10],
        x=[1, 3, 3, 0, 2, 2],
        p=[0] * 6,
        sample=[0, 0, 0, 0, 0, 1],
        sensor_size=(4, 1, 1),
    )
    counts = frame_counts(ev, dt_us=100)
    assert counts.dtype == np.int32 and counts.shape == (2, 4, 4)
    expected = np.zeros((2, 4, 4), dtype=np.int32)
    expected[0, 0, 1] = 1
    expected[0, 0, 3] = 2  # two events at the same place and frame
    expected[0, 1, 0] = 1
    expected[0, 3, 2] = 1  # t=399 -> frame 3
    expected[1, 0, 2] = 1
    np.testing.assert_array_equal(counts, expected)


def test_frame_counts_2d_two_polarities_flattening():
    # sensor (x=3, y=2, p=2) -> (C, H, W) = (2, 2, 3); index = (p*2 + y)*3 + x.
    ev = make_events(
        t=[0, 0, 1500, 1999],
        x=[2, 0, 1, 1],
        y=[1, 1, 0, 0],
        p=[1, 0, 1, 1],
        sample=[0, 0, 0, 0],
        sensor_size=(3, 2, 2),
    )
    counts = frame_counts(ev, dt_us=1000)
    assert counts.shape == (1, 2, 12)
    expected = np.zeros((1, 2, 12), dtype=np.int32)
    expected[0, 0, 11] = 1  # p=1, y=1, x=2 -> (1*2+1)*3+2
    expected[0, 0, 3] = 1  # p=0, y=1, x=0 -> (0*2+1)*3+0
    expected[0, 1, 7] = 2  # p=1, y=0, x=1 -> (1*2+0)*3+1, twice
    np.testing.assert_array_equal(counts, expected)


def test_frame_counts_drops_beyond_n_frames_and_selects_samples():
    ev = make_events(
        t=[0, 250, 999, 0, 300],
        x=[0, 1, 1, 1, 0],
        p=[0] * 5,
        sample=[0, 0, 0, 2, 2],
        sensor_size=(2, 1, 1),
    )
    counts = frame_counts(ev, dt_us=100, n_frames=3)
    assert counts.shape == (3, 3, 2)
    assert counts.sum() == 3  # t=999 (frame 9) and t=300 (frame 3) dropped
    assert counts[0, 0, 0] == 1 and counts[0, 2, 1] == 1 and counts[2, 0, 1] == 1
    assert counts[1].sum() == 0  # sample 1 has no events
    full = frame_counts(ev, dt_us=100)
    assert full.shape == (3, 10, 2) and full.sum() == 5
    np.testing.assert_array_equal(frame_counts(ev, 100, samples=slice(1, 3)), full[1:3])
    np.testing.assert_array_equal(
        frame_counts(ev, 100, samples=slice(0, 3, 2)), full[::2]
    )


def test_frame_counts_matches_loop_on_random_events():
    ev = _random_events(seed=3)
    counts = frame_counts(ev, dt_us=700, n_frames=6)
    expected = np.zeros_like(counts)
    for t, x, y, p, s in zip(ev.t, ev.x, ev.y, ev.p, ev.sample):
        if t // 700 < 6:
            expected[s, t // 700, (p * 34 + y) * 34 + x] += 1
    np.testing.assert_array_equal(counts, expected)


def test_frame_counts_bad_dt():
    with pytest.raises(InputError, match="dt_us"):
        frame_counts(_random_events(), dt_us=0)


def _expect(path, field: str):
    with pytest.raises(InputError) as info:
        read_npz(path)
    msg = str(info.value)
    assert str(path) in msg and f": {field}:" in msg
    assert info.value.field == field
    return msg


def test_missing_and_corrupt_file(tmp_path):
    _expect(tmp_path / "nope.npz", "file")
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(b"\x00garbage, not a zip archive\xff" * 10)
    _expect(bad, "file")
    truncated = tmp_path / "truncated.npz"
    write_npz(truncated, _random_events())
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(InputError) as info:
        read_npz(truncated)
    assert str(truncated) in str(info.value)


def test_events_outside_sensor(tmp_path):
    for field, index, value in (("x", 1, 3), ("y", 2, 2), ("p", 0, 2)):
        raw = _good_raw()
        raw[field] = raw[field].copy()
        raw[field][index] = value
        _save_raw(tmp_path / f"out_{field}.npz", **raw)
        msg = _expect(tmp_path / f"out_{field}.npz", field)
        assert f"index {index}" in msg and f"value {value}" in msg
    raw = _good_raw()
    raw["x"] = np.array([0, -1, 2])
    _save_raw(tmp_path / "neg_x.npz", **raw)
    _expect(tmp_path / "neg_x.npz", "x")


@pytest.mark.parametrize(
    "field, change",
    [
        ("t", {"t": np.array([0, -5, 20])}),
        ("sample", {"sample": np.array([0, -1, 1])}),
        ("p", {"p": np.array([0, 1])}),  # length mismatch
        ("sample", {"sample": np.array([0, 0, 1, 1])}),  # length mismatch
        ("x", {"x": np.array([0.0, 1.0, 2.0])}),  # non-integer dtype
        ("t", {"t": np.array([0.5, 1.0, 2.0])}),
        ("sensor_size", {"sensor_size": np.array([3, 0, 2])}),
        ("sensor_size", {"sensor_size": np.array([3, 2])}),
        ("sensor_size", {"sensor_size": np.array([3.0, 2.0, 2.0])}),
        ("labels", {"labels": np.array([4])}),  # fewer labels than samples
        ("lables", {"lables": np.array([4, 5])}),  # unknown array (typo)
    ],
)
def test_bad_arrays(tmp_path, field, change):
    raw = {**_good_raw(), **change}
    _save_raw(tmp_path / "bad.npz", **raw)
    _expect(tmp_path / "bad.npz", field)


@pytest.mark.parametrize("missing", ["t", "x", "p", "sample", "sensor_size"])
def test_missing_array(tmp_path, missing):
    raw = _good_raw()
    del raw[missing]
    _save_raw(tmp_path / "missing.npz", **raw)
    msg = _expect(tmp_path / "missing.npz", missing)
    assert "missing" in msg


def test_1d_sensor_requires_unit_height(tmp_path):
    raw = _good_raw()
    del raw["y"]
    _save_raw(tmp_path / "noy.npz", **raw)
    _expect(tmp_path / "noy.npz", "sensor_size")
