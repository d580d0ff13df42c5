"""Hardware profiles: YAML presets loaded into frozen, validated dataclasses.

A profile describes one chip: the tile mesh, each core's limits and the
latency and energy of every pipeline operation, the NoC hop costs, the
barrier, and the static power. It is pure data (config is data, behaviour is code): it is checked
once, at load, and then never changes. Every number carries its unit in its
name (``_s`` seconds, ``_j`` joules, ``_w`` watts) and each bundled YAML file
cites its source.

Validation is strict because a typo in a cost table silently changes every
result: unknown keys, missing keys, wrong types (a bool is not a number) and
negative costs all raise :class:`InputError` naming the file and the dotted
key, e.g. ``loihi.yaml: core.energy_j.synaptic_op: must be ... >= 0, got -1e-12``.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from emulator.errors import InputError

__all__ = [
    "BarrierSpec", "CoreSpec", "Hop", "HwProfile", "IoSpec", "Mesh", "NocSpec", "OpCosts", "Cost",
    "apply_overrides", "bundled_profiles", "describe", "load_profile", "profile_from_dict", "read_yaml",
    "summary_line", "yaml_value",
]  # fmt: skip

PROFILE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class OpCosts:
    """Cost of each core pipeline operation (all seconds or all joules)."""

    message_in: float
    synaptic_op: float
    neuron_update: float
    spike_out: float
    message_out: float


@dataclass(frozen=True)
class Cost:
    """One operation's latency and energy: a synapse of a projection kind (``sparse``, ``conv``), or a
    neuron's access (``neuron_access``)."""

    latency_s: float
    energy_j: float


@dataclass(frozen=True)
class Mesh:
    """A ``width x height`` grid of tiles with ``cores_per_tile`` cores each."""

    width: int
    height: int
    cores_per_tile: int

    @property
    def n_tiles(self) -> int:
        return self.width * self.height

    @property
    def n_cores(self) -> int:
        return self.n_tiles * self.cores_per_tile


@dataclass(frozen=True)
class CoreSpec:
    """One core: capacity limits (None = unlimited), op costs, static power."""

    max_neurons: int | None
    max_synapses: int | None
    queue_capacity: int | None
    update_all_neurons: bool
    latency_s: OpCosts
    energy_j: OpCosts
    static_power_w: float
    pipeline: str = "serial"  # tick modes: a core's phase is the sum of its steps, or the larger pipeline
    power_gating: str = "none"  # none: every core draws static power; unused: cores holding no neuron are gated;
    # idle: those and every core while it has no work, each wake-up costing wake_latency_s and wake_energy_j
    gated_static_power_w: float = 0.0  # what a gated core still draws
    wake_latency_s: float = 0.0
    wake_energy_j: float = 0.0
    # A synapse of a sparse or convolutional projection (emulator.model.Projection.kind); None: it costs
    # synaptic_op, as a dense one does.
    sparse_synapse: Cost | None = None
    conv_synapse: Cost | None = None
    # A two-tier neuron cost: with update_all_neurons every neuron pays this access each timestep, and only
    # those whose state changes pay neuron_update too; None: every neuron pays neuron_update.
    neuron_access: Cost | None = None

    @property
    def two_tier(self) -> bool:
        """Every neuron pays ``neuron_access`` each timestep, ``neuron_update`` only where its state changed."""
        return self.update_all_neurons and self.neuron_access is not None

    def synapse_cost(self, kind: str) -> Cost:
        """The latency and energy of one synaptic operation of projection kind ``kind``."""
        own = {"sparse": self.sparse_synapse, "conv": self.conv_synapse}.get(kind)
        return own or Cost(self.latency_s.synaptic_op, self.energy_j.synaptic_op)


PIPELINES = ("serial", "overlap")
POWER_GATING = ("none", "unused", "idle")
MODES = ("timestep", "layered", "async")  # emulator.config.MODE_NAMES (hw_models may not import it)


