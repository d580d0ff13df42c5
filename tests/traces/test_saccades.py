"""The simulated event camera and ``nmnist-digits``: a moving bar whose ON and OFF
edges are known, polarity balance over a closed path, determinism, temporal structure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from traces.datasets import load_events
from traces.saccades import PATH_PX, SACCADE_US, load_nmnist_digits, retina, saccade_path


def bar_events(direction: int, threshold=0.5, mismatch=0.0):
    """A bright bar over columns 5..7 of a dark 10x24 scene, moved 8 pixels right (+1) or left (-1)
    over 80 ms in steps of 1 ms."""
    img = np.zeros((1, 10, 24))
    img[0, :, 5:8] = 1.0 if direction > 0 else 0.0
    if direction < 0:
        img[0, :, 13:16] = 1.0  # starts 8 to the right, moves left to where the other starts
    times = np.arange(0, 80_001, 1000)
    path = np.stack([direction * times / 10_000, np.zeros(len(times))], axis=1)
    return retina(img, times, path, threshold=threshold, mismatch=mismatch, seed=1), path, times


@pytest.mark.parametrize("direction", [1, -1])
def test_moving_bar_leading_edge_is_on_trailing_edge_is_off(direction):
    ev, path, times = bar_events(direction)
    t, x, p = ev["t"], ev["x"], ev["p"]
    assert len(t) and set(np.unique(p)) == {0, 1}
    shift = direction * t / 10_000  # where the bar has moved by each event's time
    left, right = (5, 8) if direction > 0 else (13, 16)  # the bar covers [left, right) at the start
    lead, trail = (right + shift, left + shift) if direction > 0 else (left + shift, right + shift)
    on, off = p == 1, p == 0
    # a pixel brightens while the leading edge sweeps over it and darkens under the trailing edge
    assert np.all(np.abs(x[on] + 0.5 - lead[on]) <= 1.0)
    assert np.all(np.abs(x[off] + 0.5 - trail[off]) <= 1.0)
    # ON events lie ahead of the OFF events in the direction of motion
    assert direction * (x[on].mean() - x[off].mean()) > 0
    # every row sees the same edge: events come from all 10 rows
    assert set(np.unique(ev["y"])) == set(range(10))


def test_moving_bar_events_are_timed_where_the_edge_arrives():
    ev, _, _ = bar_events(1)
    t, x, p = ev["t"], ev["x"], ev["p"]
    # pixel 12 lies 4.5 pixels right of the bar's right edge at 8: its centre is reached at 45 ms
    on12 = t[(x == 12) & (p == 1)]
    assert len(on12) and np.all(np.abs(on12 - 45_000) <= 10_000)
    assert np.all(np.diff(np.sort(t)) >= 0) and t.min() >= 0 and t.max() <= 80_000


def test_no_motion_no_events():
    img = np.random.default_rng(0).random((2, 6, 6))
    times = np.arange(0, 10_001, 1000)
    ev = retina(img, times, np.zeros((len(times), 2)))
    assert len(ev["t"]) == 0


@pytest.fixture(scope="module")
def nmnist_test():
    return load_nmnist_digits("test")


def test_closed_path_balances_polarity_per_pixel(nmnist_test):
    """The saccades end where they start, so every pixel's ON and OFF counts differ by at most one."""
    ev = nmnist_test
    key = (ev.sample * 34 + ev.y) * 34 + ev.x
    on = np.bincount(key[ev.p == 1], minlength=ev.n_samples * 34 * 34)
    off = np.bincount(key[ev.p == 0], minlength=ev.n_samples * 34 * 34)
    assert np.abs(on - off).max() <= 1
    assert abs(ev.p.mean() - 0.5) < 0.01


def test_nmnist_digits_shape_and_temporal_structure(nmnist_test):
    ev = nmnist_test
    assert ev.sensor_size == (34, 34, 2) and ev.n_samples == 360 and ev.labels is not None
    assert ev.t.max() <= 3 * SACCADE_US and ev.t.min() >= 0
    per_sample = np.bincount(ev.sample)
    assert 2000 < per_sample.mean() < 8000
    # events are spread over all three saccades, not bunched
    thirds = np.bincount(ev.t // SACCADE_US, minlength=4)[:3]
    assert thirds.min() > 0.2 * thirds.sum()
    # the third saccade is horizontal: its events follow vertical edges, so x-gradients dominate.
    # In saccade 1 the image moves (+3.5, +7): down-right motion makes ON events below OFF ones.
    s1 = (ev.t < SACCADE_US) & (ev.sample == 0)
    assert ev.y[s1 & (ev.p == 1)].mean() > ev.y[s1 & (ev.p == 0)].mean() - 3


def test_saccade_path_follows_nmnist():
    t, path = saccade_path(1000)
    assert t[-1] == 3 * SACCADE_US
    for k, corner in enumerate(PATH_PX):
        np.testing.assert_allclose(path[t == k * SACCADE_US][0], corner)


def test_generation_is_deterministic_and_seeded(nmnist_test, tmp_path, monkeypatch):
    monkeypatch.setenv("SNNEMU_CACHE", str(tmp_path))
    framed = dataclasses.replace(nmnist_test, frame_us=1000)  # the registry adds the dataset's own framing
    assert load_events("nmnist-digits") == framed  # built again, the same, and cached
    assert list(tmp_path.glob("nmnist-digits-v*-test.npz"))
    assert load_events("nmnist-digits") == framed  # read back from the cache
    img = np.random.default_rng(0).random((3, 12, 12))
    times, path = saccade_path(5000)
    a, b = retina(img, times, path, seed=0), retina(img, times, path, seed=1)
    assert all(np.array_equal(a[k], retina(img, times, path, seed=0)[k]) for k in a)
    assert len(a["t"]) != len(b["t"]) or not np.array_equal(a["t"], b["t"])
