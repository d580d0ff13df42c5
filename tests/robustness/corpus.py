"""A corpus of hostile inputs for ``snnemu``, each with the answer the contract demands.

The contract (README, "The command line"; docs/design.md, "Reliability"):

- bad input: exactly one stderr line ``snnemu: error: WHERE: FIELD: what is wrong``, exit 2, no
  traceback, nothing written (the ``--out`` folder untouched or absent, no temporary file left);
- a deadlock: one line, exit 3;
- an allocation sized by the input beyond the memory limit: refused, one line naming the field,
  the size and the limit (exit 2);
- an option the run would ignore: refused (exit 2), naming the flag.

A :class:`Case` writes its input files into a sandbox folder and returns the ``snnemu`` argv;
it names the exit code it must give, where the error is (a file's base name, or a flag) and the
field; ``where`` and ``field`` may be tuples of acceptable alternatives. A field matches the
line's ``: FIELD:`` or a deeper part of it (``nodes.fc1`` matches ``: nodes.fc1.weight:``).

The cases are grouped by category, one function each (:data:`CATEGORIES`), and written as the
contract says the answer must be, not as the code answers today.

Deadlocks: ``DeadlockError`` is raised in ``emulator/chunks.py`` when SimPy runs out of events
while a sample's process waits. Under ``--noc routers`` a core whose packet cannot enter its first
link waits, and serves nothing meanwhile, so a cycle of full buffers deadlocks: the ``deadlock``
category has one (the demo's input and output layers on core 0, its hidden layer on core 4 of the
next tile, queues and buffers of 1), which must exit 3 and name the cycle. It also holds the settings
that would deadlock any chip if accepted (zero queues, zero buffers), which must be refused as bad
input (exit 2), and a livelock: a recurrent layer without refractoriness whose spikes multiply every
timestep, refused once it shows. The ``records`` category
gives damaged run folders to ``report`` and ``compare --runs``.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import nir
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "emulator" / "data" / "demo_digits.nir"
GENERIC = yaml.safe_load((REPO / "hw_models" / "generic.yaml").read_text())
BOMB = ("limit",)  # an allocation bomb's line names the limit (and the size)


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    build: Callable[[Path], list[str]]  # writes the inputs into the sandbox, returns the argv
    code: int  # the exit code the contract demands
    where: str | tuple[str, ...]  # a file's base name, or the flag
    field: str | tuple[str, ...]  # the field (or one of several acceptable ones)
    contains: tuple[str, ...] = ()  # words the line must also hold (case-insensitive)
    unprivileged: bool = False  # file modes bind it even as root (a read-only folder means nothing to root)
    timeout: float = 60.0  # seconds before the child is killed (a hang is a failure, not a wait)
    env: tuple[tuple[str, str], ...] = ()  # extra environment of the child

    def __repr__(self) -> str:
        return f"Case({self.name})"


# --- argv builders ---------------------------------------------------------------------------------------


def run(*extra, model=None, data="digits", mode="async", out="out", samples="2") -> list[str]:
    """``snnemu run`` of the demo model on two digits samples, with ``extra`` flags (a later flag given
    twice wins: argparse's last value)."""
    argv = ["run", "--model", str(model or DEMO), "--data", str(data), "--mode", mode, "--out", out]
    if samples is not None:
        argv += ["--samples", samples]
    return argv + [str(x) for x in extra]


# --- NIR files, written without nir's own checks ---------------------------------------------------------------


def _write_node(group: h5py.Group, node: dict) -> None:
    for k, v in node.items():
        if isinstance(v, dict):
            if k == "metadata" and not v:
                continue
            _write_node(group.create_group(k), v)
        elif isinstance(v, H5):
            v.write(group, k)
        elif isinstance(v, str):
            group.create_dataset(k, data=v, dtype=h5py.string_dtype())
        elif isinstance(v, bytes):  # a string that need not be UTF-8
            group.create_dataset(k, data=v, dtype=h5py.string_dtype("ascii"))
        elif k == "edges" and isinstance(v, list):
            arr = np.array([[a, b] for a, b in v], dtype=object) if v else np.zeros((0, 2), dtype=object)
            group.create_dataset(k, data=arr, dtype=h5py.string_dtype())
        else:
            group.create_dataset(k, data=np.asarray(v))


@dataclass
class H5:
    """A dataset written as is: ``shape`` and ``dtype`` with no data (a lazily filled dataset), or raw bytes
    edges."""

    shape: tuple = ()
    dtype: str = "f8"
    edges: list | None = None

    def write(self, group, key):
        if self.edges is not None:
            group.create_dataset(key, data=np.array(self.edges, dtype=object), dtype=h5py.string_dtype("ascii"))
        else:  # nothing written: HDF5 stores the fill value only, a few bytes for any shape
            group.create_dataset(key, shape=self.shape, dtype=self.dtype, chunks=True, compression="gzip")


def write_tree(path: Path, tree: dict) -> Path:
    """A NIR file laid out as ``nir.write`` lays it out, from a ``to_dict()``-like tree that may break every
    rule (any type name, any array, names that are not UTF-8)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data=nir.version, dtype=h5py.string_dtype())
        _write_node(f.create_group("node"), tree)
    return path


def _lif(shape, tau=0.02, r=20.0, theta=1.0) -> dict:
    return {"type": "LIF", "tau": np.full(shape, tau), "r": np.full(shape, r), "v_leak": np.zeros(shape),
            "v_reset": np.zeros(shape), "v_threshold": np.full(shape, theta)}


def dense_tree(n_in=64, hidden=8, n_out=4) -> dict:
    """Input(64) -> fc1 Affine -> lif1 LIF(8) -> fc2 Affine -> lif2 LIF(4) -> Output(4); runs on digits."""
    rng = np.random.default_rng(0)
    return {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([n_in])},
            "fc1": {"type": "Affine", "weight": rng.uniform(0, 0.3, (hidden, n_in)), "bias": np.zeros(hidden)},
            "lif1": _lif(hidden),
            "fc2": {"type": "Affine", "weight": rng.uniform(0, 0.5, (n_out, hidden)), "bias": np.zeros(n_out)},
            "lif2": _lif(n_out),
            "output": {"type": "Output", "shape": np.array([n_out])},
        },
        "edges": [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        "metadata": {"dt": 1e-3, "reset": "zero"},
    }


def conv_tree(hw=(8, 8), c_out=2, k=3, padding=1, scalar_params=False, declared=None) -> dict:
    """Input(1, H, W) -> conv Conv2d -> lif1 LIF -> Output; scalar neuron parameters keep a huge layer's file
    small. ``declared``: the convolution's own input_shape (default the input's)."""
    h, w = hw
    ho, wo = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    shape = (1,) if scalar_params else (c_out, ho, wo)
    return {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([1, h, w])},
            "conv": {"type": "Conv2d", "input_shape": np.array(declared or hw), "weight": np.full((c_out, 1, k, k), 0.1),
                     "stride": np.array([1, 1]), "padding": np.array([padding, padding]),
                     "dilation": np.array([1, 1]), "groups": 1, "bias": np.zeros(c_out)},
            "lif1": _lif(shape),
            "output": {"type": "Output", "shape": np.array([c_out, ho, wo])},
        },
        "edges": [("input", "conv"), ("conv", "lif1"), ("lif1", "output")],
        "metadata": {"dt": 1e-3, "reset": "zero"},
    }


def pool_tree(hw=(8, 8), kind="SumPool2d", k=2, stride=2, scalar_params=False) -> dict:
    """Input(1, H, W) -> pool -> lif1 LIF -> Output."""
    h, w = hw
    ho, wo = (h - k) // max(stride, 1) + 1, (w - k) // max(stride, 1) + 1
    shape = (1,) if scalar_params else (1, ho, wo)
    return {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([1, h, w])},
            "pool": {"type": kind, "kernel_size": np.array([k, k]), "stride": np.array([stride, stride]),
                     "padding": np.array([0, 0])},
            "lif1": _lif(shape),
            "output": {"type": "Output", "shape": np.array([1, ho, wo])},
        },
        "edges": [("input", "pool"), ("pool", "lif1"), ("lif1", "output")],
        "metadata": {"dt": 1e-3, "reset": "zero"},
    }


def mutated(tree: dict, change: Callable[[dict], None]) -> dict:
    tree = copy.deepcopy(tree)
    change(tree)
    return tree


def nir_case(name: str, change: Callable[[dict], None], field, *, command="run", base=dense_tree, where=None,
             contains=(), file=None) -> Case:
    """A case of ``base()`` changed by ``change(tree)``, written to ``NAME.nir`` and given to ``command``."""
    file = file or f"{name}.nir"

    def build(root: Path) -> list[str]:
        write_tree(root / file, mutated(base(), change))
        return model_argv(command, file)

    return Case(name, "nir", build, 2, where or file, field, tuple(contains))


def model_argv(command: str, file: str) -> list[str]:
    if command == "run":
        return run(model=file)
    if command == "inspect":
        return ["inspect", file]
    if command == "export":
        return ["export", "--model", file, "--to", "exported.nir"]
    raise ValueError(command)


def raw_model_case(name: str, write: Callable[[Path], None], field, *, command="run", file=None,
                   where=None) -> Case:
    """A case whose model file is written byte by byte (``write(path)``), not as a NIR tree."""
    file = file or f"{name}.nir"

    def build(root: Path) -> list[str]:
        write(root / file)
        return model_argv(command, file)

    return Case(name, "nir", build, 2, where or file, field)


def _set(path: str, value):
    """A change that sets ``tree[a][b]...`` for the dotted ``path`` (``nodes.lif1.tau``)."""
    def change(tree):
        *parents, leaf = path.split(".")
        node = tree
        for p in parents:
            node = node[p]
        node[leaf] = value
    return change


def _del(path: str):
    def change(tree):
        *parents, leaf = path.split(".")
        node = tree
        for p in parents:
            node = node[p]
        del node[leaf]
    return change


def _edges(edges):
    return _set("edges", edges)


def _demo_bytes() -> bytes:
    return DEMO.read_bytes()


# --- the categories -----------------------------------------------------------------------------------------


def nir_cases() -> list[Case]:
    """Malformed and adversarial NIR models, through ``run --model``, ``inspect`` and ``export --model``."""
    cases = []
    # not a NIR file at all
    text = lambda p: p.write_text("this is not an HDF5 file\n" * 40)  # noqa: E731
    cases += [
        raw_model_case("nir_text_file", text, "file"),
        raw_model_case("nir_text_file_inspect", text, "file", command="inspect"),
        raw_model_case("nir_text_file_export", text, "file", command="export"),
        raw_model_case("nir_truncated", lambda p: p.write_bytes(_demo_bytes()[:3000]), "file"),
        raw_model_case("nir_truncated_inspect", lambda p: p.write_bytes(_demo_bytes()[: len(_demo_bytes()) // 2]),
                       "file", command="inspect"),
        raw_model_case("nir_truncated_export", lambda p: p.write_bytes(_demo_bytes()[:-100]), "file",
                       command="export"),
        raw_model_case("nir_empty", lambda p: p.write_bytes(b""), "file"),
        raw_model_case("nir_empty_inspect", lambda p: p.write_bytes(b""), "file", command="inspect"),
        raw_model_case("nir_directory", lambda p: p.mkdir(), "file"),
        raw_model_case("nir_directory_inspect", lambda p: p.mkdir(), "file", command="inspect"),
        raw_model_case("nir_directory_export", lambda p: p.mkdir(), "file", command="export"),
        raw_model_case("nir_hdf5_signature_then_junk",
                       lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 64), "file"),
        raw_model_case("nir_hdf5_without_graph", _hdf5_without_graph, ("file", "node")),
        raw_model_case("nir_bytes_flipped", _flipped_demo, ("file", "nodes", "edges", "metadata")),
        raw_model_case("nir_not_utf8_file_name", text, "file", file="nir_not_utf8_\udcff.nir",
                       where="nir_not_utf8_"),
        # 55 zero bytes at offset 2420 of a valid 28 KB file (found by test_mutations.py): libhdf5 loops forever
        # reading a dataset, inside h5py's Dataset.__getitem__, under nir.read
        Case("nir_hdf5_corrupt_hangs", "nir", _corrupt_hanging_nir, 2, "nir_hdf5_corrupt_hangs.nir", "file",
             contains=("did not end",), timeout=15.0, env=(("SNNEMU_READ_TIMEOUT_S", "3"),)),
    ]
    # names that are not UTF-8, inside the graph
    cases += [
        nir_case("nir_edge_name_not_utf8", _set("edges", H5(edges=[[b"input", b"fc\xff1"], [b"fc\xff1", b"lif1"],
                                                                   [b"lif1", b"fc2"], [b"fc2", b"lif2"],
                                                                   [b"lif2", b"output"]])), ("edges", "nodes")),
        nir_case("nir_node_name_not_utf8", _rename_bytes("fc1", b"fc\xff1"), ("nodes", "edges")),
        nir_case("nir_metadata_not_utf8", _set("metadata.reset", b"z\xe9ro"), "metadata.reset"),
        nir_case("nir_type_not_utf8", _set("nodes.fc1.type", b"Aff\xffine"), "nodes.fc1"),
    ]
    # unknown and unsupported node types: the line names the node and its type
    cases += [
        nir_case("nir_unknown_type", _set("nodes.fc1.type", "Frobnicate"), "nodes.fc1", contains=("Frobnicate",)),
        nir_case("nir_unknown_type_inspect", _set("nodes.fc1.type", "Frobnicate"), "nodes.fc1",
                 command="inspect", contains=("Frobnicate",)),
        nir_case("nir_unknown_type_export", _set("nodes.fc1.type", "Frobnicate"), "nodes.fc1",
                 command="export", contains=("Frobnicate",)),
        nir_case("nir_unsupported_cubali", _set("nodes.lif1", {"type": "CubaLI", "tau_mem": np.full(8, 0.02),
                                                               "tau_syn": np.full(8, 0.01), "r": np.ones(8),
                                                               "v_leak": np.zeros(8), "w_in": np.ones(8)}),
                 "nodes.lif1", contains=("CubaLI",)),
        nir_case("nir_unsupported_integrator", _set("nodes.lif1", {"type": "I", "r": np.ones(8)}), "nodes.lif1",
                 contains=("type",)),
        nir_case("nir_type_missing", _del("nodes.fc1.type"), "nodes.fc1"),
        nir_case("nir_type_is_a_number", _set("nodes.fc1.type", np.int64(5)), "nodes.fc1"),
        nir_case("nir_parameter_missing", _del("nodes.lif1.tau"), "nodes.lif1"),
        nir_case("nir_graph_without_neurons", _chain_only, "nodes"),
        nir_case("nir_v_reset_not_zero", _set("nodes.lif1.v_reset", np.full(8, 0.5)), "nodes.lif1.v_reset"),
        nir_case("nir_feed_forward_delay", _insert_delay, "nodes"),
    ]
    # edges and graph structure
    cases += [
        nir_case("nir_edge_to_missing_node", _edges([("input", "fc1"), ("fc1", "lif1"), ("lif1", "ghost"),
                                                     ("fc2", "lif2"), ("lif2", "output")]), "edges",
                 contains=("ghost",)),
        nir_case("nir_edge_from_missing_node", _edges([("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"),
                                                       ("phantom", "lif2"), ("fc2", "lif2"), ("lif2", "output")]),
                 "edges", contains=("phantom",)),
        nir_case("nir_edges_three_columns", _set("edges", np.array([["input", "fc1", "lif1"]] * 5, dtype="S8")),
                 "edges"),
        nir_case("nir_edges_missing", _del("edges"), "edges"),
        nir_case("nir_cycle_to_earlier_layer", _add_edge(("lif2", "fc1")), "nodes"),
        nir_case("nir_cycle_without_neuron", _linear_cycle, "nodes"),
        nir_case("nir_input_loops_onto_itself", _add_edge(("input", "input")), "nodes"),
        nir_case("nir_two_inputs", _second_input, "nodes"),
        nir_case("nir_no_input", _no_input, "nodes"),
        nir_case("nir_branch", _branch, "nodes"),
    ]
    # shapes
    cases += [
        nir_case("nir_output_shape_mismatch", _set("nodes.output.shape", np.array([7])), "nodes.output"),
        nir_case("nir_output_shape_mismatch_export", _set("nodes.output.shape", np.array([7])), "nodes.output",
                 command="export"),
        nir_case("nir_affine_weight_vs_input", _set("nodes.fc1.weight", np.full((8, 60), 0.1)), "nodes.fc1"),
        nir_case("nir_affine_weight_vs_layer", _set("nodes.fc2.weight", np.full((4, 9), 0.1)), "nodes.fc2"),
        nir_case("nir_affine_weight_1d", _set("nodes.fc1.weight", np.full(64, 0.1)), "nodes.fc1"),
        nir_case("nir_affine_weight_strings", _set("nodes.fc1.weight", np.array([[b"a"] * 64] * 8)),
                 "nodes.fc1.weight"),
        nir_case("nir_bias_length", _set("nodes.fc1.bias", np.zeros(5)), "nodes.fc1.bias"),
        # nir's constructor only says that the parameters' shapes differ, not which one is wrong
        nir_case("nir_tau_shape", _set("nodes.lif1.tau", np.full(5, 0.02)), ("nodes.lif1.tau", "nodes.lif1")),
        nir_case("nir_input_shape_fractional", _set("nodes.input.shape", np.array([64.7])), "nodes.input"),
        nir_case("nir_input_shape_zero", _set("nodes.input.shape", np.array([0])), "nodes.input"),
        nir_case("nir_input_shape_negative", _set("nodes.input.shape", np.array([-64])), "nodes.input"),
        nir_case("nir_input_shape_empty", _set("nodes.input.shape", np.zeros(0, np.int64)), "nodes.input"),
        nir_case("nir_input_shape_5d", _set("nodes.input.shape", np.array([2, 1, 2, 4, 4])), "nodes.input"),
        nir_case("nir_input_shape_nan", _set("nodes.input.shape", np.array([np.nan])), "nodes.input"),
    ]
    # parameters: negative, zero, NaN, infinite
    bad = {"negative": -0.02, "zero": 0.0, "nan": np.nan, "inf": np.inf}
    for label, value in bad.items():
        cases.append(nir_case(f"nir_tau_{label}", _set("nodes.lif1.tau", np.full(8, value)), "nodes.lif1.tau"))
    # (a negative threshold or r is valid NIR: a neuron that fires at rest, an inverting input)
    for label, value in (("nan", np.nan), ("inf", np.inf)):
        cases.append(nir_case(f"nir_threshold_{label}", _set("nodes.lif1.v_threshold", np.full(8, value)),
                              "nodes.lif1.v_threshold"))
        cases.append(nir_case(f"nir_r_{label}", _set("nodes.lif2.r", np.full(4, value)), "nodes.lif2.r"))
    for label, value in {"negative": -1e-3, "zero": 0.0, "nan": np.nan, "inf": np.inf}.items():
        cases.append(nir_case(f"nir_dt_{label}", _set("metadata.dt", np.float64(value)), "metadata.dt"))
    cases += [
        nir_case("nir_dt_string", _set("metadata.dt", "fast"), "metadata.dt"),
        nir_case("nir_weight_inf", _set("nodes.fc2.weight", np.full((4, 8), np.inf)), "nodes.fc2.weight"),
        nir_case("nir_tau_nan_inspect", _set("nodes.lif1.tau", np.full(8, np.nan)), "nodes.lif1.tau",
                 command="inspect"),
    ]
    # convolutions and pooling
    cases += [
        nir_case("nir_conv_stride_zero", _set("nodes.conv.stride", np.array([0, 0])), "nodes.conv.stride",
                 base=conv_tree),
        nir_case("nir_conv_stride_zero_export", _set("nodes.conv.stride", np.array([0, 0])), "nodes.conv.stride",
                 base=conv_tree, command="export"),
        nir_case("nir_conv_dilation_zero", _set("nodes.conv.dilation", np.array([0, 0])), "nodes.conv.dilation",
                 base=conv_tree),
        nir_case("nir_conv_groups_zero", _set("nodes.conv.groups", np.int64(0)), "nodes.conv", base=conv_tree),
        nir_case("nir_conv_padding_negative", _set("nodes.conv.padding", np.array([-3, -3])), "nodes.conv",
                 base=conv_tree),
        nir_case("nir_conv_kernel_larger_than_input", _set("nodes.conv.padding", np.array([0, 0])), "nodes.conv",
                 base=lambda: conv_tree(k=9, padding=0)),
        nir_case("nir_conv_weight_nan", _set("nodes.conv.weight", np.full((2, 1, 3, 3), np.nan)),
                 "nodes.conv.weight", base=conv_tree),
        nir_case("nir_conv_declared_input_mismatch", lambda t: None, "nodes.conv",
                 base=lambda: conv_tree(declared=(40000, 40000))),
        nir_case("nir_pool_kernel_zero", _set("nodes.pool.kernel_size", np.array([0, 0])), "nodes.pool",
                 base=pool_tree),
        nir_case("nir_pool_stride_zero", _set("nodes.pool.stride", np.array([0, 0])), "nodes.pool.stride",
                 base=pool_tree),
    ]
    # allocation bombs: small files that declare enormous layers
    huge_conv = lambda: conv_tree(hw=(40000, 40000), scalar_params=True)  # noqa: E731
    huge_pool = lambda kind: lambda: pool_tree(hw=(100000, 100000), kind=kind, scalar_params=True)  # noqa: E731
    cases += [
        nir_case("nir_bomb_conv_40000x40000", lambda t: None, "nodes", base=huge_conv, contains=BOMB),
        nir_case("nir_bomb_conv_40000x40000_inspect", lambda t: None, "nodes", base=huge_conv, command="inspect",
                 contains=BOMB),
        nir_case("nir_bomb_conv_40000x40000_export", lambda t: None, "nodes", base=huge_conv, command="export",
                 contains=BOMB),
        nir_case("nir_bomb_sumpool_100000x100000", lambda t: None, "nodes", base=huge_pool("SumPool2d"),
                 contains=BOMB),
        nir_case("nir_bomb_avgpool_100000x100000", lambda t: None, "nodes", base=huge_pool("AvgPool2d"),
                 contains=BOMB),
        nir_case("nir_bomb_avgpool_100000x100000_inspect", lambda t: None, "nodes", base=huge_pool("AvgPool2d"),
                 command="inspect", contains=BOMB),
        # a 2000x2000 input is fine; 64 channels of 9x9 kernels over it are 2.1e10 synapses
        nir_case("nir_bomb_conv_synapses", lambda t: None, "nodes.conv",
                 base=lambda: conv_tree(hw=(2000, 2000), c_out=64, k=9, padding=4, scalar_params=True),
                 contains=BOMB),
        nir_case("nir_bomb_input_1e10", _huge_dense_input, "nodes", contains=BOMB),
        # 10^21 neurons: a product that wraps around in int64 must still be refused
        nir_case("nir_bomb_input_overflows_int64", _set("nodes.input.shape", np.array([10**7, 10**7, 10**7])),
                 "nodes.input", contains=BOMB),
        # a (100000, 100000) weight stored as its fill value only: 80 GB once read
        nir_case("nir_bomb_lazy_dataset", _set("nodes.fc1.weight", H5(shape=(100000, 100000))),
                 ("file", "nodes.fc1"), contains=BOMB),
    ]
    return cases


def _corrupt_hanging_nir(root: Path) -> list[str]:
    path = root / "nir_hdf5_corrupt_hangs.nir"
    write_tree(path, dense_tree())
    data = bytearray(path.read_bytes())
    data[2420:2420 + 55] = bytes(55)
    path.write_bytes(bytes(data))
    return run(model=path.name)


def _hdf5_without_graph(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("something", data=np.arange(10))


def _flipped_demo(path: Path) -> None:
    data = bytearray(_demo_bytes())
    for i in range(600, len(data), 97):  # every 97th byte past the superblock
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _rename_bytes(old: str, new: bytes):
    """Node ``old`` renamed ``new`` (bytes, not UTF-8), in the nodes group and in the edges."""
    def change(tree):
        tree["nodes"][new] = tree["nodes"].pop(old)
        tree["edges"] = H5(edges=[[new if a == old else a.encode(), new if b == old else b.encode()]
                                  for a, b in tree["edges"]])
    return change


def _add_edge(edge):
    def change(tree):
        tree["edges"] = [*tree["edges"], edge]
    return change


def _chain_only(tree):
    tree["nodes"] = {"input": tree["nodes"]["input"], "fc1": tree["nodes"]["fc1"],
                     "output": {"type": "Output", "shape": np.array([8])}}
    tree["edges"] = [("input", "fc1"), ("fc1", "output")]


def _insert_delay(tree):
    tree["nodes"]["delay"] = {"type": "Delay", "delay": np.full(8, 3e-3)}
    tree["edges"] = [("input", "fc1"), ("fc1", "delay"), ("delay", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
                     ("lif2", "output")]


def _linear_cycle(tree):
    tree["nodes"]["s1"] = {"type": "Scale", "scale": np.ones(4)}
    tree["nodes"]["fc3"] = {"type": "Linear", "weight": np.eye(4)}
    tree["edges"] = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "s1"), ("s1", "fc3"),
                     ("fc3", "s1"), ("lif2", "output")]


def _second_input(tree):
    tree["nodes"]["input2"] = {"type": "Input", "shape": np.array([64])}
    tree["edges"] = [*tree["edges"], ("input2", "fc1")]


def _no_input(tree):
    del tree["nodes"]["input"]
    tree["edges"] = tree["edges"][1:]


def _branch(tree):
    tree["nodes"]["fc3"] = {"type": "Affine", "weight": np.full((4, 8), 0.1), "bias": np.zeros(4)}
    tree["nodes"]["lif3"] = _lif(4)
    tree["edges"] = [*tree["edges"], ("lif1", "fc3"), ("fc3", "lif3"), ("lif3", "output")]


def _huge_dense_input(tree):
    n = 10**10
    tree["nodes"] = {"input": {"type": "Input", "shape": np.array([n])},
                     "scale": {"type": "Scale", "scale": np.ones(1)},
                     "lif1": _lif((1,)),
                     "output": {"type": "Output", "shape": np.array([n])}}
    tree["edges"] = [("input", "scale"), ("scale", "lif1"), ("lif1", "output")]


# --- event files ---------------------------------------------------------------------------------------------------


def events(n=6, samples=2) -> dict:
    """A valid event set for the demo model: 8x8x1 sensor, ``samples`` samples of ``n // samples`` events."""
    per = n // samples
    return {"t": np.tile(np.arange(per) * 500, samples), "x": np.arange(n) % 8, "y": (np.arange(n) * 3) % 8,
            "p": np.zeros(n, np.int64), "sample": np.repeat(np.arange(samples), per),
            "sensor_size": np.array([8, 8, 1]), "labels": np.arange(samples)}


