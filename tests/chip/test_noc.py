"""Tests for emulator.chip.noc: core ids and tiles, XY routes, analytic link reservation."""

from __future__ import annotations

import copy
import random

import pytest
import simpy
import yaml

from emulator.chip.noc import AnalyticNoC, Route, RouterNoC, Topology
from hw_models.profile import PROFILE_DIR, profile_from_dict

EW, NS, LOCAL = 5e-9, 7e-9, 2e-9
BASE = yaml.safe_load((PROFILE_DIR / "generic.yaml").read_text())


def make_hw(width=3, height=2, cpt=2, ew=EW, ns=NS, local=LOCAL):
    d = copy.deepcopy(BASE)
    d["name"] = "small"
    d["mesh"] = {"width": width, "height": height, "cores_per_tile": cpt}
    d["noc"]["hop_latency_s"] = {"east_west": ew, "north_south": ns}
    d["noc"]["local_latency_s"] = local
    return profile_from_dict(d, "small.yaml")


def core_id(topo, x, y, k):
    """docs/design.md, "Hardware model": core = (y*width + x)*cores_per_tile + k."""
    return (y * topo.width + x) * topo.cpt + k


@pytest.fixture
def topo():
    return Topology(make_hw())


# --- core ids and tiles ----------------------------------------------------------------


def test_core_ids_and_tile_coords(topo):
    assert (topo.width, topo.height, topo.cpt, topo.n_tiles) == (3, 2, 2, 6)
    expected = {}
    for y in range(2):
        for x in range(3):
            for k in range(2):
                expected[(y * 3 + x) * 2 + k] = (x, y)
    assert sorted(expected) == list(range(12))
    for core, xy in expected.items():
        assert topo.tile_xy(core) == xy
    # spot checks written out: core 7 = tile 3 = (0, 1), k 1; core 10 = tile 5 = (2, 1), k 0
    assert topo.tile_xy(7) == (0, 1)
    assert topo.tile_xy(10) == (2, 1)
    assert topo.tile_xy(5) == (2, 0)


def test_core_ids_non_square_mesh():
    topo = Topology(make_hw(width=4, height=3, cpt=3))
    for y in range(3):
        for x in range(4):
            for k in range(3):
                assert topo.tile_xy((y * 4 + x) * 3 + k) == (x, y)


# --- XY routes -------------------------------------------------------------------------


def link_tile_dir(topo, link):
    return divmod(link, 4)


def test_own_core_route_is_empty(topo):
    r = topo.route(4, 4)
    assert r.links == () and r.latencies == ()
    assert (r.hops_ew, r.hops_ns, r.local, r.hops) == (0, 0, 0, 0)


def test_same_tile_is_one_local_transfer(topo):
    a, b = core_id(topo, 1, 1, 0), core_id(topo, 1, 1, 1)
    for src, dst in ((a, b), (b, a)):
        r = topo.route(src, dst)
        assert r.local == 1 and r.hops == 0 and (r.hops_ew, r.hops_ns) == (0, 0)
        assert r.latencies == (LOCAL,)
        # the tile's local port: one per tile after the 4*n_tiles directed links
        assert r.links == (4 * topo.n_tiles + (1 * 3 + 1),)
    assert "tile(1,1).local" == topo.link_name(topo.route(a, b).links[0])


def test_xy_route_east_then_north(topo):
    src, dst = core_id(topo, 0, 0, 1), core_id(topo, 2, 1, 0)
    r = topo.route(src, dst)
    assert (r.hops_ew, r.hops_ns, r.hops, r.local) == (2, 1, 3, 0)
    assert r.latencies == (EW, EW, NS)
    # east out of (0,0), east out of (1,0), then the y hop out of (2,0)
    assert [link_tile_dir(topo, link) for link in r.links] == [
        (0, Topology.EAST), (1, Topology.EAST), (2, Topology.NORTH)]
    assert [topo.link_name(link) for link in r.links] == [
        "tile(0,0).east", "tile(1,0).east", "tile(2,0).north"]


