"""The task engine: a worker process that dies is replaced and its task runs again; a task that keeps
killing its worker is recorded as failed instead of looping."""

from __future__ import annotations

import os

from emulator.parallel import LocalPool, execute

PARENT = os.getpid()


def crash_once_in_a_worker(task):
    """Task 3 kills its worker process the first time it runs in one (a marker file remembers)."""
    n, marker = task
    if n == 3 and os.getpid() != PARENT and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return n * n


def crash_always_in_a_worker(task):
    n, _ = task
    if n == 3 and os.getpid() != PARENT:
        os._exit(1)
    return n * n


def test_a_lost_worker_is_replaced_and_its_task_runs_again(tmp_path):
    marker = str(tmp_path / "crashed")
    got = {}
    failed = execute(crash_once_in_a_worker, [(n, marker) for n in range(6)], LocalPool(2),
                     lambda task, result: got.__setitem__(task[0], result))
    assert failed == [] and got == {n: n * n for n in range(6)} and os.path.exists(marker)


def test_a_task_that_always_kills_its_worker_fails_and_the_run_ends(tmp_path):
    got = {}
    failed = execute(crash_always_in_a_worker, [(n, None) for n in range(6)], LocalPool(2),
                     lambda task, result: got.__setitem__(task[0], result))
    assert (3, None) in [task for task, _ in failed]
    assert 3 not in got and len(got) + len(failed) == 6
