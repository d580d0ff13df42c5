"""Map a function over tasks in forked worker processes, results in task order.

The shared, read-only context (a network, a profile, the frames) is handed to
the workers by ``fork``, not pickled per task: it is set in a module global
just before the pool starts, and each worker builds its per-process state once
(``setup``) on its first task.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator

__all__ = ["fork_map"]

_SHARED = None  # (setup, work, context), inherited by the forked workers
_STATE = None  # what setup(context) built, once per worker


def fork_map(work: Callable, tasks: Iterable, context, setup: Callable, workers: int, state=None) -> Iterator:
    """Yield ``work(state, context, task)`` for each task in order, where ``state = setup(context)``.

    With one worker (or one task) everything runs here, with one state:
    ``state`` if given (the caller already built one), else ``setup(context)``.
    """
    tasks = list(tasks)
    if workers <= 1 or len(tasks) <= 1:
        state = setup(context) if state is None else state
        for task in tasks:
            yield work(state, context, task)
        return
    global _SHARED
    _SHARED = (setup, work, context)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_run_task, tasks)
    finally:
        _SHARED = None


def _run_task(task):
    global _STATE
    setup, work, context = _SHARED
    if _STATE is None:
        _STATE = setup(context)
    return work(_STATE, context, task)