def events_case(name: str, change: Callable[[dict], None] | None, field, *, command="run", where=None,
                contains=(), write=None) -> Case:
    """A case of ``events()`` changed by ``change(arrays)``, saved as ``NAME.npz`` (``write(path)``: instead,
    any bytes) and given to ``command`` (run, show, export)."""
    file = f"{name}.npz"

    def build(root: Path) -> list[str]:
        path = root / file
        if write is not None:
            write(path)
        else:
            arrays = events()
            change(arrays)
            np.savez(path, **arrays)  # object arrays are pickled
        return events_argv(command, file)

    return Case(name, "events", build, 2, where or file, field, tuple(contains))


def events_argv(command: str, file: str) -> list[str]:
    if command == "run":
        return run(data=file)
    if command == "show":
        return ["data", "show", file, "--out", "shown"]
    if command == "export":
        return ["data", "export", file, "--to", "exported.npz"]
    raise ValueError(command)


def _set_key(key, value):
    def change(a):
        a[key] = value
    return change


def _drop_key(key):
    def change(a):
        del a[key]
    return change


def event_cases() -> list[Case]:
    """Event files: ``run --data FILE.npz``, ``data show FILE.npz --out D``, ``data export FILE.npz --to F``."""
    n = 6
    cases = [
        events_case("ev_missing_t", _drop_key("t"), "t"),
        events_case("ev_missing_x", _drop_key("x"), "x"),
        events_case("ev_missing_sample", _drop_key("sample"), "sample"),
        events_case("ev_missing_sensor_size", _drop_key("sensor_size"), "sensor_size"),
        events_case("ev_missing_t_show", _drop_key("t"), "t", command="show"),
        events_case("ev_missing_x_export", _drop_key("x"), "x", command="export"),
        events_case("ev_t_float", _set_key("t", np.arange(n) * 0.5), "t"),
        events_case("ev_x_bool", _set_key("x", np.ones(n, bool)), "x"),
        events_case("ev_t_strings", _set_key("t", np.array([b"0", b"1"] * 3)), "t"),
        events_case("ev_x_object_pickled", _set_key("x", np.array([1, "two", 3.0, None, 5, 6], dtype=object)), "x"),
        events_case("ev_t_object_pickled_show", _set_key("t", np.array([{"evil": 1}] * n, dtype=object)), "t",
                    command="show"),
        events_case("ev_t_negative", _set_key("t", np.array([0, -5, 10, 0, 5, 10])), "t"),
        events_case("ev_x_outside_sensor", _set_key("x", np.array([0, 1, 8, 2, 3, 4])), "x"),
        events_case("ev_y_outside_sensor", _set_key("y", np.array([0, -1, 2, 2, 3, 4])), "y"),
        events_case("ev_p_outside_sensor", _set_key("p", np.array([0, 0, 1, 0, 0, 0])), "p"),
        events_case("ev_x_outside_sensor_export", _set_key("x", np.array([0, 1, 99, 2, 3, 4])), "x",
                    command="export"),
        events_case("ev_t_nan", _set_key("t", np.array([0.0, np.nan, 1.0, 0.0, 1.0, 2.0])), "t"),
        events_case("ev_x_shorter", _set_key("x", np.arange(n - 2)), "x"),
        events_case("ev_sample_longer", _set_key("sample", np.zeros(n + 3, np.int64)), "sample"),
        events_case("ev_x_2d", _set_key("x", np.zeros((n, 2), np.int64)), "x"),
        events_case("ev_labels_too_few", _set_key("labels", np.array([3])), "labels"),
        events_case("ev_labels_negative", _set_key("labels", np.array([-1, 2])), "labels"),
        events_case("ev_labels_float", _set_key("labels", np.array([0.5, 1.5])), "labels"),
        events_case("ev_sample_negative", _set_key("sample", np.array([0, 0, -1, 1, 1, 1])), "sample"),
        events_case("ev_unknown_array", _set_key("bogus", np.arange(3)), "bogus"),
        events_case("ev_sensor_size_two_values", _set_key("sensor_size", np.array([8, 8])), "sensor_size"),
        events_case("ev_sensor_size_zero", _set_key("sensor_size", np.array([8, 0, 1])), "sensor_size"),
        events_case("ev_t_uint64_huge", _set_key("t", np.array([0, 2**63 + 5, 1, 0, 1, 2], np.uint64)), "t"),
        events_case("ev_no_samples", _empty_events, "sample"),
        # allocation bombs
        events_case("ev_bomb_t_1e15", _set_key("t", np.array([0, 1, 10**15, 0, 1, 2])), "t", contains=BOMB),
        events_case("ev_bomb_sensor_1e6x1e6_show", _huge_sensor, "sensor_size", command="show", contains=BOMB),
        events_case("ev_bomb_sample_index_show", _huge_sample_index, "sample", command="show", contains=BOMB),
        # not an event file
        events_case("ev_not_a_zip", None, "file", write=lambda p: p.write_bytes(b"PK\x03\x04 but no zip" * 30)),
        events_case("ev_empty_file", None, "file", write=lambda p: p.write_bytes(b"")),
        events_case("ev_empty_file_show", None, "file", command="show", write=lambda p: p.write_bytes(b"")),
        events_case("ev_a_single_npy", None, "file", write=_single_npy),
        events_case("ev_truncated_zip", None, ("file", "t", "x", "y", "p", "sample", "sensor_size", "labels"),
                    write=_truncated_npz),
        events_case("ev_not_a_zip_export", None, "file", command="export",
                    write=lambda p: p.write_bytes(b"\x00garbage\xff" * 50)),
        events_case("ev_directory", None, "file", write=lambda p: p.mkdir()),
        Case("ev_no_such_file", "events", lambda root: run(data="nowhere.npz"), 2, "nowhere.npz", "file"),
        Case("ev_show_sample_out_of_range", "events", _show_sample_99, 2, ("show99.npz", "--sample"),
             ("--sample", "sample")),
    ]
    return cases