def test_xy_route_west_then_south(topo):
    # the reverse trip also moves along x first (at the source row y = 1), then along y
    src, dst = core_id(topo, 2, 1, 0), core_id(topo, 0, 0, 1)
    r = topo.route(src, dst)
    assert (r.hops_ew, r.hops_ns, r.hops, r.local) == (2, 1, 3, 0)
    assert r.latencies == (EW, EW, NS)
    assert [link_tile_dir(topo, link) for link in r.links] == [
        (5, Topology.WEST), (4, Topology.WEST), (3, Topology.SOUTH)]


def test_route_only_ns_and_only_ew(topo):
    r = topo.route(core_id(topo, 1, 0, 0), core_id(topo, 1, 1, 1))
    assert (r.hops_ew, r.hops_ns, r.local) == (0, 1, 0) and r.latencies == (NS,)
    r = topo.route(core_id(topo, 2, 1, 1), core_id(topo, 1, 1, 1))
    assert (r.hops_ew, r.hops_ns, r.local) == (1, 0, 0) and r.latencies == (EW,)


def test_hop_counts_are_manhattan_distance_everywhere():
    topo = Topology(make_hw(width=4, height=3, cpt=2))
    for src in range(topo.n_tiles * topo.cpt):
        for dst in range(topo.n_tiles * topo.cpt):
            (x0, y0), (x1, y1) = topo.tile_xy(src), topo.tile_xy(dst)
            r = topo.route(src, dst)
            assert r.hops_ew == abs(x1 - x0) and r.hops_ns == abs(y1 - y0)
            same_tile = (x0, y0) == (x1, y1)
            assert r.local == int(same_tile and src != dst)
            assert len(r.links) == len(r.latencies) == (r.local if same_tile else r.hops)
            # XY: every east/west link comes before every north/south link
            dirs = [link % 4 for link in r.links] if not same_tile else []
            n_ew = sum(d in (Topology.EAST, Topology.WEST) for d in dirs)
            assert all(d in (Topology.EAST, Topology.WEST) for d in dirs[:n_ew])
            assert all(d in (Topology.NORTH, Topology.SOUTH) for d in dirs[n_ew:])


def test_routes_are_cached(topo):
    assert topo.route(0, 11) is topo.route(0, 11)


# --- analytic NoC: link reservation -----------------------------------------------------


def analytic(hw=None, t0=0.0):
    hw = hw or make_hw()
    env = simpy.Environment(initial_time=t0)
    topo = Topology(hw)
    return env, topo, AnalyticNoC(env, topo, hw, deliver=lambda pkt: None)


def test_single_packet_arrival_is_sum_of_hop_latencies():
    env, topo, noc = analytic()
    r = topo.route(core_id(topo, 0, 0, 0), core_id(topo, 2, 1, 0))
    assert noc.send(None, r) == pytest.approx(EW + EW + NS, abs=1e-21)
    env2, topo2, noc2 = analytic()
    assert noc2.send(None, topo2.route(0, 1)) == LOCAL
    assert noc2.send(None, topo2.route(3, 3)) == 0.0


def test_second_packet_on_same_link_waits_one_hop():
    env, topo, noc = analytic()
    r = topo.route(core_id(topo, 0, 0, 0), core_id(topo, 1, 0, 0))  # one east hop
    first = noc.send(None, r)
    second = noc.send(None, r)
    assert first == EW
    assert second == first + EW
    assert noc.send(None, r) == 3 * EW


def test_second_packet_on_same_multi_hop_route_waits_one_hop():
    # equal hop latencies: the two packets are pipelined one hop apart
    hw = make_hw(ew=4e-9, ns=4e-9)
    env, topo, noc = analytic(hw)
    r = topo.route(core_id(topo, 0, 0, 0), core_id(topo, 2, 1, 1))
    first, second = noc.send(None, r), noc.send(None, r)
    assert first == pytest.approx(12e-9, rel=1e-12)
    assert second == pytest.approx(first + 4e-9, rel=1e-12)
    # the third is one more hop behind, not two
    assert noc.send(None, r) == pytest.approx(first + 8e-9, rel=1e-12)


def test_packets_on_disjoint_links_do_not_wait():
    env, topo, noc = analytic()
    a = noc.send(None, topo.route(core_id(topo, 0, 0, 0), core_id(topo, 1, 0, 0)))
    b = noc.send(None, topo.route(core_id(topo, 1, 0, 0), core_id(topo, 0, 0, 0)))  # the west link
    c = noc.send(None, topo.route(core_id(topo, 0, 1, 0), core_id(topo, 1, 1, 0)))  # other row
    assert a == b == c == EW


