"""Progress without a terminal: plain lines with counts, failures and an ETA, at most one per interval."""

from __future__ import annotations

import io

from emulator.progress import Progress


def test_without_a_terminal_progress_prints_plain_lines():
    stream = io.StringIO()
    progress = Progress("sweep", "task", every_s=0.0, stream=stream)
    for done in range(1, 5):
        progress(done, 4, failed=done // 4)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    assert lines[0].startswith("sweep: 1/4 tasks, 0 failed, ") and "ETA" in lines[0]
    assert lines[-1].startswith("sweep: 4/4 tasks, 1 failed, ") and "ETA" not in lines[-1]


def test_lines_are_spaced_by_the_interval_but_the_last_always_shows():
    stream = io.StringIO()
    progress = Progress("run", "sample", every_s=3600.0, stream=stream)
    for done in range(1, 101):
        progress(done, 100)
    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["run: 1/100 samples", "run: 100/100 samples"]


def test_what_a_step_reports_is_shown_beside_its_count():
    stream = io.StringIO()
    progress = Progress("epoch 3", "batch", every_s=0.0, stream=stream)
    progress(1, 2, loss="0.512", acc="0.750")
    assert stream.getvalue().startswith("epoch 3: 1/2 batches, loss 0.512, acc 0.750, ")
