"""User-facing errors.

Bad input (a profile, a model, an event file, a mapping) raises
:class:`InputError`. The CLI prints its one-line message, naming the file and
the field, and exits with code 2; it never shows a traceback for these.
"""

from __future__ import annotations

__all__ = ["InputError", "DeadlockError"]


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
