"""The built-in ``spoken-digits`` dataset: the words "zero" to "nine" spoken by a
speech synthesizer, through a cochlea-like filterbank, as send-on-delta spikes.

Why: the paper's audio benchmark is SHD (Cramer et al., IEEE TNNLS 2020),
spoken digits turned into spikes by a model of the cochlea. Its files cannot
be downloaded here. The offline source used instead is real synthesized
speech from eSpeak NG (the Debian package ``espeak-ng``; ``apt-get install
espeak-ng``), called at first use and then cached.

Speakers. Seven English accents (``en-us``, ``en-gb``, ``en-gb-scotland``,
``en-gb-x-rp``, ``en-gb-x-gbclan``, ``en-gb-x-gbcwmd``, ``en-029``), each with
six voice variants (``m1 m2 m3 f1 f2 f3``), at two speeds (140 and 180 words
per minute): 84 utterances per digit, 840 in all. As in SHD, the test
speakers are not heard in training: the variants ``m3`` and ``f3`` are the
test split (280 samples), the rest the train split (560).

The ear (vectorized NumPy/SciPy):

1. Each utterance is presented at the same level: its peak scaled to 0.5.
2. 64 band-pass channels (4th-order Butterworth, one ERB wide; Glasberg &
   Moore 1990), with centres evenly spaced on the ERB-rate scale from 100 Hz to
   7 kHz, the cochlea's place-frequency map.
3. A hair cell per channel: half-wave rectification, then a 2nd-order 30 Hz
   low-pass (the syllabic envelope, below the voice's pitch), averaged over 1
   ms steps and log-compressed, ``L = log(envelope + 0.003)`` (the floor keeps
   the faint leakage of distant channels from making events).
4. Send-on-delta: a channel emits an UP event (``p = 1``) each time ``L``
   rises by ``delta`` (0.2) above its reference, and a DOWN event (``p = 0``)
   each time it falls by ``delta`` below it; the reference moves by ``delta``
   per event. Events are timestamped at the end of their 1 ms step.

Output: sensor ``(64, 1, 2)`` (x is the channel, low frequencies first),
``t`` in µs from the start of the utterance.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

import numpy as np
from scipy import signal

from emulator.errors import InputError

from .events import EventSet, make_events

__all__ = ["ACCENTS", "VARIANTS", "TEST_VARIANTS", "SPEEDS", "WORDS", "N_CHANNELS", "cochlea_events",
           "espeak_version", "load_spoken_digits", "synthesize"]

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("m1", "m2", "f1", "f2", "m3", "f3")
TEST_VARIANTS = ("m3", "f3")
SPEEDS = (140, 180)
N_CHANNELS = 64
STEP_US = 1000
FLOOR = 3e-3  # the envelope level the ear barely hears (waveforms are presented at peak 0.5)


def espeak_version() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise InputError("spoken-digits", "espeak-ng", "needs the speech synthesizer: apt-get install espeak-ng")
    return subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.split()[3]


def synthesize(word: str, voice: str, speed: int) -> tuple[np.ndarray, int]:
    """eSpeak NG's waveform of ``word`` (float in [-1, 1]) and its sample rate."""
    espeak_version()
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", word],
                         capture_output=True, check=True).stdout
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise InputError("espeak-ng", "stdout", "did not return a WAV stream")
    rate = int.from_bytes(wav[24:28], "little")
    data = wav.index(b"data") + 8  # espeak streams the data chunk to the end, with a placeholder length
    return np.frombuffer(wav[data:len(wav) - (len(wav) - data) % 2], "<i2") / 32768.0, rate