def test_shared_link_later_on_the_route():
    # A: (0,0) -> (2,0) reserves east(0,0) then east(1,0).
    # B: (1,0) -> (2,0) leaves 6 ns later, when east(1,0) is held by A until 10 ns.
    env, topo, noc = analytic()
    a = noc.send(None, topo.route(core_id(topo, 0, 0, 0), core_id(topo, 2, 0, 0)))
    assert a == pytest.approx(10e-9, abs=1e-21)
    env.run(until=6e-9)
    b = noc.send(None, topo.route(core_id(topo, 1, 0, 0), core_id(topo, 2, 0, 0)))
    assert b == pytest.approx(10e-9 + EW, abs=1e-21)


def test_link_free_again_after_use():
    env, topo, noc = analytic()
    r = topo.route(core_id(topo, 0, 0, 0), core_id(topo, 1, 0, 0))
    noc.send(None, r)
    env.run(until=20e-9)
    assert noc.send(None, r) == pytest.approx(20e-9 + EW, abs=1e-21)


# --- send_train == n sequential sends -------------------------------------------------------


def free_times(noc):
    """When each link's last reservation ends (0 if none)."""
    return [slots[-1][1] if slots else 0.0 for slots in noc.busy]


def set_free(noc, link, t):
    """Make ``link`` busy from 0 until ``t``."""
    noc.busy[link][:] = [(0.0, t)] if t > 0 else []


def sequential(noc, route, n):
    last = None
    for _ in range(n):
        last = noc.send(None, route)
    return last


def busy_links(noc, topo):
    """Occupy some links of the routes used below, at uneven times."""
    noc.send(None, topo.route(core_id(topo, 0, 0, 0), core_id(topo, 2, 1, 0)))
    noc.send(None, topo.route(core_id(topo, 1, 0, 1), core_id(topo, 2, 1, 1)))
    for _ in range(3):
        noc.send(None, topo.route(core_id(topo, 2, 0, 0), core_id(topo, 2, 1, 0)))


ROUTES = [((0, 0, 0), (2, 1, 1)), ((1, 0, 0), (2, 0, 1)), ((2, 1, 0), (0, 0, 0)), ((1, 1, 0), (1, 1, 1))]


@pytest.mark.parametrize("n", [1, 2, 5, 32, 33, 40, 100])
@pytest.mark.parametrize("busy", [False, True])
@pytest.mark.parametrize("ends", ROUTES)
def test_send_train_equals_sequential_sends(n, busy, ends):
    t0 = 3e-9
    results = []
    for use_train in (False, True):
        env, topo, noc = analytic(make_hw(), t0=0.0)
        if busy:
            busy_links(noc, topo)
        env.run(until=t0)
        route = topo.route(core_id(topo, *ends[0]), core_id(topo, *ends[1]))
        last = noc.send_train(route, env.now, n) if use_train else sequential(noc, route, n)
        results.append((last, free_times(noc)))
    (seq_last, seq_free), (train_last, train_free) = results
    assert train_last == pytest.approx(seq_last, rel=1e-12, abs=1e-21)
    assert train_free == pytest.approx(seq_free, rel=1e-12, abs=1e-21)


def test_send_train_equals_sequential_sends_random_states():
    # random link occupancy, routes, departure times and train lengths, uneven hop latencies
    rng = random.Random(1234)
    hw = make_hw(width=4, height=3, cpt=2, ew=3e-9, ns=11e-9, local=2e-9)
    for _ in range(200):
        n = rng.choice([1, 2, 3, 7, 31, 32, 33, 64, 150])
        src, dst = rng.randrange(24), rng.randrange(24)
        free0 = [rng.choice([0.0, rng.uniform(0, 200e-9)]) for _ in range(Topology(hw).n_links)]
        t_dep = rng.uniform(0, 100e-9)
        results = []
        for use_train in (False, True):
            env, topo, noc = analytic(hw, t0=t_dep)
            for link, f in enumerate(free0):
                set_free(noc, link, f)
            route = topo.route(src, dst)
            last = noc.send_train(route, t_dep, n) if use_train else sequential(noc, route, n)
            results.append((last, free_times(noc)))
        (seq_last, seq_free), (train_last, train_free) = results
        if not topo.route(src, dst).links:
            assert train_last == t_dep and seq_last == t_dep
        assert train_last == pytest.approx(seq_last, rel=1e-12, abs=1e-21)
        assert train_free == pytest.approx(seq_free, rel=1e-12, abs=1e-21)