def _single_npy(path: Path) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.arange(10))


def _empty_events(a):
    z = np.zeros(0, np.int64)
    a.update(t=z, x=z, y=z, p=z, sample=z, labels=z)


def _huge_sensor(a):
    a["sensor_size"] = np.array([10**6, 10**6, 1])


def _huge_sample_index(a):
    a["sample"] = np.array([0, 0, 0, 10**12, 10**12, 10**12])
    del a["labels"]


def _truncated_npz(path: Path) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **events(n=2000, samples=2))
    data = buf.getvalue()
    path.write_bytes(data[: len(data) * 2 // 3])


def _show_sample_99(root: Path) -> list[str]:
    np.savez(root / "show99.npz", **events())
    return ["data", "show", "show99.npz", "--sample", "99", "--out", "shown"]


# --- hardware profiles ------------------------------------------------------------------------------------------


def profile_text(**changes) -> str:
    from builders import changed

    return yaml.safe_dump(changed(GENERIC, **changes))


def profile_case(name: str, content: str | bytes | Callable[[], str], field, *, command="show", where=None,
                 contains=(), extra=(), category="hw") -> Case:
    """A profile file ``NAME.yaml`` with ``content``, given to ``hw show`` or to ``run --hw``."""
    file = f"{name}.yaml"

    def build(root: Path) -> list[str]:
        body = content() if callable(content) else content
        (root / file).write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
        if command == "show":
            return ["hw", "show", file]
        return run("--hw", file, *extra)

    return Case(name, category, build, 2, where or file, field, tuple(contains))


def _without(section: str, key: str | None = None) -> Callable[[], str]:
    def content():
        data = copy.deepcopy(GENERIC)
        if key is None:
            del data[section]
        else:
            del data[section][key]
        return yaml.safe_dump(data)
    return content


def _generic_text() -> str:
    return (REPO / "hw_models" / "generic.yaml").read_text()


def hw_cases() -> list[Case]:
    """Hardware profiles: ``hw show FILE.yaml`` and ``run --hw FILE.yaml``, and ``--hw-set``."""
    lat = GENERIC["core"]["latency_s"]
    syntax = "name: broken\nmesh: {width: 4, height: [4\ncore:\n  max_neurons: 256\n"
    cases = [
        profile_case("hw_unknown_key", lambda: profile_text(core__bogus_key=1), "core.bogus_key"),
        profile_case("hw_unknown_top_key_run", lambda: profile_text(turbo=True), "turbo", command="run"),
        profile_case("hw_latency_string", lambda: profile_text(core__latency_s={**lat, "message_in": "fast"}),
                     "core.latency_s.message_in"),
        profile_case("hw_power_bool", lambda: profile_text(core__static_power_w=True), "core.static_power_w"),
        profile_case("hw_negative_hop_latency", lambda: profile_text(noc__hop_latency_s={"east_west": -5e-9,
                                                                                         "north_south": 5e-9}),
                     "noc.hop_latency_s.east_west"),
        profile_case("hw_negative_latency_run", lambda: profile_text(core__latency_s={**lat, "synaptic_op": -1e-9}),
                     "core.latency_s.synaptic_op", command="run"),
        profile_case("hw_nan_latency", _generic_text().replace("synaptic_op: 1.0e-9", "synaptic_op: .nan", 1),
                     "core.latency_s.synaptic_op"),
        profile_case("hw_inf_energy", _generic_text().replace("synaptic_op: 1.0e-12", "synaptic_op: .inf", 1),
                     "core.energy_j.synaptic_op"),
        profile_case("hw_missing_section", _without("noc"), "noc"),
        profile_case("hw_missing_key_run", _without("core", "max_neurons"), "core.max_neurons", command="run"),
        profile_case("hw_mesh_width_zero", lambda: profile_text(mesh__width=0), "mesh.width"),
        profile_case("hw_mesh_float", lambda: profile_text(mesh__height=2.5), "mesh.height"),
        profile_case("hw_pipeline_unknown", lambda: profile_text(core__pipeline="warp"), "core.pipeline"),
        profile_case("hw_barrier_empty", lambda: profile_text(barrier__latency_s={}), "barrier.latency_s"),
        profile_case("hw_io_port_off_the_mesh", lambda: profile_text(io={"input_on_cores": False, "ports": [[4, 0]]}),
                     "io.ports", command="run", contains=("outside",)),
        profile_case("hw_io_ports_a_word", lambda: profile_text(io={"ports": "everywhere"}), "io.ports"),
        profile_case("hw_io_unknown_key", lambda: profile_text(io={"input_on_core": False}), "io.input_on_core"),
        profile_case("hw_barrier_key_text", lambda: profile_text(barrier__latency_s={"many": 1e-7}),
                     "barrier.latency_s"),
        profile_case("hw_yaml_syntax", syntax, "yaml"),
        profile_case("hw_yaml_syntax_run", syntax, "yaml", command="run"),
        profile_case("hw_yaml_tab_indent", _generic_text().replace("  width: 4", "\twidth: 4"), "yaml"),
        profile_case("hw_latin1", _generic_text().replace("round numbers", "caf\u00e9 numbers").encode("latin-1"),
                     ("file", "text", "yaml")),
        profile_case("hw_latin1_run", _generic_text().replace("round numbers", "na\u00efve").encode("latin-1"),
                     ("file", "text", "yaml"), command="run"),
        profile_case("hw_nul_bytes", _generic_text().encode() + b"\x00\x00\x01", ("yaml", "file", "text")),
        profile_case("hw_duplicate_key", _generic_text().replace("  queue_capacity: 32\n",
                                                                 "  queue_capacity: 32\n  queue_capacity: 4\n"),
                     ("yaml", "core.queue_capacity", "core")),
        profile_case("hw_a_list", "- name: generic\n- mesh: {width: 1}\n", "(top level)"),
        profile_case("hw_a_scalar", "just a string\n", "(top level)"),
        profile_case("hw_empty", "", ("(top level)", "file")),
        profile_case("hw_alias_bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                                      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                                      "e: [*d, *d, *d, *d, *d, *d, *d, *d]\n", ("a", "(top level)", "yaml")),
        profile_case("hw_bomb_mesh_100000x100000", lambda: profile_text(mesh={"width": 100000, "height": 100000,
                                                                               "cores_per_tile": 4}),
                     "mesh", command="run", contains=BOMB),
        Case("hw_profile_is_a_directory", "hw", _profile_dir, 2, "dirprofile.yaml", "file"),
        Case("hw_no_such_profile_file", "hw", lambda root: ["hw", "show", "missing/nowhere.yaml"], 2,
             "nowhere.yaml", "file"),
        Case("hw_set_unknown_path", "hw", lambda root: run("--hw-set", "core.nosuch=1"), 2, ("--hw-set", "loihi"),
             "core.nosuch"),
        Case("hw_set_no_equals", "hw", lambda root: run("--hw-set", "core.queue_capacity"), 2, "--hw-set",
             "hw_set"),
        Case("hw_set_bad_yaml", "hw", lambda root: run("--hw-set", "core.queue_capacity=[1"), 2,
             ("--hw-set", "loihi"), "core.queue_capacity"),
        Case("hw_set_wrong_type", "hw", lambda root: run("--hw-set", "noc.hop_latency_s.east_west=slow"), 2,
             ("--hw-set", "loihi"), "noc.hop_latency_s.east_west"),
        Case("hw_set_io_zero_bandwidth", "hw", lambda root: run("--hw-set", "io.packets_per_s=0"), 2,
             ("--hw-set", "loihi"), "io.packets_per_s"),
        Case("hw_set_bomb_mesh", "hw", lambda root: run("--hw-set", "mesh.width=100000",
                                                        "--hw-set", "mesh.height=100000"), 2,
             ("--hw-set", "loihi"), "mesh", BOMB),
    ]
    return cases


def _profile_dir(root: Path) -> list[str]:
    (root / "dirprofile.yaml").mkdir()
    return ["hw", "show", "dirprofile.yaml"]


# --- mapping files ------------------------------------------------------------------------------------------------


def mapping_case(name: str, content: str | bytes, field, *, where=None, contains=()) -> Case:
    """``run --mapping NAME.yaml`` of the demo model (populations input, lif1, lif2) on loihi."""
    file = f"{name}.yaml"

    def build(root: Path) -> list[str]:
        (root / file).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return run("--mapping", file)

    return Case(name, "mapping", build, 2, where or file, field, tuple(contains))


def mapping_cases() -> list[Case]:
    return [
        mapping_case("map_yaml_syntax", "lif1: [0\nlif2: [1]\n", ("yaml", "file")),
        mapping_case("map_yaml_syntax_multiline", "lif1:\n  - 1\n - 2\nlif2: [3]\n", ("yaml", "file")),
        mapping_case("map_latin1", "lif1: [1]\nlif2: [2]\n# caf\u00e9\n".encode("latin-1"),
                     ("file", "text", "yaml")),
        mapping_case("map_unknown_population", "lif1: [1]\nlif2: [2]\nlif9: [3]\n", "lif9"),
        mapping_case("map_missing_population", "lif1: [1]\n", "lif2"),
        mapping_case("map_core_out_of_range", "lif1: [1]\nlif2: [99999]\n", ("lif2", "mesh")),
        mapping_case("map_core_negative", "lif1: [-1]\nlif2: [2]\n", "lif1"),
        mapping_case("map_core_huge", "lif1: [1]\nlif2: [100000000000000000000]\n", ("lif2", "mesh")),
        # (a core listed twice is valid: it gets two shares of the population)
        mapping_case("map_duplicate_key", "lif1: [1]\nlif1: [3]\nlif2: [2]\n", ("yaml", "lif1")),
        mapping_case("map_core_id_string", "lif1: [one]\nlif2: [2]\n", "lif1"),
        mapping_case("map_core_id_float", "lif1: [1.5]\nlif2: [2]\n", "lif1"),
        mapping_case("map_core_id_bool", "lif1: [true]\nlif2: [2]\n", "lif1"),
        mapping_case("map_population_a_mapping", "lif1: {core: 1}\nlif2: [2]\n", "lif1"),
        mapping_case("map_empty_list", "lif1: []\nlif2: [2]\n", "lif1"),
        mapping_case("map_a_list", "- [0]\n- [1]\n", ("file", "(top level)")),
        # loihi's input enters through its I/O port: a file may not place it
        mapping_case("map_input_through_io", "input: [0]\nlif1: [1]\nlif2: [2]\n", "input", contains=("I/O",)),
        mapping_case("map_empty_file", "", ("file", "(top level)")),
        Case("map_no_such_file", "mapping", lambda root: run("--mapping", "nowhere.yaml"), 2, "nowhere.yaml",
             "file"),
    ]


# --- sweep files ----------------------------------------------------------------------------------------------


def sweep_case(name: str, content: str | bytes, field, *, where=None, contains=(), category="sweep") -> Case:
    """``snnemu sweep NAME.yaml --out swept``; a sweep whose axes name no model runs the demo model."""
    file = f"{name}.yaml"

    def build(root: Path) -> list[str]:
        body = content if isinstance(content, bytes) else content.encode("utf-8")
        if b"axes:\n" in body and b"model:" not in body:  # every configuration runs the demo model
            body = body.replace(b"axes:\n", b"axes:\n  model: [demo]\n", 1)
        (root / file).write_bytes(body)
        return ["sweep", file, "--out", "swept"]

    return Case(name, category, build, 2, where or file, field, tuple(contains))


SWEEP_HEAD = "data: digits\nsamples: 2\n"


def sweep_cases() -> list[Case]:
    return [
        sweep_case("sw_unknown_axis", SWEEP_HEAD + "axes:\n  colour: [red, blue]\n", "axes.colour"),
        sweep_case("sw_bad_combine", SWEEP_HEAD + "combine: cartesian\naxes:\n  mode: [layered]\n", "combine"),
        sweep_case("sw_bad_mode_value", SWEEP_HEAD + "axes:\n  mode: [layered, warp]\n", "axes.mode"),
        sweep_case("sw_bad_queue_value", SWEEP_HEAD + "axes:\n  mode: [async]\n  queue: [lifo]\n", "axes.queue"),
        sweep_case("sw_samples_negative", "data: digits\nsamples: -3\naxes:\n  mode: [layered]\n", "samples"),
        sweep_case("sw_samples_text", "data: digits\nsamples: many\naxes:\n  mode: [layered]\n", "samples"),
        sweep_case("sw_seed_negative", SWEEP_HEAD + "seed: -1\naxes:\n  mode: [layered]\n", "seed"),
        sweep_case("sw_axes_missing", SWEEP_HEAD, "axes"),
        sweep_case("sw_axis_no_values", SWEEP_HEAD + "axes:\n  mode: []\n", "axes.mode"),
        sweep_case("sw_zip_unequal", SWEEP_HEAD + "combine: zip\naxes:\n  mode: [layered, async]\n"
                                                  "  seed: [0, 1, 2]\n", "axes"),
        sweep_case("sw_unknown_top_key", SWEEP_HEAD + "colour: red\naxes:\n  mode: [layered]\n", "colour"),
        sweep_case("sw_unknown_option", SWEEP_HEAD + "options: {warp_drive: 9}\naxes:\n  mode: [layered]\n",
                   "options.warp_drive"),
        sweep_case("sw_yaml_syntax", SWEEP_HEAD + "axes:\n  mode: [layered\n", "yaml"),
        sweep_case("sw_latin1", (SWEEP_HEAD + "# caf\u00e9\naxes:\n  mode: [layered]\n").encode("latin-1"),
                   ("file", "text", "yaml")),
        sweep_case("sw_a_list", "- mode: layered\n", "(top level)"),
        sweep_case("sw_missing_model", SWEEP_HEAD + "axes:\n  model: [nowhere.nir]\n  mode: [layered]\n",
                   "axes.model"),
        sweep_case("sw_bad_profile_override", SWEEP_HEAD + "axes:\n  hw:\n    - {name: loihi, overrides: "
                                                           "{core.nosuch: [1]}}\n  mode: [layered]\n", "axes.hw"),
        sweep_case("sw_queue_capacity_zero", SWEEP_HEAD + "axes:\n  mode: [async]\n  core.queue_capacity: [0, 8]\n",
                   ("axes.core.queue_capacity", "axes.hw")),
        sweep_case("sw_dt_us_zero", SWEEP_HEAD + "options: {dt_us: 0}\naxes:\n  mode: [layered]\n",
                   "options.dt_us"),
        Case("sw_no_such_file", "sweep", lambda root: ["sweep", "nowhere.yaml", "--out", "swept"], 2,
             "nowhere.yaml", "file"),
    ] + [  # where its tasks go: refused before the sweep's own line ("sweep X: N configurations")
        Case(f"sw_{flag.strip('-').replace('-', '_')}_zero", "sweep", lambda root, flag=flag: _good_sweep(root, flag, "0"),
             2, flag, flag.strip("-").replace("-", "_"))
        for flag in ("--workers", "--local-cluster")
    ]


def _good_sweep(root: Path, *extra: str) -> list[str]:
    (root / "good.yaml").write_text(SWEEP_HEAD + f"axes:\n  model: [{DEMO}]\n  mode: [layered]\n")
    return ["sweep", "good.yaml", "--out", "swept", *extra]


# --- command lines --------------------------------------------------------------------------------------------


def cli(name: str, build: Callable[[Path], list[str]], where, field, contains=(), unprivileged=False) -> Case:
    return Case(name, "cli", build, 2, where, field, tuple(contains), unprivileged)


def _flag(flag: str):
    return (flag.lstrip("-").replace("-", "_"), flag)


def _out_not_a_run(root: Path) -> list[str]:
    (root / "thesis").mkdir()
    (root / "thesis" / "thesis.tex").write_text("years of work\n")
    return run(out="thesis")


def _out_a_file(root: Path) -> list[str]:
    (root / "notes.txt").write_text("keep me\n")
    return run(out="notes.txt")


def _out_half_run(root: Path) -> list[str]:
    """A folder that looks like a run folder, plus a file of the user's."""
    (root / "oldrun").mkdir()
    (root / "oldrun" / "summary.json").write_text('{"schema": "snnemu.records/1"}\n')
    (root / "oldrun" / "mine.csv").write_text("a,b\n1,2\n")
    return run(out="oldrun")


def _out_symlink(root: Path) -> list[str]:
    (root / "real").mkdir()
    (root / "real" / "keep.txt").write_text("keep\n")
    os.symlink("real", root / "linked")
    return run(out="linked")


def _export_under_a_file(root: Path) -> list[str]:
    np.savez(root / "ok.npz", **events())
    (root / "plainfile").write_text("not a folder\n")
    return ["data", "export", "ok.npz", "--to", "plainfile/sub/x.npz"]


def _export_read_only(root: Path) -> list[str]:
    np.savez(root / "ok.npz", **events())
    (root / "locked").mkdir()
    (root / "locked").chmod(0o555)
    return ["data", "export", "ok.npz", "--to", "locked/x.npz"]


def _export_model_read_only(root: Path) -> list[str]:
    (root / "locked").mkdir()
    (root / "locked").chmod(0o555)
    return ["export", "--model", str(DEMO), "--to", "locked/model.nir"]


def _export_model_under_file(root: Path) -> list[str]:
    (root / "plainfile").write_text("not a folder\n")
    return ["export", "--model", str(DEMO), "--to", "plainfile/model.nir"]


def _export_model_to_dir(root: Path) -> list[str]:
    (root / "adir.nir").mkdir()
    return ["export", "--model", str(DEMO), "--to", "adir.nir"]


def _export_wrong_suffix(root: Path) -> list[str]:
    np.savez(root / "ok.npz", **events())
    return ["data", "export", "ok.npz", "--to", "x.csv"]


def _show_out_a_file(root: Path) -> list[str]:
    np.savez(root / "ok.npz", **events())
    (root / "shown").write_text("a file\n")
    return ["data", "show", "ok.npz", "--out", "shown"]


def _model_dir(root: Path) -> list[str]:
    (root / "modeldir").mkdir()
    return run(model="modeldir")


def cli_cases() -> list[Case]:
    """Command lines: bad values, a foreign ``--out``, unwritable targets, and options the run would ignore."""
    return [
        cli("cli_seed_negative", lambda r: run("--seed", "-1"), "--seed", _flag("--seed")),
        cli("cli_samples_zero", lambda r: run(samples="0"), "--samples", _flag("--samples")),
        cli("cli_samples_text", lambda r: run(samples="two"), "--samples", _flag("--samples")),
        cli("cli_workers_zero", lambda r: run("--workers", "0"), "--workers", _flag("--workers")),
        cli("cli_dt_us_negative", lambda r: run("--dt-us", "-5"), "--dt-us", ("dt_us", "--dt-us")),
        cli("cli_frames_and_dt_us", lambda r: run("--frames", "4", "--dt-us", "1000"), ("--frames", "--dt-us"),
            ("frames", "dt_us", "--frames", "--dt-us")),
        cli("cli_downsample_zero", lambda r: run("--downsample", "0"), "--downsample", _flag("--downsample")),
        cli("cli_max_us_negative", lambda r: run("--max-us", "-1"), "--max-us", ("max_us", "--max-us")),
        cli("cli_stop_on_output_negative", lambda r: run("--stop-on-output", "-1"), "--stop-on-output",
            _flag("--stop-on-output")),
        cli("cli_bomb_frames", lambda r: run("--frames", str(10**10)), ("digits", "--frames"), "frames", BOMB),
        cli("cli_bomb_dt_us_one", _dt_us_one_far, ("far.npz", "--dt-us"), ("t", "dt_us", "--dt-us"), BOMB),
        cli("cli_unknown_mode", lambda r: run(mode="warp"), "--mode", _flag("--mode")),
        cli("cli_unknown_queue", lambda r: run("--queue", "lifo"), "--queue", _flag("--queue")),
        cli("cli_unknown_noc", lambda r: run("--noc", "mesh"), "--noc", _flag("--noc")),
        cli("cli_unknown_engine", lambda r: run("--engine", "gpu"), "--engine", _flag("--engine")),
        cli("cli_unknown_mapping", lambda r: run("--mapping", "diagonal"), "--mapping", _flag("--mapping")),
        cli("cli_mapping_traffic_text", lambda r: run("--mapping", "traffic:x"), "--mapping",
            ("traffic", "mapping", "--mapping")),
        cli("cli_unknown_profile", lambda r: run("--hw", "loihi9"), "loihi9", "hw"),
        cli("cli_unknown_dataset", lambda r: run(data="mnist-fashion"), "mnist-fashion", "data"),
        cli("cli_scheduler_not_an_address", lambda r: run("--scheduler", "localhost"), "--scheduler",
            _flag("--scheduler")),
        cli("cli_unknown_flag", lambda r: run("--turbo"), "--turbo", ("arguments", "--turbo")),
        cli("cli_out_missing", lambda r: ["run", "--model", str(DEMO), "--samples", "2"], "--out",
            ("--out", "out", "arguments")),
        cli("cli_refrac_dropout_above_one",
            lambda r: run("--engine", "functional", "--refrac-dropout", "1.5"), "--refrac-dropout",
            _flag("--refrac-dropout")),
        # --out
        cli("cli_out_not_a_run_folder", _out_not_a_run, "thesis", "--out"),
        cli("cli_out_a_file", _out_a_file, "notes.txt", "--out"),
        cli("cli_out_a_run_folder_with_user_files", _out_half_run, "oldrun", "--out"),
        cli("cli_out_a_symlink", _out_symlink, "linked", "--out"),
        cli("cli_out_current_folder", lambda r: run(out="."), ".", "--out"),
        cli("cli_show_out_a_file", _show_out_a_file, "shown", "--out"),
        # targets that cannot be written
        cli("cli_export_to_under_a_file", _export_under_a_file, ("plainfile", "x.npz"), ("--to", "file")),
        cli("cli_export_to_read_only_folder", _export_read_only, ("locked", "x.npz"), ("--to", "file"),
            unprivileged=True),
        cli("cli_export_model_read_only_folder", _export_model_read_only, ("locked", "model.nir"), ("--to", "file"),
            unprivileged=True),
        cli("cli_export_model_under_a_file", _export_model_under_file, ("plainfile", "model.nir"), ("--to", "file")),
        cli("cli_export_model_to_a_folder", _export_model_to_dir, "adir.nir", ("--to", "file")),
        cli("cli_export_to_wrong_suffix", _export_wrong_suffix, "x.csv", "--to"),
        # options the chosen engine or mode would ignore
        cli("cli_queue_momentum_layered", lambda r: run("--queue", "momentum", mode="layered"), "--queue",
            _flag("--queue")),
        cli("cli_queue_fifo_layered_explicit", lambda r: run("--queue", "fifo", mode="layered"), "--queue",
            _flag("--queue")),
        cli("cli_queue_random_timestep", lambda r: run("--queue", "random", mode="timestep"), "--queue",
            _flag("--queue")),
        cli("cli_input_frame_layered", lambda r: run("--input", "frame", mode="layered"), "--input",
            _flag("--input")),
        cli("cli_input_event_timestep_explicit", lambda r: run("--input", "event", mode="timestep"), "--input",
            _flag("--input")),
        cli("cli_no_refractory_timestep", lambda r: run("--no-refractory", mode="timestep"), "--no-refractory",
            ("refractory", "--no-refractory")),
        cli("cli_realtime_layered", lambda r: run("--realtime", mode="layered"), "--realtime", _flag("--realtime")),
        cli("cli_noc_routers_functional", lambda r: run("--noc", "routers", "--engine", "functional"), "--noc",
            _flag("--noc")),
        cli("cli_noc_analytic_functional_explicit", lambda r: run("--noc", "analytic", "--engine", "functional"),
            "--noc", _flag("--noc")),
        cli("cli_hw_loihi_functional", lambda r: run("--hw", "loihi", "--engine", "functional"), "--hw",
            _flag("--hw")),
        cli("cli_mapping_spread_functional", lambda r: run("--mapping", "spread:2", "--engine", "functional"),
            "--mapping", _flag("--mapping")),
        cli("cli_hw_set_functional", lambda r: run("--hw-set", "core.queue_capacity=8", "--engine", "functional"),
            "--hw-set", ("hw_set", "--hw-set")),
        cli("cli_F_on_the_chip", lambda r: run("--F", "4"), "--F", ("F", "--F")),
        cli("cli_max_steps_layered_functional", lambda r: run("--max-steps", "3", "--engine", "functional",
                                                              mode="layered"), "--max-steps", _flag("--max-steps")),
        cli("cli_model_a_directory", _model_dir, "modeldir", "file"),
        cli("cli_inspect_unknown_profile", lambda r: ["inspect", str(DEMO), "--hw", "nosuch"], "nosuch", "hw"),
    ]


def _dt_us_one_far(root: Path) -> list[str]:
    """An event 10^10 us late is fine at the data's 1 ms frames (10^7 frames would still be much), and a
    bomb at 1 us frames: 10^10 frames of 64 inputs."""
    a = events()
    a["t"] = np.array([0, 1, 10**10, 0, 1, 2])
    np.savez(root / "far.npz", **a)
    return run("--dt-us", "1", data="far.npz")


# --- settings that would deadlock a chip ------------------------------------------------------------------------


def _runaway_recurrence(root: Path) -> list[str]:
    """A layer of 16 that excites itself by half a threshold per spike, not refractory: each timestep's
    spikes would multiply the next one's by 8, and the sample would never end (a livelock, not a deadlock)."""
    tree = dense_tree(hidden=16)
    tree["nodes"]["rec"] = {"type": "Linear", "weight": np.full((16, 16), 0.5)}
    tree["edges"] += [("lif1", "rec"), ("rec", "lif1")]
    write_tree(root / "runaway.nir", tree)
    return run("--no-refractory", "--hw", "generic", model="runaway.nir", samples="1")


def _router_cycle(root: Path) -> list[str]:
    """Core 0 sends the input to core 4 (tile 1), which sends the hidden layer's spikes back to core 0's output
    neurons; with queues and buffers of one packet each stalls on the other. (The input on cores: through
    loihi's I/O port core 0 would send nothing, and no cycle could close.)"""
    (root / "loop.yaml").write_text("input: [0]\nlif1: [4]\nlif2: [0]\n")
    return run("--noc", "routers", "--mapping", "loop.yaml", "--hw-set", "core.queue_capacity=1",
               "--hw-set", "noc.buffer_packets=1", "--hw-set", "io.input_on_cores=true")


def deadlock_cases() -> list[Case]:
    """A cycle of full buffers under the router NoC (exit 3, the cycle named); zero-capacity queues and buffers,
    where no packet could ever be taken in, refused as bad input before a sample runs; and a recurrent layer
    whose activity grows without bound, refused once it shows."""
    def dl(name, build, where, field):
        return Case(name, "deadlock", build, 2, where, field)

    return [
        Case("dl_router_cycle", "deadlock", _router_cycle, 3, "sample 0", "cycle of waits",
             contains=("core 0 -> tile(0,0).east -> core 4 -> tile(1,0).west -> core 0",)),
        Case("dl_runaway_recurrence", "deadlock", _runaway_recurrence, 2, "--no-refractory", "refractory",
             contains=("would not end",), timeout=30.0),
        dl("dl_queue_capacity_zero_hw_set", lambda r: run("--hw-set", "core.queue_capacity=0"),
           ("--hw-set", "loihi"), "core.queue_capacity"),
        dl("dl_queue_capacity_negative_hw_set", lambda r: run("--hw-set", "core.queue_capacity=-4"),
           ("--hw-set", "loihi"), "core.queue_capacity"),
        dl("dl_buffer_packets_zero_routers", lambda r: run("--noc", "routers", "--hw-set", "noc.buffer_packets=0"),
           ("--hw-set", "loihi"), "noc.buffer_packets"),
        dl("dl_buffer_packets_float_routers", lambda r: run("--noc", "routers", "--hw-set", "noc.buffer_packets=0.5"),
           ("--hw-set", "loihi"), "noc.buffer_packets"),
        profile_case("dl_profile_queue_capacity_zero", lambda: profile_text(core__queue_capacity=0),
                     "core.queue_capacity", command="run", extra=("--noc", "routers"), category="deadlock"),
        profile_case("dl_profile_buffer_zero", lambda: profile_text(noc__buffer_packets=0), "noc.buffer_packets",
                     command="run", extra=("--noc", "routers"), category="deadlock"),
        sweep_case("dl_sweep_buffer_zero", SWEEP_HEAD + "axes:\n  mode: [async]\n  noc: [routers]\n"
                                                        "  noc.buffer_packets: [0]\n",
                   ("axes.noc.buffer_packets", "axes.hw"), category="deadlock"),
    ]


def _run_folder(root: Path, name: str, damage) -> Path:
    """A real run folder of the demo model (made once per process, copied), then ``damage(folder)``."""
    if not _TEMPLATE:
        import atexit
        import contextlib
        import io
        import tempfile

        from emulator.cli import main

        folder = Path(tempfile.mkdtemp(prefix="snnemu-robust-run-")) / "run"
        atexit.register(shutil.rmtree, folder.parent, ignore_errors=True)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["run", "--model", str(DEMO), "--samples", "2", "--out", str(folder)]) == 0
        _TEMPLATE.append(folder)
    shutil.copytree(_TEMPLATE[0], root / name)
    damage(root / name)
    return root / name


_TEMPLATE: list[Path] = []


def records_cases() -> list[Case]:
    """Run folders given to ``report`` and ``compare --runs``: damaged, foreign or missing."""
    def rec(name, damage, where, field, command="report"):
        def build(root: Path) -> list[str]:
            folder = _run_folder(root, name, damage)
            if command == "report":
                return ["report", folder.name, "--out", "rep"]
            _run_folder(root, "good", lambda f: None)
            return ["compare", "--runs", "good", folder.name, "--out", "cmp"]
        return Case(name, "records", build, 2, where, field)

    def write(file: str, data: bytes):
        return lambda folder: (folder / file).write_bytes(data)

    return [
        rec("rec_summary_not_json", write("summary.json", b"{"), "summary.json", "summary.json"),
        rec("rec_summary_not_utf8", write("summary.json", b"\xff\xfe{}"), "summary.json", "summary.json"),
        rec("rec_summary_missing", lambda f: (f / "summary.json").unlink(), "summary.json", "summary.json"),
        rec("rec_per_sample_short", write("per_sample.csv", b"a,b\n1\n"), "per_sample.csv", ("sample", "per_sample")),
        rec("rec_summary_not_json_compare", write("summary.json", b"[1, 2"), "summary.json", "summary.json",
            command="compare"),
        rec("rec_summary_missing_compare", lambda f: (f / "summary.json").unlink(), "summary.json", "summary.json",
            command="compare"),
    ]


# --- the corpus -------------------------------------------------------------------------------------------------

CATEGORIES = {"nir": nir_cases, "events": event_cases, "hw": hw_cases, "mapping": mapping_cases,
              "sweep": sweep_cases, "cli": cli_cases, "deadlock": deadlock_cases, "records": records_cases}


def all_cases() -> list[Case]:
    cases = [c for make in CATEGORIES.values() for c in make()]
    names = [c.name for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate case names: {sorted(dupes)}")
    return cases


CASES = all_cases()
