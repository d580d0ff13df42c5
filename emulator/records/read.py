"""Reading a run folder back: the reader side of the records contract, for both engines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .folder import SCHEMA

__all__ = ["RunFolder", "load_run"]


@dataclass
class RunFolder:
    path: Path
    summary: dict
    samples: pd.DataFrame
    cores: pd.DataFrame | None
    links: pd.DataFrame | None
    events: Path | None

    @property
    def n(self) -> int:
        return max(int(self.summary["samples"]), 1)

    @property
    def hardware(self) -> bool:
        """A chip run (the functional reference has no hardware figures)."""
        return self.summary.get("engine", "chip") == "chip"

    @property
    def input_name(self) -> str:
        return next(iter(self.summary.get("layer_sizes", {"input": 0})))

    @property
    def label(self) -> str:
        s = self.summary
        mode = s["mode"] + (f":{s['queue']}" if s.get("queue") else "")
        return f"{s['model']} / {s['hw'] or 'functional'} / {mode}"


def load_run(path: str | Path) -> RunFolder:
    """Read a run folder; a missing or foreign folder is an :class:`InputError`."""
    path = Path(path)
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise InputError(path, "summary.json", "not found: not a run folder (make one with snnemu run --out)")
    try:
        summary = json.loads(summary_file.read_text())
    except ValueError as exc:
        raise InputError(summary_file, "summary.json", f"is not JSON ({exc})") from None
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        raise InputError(summary_file, "schema", f"expected {SCHEMA!r}, got {summary.get('schema') if isinstance(summary, dict) else None!r}")
    samples_file = path / "per_sample.csv"
    if not samples_file.is_file():
        raise InputError(path, "per_sample.csv", "not found: the run folder is incomplete")
    samples = pd.read_csv(samples_file)
    if len(samples) != summary["samples"]:
        raise InputError(samples_file, "sample", f"has {len(samples)} rows; summary.json says {summary['samples']} samples")

    def optional(name):
        return pd.read_csv(path / name) if (path / name).is_file() else None

    energy = summary.get("energy_j")
    if isinstance(energy, dict) and "io" not in energy:  # a folder from before I/O ports: no I/O energy
        energy["io"] = None if energy.get("total") is None else 0.0
    cores = optional("per_core.csv")
    if cores is not None and "unit" not in cores.columns:  # ... and every row a core
        cores.insert(1, "unit", "core")
        if "energy_static_j" in cores.columns:
            cores.insert(list(cores.columns).index("energy_barrier_j"), "energy_io_j", 0.0)
    events = path / "events.parquet"
    return RunFolder(path, summary, samples, cores, optional("per_link.csv"),
                     events if events.is_file() else None)
