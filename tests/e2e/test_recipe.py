"""The README's snnTorch recipe, as printed (fewer epochs): train on digits, export with snnTorch's own
exporter, then ``snnemu run`` and ``snnemu compare`` with no extra flag give snnTorch's accuracy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("snntorch", reason="the [interop] extra (snntorch) is not installed")
pytest.importorskip("nirtorch", reason="snnTorch's NIR export needs nirtorch")


def recipe() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("A recipe, run by `tests/e2e/test_recipe.py`"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_recipe_runs_at_snntorchs_accuracy(tmp_path, capsys):
    code = recipe().replace("EPOCHS = 10", "EPOCHS = 2")  # the same code, shorter
    assert "EPOCHS = 2" in code
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    snntorch_acc = float(re.search(r"snnTorch test accuracy (\d\.\d+)", proc.stdout).group(1))
    model = tmp_path / "snntorch_digits.nir"
    assert main(["run", "--model", str(model), "--mode", "layered", "--out", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["nir_from"] == "snntorch" and summary["samples"] == 360
    assert summary["frame_s"] == pytest.approx(1e-3) and summary["dt_s"] == pytest.approx(1e-4, rel=1e-3)
    assert round(summary["accuracy"], 4) == snntorch_acc
    assert snntorch_acc > 0.5  # it learned something
    assert main(["compare", "--model", str(model), "--samples", "20", "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "comparison.html").is_file()
    capsys.readouterr()
