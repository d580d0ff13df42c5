"""``power_gating: idle``: a core without work is gated (it draws ``gated_static_power_w``), and wakes before it
works again (``wake_latency_s`` later, ``wake_energy_j`` each time). Hand-computed on the chain of
tests/chip/test_chip.py: input -> h -> out, one core per tile of a 3x1 mesh, one input spike."""

from __future__ import annotations

import numpy as np
import pytest
from builders import nir_chain, profile

from emulator.config import RunConfig
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.cost import CATEGORIES

L_IN, L_SYN, L_UPD, L_SPK, L_OUT, HOP = 10, 3, 5, 7, 11, 20  # ns (tests/builders.py)
P_CORE, P_ROUTER = 1e-3, 2e-3  # W
WAKE, E_WAKE, P_GATED = 50, 3, 0.1e-3  # ns, pJ, W


def chain(mode, gating="idle", **changes):
    net = network_from_nir(nir_chain([np.array([[2.0]]), np.array([[2.0]])], beta=1.0 - 1e-9))
    frames = np.zeros((1, 1, 1), int)
    frames[0, 0, 0] = 1
    figures = {"core__power_gating": gating, "core__wake_latency_s": WAKE * 1e-9,
               "core__wake_energy_j": E_WAKE * 1e-12, "core__gated_static_power_w": P_GATED}
    hw = profile(**{**figures, **changes})
    return run_network(net, hw, frames, np.array([0]), RunConfig(model="chain", mode=mode))


def test_async_each_core_wakes_once_before_its_work():
    """Each core is gated from the start and works once: three wake-ups on the critical path."""
    res = chain("async")
    busy = [L_SPK + L_OUT, L_IN + L_SYN + L_UPD + L_SPK + L_OUT, L_IN + L_SYN + L_UPD + L_SPK]
    t = 3 * WAKE + busy[0] + HOP + busy[1] + HOP + busy[2]
    assert t == 269
    row = res.per_sample[0]
    assert row["first_output_s"] == pytest.approx(t * 1e-9, rel=1e-12)
    np.testing.assert_array_equal(res.counters.wakeups, [1, 1, 1])
    # static: each core draws P_core while it wakes and works, P_gated the rest; routers all along
    static = res.per_core_energy[:, CATEGORIES.index("static")]
    for c in range(3):
        awake = (WAKE + busy[c]) * 1e-9
        want = awake * P_CORE + (t * 1e-9 - awake) * P_GATED + t * 1e-9 * P_ROUTER + E_WAKE * 1e-12
        assert static[c] == pytest.approx(want, rel=1e-9)
    # the work is the same as without gating
    plain = chain("async", gating="none")
    np.testing.assert_array_equal(res.per_core_energy[:, :5], plain.per_core_energy[:, :5])
    assert plain.per_sample[0]["first_output_s"] == pytest.approx((t - 3 * WAKE) * 1e-9, rel=1e-12)


def test_without_wake_up_costs_idle_gating_changes_only_static_power():
    free = chain("async", core__wake_latency_s=0.0, core__wake_energy_j=0.0)
    plain = chain("async", gating="none")
    assert free.per_sample[0]["latency_s"] == plain.per_sample[0]["latency_s"]
    static = CATEGORIES.index("static")
    assert (free.per_core_energy[:, static] < plain.per_core_energy[:, static]).all()


@pytest.mark.parametrize("mode", ["timestep", "layered"])
def test_tick_modes_wake_each_working_core_every_phase(mode):
    """A core idles through every barrier, so it wakes in each phase it works in; each wake-up moves that
    phase's end by the wake latency (the phases' work is the same)."""
    res, plain = chain(mode), chain(mode, gating="none")
    c = res.counters
    assert c.wakeups.sum() > 0
    np.testing.assert_array_equal(c.busy_s, plain.counters.busy_s)
    # phases run one after another here (one input spike down a chain): each wake-up is on the critical path
    extra = res.per_sample[0]["latency_s"] - plain.per_sample[0]["latency_s"]
    phases_with_work = c.wakeups.sum()
    assert extra == pytest.approx(phases_with_work * WAKE * 1e-9, rel=1e-9)