@dataclass(frozen=True)
class Hop:
    """A per-direction cost of one mesh hop."""

    east_west: float
    north_south: float


@dataclass(frozen=True)
class NocSpec:
    """The network on chip: hop and same-tile costs, router buffers, power."""

    hop_latency_s: Hop
    hop_energy_j: Hop
    local_latency_s: float
    local_energy_j: float
    buffer_packets: int
    static_power_w: float


@dataclass(frozen=True)
class BarrierSpec:
    """Barrier cost; latency is a step table ((tiles, seconds), ...) by tiles."""

    latency_s: tuple[tuple[int, float], ...]
    energy_j: float

    def latency_for(self, n_tiles: int) -> float:
        """The table interpolated linearly in the number of tiles between its neighbouring entries;
        below the smallest key its first value, above the largest its last (no extrapolation)."""
        keys = [k for k, _ in self.latency_s]
        i = bisect.bisect_right(keys, n_tiles)
        if i == 0:
            return self.latency_s[0][1]
        if i == len(keys):
            return self.latency_s[-1][1]
        (k0, v0), (k1, v1) = self.latency_s[i - 1], self.latency_s[i]
        return v0 if n_tiles == k0 else v0 + (v1 - v0) * (n_tiles - k0) / (k1 - k0)


EDGES = ("west", "east", "south", "north")  # io.ports as a chip edge: every tile of that column or row


@dataclass(frozen=True)
class IoSpec:
    """Where input enters the chip. With ``input_on_cores`` the input neurons sit on compute cores and
    their spikes leave them like any other (snnemu 0.2.0 and before); else input spikes enter through
    I/O ports at the tiles ``ports``, the input neurons split evenly over them in their order, and
    cross the mesh from there. Each port passes one packet every ``1 / packets_per_s`` seconds (None:
    no limit), a packet reaching the port tile's router ``latency_s`` later, at ``energy_j`` a packet."""

    input_on_cores: bool = True
    ports: tuple[tuple[int, int], ...] = ((0, 0),)
    latency_s: float = 0.0
    energy_j: float = 0.0
    packets_per_s: float | None = None

    @property
    def n_ports(self) -> int:
        """The I/O ports that take input (0: the input sits on cores)."""
        return 0 if self.input_on_cores else len(self.ports)

    @property
    def gap_s(self) -> float:
        """The time between two packets through one port (0: no bandwidth limit)."""
        return 0.0 if self.packets_per_s is None else 1.0 / self.packets_per_s


@dataclass(frozen=True)
class HwProfile:
    """A whole chip, as loaded from one YAML file (``path``)."""

    name: str
    source: str
    notes: str
    mesh: Mesh
    core: CoreSpec
    noc: NocSpec
    barrier: BarrierSpec
    path: str
    modes: tuple[str, ...] = MODES  # the execution modes the silicon runs (others run as an emulation)
    io: IoSpec = IoSpec()  # absent from the file: input on cores


