"""Property-based fuzzing of the two readers that take files from strangers.

- ``emulator.model.load_nir``: a valid small graph (dense, or a convolution) with its node parameters,
  shapes, types, edges and metadata mutated, and a valid ``.nir`` file with its bytes mutated;
- ``traces.events.read_npz``: a valid events ``.npz`` with its arrays mutated (dtypes, lengths, values,
  missing and extra keys), and its bytes mutated.

Property: the call succeeds, or raises :class:`emulator.errors.InputError` with its file and field set;
nothing else (no other exception, no crash, no hang, no allocation past the memory cap). Each example
runs in a forked child of this process under the harness's memory cap and timeout (``harness.py``).
The examples are derandomized, so CI sees the same ones every run.
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from corpus import conv_tree, dense_tree, events, write_tree
from harness import run_in_child
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

# no shrinking: a failing example can be a 20 s hang, and shrinking would run it dozens of times
SETTINGS = dict(deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much])
TIMEOUT_S = 20

NIR_TYPES = ["Input", "Output", "Affine", "Linear", "Scale", "Flatten", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d",
             "LIF", "IF", "CubaLIF", "LI", "Threshold", "Delay", "NIRGraph", "CubaLI", "I", "", "lif", "Affine ",
             "\u00e9t\u00e9"]


# --- the calls, in the child --------------------------------------------------------------------------------------


def _outcome(read, path: str, size):
    """``("ok", size(result))``, or the InputError's parts: the only two outcomes the property allows."""
    from emulator.errors import InputError

    try:
        return ("ok", size(read(path)))
    except InputError as exc:
        return ("input_error", exc.file, exc.field, exc.message)


def _load_nir(path: str):
    from emulator.model import load_nir

    return _outcome(load_nir, path, lambda net: net.n_neurons)


def _read_npz(path: str):
    from traces.events import read_npz

    return _outcome(read_npz, path, lambda ev: ev.n_events)


def check(fn, path) -> None:
    """``fn(path)`` in a child: it returned, or raised InputError naming its file and field. A failing
    input is kept beside ``path`` as ``failing-SHA.SUFFIX``, named in the assertion."""
    r = run_in_child(fn, (str(path),), timeout=TIMEOUT_S)
    if r.timed_out or r.code != 0:
        path = Path(path)
        kept = path.with_name(f"failing-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}{path.suffix}")
        shutil.copyfile(path, kept)
        assert not r.timed_out, f"{fn.__name__}({kept}) hung for {TIMEOUT_S} s"
        assert r.code == 0, f"{fn.__name__}({kept}): exit {r.code} (signal {r.signal}):\n{r.stderr[-3000:]}"
    assert r.value is not None and r.value[0] in ("ok", "input_error"), r.value
    event(f"{fn.__name__}: {r.value[0]}" + (f" {r.value[2].split('.')[0]}" if r.value[0] == "input_error" else ""))
    if r.value[0] == "input_error":
        _, file, field, message = r.value
        assert file and field, r.value
        assert str(path) in file or file.startswith(("--", "<")), r.value  # it names the file it read


class Change:
    """A drawn mutation: a function of the tree (or arrays), shown by what was drawn for it."""

    def __init__(self, fn, drawn: dict):
        self.fn, self.drawn = fn, drawn

    def __call__(self, target):
        self.fn(target)

    def __repr__(self):
        return "Change(" + ", ".join(f"{k}={v!r}" for k, v in self.drawn.items()) + ")"


# --- NIR graphs ----------------------------------------------------------------------------------------------


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
special = st.sampled_from([0.0, -1.0, 1.0, 0.5, 64.7, np.nan, np.inf, -np.inf, 1e300, -1e-300, 2.0**62])
numbers = st.one_of(finite, special)
small_shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)


@st.composite
def arrays(draw):
    """A value for a node attribute: scalars and small arrays of numbers, of any dtype h5py writes."""
    shape = draw(small_shapes)
    size = int(np.prod(shape)) if shape else 1
    kind = draw(st.sampled_from(["f8", "f4", "i8", "u1", "bool", "c16", "S", "scalar"]))
    if kind == "scalar":
        return np.float64(draw(numbers))
    if kind == "S":
        return np.array([draw(st.binary(max_size=6)) for _ in range(size)], dtype="S6").reshape(shape)
    values = np.array(draw(st.lists(numbers, min_size=size, max_size=size)), dtype="f8").reshape(shape)
    with np.errstate(invalid="ignore", over="ignore"):
        if kind in ("i8", "u1"):
            values = np.nan_to_num(values, nan=0, posinf=2**40, neginf=-(2**40))
            values = np.clip(values, -(2**40), 2**40)
        return values.astype(kind)


