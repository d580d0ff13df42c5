"""Async mode's fast path (emulator.chip.modes.async_fast) against the general path, the reference:
the same records, bit for bit, on a set of configurations covering every option (the identity
check) and on random tie-heavy networks (the differential fuzz); and each precondition hands the
run to the general path."""

from __future__ import annotations

import contextlib
import filecmp
import json
from pathlib import Path

import nir
import numpy as np
import pytest
from builders import profile, random_frames, random_net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulator.chip.modes.async_fast as fast
import emulator.chip.modes.asyncmode as asyncmode
import emulator.chip.modes.kernels as kernels
from emulator import DEMO_MODEL, RunConfig, run, write_records
from emulator.chip import Chip, map_network
from emulator.model import network_from_nir
from emulator.runner import run_network
from hw_models.profile import load_profile


@contextlib.contextmanager
def fast_path(on: bool, compiled: bool = True):
    """Run with the fast path on or off, with its compiled kernels or on NumPy; yields the list of the
    plans the samples got (None: the general path)."""
    plans, real_plan, was, kernels_were = [], asyncmode.plan, fast.ENABLED, kernels._compiled

    def spy(chip, cfg):
        plans.append(real_plan(chip, cfg))
        return plans[-1]

    fast.ENABLED, asyncmode.plan = on, spy
    if not compiled:
        kernels._compiled = {}
    try:
        yield plans
    finally:
        fast.ENABLED, asyncmode.plan, kernels._compiled = was, real_plan, kernels_were


def fingerprint(res) -> tuple:
    """Everything the records are made of, wall time aside (the trace as CSV: floats written exactly)."""
    c = res.counters
    trace = None if res.tracer is None else res.tracer.table().to_pandas().to_csv()
    return (json.dumps(res.per_sample, sort_keys=True), res.elapsed_s, res.spikes_per_layer,
            *(getattr(c, k).tobytes() for k in vars(c)), res.per_core_energy.tobytes(),
            res.per_link_packets.tobytes(), res.layer_spikes.tobytes(), trace)


def both(net, hw, frames, cfg, frame_s=None):
    """(general fingerprint, fast fingerprint, how many samples the fast path ran to the end); the fast
    path runs with its compiled kernels (where numba is installed) and on NumPy, which must agree."""
    with fast_path(False):
        general = fingerprint(run_network(net, hw, frames, None, cfg, frame_s=frame_s))
    with fast_path(True, compiled=False):
        on_numpy = fingerprint(run_network(net, hw, frames, None, cfg, frame_s=frame_s))
    with fast_path(True) as plans:
        quick = fingerprint(run_network(net, hw, frames, None, cfg, frame_s=frame_s))
    assert on_numpy == quick
    return general, quick, sum(p is not None for p in plans)


# -- the identity check: run folders of the demo model, every option --------------------------------
RECORDS = ("per_sample.csv", "per_core.csv", "per_link.csv", "events.parquet")
IDENTITY = {
    "default": {},
    "spread": {"mapping": "spread:2"},
    "loihi-spread-3": {"mapping": "spread:3", "samples": 40},
    "generic": {"hw": "generic"},
    "truenorth": {"hw": "truenorth"},
    "seneca": {"hw": "seneca", "mapping": "spread:2"},
    "no-refractory": {"refractory": False},
    "frames": {"frames": 4},
    "workers": {"workers": 2},
    "unlayered-model": {"model": str(DEMO_MODEL.with_name("demo_digits_unlayered.nir"))},
    "io-ports": {"mapping": "spread:2", "hw_set": ("io.input_on_cores=false", "io.ports=west", "io.latency_s=5e-9",
                                                    "io.packets_per_s=2e8", "io.energy_j=1e-10")},
    # the general path runs these (a precondition fails), so they check that nothing else moved
    "momentum": {"queue": "momentum"},
    "random": {"queue": "random"},
    "routers": {"noc": "routers"},
    "frame-input": {"input": "frame"},
    "trace": {"trace": True},
    "realtime": {"realtime": True},
    "stop": {"stop_on_output": 5},
}


