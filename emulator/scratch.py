"""Temporary files and folders written beside their target, recognisable as ours, removed after a crash.

Everything snnemu writes for a user (a run folder, a sweep's store and chunks,
an events file, a model, a report, a checkpoint) goes first to a temporary sibling of the target and is renamed
onto it when whole, so the target is never partial. The sibling's name says
who made it and when::

    .snnemu-tmp.<host>.<pid>.<time_ns>.<target name>.<random>

A process killed with ``kill -9`` cannot remove its own. The next one that
writes into the same folder removes the ones whose maker is gone
(:func:`remove_stale`): made on this host, by a pid that is not alive, or
alive but started after the name's time (the pid was reused). Nothing else is
ever removed: not a folder of another host (a shared file system), not one of
a live process, not a name of any other pattern.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

__all__ = ["PREFIX", "atomic_dir", "atomic_path", "check_writable", "make_parent", "remove_stale", "scratch_dir",
           "scratch_file", "scratch_name", "write_text"]

PREFIX = ".snnemu-tmp"


def _host() -> str:
    return socket.gethostname().replace(".", "_") or "host"


def scratch_name(target: Path) -> str:
    """The start of a temporary sibling's name for ``target`` (a random part follows)."""
    return f"{PREFIX}.{_host()}.{os.getpid()}.{time.time_ns()}.{target.name}."


def scratch_dir(target: Path) -> Path:
    """A new empty folder beside ``target``, with the permissions of a folder made by ``mkdir``
    (``mkdtemp`` makes it owner-only); stale ones of that folder are removed first."""
    remove_stale(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=scratch_name(target), dir=target.parent))
    tmp.chmod(0o777 & ~_umask())
    return tmp


def scratch_file(target: Path, suffix: str = "") -> tuple[int, Path]:
    """``(open file descriptor, path)`` of a new file beside ``target``, readable as a file made by
    ``open`` would be (``mkstemp`` makes it 0600); stale ones of that folder are removed first."""
    remove_stale(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=scratch_name(target), suffix=suffix, dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())
    return fd, Path(tmp)


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ""):
    """A temporary path beside ``target`` to write the file to; renamed onto ``target`` when the
    ``with`` body ends, removed if it raises. ``suffix``: for writers that go by the file name."""
    target = Path(target).absolute()
    fd, tmp = scratch_file(target, suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(target: str | os.PathLike, text: str) -> Path:
    """``Path.write_text``, atomically (:func:`atomic_path`)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def check_writable(target: str | os.PathLike, field: str) -> None:
    """Refuse, before any work, a ``target`` that could not be written: a file where a folder on its
    way should be, or a nearest existing folder this process may not write in."""
    target = Path(target).absolute()
    existing = next(p for p in (target, *target.parents) if p.exists())
    if existing != target and not existing.is_dir():
        raise InputError(target, field, f"{existing} is a file, not a folder")
    folder = existing if existing != target else target.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(target, field, f"cannot write in {folder} (permission denied)")


def make_parent(target: str | os.PathLike, field: str) -> None:
    """Create the folder ``target`` goes in; one that cannot be made is an InputError on ``field``."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), target.parent)
        raise InputError(target, field, f"{blocker} is a file, not a folder") from None
    except OSError as exc:
        raise InputError(target, field, f"cannot create the folder {target.parent} ({exc.strerror or exc})") from None


@contextmanager
def atomic_dir(target: Path):
    """A new temporary folder beside ``target`` to fill; put at ``target`` when the ``with`` body ends
    (:func:`_replace_dir`), removed if it raises."""
    tmp = scratch_dir(target)
    try:
        yield tmp
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_dir(tmp: Path, out: Path) -> Path:
    """Put the finished folder ``tmp`` at ``out``: an earlier ``out`` is moved aside under a temporary
    name, ``tmp`` renamed in, then the earlier one removed. A kill at any point leaves ``out`` whole
    (the earlier or the new one) or absent, and only temporary names beside it."""
    old = None
    if out.exists():
        old = scratch_dir(out)  # an empty placeholder, whose name the earlier folder takes
        old.rmdir()
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary files and folders in ``folder`` whose maker is gone; returns them."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if name.startswith(PREFIX + ".") and _is_stale(name):
            path = Path(folder) / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _is_stale(name: str) -> bool:
    parts = name[len(PREFIX) + 1:].split(".", 3)
    if len(parts) < 4 or parts[0] != _host() or not parts[1].isdigit() or not parts[2].isdigit():
        return False
    pid, made = int(parts[1]), int(parts[2]) / 1e9
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = _start_time(pid)
    return started is not None and started > made + 2.0  # the pid was reused (/proc's boot time is whole seconds)


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), where /proc tells (Linux); else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, after the command name
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
