"""The study's smoke version (tiny models, few samples, one seed): its table is recomputed from the run
folders, and the document carries what the full study must state."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch", reason="the study trains its models: the [train] extra (torch)")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import paper_study  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    assert paper_study.main(["--smoke", "--out", str(out / "build"), "--doc", str(out / "doc" / "study.md")]) == 0
    return out


def test_every_model_runs_under_every_condition(smoke):
    plan = paper_study.Plan.smoke()
    runs = pd.read_csv(smoke / "build" / "runs.csv")
    assert len(runs) == len(paper_study.KINDS) * len(plan.seeds) * len(paper_study.conditions(plan))
    assert set(runs.kind) == set(paper_study.KINDS)
    stopped = runs[runs.condition.str.endswith(" stop") & runs.condition.str.startswith("chip")]
    assert len(stopped) == len(paper_study.KINDS) * 3 * len(plan.profiles) and (stopped.decision_us > 0).all()


def test_the_table_is_the_run_folders(smoke):
    """Each row of the table is read from its run folder's summary; change a folder and the table follows."""
    build = smoke / "build"
    folder = paper_study.run_folder(build, "digits", "layered", 0, "chip loihi async fifo")
    summary = json.loads((folder / "summary.json").read_text())
    _, table = paper_study.table_from_runs(build)
    row = table[(table.condition == "chip loihi async fifo") & (table.kind == "layered")].iloc[0]
    assert row.accuracy == pytest.approx(100 * summary["accuracy"])
    assert row.spikes == pytest.approx(summary["spikes"]["total"] / summary["samples"])
    assert row.decision_us == pytest.approx(summary["decision_s"]["mean"] * 1e6)
    assert row.energy_nj == pytest.approx(summary["energy_per_inference_j"] * 1e9)
    summary["accuracy"] = 0.125
    (folder / "summary.json").write_text(json.dumps(summary))
    _, again = paper_study.table_from_runs(build)
    assert again[(again.condition == "chip loihi async fifo") & (again.kind == "layered")].iloc[0].accuracy == 12.5


def test_the_document_states_command_commit_seeds_and_figures(smoke):
    text = (smoke / "doc" / "study.md").read_text()
    for needed in ("- command: `python scripts/paper_study.py --smoke", "- commit: `",
                   "- wall time of the whole study (training and every run):", "- seeds: 0",
                   "## The paper's claims beside the measurements", "## Why hardware timing changes the picture",
                   "chip loihi async fifo"):
        assert needed in text
    figures = sorted((smoke / "doc" / "figures").glob("study_*.png"))
    assert len(figures) == 5 and all(f.stat().st_size > 5000 for f in figures)
    assert all(f"figures/{f.name}" in text for f in figures)


def test_a_second_invocation_says_what_it_reused(smoke, tmp_path):
    """Models and run folders already there are reused; the document says so beside its wall time, which
    then covers only what this invocation made."""
    first = (smoke / "doc" / "study.md").read_text()
    assert "wall time of the whole study" in first and "reusing" not in first  # the fixture's run made everything
    doc = tmp_path / "again.md"
    assert paper_study.main(["--smoke", "--out", str(smoke / "build"), "--doc", str(doc)]) == 0
    runs = len(pd.read_csv(smoke / "build" / "runs.csv"))
    models = len(paper_study.KINDS) * len(paper_study.Plan.smoke().seeds)
    text = doc.read_text()
    assert f"cores), of an invocation that trained 0 of {models} models and made 0 of {runs} runs, reusing the rest " \
           "from `build`" in text
