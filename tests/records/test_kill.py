"""``kill -9`` of ``snnemu run``, during the simulation and while the run folder is written: nothing
partial is left at the target, and the next run removes the temporary folder the killed one left
(``emulator.scratch``), and nothing that is not a dead process's."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import dead_pid, stale_scratch_name

from emulator.cli import main
from emulator.scratch import PREFIX, remove_stale, scratch_name

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "emulator" / "data" / "demo_digits.nir")
RUN = ["run", "--model", DEMO, "--samples", "3"]

# The run is held at one moment: the patched function touches MARK and sleeps, and the test kills it then.
HOLD = """
import sys, time, pathlib
mark = pathlib.Path(sys.argv[1])
def hold(*args, **kwargs):
    {before}
    mark.touch()
    time.sleep(120)
{patch}
from emulator.cli import main
sys.exit(main(sys.argv[2:]))
"""
DURING_SIMULATION = HOLD.format(before="pass", patch="import emulator.runner as r; r.run_task = hold")
WHILE_WRITING = HOLD.format(  # the first CSV of the folder is written whole, then the run stops there
    before="ORIGINAL(*args, **kwargs)",
    patch="import pandas as pd; ORIGINAL = pd.DataFrame.to_csv; pd.DataFrame.to_csv = hold")


def kill_at_hold(script: str, tmp_path: Path, out: Path) -> None:
    mark = tmp_path / "held"
    proc = subprocess.Popen([sys.executable, "-c", script, str(mark), *RUN, "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists(), "the run never reached the moment to kill it"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    mark.unlink()


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def scratch_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(PREFIX))


def test_a_kill_during_the_simulation_leaves_nothing(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    kill_at_hold(DURING_SIMULATION, tmp_path, runs / "out")
    assert list(runs.iterdir()) == []


@pytest.mark.parametrize("earlier", [False, True], ids=["new folder", "over an earlier run"])
def test_a_kill_while_writing_leaves_the_target_whole_and_the_next_run_cleans_up(tmp_path, earlier):
    runs = tmp_path / "runs"
    out = runs / "out"
    runs.mkdir()
    if earlier:
        assert main([*RUN, "--out", str(out)]) == 0
    before = tree(out) if earlier else None
    kill_at_hold(WHILE_WRITING, tmp_path, out)
    assert (tree(out) if out.exists() else None) == before  # the earlier folder whole, or none
    left = scratch_in(runs)
    assert len(left) == 1 and (runs / left[0] / "per_sample.csv").is_file()  # killed mid-folder
    assert main([*RUN, "--out", str(runs / "other")]) == 0  # any later write into that folder cleans up
    assert scratch_in(runs) == []
    assert sorted(p.name for p in runs.iterdir()) == (["other", "out"] if earlier else ["other"])


def test_only_dead_processes_temporaries_are_removed(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = scratch_name(tmp_path / "a") + "x1"  # this process: alive
        live = mine.replace(f".{os.getpid()}.", f".{sleeper.pid}.", 1)  # another live process
        dead = mine.replace(f".{os.getpid()}.", f".{dead_pid()}.", 1)
        other_host = mine.replace(PREFIX + ".", PREFIX + ".elsewhere.", 1)
        for name in (mine, live, dead, other_host, ".out.abc", "keep.txt"):
            (tmp_path / name).mkdir()
        (tmp_path / dead / "half.csv").write_text("a,b\n")
        assert remove_stale(tmp_path) == [tmp_path / dead]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine, live, other_host, ".out.abc", "keep.txt"])
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_reused_pid_does_not_keep_a_dead_makers_temporary(tmp_path):
    """A name whose pid is alive now but started after the name was made: the maker died and the pid
    was reused. /proc gives start times (Linux); elsewhere such a folder stays until the pid is free."""
    if not Path("/proc/self/stat").is_file():
        pytest.skip("no /proc here to tell a process's start time")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        old = f"{PREFIX}.{scratch_name(tmp_path / 'a').split('.')[2]}.{sleeper.pid}.{time.time_ns() - 3600 * 10**9}.a.x"
        (tmp_path / old).mkdir()
        assert remove_stale(tmp_path) == [tmp_path / old]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_killed_reports_temporary_keeps_a_run_folder_ours(tmp_path):
    """``snnemu report`` writes into the run folder through temporaries; one a kill left there does not make
    the folder foreign: the next run over it replaces it, and ``report`` removes the stale file."""
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    (out / stale_scratch_name("report.html")).write_text("<html>half")
    assert main(["report", str(out)]) == 0
    assert scratch_in(out) == []
    (out / stale_scratch_name("report.md")).write_text("# half")
    assert main([*RUN, "--out", str(out)]) == 0
    assert scratch_in(out) == [] and (out / "summary.json").is_file()
