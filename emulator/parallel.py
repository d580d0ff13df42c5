"""Run independent tasks on a pool of workers: a local process pool, or an existing Dask cluster.

One engine serves ``snnemu run --workers N``, ``snnemu compare`` and
``snnemu sweep``: :func:`execute` submits every task, hands each result to
``on_done`` as it arrives (in completion order; the caller orders them), and
retries a task once when it raises or its worker is lost, then records it as
failed without stopping the others. The pools differ only in where ``fn``
runs:

- :class:`LocalPool`: forked processes (``concurrent.futures``). Forked, so
  that what the caller loaded before the pool started (a network held in
  memory) is inherited, not pickled per task.
- :class:`DaskPool`: a ``dask.distributed`` client of a running scheduler
  (``tcp://HOST:8786``), or of a ``LocalCluster`` it starts (for tests and
  single machines). Its workers need the installed package and read access
  to the data the tasks name; results come back to the caller, who writes
  them. Dask reruns a task whose worker died on another worker.

Results do not depend on the pool: a task's result is a function of the task.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .errors import InputError

__all__ = ["DaskPool", "LocalPool", "describe", "execute", "make_pool"]

RETRIES = 1  # a task that fails is run once more before it is recorded as failed


class LocalPool:
    """``workers`` forked processes; one worker or fewer runs the tasks here, in order."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = None

    def submit(self, fn: Callable, task):
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_exit_with_parent, initargs=(os.getpid(),))
        return self._pool.submit(fn, task)

    def wait_any(self, futures: list) -> Iterable:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def lost_worker(self, exc: BaseException) -> bool:
        """A worker process died (killed, out of memory): the pool is broken and is started afresh."""
        if isinstance(exc, BrokenProcessPool):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return True
        return False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _exit_with_parent(parent: int) -> None:
    """In a worker: end this process once its parent is gone (``kill -9`` of the sweep), rather than
    wait for tasks forever, holding memory and the parent's output pipes."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class DaskPool:
    """Tasks on a Dask cluster: ``address`` of a running scheduler, or a ``LocalCluster`` of
    ``local_workers`` processes started here."""

    def __init__(self, address: str | None = None, local_workers: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ModuleNotFoundError:
            raise InputError("--scheduler", "scheduler", "needs dask.distributed: pip install 'snnemu[distributed]'") \
                from None
        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(n_workers=local_workers or 1, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None)
            address = self._cluster.scheduler_address
        try:
            self.client = Client(address, timeout="10s")
        except OSError as exc:
            raise InputError("--scheduler", "scheduler", f"cannot reach the Dask scheduler {address}: {exc}") \
                from None

    def submit(self, fn: Callable, task):
        return self.client.submit(fn, task, pure=False)

    def wait_any(self, futures: list) -> Iterable:
        from dask.distributed import wait as dask_wait

        return dask_wait(futures, return_when="FIRST_COMPLETED").done

    def lost_worker(self, exc: BaseException) -> bool:
        return False  # the scheduler already reran the task elsewhere (KilledWorker: it gave up)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_pool(workers: int = 1, scheduler: str | None = None, local_cluster: int | None = None):
    """The pool the options ask for: a Dask scheduler address, a Dask LocalCluster, or local processes."""
    if scheduler is not None or local_cluster:
        return DaskPool(scheduler, local_cluster)
    return LocalPool(workers)


def execute(fn: Callable, tasks: list, pool, on_done: Callable, progress: Callable | None = None) -> list:
    """Run ``fn(task)`` for every task on ``pool``; ``on_done(task, result)`` for each success.

    Returns ``[(task, exception)]`` of the tasks that failed twice (see :func:`describe`). ``progress(done, total, failed)``
    is called after each finished task. With a :class:`LocalPool` of one worker the tasks run
    here, in order.
    """
    total, done, failed = len(tasks), 0, []
    if isinstance(pool, LocalPool) and pool.workers <= 1:
        for task in tasks:
            for attempt in range(RETRIES + 1):
                try:
                    result = fn(task)
                except Exception as exc:  # noqa: BLE001 - a task's failure is recorded, not raised
                    if attempt == RETRIES:
                        failed.append((task, exc))
                else:
                    on_done(task, result)
                    break
            done += 1
            if progress is not None:
                progress(done, total, len(failed))
        return failed
    first = 0
    if isinstance(pool, LocalPool) and tasks:
        # The first task runs here, before the pool forks: what it loads on first use (numba's compiled
        # kernels, the configuration) is then inherited by every worker instead of being loaded by each.
        failed = execute(fn, tasks[:1], LocalPool(1), on_done)
        done, first = 1, 1
        if progress is not None:
            progress(done, total, len(failed))
    attempts = {}
    pending = {}
    for i, task in enumerate(tasks[first:], start=first):
        pending[pool.submit(fn, task)] = i
    try:
        while pending:
            for fut in pool.wait_any(list(pending)):
                i = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001
                    if pool.lost_worker(exc):  # every task still queued on the broken pool goes again
                        attempts[i] = attempts.get(i, 0) + 1  # the one whose result came first takes the blame
                        again = list(pending.values())
                        pending.clear()
                        if attempts[i] <= RETRIES:
                            again.insert(0, i)
                        else:
                            failed.append((tasks[i], exc))
                            done += 1
                            if progress is not None:
                                progress(done, total, len(failed))
                        for j in again:
                            pending[pool.submit(fn, tasks[j])] = j
                        break
                    attempts[i] = attempts.get(i, 0) + 1
                    if attempts[i] <= RETRIES:
                        pending[pool.submit(fn, tasks[i])] = i
                        continue
                    failed.append((tasks[i], exc))
                else:
                    on_done(tasks[i], result)
                done += 1
                if progress is not None:
                    progress(done, total, len(failed))
    finally:
        pool.close()
    return failed


def describe(exc: BaseException) -> str:
    """One line for a failed task."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