@pytest.mark.parametrize("name", list(IDENTITY))
def test_run_folders_are_identical_on_both_paths(tmp_path, name):
    opts = {"model": str(DEMO_MODEL), "mode": "async", "samples": 60, **IDENTITY[name]}
    folders = []
    for on, compiled in ((False, True), (True, False), (True, True)):
        with fast_path(on, compiled) as plans:
            folders.append(write_records(run(RunConfig(**opts)), tmp_path / f"fast-{on}-{compiled}"))
        ran_fast = sum(p is not None for p in plans)
    general = folders[0]
    summary = json.loads((general / "summary.json").read_text())
    summary.pop("wall_s")
    for other in folders[1:]:
        for f in RECORDS:
            if (general / f).exists():
                assert filecmp.cmp(general / f, other / f, shallow=False), f
        theirs = json.loads((other / "summary.json").read_text())
        theirs.pop("wall_s")
        assert theirs == summary
    eligible = name in ("default", "spread", "loihi-spread-3", "generic", "truenorth", "seneca", "no-refractory",
                        "frames", "unlayered-model", "workers", "io-ports")
    assert (ran_fast > 0) == eligible  # (with workers the first chunk runs here, the others in child processes)


def test_bench_networks_are_identical_on_both_paths():
    """Deeper and wider networks than the demo's: 2 to 4 layers, spread and layer-fill, three profiles."""
    for sizes, hw, mapping in (([30, 60, 8], "loihi", "spread:2"), ([40, 50, 50, 6], "generic", "layer-fill"),
                               ([20, 30, 30, 30, 5], "truenorth", "spread:2"), ([25, 40, 10], "seneca", "spread:3")):
        net = random_net(sizes, seed=len(sizes))
        frames = random_frames(3, 12, sizes[0], 0.3, seed=1, max_count=2)
        general, quick, ran = both(net, load_profile(hw), frames, RunConfig(model="b", mode="async", mapping=mapping))
        assert ran == 3
        assert general == quick, (sizes, hw, mapping)


