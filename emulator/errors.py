"""User-facing errors, and the guard against allocations sized by the input.

Bad input (a profile, a model, an event file, a mapping) raises
:class:`InputError`. The CLI prints its one-line message, naming the file and
the field, and exits with code 2; it never shows a traceback for these.

A few kilobytes of input can declare a 40000 x 40000 convolution or an event
a million seconds late. Before any allocation whose size the input decides,
the code that makes it calls :func:`check_size`, which refuses one larger
than the memory limit: :data:`MEMORY_LIMIT_ENV` (``SNNEMU_MAX_MEMORY``, in
bytes or with a unit: ``64GiB``; ``none`` for no limit), else
:data:`DEFAULT_LIMIT`. :func:`read_deadline` bounds the time a damaged HDF5
file can hold a read.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager

__all__ = ["DEFAULT_LIMIT", "MEMORY_LIMIT_ENV", "READ_TIMEOUT_ENV", "DeadlockError", "InputError", "check_size",
           "format_bytes", "memory_limit", "read_deadline"]

MEMORY_LIMIT_ENV = "SNNEMU_MAX_MEMORY"
READ_TIMEOUT_ENV = "SNNEMU_READ_TIMEOUT_S"  # how long an HDF5 file may take to read (read_deadline); default 30
DEFAULT_LIMIT = 8 * 2**30  # what one structure may take; the largest real workloads need well under 1 GiB
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


class InputError(Exception):
    """Bad user input: ``FILE: FIELD: what is wrong``."""

    def __init__(self, file: object, field: str, message: str):
        self.file = str(file)
        self.field = field
        self.message = message
        super().__init__(f"{self.file}: {field}: {message}")

    def __reduce__(self):  # rebuilt from its parts when it comes back from a worker process
        return (InputError, (self.file, self.field, self.message))


class DeadlockError(RuntimeError):
    """The chip stopped making progress while work was still pending."""


def memory_limit() -> float:
    """The most bytes one input-sized structure may take (inf: no limit), from ``SNNEMU_MAX_MEMORY``."""
    text = os.environ.get(MEMORY_LIMIT_ENV, "").strip().lower().replace(" ", "")
    if not text:
        return DEFAULT_LIMIT
    if text in ("none", "inf", "unlimited"):
        return float("inf")
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?)([a-z]*)", text)
    if match is None or match.group(2) not in _UNITS:
        raise InputError(MEMORY_LIMIT_ENV, "value", f"{text!r}: expected bytes, e.g. 64GiB, 500MB, or none")
    return float(match.group(1)) * _UNITS[match.group(2)]


def check_size(file: object, field: str, n_bytes: float, what: str) -> None:
    """Refuse an allocation of ``n_bytes`` for ``what`` (sized by ``file``'s ``field``) above the limit."""
    limit = memory_limit()
    if n_bytes > limit:
        raise InputError(file, field, f"{what} would take {format_bytes(n_bytes)}, more than the limit of "
                                      f"{format_bytes(limit)} (set {MEMORY_LIMIT_ENV}, e.g. "
                                      f"{MEMORY_LIMIT_ENV}=64GiB, if the machine has the memory)")


def format_bytes(n: float) -> str:
    """``12.0 GiB``: binary units, three significant digits."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


@contextmanager
def read_deadline(file: object):
    """End the process, with one line and exit code 2, if the body has not finished reading ``file`` in
    ``SNNEMU_READ_TIMEOUT_S`` seconds (default 30). libhdf5 loops forever on some damaged files (a
    global heap zeroed in the middle), inside C code that no exception or signal handler reaches; a
    timer thread still runs. The one place where code below the CLI writes to stderr and exits."""
    seconds = float(os.environ.get(READ_TIMEOUT_ENV) or 30)
    timer = threading.Timer(seconds, _give_up, (file, seconds))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _give_up(file: object, seconds: float) -> None:
    os.write(2, f"snnemu: error: {file}: file: reading it did not end in {seconds:g} s: the file is damaged "
                f"(libhdf5 loops on it)\n".encode())
    os._exit(2)
