"""Run one hostile input through ``snnemu`` in a forked child of the test process, and judge it.

The heavy libraries and ``emulator.cli.main`` are imported once, here, in the
parent; each case then runs in ``os.fork()``'s child, which starts in a few
milliseconds. The child gets:

- a memory cap (``RLIMIT_AS``: its current virtual size plus ``MEMORY_HEADROOM``),
  so that an allocation bomb that slips through fails the case, not the machine;
- its own stdout and stderr (files), ``HOME``, ``TMPDIR``, ``SNNEMU_CACHE``,
  ``SNNEMU_DATA`` and ``MPLCONFIGDIR`` inside the sandbox, and the sandbox as its
  working directory;
- a hard timeout, after which its process group is killed.

The sandbox tree (paths, types, modes, sizes and the sha256 of every file) is
snapshot before and after, so that a test can assert that a refused input left
nothing behind: no output folder, no temporary file, nothing in ``TMPDIR``.

``python tests/robustness/harness.py [NAME_SUBSTRING ...]`` runs the corpus and
prints every failing case, grouped by failure class (the report of the corpus).
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import pickle
import re
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

# --- the heavy imports, once, in the parent --------------------------------------------------------------
import h5py  # noqa: F401
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401
import networkx  # noqa: E402,F401
import nir  # noqa: E402,F401
import pandas  # noqa: E402,F401
import pyarrow  # noqa: E402,F401
import pyarrow.parquet  # noqa: E402,F401
import scipy.sparse  # noqa: E402,F401
import simpy  # noqa: E402,F401
import yaml  # noqa: E402,F401

from emulator.cli import main as cli_main  # noqa: E402

for _module in ("emulator.runner", "emulator.records", "emulator.reports", "emulator.reports.plots", "emulator.sweep",
                "emulator.chunks", "emulator.functional", "traces.datasets", "traces.digits", "traces.framing",
                "traces.nir_events", "emulator.cli.data", "emulator.cli.inspect", "sklearn.datasets"):
    try:
        __import__(_module)
    except Exception:  # noqa: BLE001 - a module being edited elsewhere: the child imports it (and fails) itself
        pass
try:  # scikit-learn's digits, read once (traces.digits keeps them in an lru_cache the children inherit)
    from traces.digits import _sklearn_digits

    _sklearn_digits()
except Exception:  # noqa: BLE001
    pass

GiB = 2**30
MEMORY_HEADROOM = 2 * GiB  # on top of the parent's virtual size
TIMEOUT_S = 60.0
ERROR_PREFIX = "snnemu: error: "
# the warning filters of a fresh interpreter (pytest's own are not the command line's)
FRESH_FILTERS = [("default", None, DeprecationWarning, "__main__", 0), ("ignore", None, DeprecationWarning, None, 0),
                 ("ignore", None, PendingDeprecationWarning, None, 0), ("ignore", None, ImportWarning, None, 0),
                 ("ignore", None, ResourceWarning, None, 0)]


# --- the sandbox -------------------------------------------------------------------------------------------

SANDBOX_DIRS = ("home", "tmp", "cache", "data", "mpl")


def make_sandbox(parent: str | os.PathLike | None = None) -> Path:
    """A fresh sandbox folder with its home, tmp, cache, data and mpl folders (``parent``: where; default the
    system's temporary folder)."""
    root = Path(tempfile.mkdtemp(prefix="snnemu-robust-", dir=parent))
    root.chmod(0o755)
    for name in SANDBOX_DIRS:
        (root / name).mkdir()
    return root


def remove_sandbox(root: Path) -> None:
    """Remove a sandbox, read-only folders included."""
    for path, dirs, _ in os.walk(root):
        for d in dirs:
            p = Path(path) / d
            if not p.is_symlink():
                p.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


def child_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNNEMU_", "PYTEST_"))}
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), TMP=str(root / "tmp"), TEMP=str(root / "tmp"),
               SNNEMU_CACHE=str(root / "cache"), SNNEMU_DATA=str(root / "data"), MPLCONFIGDIR=str(root / "mpl"))
    env.pop("SNNEMU_MAX_MEMORY", None)
    return env


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: relative path -> (kind, mode, size, sha256 or link target)."""
    out: dict[str, tuple] = {}
    for path, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            full = os.path.join(path, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", mode, 0, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, 0, "")
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(full, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                out[rel] = ("file", mode, st.st_size, h.hexdigest())
            else:
                out[rel] = ("other", mode, 0, "")
    return out


def diff_snapshots(before: dict, after: dict) -> list[str]:
    """What changed, one entry per path: ``+path`` (new), ``-path`` (gone), ``~path`` (changed)."""
    changes = [f"+{p}" for p in sorted(set(after) - set(before))]
    changes += [f"-{p}" for p in sorted(set(before) - set(after))]
    changes += [f"~{p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return changes


# --- one call in a forked child ------------------------------------------------------------------------------


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_memory(headroom: int) -> None:
    limit = _vm_size() + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _fresh_warnings() -> None:
    """Warnings as a fresh interpreter shows them: printed to stderr, not recorded by pytest."""

    def show(msg):
        file = msg.file if msg.file is not None else sys.stderr
        try:
            file.write(warnings._formatwarnmsg(msg))
        except OSError:
            pass

    warnings.filters[:] = list(FRESH_FILTERS)
    warnings._filters_mutated()
    warnings._showwarnmsg_impl = show
    warnings.showwarning = warnings._showwarning_orig


def _std_streams(out_path: Path, err_path: Path) -> None:
    """fd 1 and 2 to files; sys.stdout and sys.stderr new text streams on them, as a fresh interpreter has."""
    for fd, path in ((1, out_path), (2, err_path)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict",
                                  line_buffering=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True)
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def drop_permission_override() -> None:
    """Make root obey file modes (a read-only folder is then read-only to it too): drop CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH and CAP_FOWNER from this process (capset(2)); a no-op for other users."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    mask = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_FOWNER)) & 0xFFFFFFFF
    for part in ("effective", "permitted", "inheritable"):
        setattr(data[0], part, getattr(data[0], part) & mask)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


