"""Run a sweep's configurations as tasks, resumably, and write its folders, store and report.

Every configuration is cut into chunks of samples (``emulator.chunks``); each
chunk is one task for the pool (``emulator.parallel``). A finished task is
written at once to ``OUT/chunks`` (``store.ChunkStore``), so a sweep stopped
by Ctrl-C, ``kill -9`` or a lost worker continues with ``--resume`` and
computes no finished chunk again. When every chunk of a configuration is
there, its run folder is written to ``OUT/runs/NAME`` (the records
contract, so ``snnemu report`` reads it); then the results store
(``OUT/store``) and the report (``OUT/sweep.html``) are made from them. A
configuration with a failed chunk gets no folder and is listed as failed.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..parallel import describe, execute
from ..records import is_run_folder, load_run, write_json, write_records
from ..reports import write_sweep_report
from ..runner import Task, config_key, load_inputs, merge, prime, run_task, tasks_of
from ..scratch import check_writable
from .spec import SweepPoint
from .store import ChunkStore, content_key, write_store

__all__ = ["SweepOutcome", "check_sweep_out", "run_points"]

PLAN = "sweep.json"  # what marks a folder as a sweep's, and lists its configurations


@dataclass
class SweepOutcome:
    folders: list[Path]  # the run folders of the finished configurations (named by them), in sweep order
    failed: list[tuple[str, str]]  # (configuration, error)
    reused: int  # chunks found on disk (resumed)
    computed: int  # chunks computed in this call


def check_sweep_out(out: str | Path, resume: bool) -> Path:
    """A new sweep goes to a new or empty folder; ``--resume`` continues the sweep already there."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    has_plan = (out / PLAN).is_file()
    if resume and out.exists() and any(out.iterdir()) and not has_plan:
        raise InputError(out, "--resume", f"holds no {PLAN}: not a sweep folder")
    if not resume and out.exists() and any(out.iterdir()):
        what = "holds a sweep: add --resume to continue it" if has_plan else "is not empty"
        raise InputError(out, "--out", f"{what}, or choose a new folder")
    check_writable(out, "--out")
    return out


def run_points(points: list[SweepPoint], out: Path, pool, progress=None, warn=None, on_config=None,
               report: bool = True) -> SweepOutcome:
    """Run every configuration's missing chunks on ``pool``, then write the folders, and with
    ``report`` the results store and the sweep report.

    ``progress(done, total, failed)`` counts tasks; ``on_config(name, folder)`` is called as each
    configuration's folder is written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_plan(out, points)
    store = ChunkStore(out / "chunks")
    store.remove_partial()
    idents = {p.name: content_key(p.config) for p in points}
    chunks: dict[str, dict[int, object]] = {p.name: {} for p in points}
    todo = []
    for p in points:
        for task in tasks_of(p.config, p.n_samples):
            found = store.load(idents[p.name], task.lo, task.hi)
            if found is None:
                todo.append(task)
            else:
                chunks[p.name][task.lo] = found
    reused = sum(len(c) for c in chunks.values())
    name_of = {config_key(p.config): p.name for p in points}

    def done(task: Task, chunk) -> None:
        name = name_of[task.key]
        store.save(idents[name], task.lo, task.hi, chunk)
        chunks[name][task.lo] = chunk

    failures = execute(run_task, todo, pool, done, progress)
    failed_names = {}
    for task, exc in failures:
        failed_names.setdefault(name_of[task.key], f"samples {task.lo}..{task.hi - 1}: {describe(exc)}")
    ok = [p for p in points if p.name not in failed_names]
    folders = []
    for p in ok:
        folders.append(_write_run(p, list(chunks[p.name].values()), out / "runs" / p.name, warn))
        if on_config is not None:
            on_config(p.name, folders[-1])
    names = [p.name for p in ok]
    _remove_stale_runs(out / "runs", set(names))
    failed = list(failed_names.items())
    if report:
        runs = [load_run(f) for f in folders]
        write_store(out / "store", names, [p.axes for p in ok], [r.samples for r in runs],
                    [r.summary for r in runs])
        if folders:
            write_sweep_report(folders, pd.DataFrame([p.axes for p in ok]), out, failed)
    _write_plan(out, points, failed_names)
    return SweepOutcome(folders, failed, reused, len(todo) - len(failures))


def _write_plan(out: Path, points: list[SweepPoint], failed: dict[str, str] | None = None) -> None:
    """``sweep.json``: each configuration's name, axes and options; after the run, its status."""
    def status(p: SweepPoint) -> dict:
        if failed is None:
            return {"status": "running"}
        return {"status": "failed", "error": failed[p.name]} if p.name in failed else {"status": "done"}

    write_json(out / PLAN, {"configurations": [{"name": p.name, "axes": p.axes, "config": asdict(p.config),
                                                **status(p)} for p in points]})


def _write_run(point: SweepPoint, chunks: list, folder: Path, warn) -> Path:
    """A configuration's run folder from its chunks; its wall time is the sum of its tasks' times."""
    state = prime(point.config, load_inputs(point.config, warn))
    result = merge(state, chunks, sum(c.wall_s for c in chunks))
    return write_records(result, folder)


def _remove_stale_runs(runs: Path, keep: set[str]) -> None:
    """Run folders of configurations no longer in the sweep (an edited sweep file, resumed)."""
    if runs.is_dir():
        for folder in runs.iterdir():
            if folder.name not in keep and folder.is_dir() and is_run_folder(folder):
                shutil.rmtree(folder)

