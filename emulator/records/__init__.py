"""The records contract: run folders written and read here, for both engines.

``write_records(result, out)`` writes the folder of a chip run
(``emulator.runner.RunResult``) or of a functional-reference run
(``emulator.functional.FunctionalRun``), chosen by the result's ``engine``;
``load_run`` reads one back. The trace writer (:class:`Tracer`) is here too,
since ``events.parquet`` is a record. See docs/design.md, "Records".
"""

from __future__ import annotations

import os
from pathlib import Path

from .chip import per_core_table, per_link_table, write_chip_records
from .folder import RECORD_FILES, REPORT_FILES, SCHEMA, check_out_dir, is_run_folder, stats, write_folder, write_json
from .functional import events_table, write_functional_records
from .read import RunFolder, load_run
from .summary import chip_summary, functional_summary
from .trace import COLUMNS, Tracer

__all__ = ["COLUMNS", "RECORD_FILES", "REPORT_FILES", "SCHEMA", "WRITERS", "RunFolder", "Tracer", "check_out_dir",
           "events_table", "is_run_folder", "load_run", "per_core_table", "per_link_table", "stats", "summarize",
           "write_folder", "write_json", "write_records"]

WRITERS = {"chip": (write_chip_records, chip_summary), "functional": (write_functional_records, functional_summary)}


def write_records(result, out: str | os.PathLike) -> Path:
    """Write a run's folder atomically, for the engine that made ``result``; returns its path."""
    return WRITERS[result.engine][0](result, out)


def summarize(result) -> dict:
    """The ``summary.json`` of a run, for the engine that made ``result``."""
    return WRITERS[result.engine][1](result)