@dataclass
class ChildResult:
    code: int | None  # the exit code; None: killed (timeout or a signal)
    stdout: str
    stderr: str
    timed_out: bool
    signal: int | None
    wall_s: float
    value: object = None  # what call_in_child's function returned (pickled back)


def _own_files() -> tuple[Path, Path, Path]:
    """Where the child's stdout, stderr and returned value go: beside the sandbox, not in it."""
    base = Path(tempfile.mkdtemp(prefix="snnemu-robust-io-"))
    return base / "stdout", base / "stderr", base / "value"


def run_in_child(fn, args=(), *, cwd: Path | None = None, env: dict | None = None, timeout: float = TIMEOUT_S,
                 headroom: int = MEMORY_HEADROOM, unprivileged: bool = False) -> ChildResult:
    """``fn(*args)`` in a forked child under the memory cap; its int return is the exit code (a SystemExit's
    code too), anything else is pickled back as ``value`` with exit code 0. An exception that escapes
    ``fn`` is printed with its traceback to the child's stderr (exit code 1). ``unprivileged``: file modes
    bind the child even where it runs as root (:func:`drop_permission_override`)."""
    out_path, err_path, value_path = _own_files()
    value_path.touch()
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            _std_streams(out_path, err_path)
            _fresh_warnings()
            if env is not None:
                os.environ.clear()
                os.environ.update(env)
                tempfile.tempdir = None  # tempfile.gettempdir() reads TMPDIR again
            if cwd is not None:
                os.chdir(cwd)
            if unprivileged:
                drop_permission_override()
            _cap_memory(headroom)
            try:
                value = fn(*args)
                if isinstance(value, int) and not isinstance(value, bool):
                    code = value
                else:
                    with open(value_path, "wb") as fh:
                        pickle.dump(value, fh)
                    code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if exc.code is not None and not isinstance(exc.code, int):
                    print(exc.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - reported as the traceback it is
            try:
                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
            code = 1
        finally:
            try:
                sys.stdout.flush()
            except BaseException:  # noqa: BLE001
                pass
            try:
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
            os._exit(code & 0xFF if isinstance(code, int) else 1)
    # the parent
    deadline = t0 + timeout
    status, timed_out = None, False
    delay = 0.002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    try:  # whatever the child started in its process group goes too
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    wall = time.perf_counter() - t0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    stdout = out_path.read_bytes().decode("utf-8", "backslashreplace")
    stderr = err_path.read_bytes().decode("utf-8", "backslashreplace")
    value = None
    if code == 0 and value_path.stat().st_size:
        with open(value_path, "rb") as fh:
            value = pickle.load(fh)
    shutil.rmtree(out_path.parent, ignore_errors=True)
    return ChildResult(code, stdout, stderr, timed_out, sig, wall, value)


# --- one corpus case ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A case's run: the child's result, and the sandbox's changes."""

    argv: list[str]
    result: ChildResult
    changes: list[str]
    sandbox: Path


def run_case(case, parent: str | os.PathLike | None = None, timeout: float = TIMEOUT_S, keep: bool = False) -> Outcome:
    """Build ``case``'s inputs in a new sandbox, run ``snnemu`` on them in a child, and compare the sandbox."""
    root = make_sandbox(parent)
    try:
        argv = [str(a) for a in case.build(root)]
        before = snapshot(root)
        result = run_in_child(cli_main, (argv,), cwd=root, env={**child_env(root), **dict(getattr(case, "env", ()))},
                              timeout=min(timeout, getattr(case, "timeout", timeout)),
                              unprivileged=case.unprivileged)
        changes = diff_snapshots(before, snapshot(root))
    finally:
        if not keep:
            remove_sandbox(root)
    return Outcome(argv, result, changes, root)


# --- the judgement -------------------------------------------------------------------------------------------

CLASSES = ("timeout", "traceback", "multi-line", "wrong exit code", "file or field not named", "debris left")


def _names_field(line: str, field: str) -> bool:
    """``line`` has ``: FIELD`` followed by ``:``, or a deeper part of it (``.x``, ``[0]``)."""
    return re.search(rf": {re.escape(field)}(:|\.|\[)", line) is not None


def problems(case, outcome: Outcome) -> dict[str, str]:
    """What is wrong with the case's outcome, by failure class (empty: the contract holds)."""
    r = outcome.result
    found: dict[str, str] = {}
    if r.timed_out:
        found["timeout"] = f"killed after {r.wall_s:.0f} s"
    elif r.code is None:
        found["wrong exit code"] = f"killed by signal {r.signal}"
    if "Traceback" in r.stderr or "Traceback" in r.stdout:
        found["traceback"] = "a traceback on stdout or stderr"
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    if len(lines) != 1:
        found["multi-line"] = f"{len(lines)} non-empty stderr lines"
    if r.code is not None and r.code != case.code:
        found["wrong exit code"] = f"exit {r.code}, expected {case.code}"
    line = next((x for x in lines if x.startswith(ERROR_PREFIX)), None)
    wheres = (case.where,) if isinstance(case.where, str) else tuple(case.where)
    fields = (case.field,) if isinstance(case.field, str) else tuple(case.field)
    if line is None:
        found["file or field not named"] = f"no line starting {ERROR_PREFIX!r}"
    elif len(lines) == 1 and not lines[0].startswith(ERROR_PREFIX):
        found["file or field not named"] = f"the line does not start {ERROR_PREFIX!r}"
    else:
        missing = []
        if not any(w in line for w in wheres):
            missing.append(f"where {' or '.join(map(repr, wheres))}")
        if not any(_names_field(line, f) for f in fields):
            missing.append(f"field {' or '.join(map(repr, fields))}")
        for word in case.contains:
            if word.lower() not in line.lower():
                missing.append(f"the words {word!r}")
        if missing:
            found["file or field not named"] = "missing " + ", ".join(missing)
    if outcome.changes:
        found["debris left"] = " ".join(outcome.changes[:8]) + (" ..." if len(outcome.changes) > 8 else "")
    return found


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def describe(case, outcome: Outcome, found: dict[str, str]) -> str:
    """The case's failure in a few lines: what is wrong, its argv, its exit code and its first stderr lines."""
    r = outcome.result
    err = [x for x in r.stderr.splitlines() if x.strip()][:3]
    argv = " ".join(a.replace(str(outcome.sandbox) + "/", "") for a in outcome.argv)
    return _printable("\n".join([f"{case.name}: {'; '.join(f'{k}: {v}' for k, v in found.items())}",
                      f"    argv: snnemu {argv}",
                      f"    exit: {r.code}" + (f" (signal {r.signal})" if r.signal else "") + f", {r.wall_s:.2f} s",
                      *(f"    stderr: {x[:300]}" for x in err)]))


def report(cases, timeout: float = TIMEOUT_S) -> int:
    """Run ``cases``; print the failing ones by failure class (a case appears under each class it fails)."""
    t0 = time.perf_counter()
    by_class: dict[str, list[str]] = {c: [] for c in CLASSES}
    failing = 0
    for case in cases:
        outcome = run_case(case, timeout=timeout)
        found = problems(case, outcome)
        if found:
            failing += 1
            for cls in found:
                by_class[cls].append(describe(case, outcome, found))
        print(f"{'FAIL' if found else 'ok  '} {case.category:8} {case.name} ({outcome.result.wall_s:.2f} s)",
              file=sys.stderr)
    for cls, entries in by_class.items():
        if entries:
            print(f"\n== {cls} ({len(entries)})")
            print("\n".join(entries))
    print(f"\n{failing} of {len(cases)} cases fail; {time.perf_counter() - t0:.1f} s")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from corpus import CASES

    wanted = sys.argv[1:]
    chosen = [c for c in CASES if not wanted or any(w in c.name or w == c.category for w in wanted)]
    sys.exit(report(chosen))
