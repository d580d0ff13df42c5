"""The README's Python API example runs as printed, and says what the records say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_and_prints_the_records(tmp_path):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "api_out" / "summary.json").read_text())
    assert (summary["mode"], summary["hw"], summary["samples"]) == ("async", "loihi", 50)
    out = proc.stdout
    assert out.startswith("2 layers, 138 neurons, dt 0.001 s")  # 64 inputs + 64 + 10
    assert f"{summary['accuracy']}" in out
    last = float(out.strip().splitlines()[-1])  # the mean of per_sample.csv's latencies
    assert abs(last - summary["latency_s"]["mean"]) <= 1e-9 * summary["latency_s"]["mean"]
