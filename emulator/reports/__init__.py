"""Reports: read run folders (``emulator.records``) and write documents and figures; never run anything.

See docs/design.md, "Records" and "Architecture".
"""

from . import plots
from .compare import METRICS, baseline_index, check_out, comparison_table, write_comparison
from .document import Document
from .report import write_report
from .sweep import pareto_front, sweep_table, write_sweep_report

__all__ = ["METRICS", "Document", "plots", "baseline_index", "check_out", "comparison_table", "pareto_front",
           "sweep_table", "write_comparison", "write_report", "write_sweep_report"]