def _erb_space(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` centre frequencies evenly spaced on the ERB-rate scale (Glasberg & Moore 1990)."""
    rate = np.linspace(21.4 * np.log10(1 + 0.00437 * lo), 21.4 * np.log10(1 + 0.00437 * hi), n)
    return (10 ** (rate / 21.4) - 1) / 0.00437


@lru_cache(maxsize=4)
def _filterbank(fs: int) -> tuple[list[np.ndarray], np.ndarray]:
    centres = _erb_space(100.0, 7000.0, N_CHANNELS)
    bands = []
    for fc in centres:
        erb = 24.7 * (4.37 * fc / 1000 + 1)
        lo, hi = max(fc - erb / 2, 1.0), min(fc + erb / 2, fs / 2 - 1)
        bands.append(signal.butter(2, (lo, hi), btype="bandpass", fs=fs, output="sos"))  # order 2 x 2 = 4
    envelope = signal.butter(2, 30.0, btype="low", fs=fs, output="sos")
    return bands, envelope


def cochlea_events(wave: np.ndarray, fs: int, delta: float = 0.2) -> dict[str, np.ndarray]:
    """Send-on-delta events ``t`` (µs), ``x`` (channel), ``p`` of one waveform (see the module docstring)."""
    bands, envelope = _filterbank(fs)
    n_steps = int(len(wave) * 1_000_000 // (fs * STEP_US))
    if n_steps < 2:
        z = np.zeros(0, np.int64)
        return {"t": z, "x": z, "p": z}
    edges = np.round(np.arange(n_steps + 1) * fs * STEP_US / 1_000_000).astype(np.int64)  # exact 1 ms steps
    channels = np.stack([signal.sosfilt(sos, wave) for sos in bands])  # (64, samples)
    env = np.maximum(signal.sosfilt(envelope, np.maximum(channels, 0.0), axis=1), 0.0)
    level = np.log(np.add.reduceat(env[:, :edges[-1]], edges[:-1], axis=1) / np.diff(edges) + FLOOR)
    ref = level[:, 0].copy()
    ts, xs, ps = [], [], []
    for k in range(1, n_steps):  # one step at a time: each event moves the reference
        d = level[:, k] - ref
        n_ev = np.floor(np.abs(d) / delta).astype(np.int64)
        ch = np.flatnonzero(n_ev)
        if len(ch):
            xs.append(np.repeat(ch, n_ev[ch]))
            ps.append(np.repeat((d[ch] > 0).astype(np.int64), n_ev[ch]))
            ts.append(np.full(int(n_ev[ch].sum()), (k + 1) * STEP_US))
            ref[ch] += np.sign(d[ch]) * n_ev[ch] * delta
    if not ts:
        z = np.zeros(0, np.int64)
        return {"t": z, "x": z, "p": z}
    return {"t": np.concatenate(ts), "x": np.concatenate(xs), "p": np.concatenate(ps)}


def speakers(split: str) -> list[tuple[str, str]]:
    variants = TEST_VARIANTS if split == "test" else [v for v in VARIANTS if v not in TEST_VARIANTS]
    return [(accent, variant) for accent in ACCENTS for variant in variants]


def load_spoken_digits(split: str = "test", delta: float = 0.2, limit: int | None = None,
                       progress=None) -> EventSet:
    """The spoken digits of ``split`` as labelled events, named ``spoken-digits:<split>``
    (``limit``: only the first speakers, for quick tests; ``progress(done, total)``: called per speaker)."""
    name = f"spoken-digits:{split}"
    if split not in ("train", "test"):
        raise InputError(name, "split", f"unknown split {split!r}; expected train or test")
    cols = {k: [] for k in ("t", "x", "p", "sample")}
    labels = []
    voices = speakers(split)[:limit]
    for done, (accent, variant) in enumerate(voices):
        if progress is not None:
            progress(done, len(voices))
        for speed in SPEEDS:
            for label, word in enumerate(WORDS):
                wave, fs = synthesize(word, f"{accent}+{variant}", speed)
                ev = cochlea_events(0.5 * wave / max(np.abs(wave).max(), 1e-9), fs, delta)
                for k in ("t", "x", "p"):
                    cols[k].append(ev[k])
                cols["sample"].append(np.full(len(ev["t"]), len(labels)))
                labels.append(label)
    if progress is not None:
        progress(len(voices), len(voices))
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    return make_events(**arrays, sensor_size=(N_CHANNELS, 1, 2), labels=labels, name=name)
