"""``spoken-digits``: the cochlea-like filterbank against tones of known frequency,
and the dataset from eSpeak NG (skipped where espeak-ng is not installed)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from traces.speech import N_CHANNELS, _erb_space, cochlea_events, load_spoken_digits, speakers

FS = 22050


def tone_burst(freq: float, start_s=0.1, stop_s=0.3, total_s=0.5) -> np.ndarray:
    t = np.arange(int(total_s * FS)) / FS
    return 0.5 * np.sin(2 * np.pi * freq * t) * ((t >= start_s) & (t < stop_s))


@pytest.mark.parametrize("freq", [300.0, 1000.0, 4000.0])
def test_a_tone_excites_the_channels_around_its_frequency(freq):
    ev = cochlea_events(tone_burst(freq), FS)
    centres = _erb_space(100.0, 7000.0, N_CHANNELS)
    best = int(np.argmin(np.abs(centres - freq)))
    counts = np.bincount(ev["x"], minlength=N_CHANNELS)
    dist = np.abs(np.arange(N_CHANNELS) - best)
    assert abs(int(counts.argmax()) - best) <= 1
    # tuned: the channels near the tone fire far more than those an octave or more away
    assert counts[dist <= 4].mean() > 3 * counts[dist >= 16].mean()


def test_onset_gives_up_events_and_offset_down_events():
    ev = cochlea_events(tone_burst(1000.0), FS)
    t, p = ev["t"], ev["p"]
    up, down = t[p == 1], t[p == 0]
    assert len(up) and len(down)
    # mostly UP in the first 100 ms of the tone (the envelope rises), DOWN after it stops at 300 ms
    assert np.mean((up >= 100_000) & (up < 200_000)) > 0.75 and np.median(up) < 120_000
    assert np.mean(down >= 300_000) > 0.75 and np.median(down) > 300_000
    assert abs(len(up) - len(down)) <= N_CHANNELS  # silence before and after: each channel returns to its level


def test_silence_gives_no_events():
    ev = cochlea_events(np.zeros(FS), FS)
    assert len(ev["t"]) == 0


def test_speakers_of_the_two_splits_differ():
    train, test = set(speakers("train")), set(speakers("test"))
    assert not train & test and len(train) == 28 and len(test) == 14


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_spoken_digits_from_espeak_are_deterministic_and_labelled():
    a = load_spoken_digits("test", limit=1)
    assert a == load_spoken_digits("test", limit=1)
    assert a.sensor_size == (N_CHANNELS, 1, 2) and a.n_samples == 20 and a.labels.tolist() == list(range(10)) * 2
    per = np.bincount(a.sample, minlength=20)
    assert per.min() > 100  # every word makes events
    durations = np.array([a.t[a.sample == i].max() for i in range(20)])
    assert durations[10:].mean() < durations[:10].mean()  # 180 words per minute are shorter than 140
