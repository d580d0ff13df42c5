"""The records contract: summary.json, per_sample.csv, per_core.csv, per_link.csv, events.parquet.

All values are SI (seconds, joules). The folder is written to a temporary
sibling and renamed when complete, so a failed run leaves no partial folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hw_models.cost import CATEGORIES

from .chip import COUNTERS
from .errors import InputError
from .noc import Topology

__all__ = ["SCHEMA", "check_out_dir", "stats", "summarize", "per_core_table", "per_link_table", "per_sample_table", "write_folder",
           "write_json", "write_records"]

SCHEMA = "snnemu.records/1"


def stats(values) -> dict:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], float)
    if not len(v):
        return {"mean": None, "p50": None, "p95": None, "max": None}
    return {"mean": float(v.mean()), "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def summarize(res) -> dict:
    cfg, rows = res.config, res.per_sample
    counts = {k: res.per_core_counts[:, j] for j, k in enumerate(COUNTERS)}
    energy = {k: float(res.per_core_energy[:, j].sum()) for j, k in enumerate(CATEGORIES)}
    energy = {"total": float(res.per_core_energy.sum()), **energy}
    correct = [r["correct"] for r in rows if r["correct"] is not None]
    layers = {k: v for k, v in res.spikes_per_layer.items() if k != res.network.populations[0].name}
    mean_latency = stats(r["latency_s"] for r in rows)["mean"]
    n = max(len(rows), 1)
    return {
        "schema": SCHEMA,
        "engine": "chip",
        "model": res.network.name,
        "hw": res.hw.name,
        "hw_source": res.hw.source,
        "hw_notes": res.hw.notes,
        "mesh": {"width": res.hw.mesh.width, "height": res.hw.mesh.height,
                 "cores_per_tile": res.hw.mesh.cores_per_tile},
        "mode": cfg.mode,
        "queue": cfg.queue if cfg.mode == "async" else None,
        "input": cfg.input,
        "refractory": (cfg.mode == "async") if cfg.refractory is None else cfg.refractory,
        "realtime": cfg.realtime if cfg.mode == "async" else None,
        "noc": cfg.noc,
        "mapping": res.mapping.strategy + (" (packed)" if res.mapping.packed else ""),
        "dt_s": res.network.dt_s,
        "dt_source": res.network.dt_source,
        "seed": cfg.seed,
        "samples": len(rows),
        "accuracy": (sum(correct) / len(correct)) if correct else None,
        "layer_sizes": {p.name: p.size for p in res.network.populations},
        "readout": res.network.readout,
        "spikes": {"total": int(sum(layers.values())), "per_layer": layers,
                   "input": int(res.spikes_per_layer[res.network.populations[0].name])},
        "synaptic_events": int(counts["syn"].sum()),
        "neuron_updates": int(counts["upd"].sum()),
        "packets": int(counts["msg_out"].sum()),
        "hops": int(counts["hops_ew"].sum() + counts["hops_ns"].sum()),
        "latency_s": stats(r["latency_s"] for r in rows),
        "first_output_s": stats(r["first_output_s"] for r in rows),
        "energy_j": energy,
        "energy_per_inference_j": energy["total"] / n,
        "edp_js": (energy["total"] / n) * mean_latency if mean_latency is not None else None,
        "wall_s": res.wall_s,
    }


def per_sample_table(res) -> pd.DataFrame:
    cols = ["sample", "label", "prediction", "correct", "spikes", "synaptic_events", "packets",
            "hops", "latency_s", "first_output_s", "energy_j"]
    df = pd.DataFrame(res.per_sample, columns=cols)
    for c in ("label", "correct"):
        df[c] = df[c].astype("Int64")
    return df


def per_core_table(res) -> pd.DataFrame:
    topo_w, cpt = res.hw.mesh.width, res.hw.mesh.cores_per_tile
    names = [p.name for p in res.network.populations]
    layer_of = res.network.layer_of()
    core_of = res.mapping.core_of
    counts = {k: res.per_core_counts[:, j] for j, k in enumerate(COUNTERS)}
    n_cores = len(res.per_core_counts)
    layers = [""] * n_cores
    for c in np.unique(core_of):
        layers[c] = "+".join(names[i] for i in np.unique(layer_of[core_of == c]))
    tiles = np.arange(n_cores) // cpt
    busy = counts["busy_s"]
    elapsed = res.elapsed_s
    return pd.DataFrame({
        "core": np.arange(n_cores),
        "tile_x": tiles % topo_w,
        "tile_y": tiles // topo_w,
        "layer": layers,
        "neurons": np.bincount(core_of, minlength=n_cores),
        "synapses": res.synapses_per_core,
        "packets_in": counts["pk_in"].astype(np.int64),
        "packets_out": counts["msg_out"].astype(np.int64),
        "synaptic_events": counts["syn"].astype(np.int64),
        "busy_s": busy,
        "utilization": busy / elapsed if elapsed > 0 else np.zeros(n_cores),
        "energy_j": res.per_core_energy.sum(axis=1),
        **{f"energy_{k}_j": res.per_core_energy[:, j] for j, k in enumerate(CATEGORIES)},
    })


def per_link_table(res) -> pd.DataFrame:
    """Packets over each directed NoC link (and each tile's local port), summed over samples.

    Only links inside the mesh are listed (a border tile has no link outwards)."""
    topo = Topology(res.hw)
    df = pd.DataFrame([topo.link_ends(link) for link in range(topo.n_links)],
                      columns=["tile_x", "tile_y", "direction", "to_x", "to_y"])
    df.insert(0, "link", np.arange(topo.n_links))
    df["packets"] = res.per_link_packets.astype(np.int64)
    inside = df.to_x.between(0, topo.width - 1) & df.to_y.between(0, topo.height - 1)
    return df[inside].reset_index(drop=True)


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


def _is_run_folder(path: Path) -> bool:
    """Only our record and report files, and a summary.json of this schema."""
    names = {p.name for p in path.iterdir()}
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
    if out.is_symlink() or (out.exists() and not (out.is_dir() and (not any(out.iterdir()) or _is_run_folder(out)))):
        raise InputError(out, "--out", "exists and is not a run folder; choose a new folder")
    return out


def write_records(res, out: str | os.PathLike) -> Path:
    """Write a chip run's folder atomically; returns its path."""
    writers = {
        "summary.json": lambda p: write_json(p, summarize(res)),
        "per_sample.csv": lambda p: per_sample_table(res).to_csv(p, index=False),
        "per_core.csv": lambda p: per_core_table(res).to_csv(p, index=False),
        "per_link.csv": lambda p: per_link_table(res).to_csv(p, index=False),
    }
    if res.tracer is not None:
        writers["events.parquet"] = res.tracer.write
        writers["output_spikes.nir"] = lambda p: _write_output_spikes(res, p)
    return write_folder(out, writers)


def _write_output_spikes(res, path: Path) -> None:
    """The output layer's spikes as NIR ``EventData`` (times in seconds from each sample's start),
    for comparing traces across simulators."""
    from traces.nir_events import event_data, write_event_data

    out = res.network.output
    df = res.tracer.table().select(["kind", "layer", "sample", "neuron", "t_s"]).to_pandas()
    df = df[(df.kind == "spike") & (df.layer == out.name)]
    data = event_data(df["sample"].to_numpy(), df.neuron.to_numpy(), df.t_s.to_numpy(), len(res.per_sample), out.size)
    write_event_data(path, out.name, data)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(_clean(data), indent=2, default=_json_default) + "\n")


def write_folder(out: str | os.PathLike, writers: dict) -> Path:
    """Write ``{file name: writer(path)}`` into the folder ``out``, atomically.

    The files go to a temporary sibling first; an earlier run folder at
    ``out`` is moved aside, the new one renamed in, then the old one removed.
    """
    out = check_out_dir(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it owner-only; the folder should follow the umask
    try:
        for name, write in writers.items():
            write(tmp / name)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