def test_send_train_hand_computed_with_busy_link():
    # one east hop of 5 ns, link busy until 12 ns, 40 packets leaving at 2 ns:
    # the first ends at 12 + 5 = 17 ns, the last at 12 + 40*5 = 212 ns
    for n in (3, 40):
        env, topo, noc = analytic()
        route = topo.route(core_id(topo, 0, 0, 0), core_id(topo, 1, 0, 0))
        set_free(noc, route.links[0], 12e-9)
        assert noc.send_train(route, 2e-9, n) == pytest.approx(12e-9 + n * EW, rel=1e-12)
        assert free_times(noc)[route.links[0]] == pytest.approx(12e-9 + n * EW, rel=1e-12)


def test_send_train_empty_route_returns_departure():
    env, topo, noc = analytic()
    free = free_times(noc)
    assert noc.send_train(topo.route(5, 5), 7e-9, 50) == 7e-9
    assert free_times(noc) == free


# --- analytic vs routers -------------------------------------------------------------------------


class _Pkt:
    def __init__(self, name):
        self.name, self.route, self.leg, self.src_core = name, None, 0, name


def router_arrivals(hw, sends):
    """Arrival time of each (name, src, dst, t_send) through the RouterNoC."""
    env = simpy.Environment()
    topo = Topology(hw)
    got = {}

    def deliver(pkt):
        got[pkt.name] = env.now

    noc = RouterNoC(env, topo, hw, deliver)

    def sender(name, src, dst, t):
        yield env.timeout(t)
        noc.send(_Pkt(name), topo.route(src, dst))

    for s in sends:
        env.process(sender(*s))
    env.run()
    return got


def analytic_arrivals(hw, sends):
    env = simpy.Environment()
    topo = Topology(hw)
    noc = AnalyticNoC(env, topo, hw, deliver=None)
    got = {}

    def sender(name, src, dst, t):
        yield env.timeout(t)
        got[name] = noc.send(None, topo.route(src, dst))

    for s in sends:
        env.process(sender(*s))
    env.run()
    return got


def test_analytic_and_routers_agree_without_contention():
    hw = make_hw()
    topo = Topology(hw)
    sends = [("a", core_id(topo, 0, 0, 0), core_id(topo, 2, 1, 0), 0.0),
             ("b", core_id(topo, 2, 1, 1), core_id(topo, 0, 0, 1), 1e-9),
             ("c", core_id(topo, 1, 1, 0), core_id(topo, 1, 1, 1), 0.0)]
    r, a = router_arrivals(hw, sends), analytic_arrivals(hw, sends)
    assert r.keys() == a.keys() == {"a", "b", "c"}
    for k in r:
        assert r[k] == a[k]


def test_analytic_and_routers_agree_when_a_link_is_reserved_for_later():
    # A: (0,0) -> (2,0) uses east(0,0) in [0, 5] ns and east(1,0) in [5, 10] ns.
    # B: (1,0) -> (2,0), sent at 0 ns just after A, uses east(1,0) in [0, 5] ns: the link is
    # idle then, so B never meets A (routers NoC: B arrives at 5 ns). The analytic NoC makes B
    # wait until A's reservation ends at 10 ns and gives 15 ns.
    hw = make_hw()
    topo = Topology(hw)
    sends = [("a", core_id(topo, 0, 0, 0), core_id(topo, 2, 0, 0), 0.0),
             ("b", core_id(topo, 1, 0, 0), core_id(topo, 2, 0, 0), 0.0)]
    r, a = router_arrivals(hw, sends), analytic_arrivals(hw, sends)
    assert r["b"] == pytest.approx(EW, abs=1e-21)
    assert a == r


def test_route_dataclass_hops_property():
    assert Route((1, 2, 3), (1.0, 1.0, 1.0), 2, 1, 0).hops == 3