shape_values = st.one_of(
    st.lists(st.integers(-3, 70), min_size=0, max_size=5),
    st.lists(st.sampled_from([1, 8, 64, 10**6, 10**9, 2**40, -(2**40)]), min_size=1, max_size=4),
    st.lists(st.sampled_from([64.7, 8.0, np.nan, np.inf, -1.5]), min_size=1, max_size=3),
).map(np.array)


@st.composite
def graph_mutation(draw, names: list[str]):
    """One change to a graph tree (a to_dict()-like mapping), as a function of the tree."""
    kind = draw(st.sampled_from(["param", "param", "shape", "type", "drop_attr", "drop_node", "add_edge",
                                 "drop_edge", "reverse_edge", "rename_edge", "metadata", "metadata",
                                 "add_node"]))
    node = draw(st.sampled_from(names))
    if kind == "param":
        value = draw(arrays())
        index = draw(st.integers(0, 10))

        def change(t):
            attrs = [k for k in t["nodes"].get(node, {}) if k not in ("type", "metadata")]
            if attrs:
                t["nodes"][node][attrs[index % len(attrs)]] = value
    elif kind == "shape":
        value = draw(shape_values)
        which = draw(st.sampled_from(["input", "output"]))

        def change(t):
            if which in t["nodes"]:
                t["nodes"][which]["shape"] = value
    elif kind == "type":
        value = draw(st.sampled_from(NIR_TYPES))

        def change(t):
            if node in t["nodes"]:
                t["nodes"][node]["type"] = value
    elif kind == "drop_attr":
        index = draw(st.integers(0, 10))

        def change(t):
            attrs = list(t["nodes"].get(node, {}))
            if attrs:
                del t["nodes"][node][attrs[index % len(attrs)]]
    elif kind == "drop_node":
        def change(t):
            t["nodes"].pop(node, None)
    elif kind == "add_node":
        value = draw(st.sampled_from(NIR_TYPES))
        extra = draw(arrays())

        def change(t):
            t["nodes"][node + "_x"] = {"type": value, "weight": extra}
            t["edges"] = [*t["edges"], (node, node + "_x")]
    elif kind in ("add_edge", "rename_edge"):
        other = draw(st.sampled_from([*names, "ghost", "", "a.b"]))
        index = draw(st.integers(0, 10))

        def change(t):
            if kind == "add_edge":
                t["edges"] = [*t["edges"], (node, other)]
            elif t["edges"]:
                edges = list(t["edges"])
                a, b = edges[index % len(edges)]
                edges[index % len(edges)] = (a, other)
                t["edges"] = edges
    elif kind in ("drop_edge", "reverse_edge"):
        index = draw(st.integers(0, 10))

        def change(t):
            edges = list(t["edges"])
            if edges:
                a, b = edges.pop(index % len(edges))
                if kind == "reverse_edge":
                    edges.append((b, a))
                t["edges"] = edges
    else:  # metadata
        key = draw(st.sampled_from(["dt", "reset", "conventions", "trained_with", "F", "framework", "x"]))
        value = draw(st.one_of(arrays(), st.sampled_from(["zero", "subtract", "snntorch", "", "euler"]),
                               st.just({"lif1": {"reset": "sideways", "leak": 3}})))

        def change(t):
            t.setdefault("metadata", {})[key] = value
    return Change(change, {k: v for k, v in locals().items() if k not in ("draw", "names", "change")})


def _names(tree) -> list[str]:
    return sorted(tree["nodes"])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("mutations")


def _write_or_skip(path, tree) -> None:
    import copy

    try:
        write_tree(path, copy.deepcopy(tree))
    except (TypeError, ValueError):  # a value h5py cannot store: not a file anyone could send
        assume(False)


def _check_mutated(tree: dict, data, path: Path) -> None:
    """Up to three mutations drawn for ``tree``, written to ``path`` and read back by the importer."""
    for change in data.draw(st.lists(graph_mutation(_names(tree)), min_size=1, max_size=3)):
        change(tree)
    _write_or_skip(path, tree)
    check(_load_nir, path)


@settings(max_examples=100, **SETTINGS)
@given(st.data())
def test_mutated_dense_graph(workdir, data):
    _check_mutated(dense_tree(), data, workdir / "dense.nir")


@settings(max_examples=60, **SETTINGS)
@given(st.data())
def test_mutated_conv_graph(workdir, data):
    _check_mutated(conv_tree(), data, workdir / "conv.nir")