# -- the differential fuzz: tie-heavy latencies, small queues ---------------------------------------
@st.composite
def tie_heavy(draw):
    """A random network and a mesh that holds it, whose latencies are small multiples of one unit, so
    that equal times and ties between events are frequent. Sometimes the mesh has too few cores for
    one population each: populations then share cores (a core sends to itself)."""
    n_layers = draw(st.integers(1, 4))
    sizes = [draw(st.integers(2, 12)) for _ in range(n_layers + 1)]
    packed = draw(st.booleans())
    if packed:
        n_cores = draw(st.integers(1, 3))
        max_neurons = -(-sum(sizes) // n_cores) + draw(st.integers(0, 3))
    else:
        n_cores = 2 * len(sizes)
        max_neurons = draw(st.integers(-(-max(sizes) // 2), 12))
    height, per_tile = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    unit = draw(st.sampled_from([1e-9, 0.5e-9, 0.25e-9]))
    lat = {k: unit * draw(st.integers(0 if k != "message_in" else 1, 4))
           for k in ("message_in", "synaptic_op", "neuron_update", "spike_out", "message_out")}
    hw = profile(mesh__width=-(-n_cores // (height * per_tile)), mesh__height=height, mesh__cores_per_tile=per_tile,
                 core__max_neurons=max_neurons, core__queue_capacity=draw(st.sampled_from([1, 2, 4, None])),
                 core__update_all_neurons=draw(st.booleans()), core__latency_s=lat,
                 noc__hop_latency_s={"east_west": unit * draw(st.integers(1, 3)),
                                     "north_south": unit * draw(st.integers(1, 3))},
                 noc__local_latency_s=unit * draw(st.integers(1, 2)),
                 # input on cores, or through a port on a random tile whose packets pass 0 to 2 units apart
                 io={"input_on_cores": draw(st.booleans()), "latency_s": unit * draw(st.integers(0, 2)),
                     "ports": [[draw(st.integers(0, -(-n_cores // (height * per_tile)) - 1)), draw(st.integers(0, height - 1))]],
                     "packets_per_s": draw(st.sampled_from([None, 1 / unit, 0.5 / unit]))})
    net = random_net(sizes, seed=draw(st.integers(0, 10_000)), bias=draw(st.booleans()))
    frames = random_frames(2, draw(st.integers(1, 5)), sizes[0], draw(st.sampled_from([0.2, 0.5, 0.9])),
                           seed=draw(st.integers(0, 10_000)), max_count=draw(st.integers(1, 2)))
    cfg = RunConfig(model="f", mode="async", input=draw(st.sampled_from(["event", "event", "frame"])),
                    mapping="layer-fill" if packed else draw(st.sampled_from(["layer-fill", "spread:2"])),
                    refractory=draw(st.booleans()))
    return net, hw, frames, cfg


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tie_heavy())
def test_fuzz_fast_and_general_paths_agree(case):
    general, quick, _ = both(*case)
    assert general == quick


# -- preconditions, the rerun and the watchdog ------------------------------------------------------
PRECONDITIONS = [
    ({"queue": "momentum"}, None, "queue momentum"),
    ({"queue": "random"}, None, "queue random"),
    ({"noc": "routers"}, None, "noc routers"),
    ({"input": "frame"}, None, "input frame"),
    ({"realtime": True}, None, "realtime"),
    ({"stop_on_output": 3}, None, "early decision"),
    ({"trace": True}, None, "a trace"),
    ({}, {"noc__local_latency_s": 0.0}, "without latency"),
    ({}, {"core__power_gating": "idle", "core__wake_latency_s": 5e-9}, "power_gating idle"),
]


@pytest.mark.parametrize("opts, hw_changes, reason", PRECONDITIONS)
def test_each_precondition_hands_the_run_to_the_general_path(opts, hw_changes, reason):
    net = random_net([6, 10, 4], seed=3)
    hw = profile(mesh__cores_per_tile=2, **(hw_changes or {}))
    frames = random_frames(2, 4, 6, 0.5, seed=4)
    cfg = RunConfig(model="p", mode="async", mapping="spread:2", **opts)
    chips = []
    real = fast.blockers

    def spy(chip, cfg):
        chips.append(real(chip, cfg))
        return chips[-1]

    fast.blockers, saved = spy, fast.blockers
    try:
        general, quick, ran = both(net, hw, frames, cfg, frame_s=1e-6)
    finally:
        fast.blockers = saved
    assert ran == 0 and general == quick
    assert all(any(reason in why for why in reasons) for reasons in chips)


def _lif(n):
    return nir.LIF(tau=np.full(n, 2e-3), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.ones(n))


def cubalif_net():
    rng = np.random.default_rng(1)
    cuba = nir.CubaLIF(tau_syn=np.full(6, 3e-3), tau_mem=np.full(6, 5e-3), r=np.full(6, 5.0), v_leak=np.zeros(6),
                       v_threshold=np.ones(6), w_in=np.full(6, 3.0))
    nodes = {"input": nir.Input(input_type=np.array([5])), "fc": nir.Linear(weight=rng.normal(0.4, 0.6, (6, 5))),
             "cuba": cuba, "output": nir.Output(output_type=np.array([6]))}
    return network_from_nir(nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "output")],
                                         metadata={"dt": 1e-3}))


def recurrent_net():
    rng = np.random.default_rng(2)
    nodes = {"input": nir.Input(input_type=np.array([5])), "fc": nir.Linear(weight=rng.normal(0.6, 0.5, (6, 5))),
             "lif": _lif(6), "w_rec": nir.Linear(weight=rng.normal(0.2, 0.5, (6, 6))),
             "fc2": nir.Linear(weight=rng.normal(0.5, 0.5, (3, 6))), "out": _lif(3),
             "output": nir.Output(output_type=np.array([3]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "fc2"), ("fc2", "out"),
             ("out", "output")]
    return network_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}))


@pytest.mark.parametrize("build, reason", [(cubalif_net, "CubaLIF"), (recurrent_net, "recurrent")])
def test_cubalif_and_recurrent_networks_run_on_the_general_path(build, reason):
    net = build()
    frames = random_frames(2, 4, 5, 0.6, seed=1)
    cfg = RunConfig(model="r", mode="async", mapping="spread:2")
    hw = profile(mesh__width=3, mesh__height=2)
    general, quick, ran = both(net, hw, frames, cfg)
    assert ran == 0 and general == quick
    chip = Chip(net, hw, map_network(net, hw, "spread:2"))
    assert any(reason in why for why in fast.blockers(chip, cfg))


@pytest.mark.parametrize("build", ["sparse", "conv"])
def test_synapses_priced_by_kind_keep_the_fast_path_exact(build):
    """A sparse network (30 % of the weights) and a convolutional one on loihi, which prices both kinds apart:
    the fast path runs them (busy periods integrated at once and packet by packet) and gives the general
    path's records, the kind counts included."""
    if build == "sparse":
        net, n_in = random_net([8, 12, 4], seed=5, density=0.3), 8
    else:
        from test_synapse_kinds import conv_net

        net, n_in = conv_net(), 9
    assert {pr.kind for pr in net.projections} - {"dense"} == {build}
    frames = random_frames(2, 6, n_in, 0.7, seed=6, max_count=3)
    cfg = RunConfig(model="s", mode="async", mapping="spread:2")
    hw = load_profile("loihi")
    general, quick, ran = both(net, hw, frames, cfg)
    assert ran > 0 and general == quick
    with fast_path(True):
        kinds = run_network(net, hw, frames, None, cfg).counters
    assert (kinds.sparse_events if build == "sparse" else kinds.conv_events).sum() > 0


@pytest.mark.parametrize("compiled", [True, False])
def test_a_sample_the_fast_path_cannot_keep_exact_runs_again_on_the_general_path(compiled):
    """Hop latencies so small that a packet's arrival rounds to its sending time (once the clock has moved
    on from 0) make the sink replay unsafe: both samples are rerun, and their records are the general
    path's."""
    net = random_net([8, 12, 4], seed=5)
    tiny = 1e-300  # positive, so the preconditions hold; t + tiny == t for any t > 1e-284
    hw = load_profile("loihi", {"noc.hop_latency_s.east_west": tiny, "noc.hop_latency_s.north_south": tiny,
                                "noc.local_latency_s": tiny})
    frames = random_frames(2, 4, 8, 0.5, seed=6)
    cfg = RunConfig(model="u", mode="async", mapping="spread:2")
    with fast_path(False):
        general = fingerprint(run_network(net, hw, frames, None, cfg))
    with fast_path(True, compiled) as plans:
        quick = fingerprint(run_network(net, hw, frames, None, cfg))
    assert plans.count(None) == 2  # both samples were rerun
    assert quick == general


def test_the_deadlock_watchdog_works_on_the_fast_path(monkeypatch):
    """A core of the fast path that never serves its queue: the run stops with the stuck core named."""
    from emulator.errors import DeadlockError

    real = asyncmode._async_core

    def broken(chip, core, *args):
        if core.id == 2 and args[1:] and args[1] is not None:  # a light-packet core: the fast path runs it
            yield chip.env.event()
        else:
            yield from real(chip, core, *args)

    monkeypatch.setattr(asyncmode, "_async_core", broken)
    net = random_net([4, 20, 3], seed=1)
    hw = profile(core__max_neurons=10, mesh__width=4)  # input on core 0, the hidden layer on 1-2, output on 3
    with fast_path(True) as plans, pytest.raises(DeadlockError, match="core 2"):
        run_network(net, hw, np.ones((1, 2, 4), int), None, RunConfig(model="d", mode="async"))
    assert plans and plans[0] is not None


def test_timeout_until_lands_exactly():
    """From now = 2**-53, no single delay reaches t = 1 + 2**-52 (every sum near it is a tie that
    rounds to an even neighbour); the clock still lands there, and on random times."""
    import simpy

    now, t = 2.0**-53, 1.0 + 2.0**-52
    near = [np.nextafter(1.0, 0.0), 1.0, t, np.nextafter(t, 2.0)]
    assert all(now + d != t for d in near)
    rng = np.random.default_rng(0)
    cases = [(now, t)] + [(float(a), float(a + b)) for a, b in zip(rng.random(300) * 1e-4, rng.random(300) * 1e-2)]
    for start, end in cases:
        env = simpy.Environment(initial_time=start)
        env.process(fast.timeout_until(env, end))
        env.run()
        assert env.now == end


# -- the compiled kernels ---------------------------------------------------------------------------
def test_the_integration_kernel_equals_its_numpy_counterparts():
    """kernels.integrate_rows, compiled and as plain Python, against async_fast's NumPy running sum
    (refractory) and the general path's packet-by-packet service, on random dense blocks."""
    pytest.importorskip("numba")
    from types import SimpleNamespace

    compiled = kernels.compiled()
    assert compiled is not None
    rng = np.random.default_rng(7)
    for trial in range(40):
        n_neurons, k, n = 30, int(rng.integers(1, 12)), int(rng.integers(1, 30))
        lo = int(rng.integers(0, n_neurons - k))
        weights = rng.normal(0.3, 0.6, (8, k))
        srcs = rng.integers(0, 8, n).tolist()
        subtract = bool(trial % 2)
        chips = []
        for _ in range(3):
            chip = SimpleNamespace(V=rng.random(n_neurons) if not chips else chips[0].V0.copy(),
                                   parked=np.zeros(n_neurons), theta=np.full(n_neurons, 1.0),
                                   conv={"at_threshold": bool(trial % 3 == 0)}, subtract=np.full(n_neurons, subtract),
                                   subtract_all=subtract, refractory=True, resets_next=False, drops_input=False,
                                   n_dst=np.ones(n_neurons, np.int64))
            chip.V0 = chip.V.copy()
            chips.append(chip)
        core = SimpleNamespace(rows={s: (slice(lo, lo + k), weights[s]) for s in range(8)})
        targets = np.arange(lo, lo + k)
        at = np.full(n_neurons, chips[0].conv["at_threshold"])
        sub = np.full(n_neurons, subtract)
        results = []
        for chip, how in zip(chips, ("numpy", "compiled", "python")):
            if how == "numpy":
                kernels_were, kernels._compiled = kernels._compiled, {}
                try:
                    _, fired, _, _ = fast.integrate(chip, core, srcs)
                finally:
                    kernels._compiled = kernels_were
                flat = np.concatenate([f for f in fired if f is not None] or [np.zeros(0, np.int64)])
            else:
                kernel = compiled["integrate_rows"] if how == "compiled" else kernels.integrate_rows
                flat, _, _ = kernel(chip.V, chip.parked, chip.theta, at, sub, True, targets, weights,
                                    np.array(srcs), chip.n_dst)
            results.append((chip.V.tobytes(), chip.parked.tobytes(), np.asarray(flat).tolist()))
        assert results[0] == results[1] == results[2]


def test_no_numba_switch_and_a_broken_numba_fall_back_to_numpy(monkeypatch):
    import builtins

    monkeypatch.setattr(kernels, "_compiled", None)
    monkeypatch.setenv("SNNEMU_NO_NUMBA", "1")
    assert kernels.compiled() is None
    monkeypatch.setattr(kernels, "_compiled", None)
    monkeypatch.delenv("SNNEMU_NO_NUMBA")
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "numba":
            raise OSError("llvmlite cannot load its library")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.warns(RuntimeWarning, match="numba is unusable"):
        assert kernels.compiled() is None
    assert kernels.compiled() is None  # one warning: the answer is kept


def test_numba_is_imported_only_where_the_fast_path_runs():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from emulator import RunConfig, run_network; "
            "from emulator.model import network_from_nir; from builders import nir_chain, random_frames; "
            "from hw_models.profile import load_profile; "
            "net = network_from_nir(nir_chain([np.full((3, 20), 0.1)])); "
            "run_network(net, load_profile('loihi'), random_frames(1, 3, 20, 0.9, seed=0), None, "
            "RunConfig(model='m', mode=sys.argv[1])); print('numba' in sys.modules)")
    seen = {mode: subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True,
                                 cwd=str(Path(__file__).parents[1])).stdout.strip() for mode in ("layered", "async")}
    assert seen["layered"] == "False"
    assert seen["async"] == str(kernels.compiled() is not None)


def _kernel_versions(name: str) -> list:
    """The kernel as plain Python, and compiled where numba is installed."""
    compiled = kernels.compiled()
    return [getattr(kernels, name)] + ([compiled[name]] if compiled else [])


def test_the_deferred_send_kernel_reserves_links_as_the_analytic_noc_does():
    """kernels.send_deferred against AnalyticNoC.send_at: random routes over a few shared links, send
    times in unit steps (ties), so that packets contend and take slots before later reservations."""
    from types import SimpleNamespace

    from emulator.chip.noc import AnalyticNoC, Route

    rng = np.random.default_rng(3)
    for _ in range(60):
        n_links, unit = 4, 1e-9
        routes = []
        for _ in range(5):
            links = rng.choice(n_links, size=int(rng.integers(1, 4)), replace=False).tolist()
            routes.append(Route(tuple(links), tuple(unit * rng.integers(1, 4, len(links))), 0, 0, 0))
        n_neurons = 6
        dsts = [rng.choice(5, size=int(rng.integers(0, 3)), replace=False).tolist() for _ in range(n_neurons)]
        neurons = rng.integers(0, n_neurons, int(rng.integers(1, 30)))
        times = np.sort(unit * rng.integers(0, 12, len(neurons))) + 1e-6
        noc = AnalyticNoC(None, SimpleNamespace(n_links=n_links), None, None)
        expected = [(d, noc.send_at(routes[d], t), s, t) for s, t in zip(neurons.tolist(), times.tolist())
                    for d in dsts[s]]
        tables = (np.cumsum([0] + [len(d) for d in dsts]), np.array(sum(dsts, []), np.int64),
                  np.array(sum(dsts, []), np.int64), np.cumsum([0] + [len(r.links) for r in routes]),
                  np.array([x for r in routes for x in r.links], np.int64),
                  np.array([x for r in routes for x in r.latencies]))
        for kernel in _kernel_versions("send_deferred"):
            slots = fast.LinkSlots(n_links)
            slots.make_room(len(expected))
            got = kernel(times, neurons, *tables, *slots.state)
            assert list(zip(*(x.tolist() for x in got))) == expected


def test_link_slots_keep_their_live_reservations_as_they_grow():
    slots = fast.LinkSlots(2)
    slots.a[0, :3], slots.b[0, :3] = [1.0, 2.0, 3.0], [1.5, 2.5, 3.5]
    slots.lo[:], slots.hi[:] = [1, 0], [3, 0]  # link 0: one reservation dropped, two live; link 1: none
    slots.make_room(40)
    assert slots.a.shape[1] >= 42 and slots.lo.tolist() == [0, 0] and slots.hi.tolist() == [2, 0]
    assert slots.a[0, :2].tolist() == [2.0, 3.0] and slots.b[0, :2].tolist() == [2.5, 3.5]


def test_the_replay_kernel_follows_the_sink_replay_loop(monkeypatch):
    """kernels.replay_frame against async_fast.replay_sink's Python loop, on random frames of packets with
    tie-prone times, random queue capacities and a core busy with its own work until ``free_at``."""
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    for trial in range(400):
        # half of them in whole units (ties), half in random times from 0 (where now + (t - now) can miss t)
        n = int(rng.integers(1, 25))
        step = (lambda size: 1e-9 * rng.integers(0, 6, size)) if trial % 2 else (lambda size: 3e-9 * rng.random(size))
        sent = np.sort(step(n)) * 2
        arrival = sent + step(n) + 1e-10
        services = step(n).tolist()
        fires = rng.random(n) < 0.4
        cap = [None, 1, 2, 4][int(rng.integers(0, 4))]
        free_at = float(step(1)[0])
        fired = [np.array([i]) if f else None for i, f in enumerate(fires)]
        recorded = {}
        monkeypatch.setattr(fast, "serve", lambda chip, core, srcs, served=(fired, services): served)
        monkeypatch.setattr(fast, "_record", lambda chip, out, times, seen=recorded: seen.update(out=out, times=times))
        chip = SimpleNamespace(capacity=cap)
        core = SimpleNamespace(free_at=free_at, packets_received=0)
        sunk = list(zip(arrival.tolist(), sent.tolist(), range(n)))
        last = fast.replay_sink(chip, core, sunk)
        order = np.argsort(arrival, kind="stable")
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        for kernel in _kernel_versions("replay_frame"):
            out_t, end = kernel(arrival[order], arrival, sent, rank, np.array(services), fires, -1 if cap is None
                                else cap, free_at)
            assert end == last
            assert out_t[fires].tolist() == recorded["times"]


def test_event_input_runs_as_a_chain_of_fewer_events(monkeypatch):
    """From the second frame on, a frame's input spikes run in far fewer events than there are spikes
    (records: the fuzz and the identity check)."""
    counts = {"entries": 0, "runs": 0}
    real_init, real_run = fast.InputChain.__init__, fast.InputChain._run

    def init(self, fast_path, entries):
        counts["entries"] += len(entries)
        real_init(self, fast_path, entries)

    def run(self, ev):
        counts["runs"] += 1
        real_run(self, ev)

    monkeypatch.setattr(fast.InputChain, "__init__", init)
    monkeypatch.setattr(fast.InputChain, "_run", run)
    net = random_net([40, 30, 5], seed=2)
    with fast_path(True) as plans:
        run_network(net, load_profile("loihi"), random_frames(1, 6, 40, 0.5, seed=3), None,
                    RunConfig(model="c", mode="async", mapping="spread:2"))
    assert plans[0] is not None
    assert counts["entries"] > 50 and counts["runs"] < counts["entries"] / 3


def test_an_input_event_that_no_delay_reaches_exactly_makes_the_sample_unsafe():
    """The chain schedules each event by a delay from now; where now + (t - now) misses t (now below
    t / 2), the sample cannot keep SimPy's times and is rerun on the general path."""
    import simpy

    env = simpy.Environment(initial_time=2.0**-53)
    t = 1.0 + 2.0**-52  # see test_timeout_until_lands_exactly
    chain = fast.InputChain.__new__(fast.InputChain)
    chain.env, chain.entries, chain.next = env, [(t, 0, 0, None)], 0
    with pytest.raises(fast.Unsafe, match="exactly"):
        chain._schedule()
