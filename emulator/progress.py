"""Progress on stderr: a tqdm bar on a terminal, elsewhere (a log, CI) one plain line every few seconds."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

__all__ = ["Progress"]


class Progress:
    """A ``progress(done, total[, failed])`` callback for the run and sweep APIs."""

    def __init__(self, desc: str, unit: str, every_s: float = 5.0, stream=None):
        self.desc, self.unit, self.every_s = desc, unit, every_s
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.bar = None
        self.t0 = time.monotonic()
        self.last = None

    def __call__(self, done: int, total: int, failed: int | None = None, **info: str) -> None:
        """``done`` of ``total``; ``failed`` and ``info`` (``loss="0.123"``) are shown beside them."""
        if failed is not None:
            info = {"failed": str(failed), **info}
        if self.tty:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, leave=False, file=self.stream)
            self.bar.update(done - self.bar.n)
            if info:
                self.bar.set_postfix(info, refresh=False)
            if done >= total:
                self.bar.close()
            return
        now = time.monotonic()
        if done < total and self.last is not None and now - self.last < self.every_s:
            return
        self.last = now
        elapsed = now - self.t0
        eta = f", ETA {_clock(elapsed / done * (total - done))}" if 0 < done < total else ""
        shown = "".join(f", {v} failed" if k == "failed" else f", {k} {v}" for k, v in info.items())
        print(f"{self.desc}: {done}/{total} {_plural(self.unit)}{shown}, {_clock(elapsed)} elapsed{eta}",
              file=self.stream, flush=True)


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"
