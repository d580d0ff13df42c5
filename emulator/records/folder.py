"""A run folder on disk: its schema, which files are ours, and writing it atomically.

All values are SI (seconds, joules). The folder is written to a temporary
sibling and renamed when complete, so a failed run leaves no partial folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..scratch import PREFIX, atomic_dir, check_writable, make_parent

__all__ = ["RECORD_FILES", "REPORT_FILES", "SCHEMA", "check_out_dir", "is_run_folder", "stats", "write_folder",
           "write_json"]

SCHEMA = "snnemu.records/1"


def stats(values) -> dict:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], float)
    if not len(v):
        return {"mean": None, "p50": None, "p95": None, "max": None}
    return {"mean": float(v.mean()), "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    raise TypeError(type(x))


def _clean(obj):
    """NaN is not JSON: write null."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


RECORD_FILES = {"summary.json", "per_sample.csv", "per_core.csv", "per_link.csv", "events.parquet",
                "output_spikes.nir"}
REPORT_FILES = {"report.html", "report.md"}  # written by ``snnemu report`` into the run folder, with report_*.png


def is_run_folder(path: Path) -> bool:
    """Only our record and report files, and a summary.json of this schema."""
    names = {p.name for p in path.iterdir() if not p.name.startswith(PREFIX)}  # a killed report's temporary
    ours = all(n in RECORD_FILES or n in REPORT_FILES or (n.startswith("report_") and n.endswith(".png"))
               for n in names)
    if not ours or "summary.json" not in names:
        return False
    try:
        return json.loads((path / "summary.json").read_text()).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def check_out_dir(out: str | os.PathLike) -> Path:
    """``out`` may be new, an empty folder, or an earlier run folder (replaced);
    anything else is refused, so a run never deletes a user's files."""
    out = Path(out)
    if str(out) in ("", ".") or Path.cwd().is_relative_to(out.absolute()):
        raise InputError(out, "--out", "is the current folder or one of its parents; choose a new folder")
    if out.is_symlink() or (out.exists() and not (out.is_dir() and (not any(out.iterdir()) or is_run_folder(out)))):
        raise InputError(out, "--out", "exists and is not a run folder; choose a new folder")
    check_writable(out, "--out")
    return out


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(_clean(data), indent=2, default=_json_default) + "\n")


def write_folder(out: str | os.PathLike, writers: dict) -> Path:
    """Write ``{file name: writer(path)}`` into the folder ``out``, atomically.

    The files go to a temporary sibling first (``emulator.scratch``); an earlier
    run folder at ``out`` is moved aside, the new one renamed in, then the old
    one removed.
    """
    out = check_out_dir(out).absolute()
    make_parent(out, "--out")
    with atomic_dir(out) as tmp:
        for name, write in writers.items():
            write(tmp / name)
    return out