byte_mutations = st.lists(st.tuples(st.sampled_from(["flip", "flip", "zero", "truncate", "insert", "duplicate"]),
                                     st.integers(0, 2**20), st.integers(1, 64), st.binary(min_size=1, max_size=16)),
                           min_size=1, max_size=4)


def mutate_bytes(data: bytes, mutations) -> bytes:
    """``data`` with each ``(kind, at, n, blob)`` applied in turn (``at`` wraps around the length)."""
    b = bytearray(data)
    for kind, at, n, blob in mutations:
        i = at % max(len(b), 1)
        if kind == "flip":
            for j in range(i, min(i + n, len(b)), max(1, n // 4)):
                b[j] ^= blob[j % len(blob)] or 0xFF
        elif kind == "zero":
            b[i:i + n] = bytes(len(b[i:i + n]))
        elif kind == "truncate":
            del b[i:]
        elif kind == "insert":
            b[i:i] = blob
        else:
            b[i:i] = b[i:i + n]
    return bytes(b)


@functools.cache
def valid_nir_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        write_tree(Path(d) / "valid.nir", dense_tree())
        return (Path(d) / "valid.nir").read_bytes()


@settings(max_examples=70, **SETTINGS)
@given(byte_mutations)
def test_byte_mutated_nir_file(workdir, mutations):
    (workdir / "bytes.nir").write_bytes(mutate_bytes(valid_nir_bytes(), mutations))
    check(_load_nir, workdir / "bytes.nir")


# --- event files -------------------------------------------------------------------------------------------


KEYS = ["t", "x", "y", "p", "sample", "sensor_size", "labels"]


@st.composite
def events_mutation(draw):
    key = draw(st.sampled_from([*KEYS, "extra"]))
    kind = draw(st.sampled_from(["drop", "dtype", "length", "values", "2d", "object", "scalar", "empty"]))
    dtype = draw(st.sampled_from(["f8", "f4", "bool", "u8", "i1", "u1", "i4", "c16", "S3", "U3", "M8[us]"]))
    length = draw(st.integers(0, 12))
    values = draw(st.lists(st.sampled_from([0, 1, -1, 7, 8, 63, 2**31, 2**62, -(2**62), 10**15]), min_size=1,
                           max_size=12))
    floats = draw(st.lists(st.sampled_from([0.5, np.nan, np.inf, -np.inf, 1e30]), min_size=1, max_size=4))
    draw_name = draw(st.sampled_from(["extra", "labels2", "t ", "\u00e9", "x/y", "__builtins__"]))

    def change(a: dict) -> None:
        if key == "extra":
            a[draw_name] = np.arange(3)
            return
        if kind == "drop":
            a.pop(key, None)
            return
        v = np.asarray(a.get(key, np.arange(6)))
        if kind == "dtype":
            with np.errstate(all="ignore"):
                try:
                    a[key] = v.astype(dtype)
                except (TypeError, ValueError):
                    a[key] = v.astype("f8")
        elif kind == "length":
            a[key] = np.resize(v, length) if v.size else np.arange(length)
        elif kind == "values":
            a[key] = np.array((values * 12)[: max(v.size, 1)], dtype=np.int64)
            if floats[0] != 0.5:
                a[key] = np.concatenate([a[key].astype("f8"), floats])
        elif kind == "2d":
            a[key] = np.stack([v, v])
        elif kind == "object":
            a[key] = np.array([*v.tolist(), "x", None], dtype=object)
        elif kind == "scalar":
            a[key] = np.int64(values[0])
        else:
            a[key] = np.zeros(0, v.dtype)
    return Change(change, {k: v for k, v in locals().items() if k not in ("draw", "change")})


@settings(max_examples=120, **SETTINGS)
@given(st.lists(events_mutation(), min_size=1, max_size=4))
def test_mutated_event_arrays(workdir, changes):
    a = events(n=12, samples=3)
    for change in changes:
        change(a)
    path = workdir / "ev.npz"
    try:
        np.savez(path, **a)  # object arrays are pickled: read_npz must refuse them
    except (TypeError, ValueError, OSError):
        assume(False)
    check(_read_npz, path)


@functools.cache
def valid_npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **events(n=40, samples=4))
    return buf.getvalue()


@settings(max_examples=60, **SETTINGS)
@given(byte_mutations)
def test_byte_mutated_npz_file(workdir, mutations):
    (workdir / "bytes.npz").write_bytes(mutate_bytes(valid_npz_bytes(), mutations))
    check(_read_npz, workdir / "bytes.npz")
