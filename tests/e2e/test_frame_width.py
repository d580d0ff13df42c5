"""The frame width belongs to the data, the model's dt to the graph (they used to be one value).

snnTorch's exporter writes ``tau = dt/(1-beta)`` and ``r = tau/dt`` with an implied dt of
100 us, only to carry beta. Framing the data at that dt gave ``digits`` (16 frames of 1 ms)
151 mostly empty frames; the data's own framing gives its 16.
"""

from __future__ import annotations

import nir
import numpy as np
import pytest

from emulator import InputError, RunConfig, load_inputs, run, summarize


def snntorch_style(path, beta=0.9, dt=1e-4):
    """64-10 LIF as snnTorch exports it: tau = dt/(1-beta), r = tau/dt, no dt in the metadata."""
    tau = np.full(10, dt / (1 - beta))
    rng = np.random.default_rng(0)
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([64])),
                            "fc": nir.Affine(weight=rng.normal(0, 1, (10, 64)), bias=np.zeros(10)),
                            "lif": nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(10), v_threshold=np.ones(10),
                                           v_reset=np.zeros(10)),
                            "output": nir.Output(output_type=np.array([10]))},
                     edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(path, g)
    return str(path)


def test_the_data_frames_itself_and_the_model_keeps_its_dt(tmp_path):
    model = snntorch_style(tmp_path / "m.nir")
    seen = []
    inputs = load_inputs(RunConfig(model=model, reset="zero", samples=3), warn=seen.append)
    assert inputs.frames.shape == (3, 16, 64)  # digits' own 16 frames of 1 ms
    assert inputs.frame_s == pytest.approx(1e-3)
    assert inputs.network.dt_s == pytest.approx(1e-4) and inputs.network.dt_source == "tau/r"
    assert inputs.network.dialect == "snntorch"  # tau/r = 100 us shows who wrote it
    np.testing.assert_allclose(inputs.network.populations[1].beta, 0.9)  # beta = 1 - dt/tau, as trained
    assert not any("frames are" in w for w in seen)  # an implied dt says nothing about time: no frame warning
    s = summarize(run(RunConfig(model=model, reset="zero", samples=3, hw="ideal")))
    assert (s["dt_s"], s["frame_s"]) == (pytest.approx(1e-4), pytest.approx(1e-3))


def test_dt_us_and_frames_override_the_data(tmp_path):
    model = snntorch_style(tmp_path / "m.nir")
    assert load_inputs(RunConfig(model=model, reset="zero", samples=2, dt_us=2000)).frames.shape[1] == 8
    by_count = load_inputs(RunConfig(model=model, reset="zero", samples=2, frames=4))
    assert by_count.frames.shape[1] == 4 and by_count.frame_s is None
    assert summarize(run(RunConfig(model=model, reset="zero", samples=2, frames=4, hw="ideal")))["frame_s"] is None
    with pytest.raises(InputError, match="--realtime: realtime: needs frames of one width"):
        run(RunConfig(model=model, reset="zero", mode="async", realtime=True, frames=4))
