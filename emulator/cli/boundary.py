"""The command line's error boundary: whatever goes wrong ends as one line on stderr and an exit code.

- bad input (:class:`~emulator.errors.InputError`, a file that cannot be read
  or written, text that is not UTF-8, a malformed command line): one line
  ``snnemu: error: WHERE: FIELD: what is wrong``, exit 2;
- a deadlock on the chip: one line, exit 3;
- Ctrl-C: one line, exit 130 (``snnemu sweep`` says how to resume);
- ``snnemu sweep`` with some configurations failed: exit 4;
- stdout closed by its reader (``snnemu hw show loihi | head``): nothing more is
  written, exit 141, as a command killed by SIGPIPE (``git``, ``cat``) ends;
- anything else is a bug: one line saying so and where its traceback was saved,
  exit 1.

A warning, from snnemu or from a library, is one line ``snnemu: warning: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeadlockError, InputError

__all__ = ["BAD_INPUT", "BROKEN_PIPE", "BUG", "DEADLOCK", "INTERRUPTED", "SOME_FAILED", "OneLineParser", "Unset",
           "error_boundary", "given_options"]

# the exit codes, all of them (README, "Bad input, and what is left behind")
BUG, BAD_INPUT, DEADLOCK, SOME_FAILED, INTERRUPTED, BROKEN_PIPE = 1, 2, 3, 4, 130, 141  # 4: a sweep's failed configs


def one_line(text: object) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(str(text).split())


@dataclass
class Outcome:
    code: int = 0


@contextmanager
def error_boundary():
    """Run the body of a command; set ``outcome.code`` to its exit code, or to the code of what it raised
    (with its one line printed)."""
    outcome = Outcome()
    with warnings.catch_warnings():  # restores showwarning afterwards (main() may run inside tests)
        warnings.showwarning = _show_warning
        try:
            yield outcome
            sys.stdout.flush()  # here, not at exit, so that a closed pipe ends in this boundary too
        except InputError as exc:
            outcome.code = _error(exc, BAD_INPUT)
        except DeadlockError as exc:
            outcome.code = _error(exc, DEADLOCK)
        except KeyboardInterrupt:
            outcome.code = _error("interrupted", INTERRUPTED)
        except BrokenPipeError:
            _quiet_stdout()
            outcome.code = BROKEN_PIPE
        except UnicodeDecodeError as exc:
            outcome.code = _error(f"input: text: is not UTF-8 ({exc.reason} at byte {exc.start})", BAD_INPUT)
        except OSError as exc:
            if exc.filename is None:
                outcome.code = _bug(exc)
            else:
                outcome.code = _error(f"{exc.filename}: file: {exc.strerror or exc}", BAD_INPUT)
        except MemoryError as exc:  # a size guard (emulator.errors.check_size) missed this input: a bug
            outcome.code = _bug(exc)
        except Exception as exc:  # noqa: BLE001 - the boundary: every other error is a bug, reported as one
            if type(exc).__module__.startswith("yaml"):  # a YAML file no reader of ours caught
                outcome.code = _error(f"input: yaml: {exc}", BAD_INPUT)
            else:
                outcome.code = _bug(exc)


def _error(message: object, code: int) -> int:
    print(f"snnemu: error: {one_line(message)}", file=sys.stderr)
    return code


def _bug(exc: BaseException) -> int:
    """One line for an unexpected error, its traceback in a file of the temporary folder."""
    path = Path(tempfile.gettempdir()) / f"snnemu-bug-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    try:
        path.write_text("".join(traceback.format_exception(exc)))
        where = f"its traceback is in {path}"
    except OSError:
        where = "its traceback could not be saved"
    what = one_line(f"{type(exc).__name__}: {exc}")
    print(f"snnemu: internal error (a bug, please report it): {what}; {where}", file=sys.stderr)
    return BUG


def _quiet_stdout() -> None:
    """stdout's reader is gone: point it at /dev/null, so that the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning``: one line, named by its category when it is not snnemu's own."""
    kind = "" if category is UserWarning else f"{category.__name__}: "
    print(f"snnemu: warning: {kind}{one_line(message)}", file=sys.stderr)


class Unset:
    """The default of a ``snnemu run`` flag, kept apart from the same value given on the command line."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


def given_options(args) -> set[str]:
    """The options given on the command line (see :class:`OneLineParser`)."""
    return set(getattr(args, "_given", ()))


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors (``snnemu: error: snnemu run: --mode: invalid choice ...``, exit 2),
    which records the flags given (``args._given``) and replaces each :class:`Unset` default by its value."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, rest = super().parse_known_args(args, namespace)
        given = set(getattr(namespace, "_given", ()))
        for action in self._actions:
            if isinstance(action.default, Unset):
                value = getattr(namespace, action.dest, action.default)
                if value is action.default:
                    setattr(namespace, action.dest, action.default.value)
                else:
                    given.add(action.dest)
        namespace._given = given
        return namespace, rest

    def error(self, message: str):
        field, _, what = message.partition(": ")
        if field.startswith("argument "):
            field = field.removeprefix("argument ").split("/")[0]
        else:
            field, what = "arguments", message
        self.exit(BAD_INPUT, f"snnemu: error: {self.prog}: {field}: {one_line(what)} (see {self.prog} --help)\n")
