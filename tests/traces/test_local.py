"""Real datasets from local folders, decoded by tonic: tiny files in each real on-disk
format with known events, round trips through the writers, and bad files (exit 2)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from emulator.cli import main
from emulator.errors import InputError
from traces.datasets import load_events
from traces.events import make_events
from traces.framing import frame_counts
from traces.local import write_dvsgesture, write_nmnist, write_shd

pytest.importorskip("tonic", reason="the [datasets] extra (tonic) is not installed")


def nmnist_bytes(x, y, p, t) -> bytes:
    """N-MNIST's 40-bit event, written out by hand: x, y, then p in bit 7 and t in 23 bits."""
    return bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])


def test_nmnist_decodes_known_events(tmp_path):
    d = tmp_path / "NMNIST" / "Test"
    (d / "3").mkdir(parents=True)
    (d / "7").mkdir()
    (d / "3" / "00002.bin").write_bytes(nmnist_bytes(3, 5, 1, 70_000) + nmnist_bytes(33, 0, 0, 5))
    (d / "7" / "00001.bin").write_bytes(nmnist_bytes(0, 33, 1, 8_388_607))
    ev = load_events(f"nmnist:{tmp_path}")
    assert ev.sensor_size == (34, 34, 2) and ev.n_samples == 2
    assert list(ev.labels) == [3, 7]  # the label is the digit folder
    assert list(zip(ev.sample, ev.t, ev.x, ev.y, ev.p)) == [(0, 5, 33, 0, 0), (0, 70_000, 3, 5, 1),
                                                            (1, 8_388_607, 0, 33, 1)]
    assert load_events(f"nmnist:{tmp_path / 'NMNIST'}") == ev  # the NMNIST folder itself works too


def test_nmnist_round_trip_through_the_writer(tmp_path):
    ev = load_events("nmnist-digits")
    small = make_events(t=ev.t[ev.sample < 12], x=ev.x[ev.sample < 12], y=ev.y[ev.sample < 12],
                        p=ev.p[ev.sample < 12], sample=ev.sample[ev.sample < 12], sensor_size=(34, 34, 2),
                        labels=ev.labels[:12])
    write_nmnist(tmp_path, small, split="train")
    back = load_events(f"nmnist:{tmp_path}:train")
    order = np.argsort(small.labels, kind="stable")  # files are read label folder by label folder
    assert list(back.labels) == list(small.labels[order])
    np.testing.assert_array_equal(frame_counts(back, 1000), frame_counts(small, 1000)[order])


def test_shd_decodes_known_events(tmp_path):
    path = tmp_path / "SHD" / "shd_test.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        times[0], units[0] = np.array([0.5, 0.001], np.float32), np.array([699, 3], np.uint16)
        times[1], units[1] = np.array([0.25], np.float32), np.array([42], np.uint16)
        f["labels"] = np.array([19, 4], np.uint16)
    ev = load_events(f"shd:{tmp_path}")
    assert ev.sensor_size == (700, 1, 1) and ev.y is None and list(ev.labels) == [19, 4]
    assert list(zip(ev.sample, ev.t, ev.x)) == [(0, 1000, 3), (0, 500_000, 699), (1, 250_000, 42)]
    back = tmp_path / "back"
    write_shd(back, ev)
    assert load_events(f"shd:{back}").t.tolist() == ev.t.tolist()


def test_dvsgesture_decodes_known_events(tmp_path):
    d = tmp_path / "DVSGesture" / "ibmGestureTest" / "user02_led"
    d.mkdir(parents=True)
    np.save(d / "5.npy", np.array([[127, 0, 1, 12.0], [4, 100, 0, 3.0]]))  # x, y, p, t (ms)
    np.save(d / "10.npy", np.array([[1, 2, 1, 0.0]]))
    ev = load_events(f"dvsgesture:{tmp_path}")
    assert ev.sensor_size == (128, 128, 2) and sorted(ev.labels.tolist()) == [5, 10]
    rows = sorted(zip(ev.labels[ev.sample], ev.t, ev.x, ev.y, ev.p))
    assert rows == [(5, 3000, 4, 100, 0), (5, 12_000, 127, 0, 1), (10, 0, 1, 2, 1)]  # ms -> µs
    back = tmp_path / "back"
    write_dvsgesture(back, ev)
    again = load_events(f"dvsgesture:{back}")
    assert sorted(zip(again.labels[again.sample], again.t, again.x)) == sorted(zip(ev.labels[ev.sample], ev.t, ev.x))


@pytest.mark.parametrize("make, field", [
    (lambda r: (r / "NMNIST/Test/1").mkdir(parents=True) or (r / "NMNIST/Test/1/a.bin").write_bytes(b"\x01\x02\x03"),
     "bytes"),
    (lambda r: r.joinpath("NMNIST").mkdir(), "files"),
])
def test_bad_nmnist_folders(tmp_path, make, field):
    make(tmp_path)
    with pytest.raises(InputError) as exc:
        load_events(f"nmnist:{tmp_path}")
    assert exc.value.field == field


def test_missing_files_say_what_is_expected(tmp_path, capsys):
    assert main(["data", "show", f"shd:{tmp_path}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SHD/shd_test.h5" in err[0] and str(tmp_path) in err[0]
    assert main(["data", "show", f"dvsgesture:{tmp_path}:train", "--out", str(tmp_path / "o")]) == 2
    assert "ibmGestureTrain/userNN_<lighting>/<label>.npy" in capsys.readouterr().err


def test_shd_wrong_keys_and_negative_times(tmp_path, capsys):
    path = tmp_path / "SHD" / "shd_test.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f["spikes/times"] = np.zeros((1, 1))
        f["labels"] = np.zeros(1)
    assert main(["data", "export", f"shd:{tmp_path}", "--to", str(tmp_path / "x.npz")]) == 2
    assert "spikes/units" in capsys.readouterr().err
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (1,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (1,), dtype=h5py.vlen_dtype(np.uint16))
        times[0], units[0] = np.array([-0.1], np.float32), np.array([1], np.uint16)
        f["labels"] = np.array([0])
    assert main(["data", "export", f"shd:{tmp_path}", "--to", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "negative" in err and "shd_test.h5" in err and not (tmp_path / "x.npz").exists()
    path.write_bytes(b"not hdf5")
    assert main(["data", "export", f"shd:{tmp_path}", "--to", str(tmp_path / "x.npz")]) == 2


def test_dvsgesture_negative_timestamps_and_bad_shape(tmp_path, capsys):
    d = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_led"
    d.mkdir(parents=True)
    np.save(d / "1.npy", np.array([[1, 2, 1, -5.0]]))
    assert main(["data", "show", f"dvsgesture:{tmp_path}", "--out", str(tmp_path / "o")]) == 2
    assert "negative" in capsys.readouterr().err
    np.save(d / "1.npy", np.zeros((3, 3)))
    assert main(["data", "show", f"dvsgesture:{tmp_path}", "--out", str(tmp_path / "o")]) == 2
    assert "(N, 4)" in capsys.readouterr().err