# --- YAML loading ------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# PyYAML (YAML 1.1) reads 1e-9 as a string; also accept it as a float (YAML 1.2).
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def read_yaml(path: str | Path):
    """A YAML file (a profile, a sweep) read strictly: duplicate keys refused, ``1e-9`` a number;
    a file that cannot be read or parsed is one line, ``FILE: file|yaml: what is wrong``."""
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise InputError(path, "file", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(path, "file", "is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, "yaml", " ".join(f"{problem}{where}".split())) from None  # one line


def yaml_value(text: str):
    """One value written as YAML (``8``, ``2e-9``, ``null``), read as a profile file reads it."""
    return yaml.load(text, Loader=_Loader)


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped in ``hw_models/``, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name_or_path: str, overrides: dict | None = None) -> HwProfile:
    """Load a bundled profile by name, or any profile YAML file by path.

    ``overrides``: ``{dotted path: value}`` set before validation, e.g.
    ``{"core.queue_capacity": 8, "noc.hop_latency_s.east_west": 2e-9}``; a
    path must name a field the profile has, and the value is checked like
    the file's own.
    """
    text = str(name_or_path)
    path = Path(text)
    if text in bundled_profiles():
        path = PROFILE_DIR / f"{text}.yaml"
    elif path.suffix not in (".yaml", ".yml") and len(path.parts) < 2:
        known = ", ".join(bundled_profiles())
        raise InputError(text, "hw", f"unknown profile {text!r}; bundled: {known}")
    file = str(path)
    data = read_yaml(path)
    if overrides:
        apply_overrides(data, overrides, file)
    return profile_from_dict(data, file)


def apply_overrides(data: dict, overrides: dict, file: str) -> None:
    """Set each ``{dotted path: value}`` in the parsed profile ``data``, in place. A path must name a field
    the file has, or one of the optional core fields it leaves out (:func:`_optional_path`)."""
    for path, value in overrides.items():
        *parents, leaf = str(path).split(".")
        section = data.get(parents[0]) if parents else None
        if _optional_path(parents, leaf) and (isinstance(section, dict) or (parents == ["io"] and section is None)):
            node = data
            for part in parents:  # the optional section (core.neuron_access, io, ...) may be absent
                if isinstance(node, dict) and node.get(part) is None:
                    node[part] = {}
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[leaf] = value
                continue
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or _key_in(node, leaf) is None:
            raise InputError(file, path, "no such field in the profile (a dotted path such as core.queue_capacity)")
        node[_key_in(node, leaf)] = value


CORE_OPTIONAL = ("max_synapses", "pipeline", "power_gating", "gated_static_power_w", "wake_latency_s",
                 "wake_energy_j", "sparse_synapse", "conv_synapse", "neuron_access")
COST_SECTIONS = ("sparse_synapse", "conv_synapse", "neuron_access")  # optional {latency_s, energy_j} mappings


IO_FIELDS = ("input_on_cores", "ports", "latency_s", "energy_j", "packets_per_s")


def _optional_path(parents: list[str], leaf: str) -> bool:
    """Whether ``parents.leaf`` is an optional field, which a profile file may leave out and ``--hw-set``
    may still set (``core.wake_latency_s``, ``core.neuron_access.energy_j``, ``io.input_on_cores``, ...)."""
    if parents == ["io"]:
        return leaf in IO_FIELDS
    if parents == ["core"]:
        return leaf in CORE_OPTIONAL and leaf not in COST_SECTIONS
    return len(parents) == 2 and parents[0] == "core" and parents[1] in COST_SECTIONS and leaf in (
        "latency_s", "energy_j")


def _key_in(node: dict, name: str):
    """The key of ``node`` spelled ``name`` (barrier tables have integer keys), or None."""
    return next((k for k in node if str(k) == name), None)


# --- validation --------------------------------------------------------------


def _kind(value) -> str:
    """How a wrong value is shown in an error message."""
    if value is None or isinstance(value, (dict, list)):
        return {type(None): "null", dict: "a mapping", list: "a list"}[type(value)]
    return f"{type(value).__name__} {value!r}"


class _Section:
    """One mapping of a profile. Its keys are the fields of a dataclass.

    The typed readers take a key and raise InputError(FILE, dotted key, ...).
    """

    def __init__(self, file: str, data, key: str, required, optional=()):
        self.file, self.key = file, key
        if not isinstance(data, dict):
            raise self.fail("", f"expected a mapping, got {_kind(data)}")
        allowed = [*required, *optional]
        for k in data:
            if k not in allowed:
                raise self.fail(k, f"unknown key (allowed: {', '.join(allowed)})")
        for k in required:
            if k not in data:
                raise self.fail(k, "missing required key")
        self.data = data

    def fail(self, name, message: str) -> InputError:
        dotted = ".".join(str(part) for part in (self.key, name) if part != "")
        return InputError(self.file, dotted or "(top level)", message)

    def sub(self, name: str, cls, optional=()) -> _Section:
        """The nested mapping ``name``, whose keys are the fields of ``cls``."""
        required = [f.name for f in fields(cls) if f.name not in optional]
        key = f"{self.key}.{name}" if self.key else name
        return _Section(self.file, self.data[name], key, required, optional)

    def cost(self, name) -> float:
        """A finite number >= 0 (ints accepted, bools not)."""
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(name, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.fail(name, f"must be a finite number >= 0, got {value!r}")
        return float(value)

    def count(self, name: str, nullable: bool = False) -> int | None:
        """A positive int, or None (unlimited) when ``nullable``."""
        value = self.data.get(name)
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            expected = "a positive integer" + (" or null" if nullable else "")
            raise self.fail(name, f"expected {expected}, got {_kind(value)}")
        if value < 1:
            raise self.fail(name, f"must be >= 1, got {value}")
        return value

    def exact(self, name: str, kind: type, default=None):
        """A str or a bool, exactly (1 is not true); null or absent: default."""
        value = self.data.get(name)
        value = default if value is None else value
        if type(value) is not kind:
            expected = {bool: "true or false", str: "a string"}[kind]
            raise self.fail(name, f"expected {expected}, got {_kind(value)}")
        return value

    def costs(self, name: str, cls):
        """A dataclass whose fields are all costs, e.g. OpCosts or Hop."""
        section = self.sub(name, cls)
        return cls(**{f.name: section.cost(f.name) for f in fields(cls)})


def profile_from_dict(data: dict, file: str) -> HwProfile:
    """Validate a parsed profile and build the frozen :class:`HwProfile`.

    The YAML keys of each section are the field names of its dataclass.
    """
    file = str(file)
    top_keys = [f.name for f in fields(HwProfile) if f.name not in ("notes", "path", "modes", "io")]
    top = _Section(file, data, "", top_keys, ("notes", "modes", "io"))

    m = top.sub("mesh", Mesh)
    mesh = Mesh(m.count("width"), m.count("height"), m.count("cores_per_tile"))

    c = top.sub("core", CoreSpec, optional=CORE_OPTIONAL)
    core = CoreSpec(
        max_neurons=c.count("max_neurons", nullable=True),
        max_synapses=c.count("max_synapses", nullable=True),
        queue_capacity=c.count("queue_capacity", nullable=True),
        update_all_neurons=c.exact("update_all_neurons", bool),
        latency_s=c.costs("latency_s", OpCosts),
        energy_j=c.costs("energy_j", OpCosts),
        static_power_w=c.cost("static_power_w"),
        pipeline=c.exact("pipeline", str, default="serial"),
        power_gating=c.exact("power_gating", str, default="none"),
        gated_static_power_w=c.cost("gated_static_power_w") if "gated_static_power_w" in c.data else 0.0,
        wake_latency_s=c.cost("wake_latency_s") if "wake_latency_s" in c.data else 0.0,
        wake_energy_j=c.cost("wake_energy_j") if "wake_energy_j" in c.data else 0.0,
        sparse_synapse=c.costs("sparse_synapse", Cost) if c.data.get("sparse_synapse") is not None else None,
        conv_synapse=c.costs("conv_synapse", Cost) if c.data.get("conv_synapse") is not None else None,
        neuron_access=c.costs("neuron_access", Cost) if c.data.get("neuron_access") is not None else None,
    )
    if core.pipeline not in PIPELINES:
        raise c.fail("pipeline", f"expected serial or overlap, got {core.pipeline!r}")
    if core.power_gating not in POWER_GATING:
        raise c.fail("power_gating", f"expected none, unused or idle, got {core.power_gating!r}")

    n = top.sub("noc", NocSpec)
    noc = NocSpec(
        hop_latency_s=n.costs("hop_latency_s", Hop),
        hop_energy_j=n.costs("hop_energy_j", Hop),
        local_latency_s=n.cost("local_latency_s"),
        local_energy_j=n.cost("local_energy_j"),
        buffer_packets=n.count("buffer_packets"),
        static_power_w=n.cost("static_power_w"),
    )

    b = top.sub("barrier", BarrierSpec)
    raw = b.data["latency_s"]
    if not isinstance(raw, dict) or not raw:
        raise b.fail("latency_s", f"expected a mapping {{tiles: seconds}}, got {raw!r}")
    table = _Section(file, raw, "barrier.latency_s", (), optional=tuple(raw))
    for tiles in table.data:
        if isinstance(tiles, bool) or not isinstance(tiles, int) or tiles < 1:
            raise table.fail(tiles, "key must be a positive integer number of tiles")
    steps = tuple(sorted((t, table.cost(t)) for t in table.data))
    barrier = BarrierSpec(latency_s=steps, energy_j=b.cost("energy_j"))

    name, source = top.exact("name", str), top.exact("source", str)
    notes = top.exact("notes", str, default="")
    modes = data.get("modes", list(MODES))
    if not isinstance(modes, list) or not modes or any(m not in MODES for m in modes):
        raise top.fail("modes", f"expected a list of {', '.join(MODES)}, got {modes!r}")
    io = _io(top, mesh) if data.get("io") is not None else IoSpec()
    return HwProfile(name, source, notes, mesh, core, noc, barrier, path=file, modes=tuple(modes), io=io)


def _io(top: _Section, mesh: Mesh) -> IoSpec:
    """The ``io`` section: every key optional (IoSpec's defaults); ports inside the mesh."""
    s = top.sub("io", IoSpec, optional=IO_FIELDS)
    ports = s.data.get("ports", [[0, 0]])
    if ports in EDGES:  # every tile along that edge, in order along it
        last_x, last_y = mesh.width - 1, mesh.height - 1
        ports = {"west": [[0, y] for y in range(mesh.height)], "east": [[last_x, y] for y in range(mesh.height)],
                 "south": [[x, 0] for x in range(mesh.width)], "north": [[x, last_y] for x in range(mesh.width)]}[ports]
    if not isinstance(ports, list) or not ports or not all(
            isinstance(p, list) and len(p) == 2 and all(type(v) is int for v in p) for p in ports):
        raise s.fail("ports", f"expected a list of tiles [x, y] or one of {', '.join(EDGES)}, got {_kind(ports)}")
    for x, y in ports:
        if not (0 <= x < mesh.width and 0 <= y < mesh.height):
            raise s.fail("ports", f"tile [{x}, {y}] is outside the {mesh.width} x {mesh.height} mesh")
    if len({tuple(p) for p in ports}) < len(ports):
        raise s.fail("ports", "a tile is listed twice")
    rate = s.data.get("packets_per_s")
    if rate is not None:
        rate = s.cost("packets_per_s")
        if rate == 0:
            raise s.fail("packets_per_s", "must be > 0 (null: no limit)")
    return IoSpec(input_on_cores=s.exact("input_on_cores", bool, default=True), ports=tuple(map(tuple, ports)),
                  latency_s=s.cost("latency_s") if "latency_s" in s.data else 0.0,
                  energy_j=s.cost("energy_j") if "energy_j" in s.data else 0.0, packets_per_s=rate)


# --- human-readable output ---------------------------------------------------


def _limit(value: int | None) -> str:
    return "unlimited" if value is None else str(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def summary_line(profile: HwProfile) -> str:
    """One line for ``snnemu hw list``: name, mesh, cores per tile, total, source."""
    m = profile.mesh
    return (
        f"{profile.name:<10} mesh {m.width}x{m.height}, {_count(m.cores_per_tile, 'core')}/tile,"
        f" {_count(m.n_cores, 'core')}  {profile.source}"
    )


def describe(profile: HwProfile) -> str:
    """The whole profile, in ns / pJ / mW, for ``snnemu hw show NAME``."""
    p, m, c, n, b = profile, profile.mesh, profile.core, profile.noc, profile.barrier

    def row(label: str, seconds: float, joules: float) -> str:
        return f"  {label:<16}{seconds * 1e9:10.2f} ns{joules * 1e12:10.1f} pJ"

    def item(label: str, value: object) -> str:
        return f"  {label:<20}{value}"

    ops = [f.name for f in fields(OpCosts)]
    chip_w = c.static_power_w * m.n_cores + n.static_power_w * m.n_tiles
    lines = [
        f"profile  {p.name}",
        f"source   {p.source}",
        f"file     {p.path}",
        f"mesh     {m.width} x {m.height} tiles x {_count(m.cores_per_tile, 'core')}/tile",
        f"modes    {', '.join(p.modes)} (what the silicon runs; other modes run as an emulation)",
        f"         = {_count(m.n_tiles, 'tile')}, {_count(m.n_cores, 'core')}",
        "core",
        item("max_neurons", _limit(c.max_neurons)),
        item("max_synapses", _limit(c.max_synapses)),
        item("queue_capacity", f"{_limit(c.queue_capacity)} packets"),
        item("update_all_neurons", "yes" if c.update_all_neurons else "no"),
        item("pipeline", c.pipeline),
        *([row("neuron_access", c.neuron_access.latency_s, c.neuron_access.energy_j),
           item("", "every neuron, every timestep" + ("; neuron_update only where its state changed"
                                                       if c.two_tier else " (update_all_neurons is off: unused)"))]
          if c.neuron_access else []),
        *(row(op, getattr(c.latency_s, op), getattr(c.energy_j, op)) for op in ops),
        *(row(f"  {kind} synapse", cost.latency_s, cost.energy_j) if own else item(f"  {kind} synapse", "as dense")
          for kind, own, cost in (("sparse", c.sparse_synapse, c.synapse_cost("sparse")),
                                  ("conv", c.conv_synapse, c.synapse_cost("conv")))),
        item("static_power", f"{c.static_power_w * 1e3:.4g} mW per core"),
        item("power_gating", c.power_gating + (f" (a gated core draws {c.gated_static_power_w * 1e3:.4g} mW)"
                                                 if c.power_gating != "none" else "")),
        *([row("wake-up", c.wake_latency_s, c.wake_energy_j)] if c.power_gating == "idle" else []),
        "noc",
        row("hop east_west", n.hop_latency_s.east_west, n.hop_energy_j.east_west),
        row("hop north_south", n.hop_latency_s.north_south, n.hop_energy_j.north_south),
        row("local (in tile)", n.local_latency_s, n.local_energy_j),
        item("buffer_packets", f"{n.buffer_packets} per input port"),
        item("static_power", f"{n.static_power_w * 1e3:.4g} mW per router"),
        "io",
        *([item("input", "on compute cores, as every neuron")] if p.io.input_on_cores else [
            item("ports", ", ".join(f"tile({x},{y})" for x, y in p.io.ports)),
            row("packet latency", p.io.latency_s, p.io.energy_j),
            item("bandwidth", "unlimited" if p.io.packets_per_s is None
                 else f"{p.io.packets_per_s / 1e6:.4g} M packets/s per port (one every {p.io.gap_s * 1e9:.3g} ns)")]),
        "barrier",
        *(f"  {f'{t} tiles':<16}{s * 1e9:10.2f} ns" for t, s in b.latency_s),
        "  (linear between entries; below the first and above the last, their values)",
        item("energy", f"{b.energy_j * 1e12:.1f} pJ per barrier"),
        f"chip static power {chip_w * 1e3:.4g} mW (cores + routers)",
    ]
    if p.notes:
        lines += ["notes", *(f"  {line}" for line in p.notes.strip().splitlines())]
    return "\n".join(lines)
