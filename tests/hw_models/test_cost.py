"""The cost model prices counts by hand-checkable sums."""

from __future__ import annotations

import numpy as np
import pytest
from builders import profile

from emulator.chip import CoreCounters
from hw_models.cost import CATEGORIES, price


def test_price_by_hand():
    hw = profile(mesh__width=2, mesh__cores_per_tile=2)  # 4 cores, 2 routers
    counts = CoreCounters.zeros(4)
    counts.synaptic_events[0], counts.neuron_updates[1], counts.spikes_out[2] = 10, 3, 2
    counts.messages_in[3], counts.packets_out[0], counts.hops_ew[0], counts.hops_ns[1], counts.local[2] = \
        5, 4, 3, 2, 1
    e = price(counts, barriers=3, elapsed_s=1e-6, hw=hw, used=np.array([0, 1]))
    col = dict(zip(CATEGORIES, e.T))
    pj = 1e-12
    np.testing.assert_allclose(col["synaptic"], [10 * 2 * pj, 0, 0, 0])
    np.testing.assert_allclose(col["neuron"], [0, 3 * 4 * pj, 0, 0])
    np.testing.assert_allclose(col["spike_out"], [0, 0, 2 * 8 * pj, 0])
    # noc: message in 1 pJ, out 16 pJ, hop EW 32 pJ, NS 64 pJ, local 0.5 pJ
    np.testing.assert_allclose(col["noc"], [(4 * 16 + 3 * 32) * pj, 2 * 64 * pj, 0.5 * pj, 5 * 1 * pj])
    np.testing.assert_allclose(col["barrier"], [3 * 128 * pj / 2, 3 * 128 * pj / 2, 0, 0])
    # static: 1 mW per core, 2 mW per router shared by its 2 cores, over 1 us
    np.testing.assert_allclose(col["static"], [1e-6 * (1e-3 + 1e-3)] * 4)
    assert e.sum() == pytest.approx(sum(c.sum() for c in col.values()))
