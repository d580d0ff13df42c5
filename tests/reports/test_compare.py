"""``snnemu compare``: the table equals each run's summary, ratios are to the
chosen baseline, the Markdown says what the CSV says, and bad input exits with 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_report import md_tables, num

from emulator import DEMO_MODEL, RunConfig
from emulator.cli import main
from emulator.records import write_records
from emulator.reports import plots, write_comparison
from emulator.runner import run

DEMO = "emulator/data/demo_digits.nir"


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "out"
    assert main(["compare", "--model", DEMO, "--hw", "loihi", "--hw", "seneca", "--modes", "layered,async:momentum",
                 "--samples", "6", "--out", str(out)]) == 0
    return out


def test_every_combination_ran(compared):
    runs = sorted(p.name for p in (compared / "runs").iterdir())
    assert runs == ["demo_digits-loihi-async-momentum", "demo_digits-loihi-layered",
                    "demo_digits-seneca-async-momentum", "demo_digits-seneca-layered"]
    df = pd.read_csv(compared / "comparison.csv")
    assert list(df.label) == ["loihi / layered", "loihi / async:momentum", "seneca / layered", "seneca / async:momentum"]
    assert set(df.queue.fillna("")) == {"", "momentum"}


def test_csv_equals_the_summaries_and_ratios_are_to_the_first_row(compared):
    df = pd.read_csv(compared / "comparison.csv")
    for row in df.itertuples():
        s = json.loads((compared / "runs" / row.folder.split("/")[-1] / "summary.json").read_text())
        n = s["samples"]
        assert row.energy_per_inference_j == pytest.approx(s["energy_per_inference_j"], rel=1e-12)
        assert row.latency_mean_s == pytest.approx(s["latency_s"]["mean"], rel=1e-12)
        assert row.sops_per_inference == pytest.approx(s["synaptic_events"] / n)
        assert row.hops_per_inference == pytest.approx(s["hops"] / n)
        assert row.energy_static_per_inference_j == pytest.approx(s["energy_j"]["static"] / n, rel=1e-12)
        assert row.edp_js == pytest.approx(s["edp_js"], rel=1e-12)
        assert row.decision_mean_s == pytest.approx(s["decision_s"]["mean"], rel=1e-12)
        assert row.first_correct_mean_s == pytest.approx(s["first_correct_s"]["mean"], rel=1e-12)
        assert row.decision_energy_per_inference_j == pytest.approx(s["decision_energy_per_inference_j"], rel=1e-12)
    for col in ("energy_per_inference_j", "latency_mean_s", "spikes_per_inference"):
        assert list(df[f"{col}_ratio"]) == pytest.approx(list(df[col] / df[col].iloc[0]))
    assert df.energy_per_inference_j_ratio.iloc[0] == 1.0


def test_markdown_table_equals_the_csv(compared):
    df = pd.read_csv(compared / "comparison.csv")
    runs = next(t for t in md_tables((compared / "comparison.md").read_text()) if "energy / inf. (pJ)" in t.columns)
    assert list(runs.run) == list(df.label)
    assert [num(v) for v in runs["energy / inf. (pJ)"]] == pytest.approx(list(df.energy_per_inference_j * 1e12), abs=0.05)
    assert [num(v) for v in runs["mean latency (ns)"]] == pytest.approx(list(df.latency_mean_s * 1e9), abs=0.05)
    assert [num(v) / 100 for v in runs["accuracy (%)"]] == pytest.approx(list(df.accuracy), abs=5e-5)
    assert [num(v) for v in runs["decision (ns)"]] == pytest.approx(list(df.decision_mean_s * 1e9), abs=0.05)
    html = (compared / "comparison.html").read_text()
    assert html.count("data:image/png;base64,") == 4 == len(list(compared.glob("compare_*.png")))


def test_runs_and_baseline_by_label(compared, tmp_path):
    folders = sorted(str(p) for p in (compared / "runs").iterdir())
    out = tmp_path / "again"
    assert main(["compare", "--runs", *folders, "--baseline", "seneca / layered", "--out", str(out)]) == 0
    df = pd.read_csv(out / "comparison.csv")
    base = df[df.label == "seneca / layered"].iloc[0]
    assert list(df.energy_per_inference_j_ratio) == pytest.approx(list(df.energy_per_inference_j
                                                                       / base.energy_per_inference_j))
    assert main(["compare", "--runs", *folders, "--baseline", "2", "--out", str(out)]) == 0  # rewrite is fine
    assert pd.read_csv(out / "comparison.csv").latency_mean_s_ratio.iloc[1] == 1.0


@pytest.mark.parametrize("args, field", [
    (["--model", DEMO, "--modes", "warp"], "modes"),
    (["--model", DEMO, "--modes", "layered:fifo"], "modes"),
    (["--model", DEMO, "--modes", "async:bogus"], "modes"),
    ([], "model"),
    (["--runs", "nowhere"], "summary.json"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, args, field):
    assert main(["compare", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0]


def test_baseline_out_of_range_and_foreign_out(compared, tmp_path, capsys):
    folders = [str(p) for p in (compared / "runs").iterdir()]
    assert main(["compare", "--runs", *folders, "--baseline", "9", "--out", str(tmp_path / "o")]) == 2
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["compare", "--runs", *folders, "--out", str(mine)]) == 2
    assert "notes.txt" in capsys.readouterr().err and (mine / "notes.txt").read_text() == "keep"


def test_runs_that_share_a_label_stay_apart(compared, tmp_path):
    """The same run folder twice (or runs that differ only in NoC or seed) get numbered labels."""
    folder = str(next((compared / "runs").iterdir()))
    out = tmp_path / "twice"
    assert main(["compare", "--runs", folder, folder, "--out", str(out)]) == 0
    labels = list(pd.read_csv(out / "comparison.csv").label)
    assert len(set(labels)) == 2 and labels[0].endswith("#1") and labels[1].endswith("#2")


def test_a_bad_run_number_is_refused_before_running(tmp_path, capsys):
    assert main(["compare", "--model", DEMO, "--modes", "layered,async", "--baseline", "3",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--baseline" in capsys.readouterr().err and not (tmp_path / "o" / "runs").exists()


# --- the log rule and the labels in the plots (the Python API: no run grid) -------------------------------------

@pytest.fixture(scope="module")
def three_chips(tmp_path_factory):
    """Loihi, SENECA and TrueNorth in layered mode: TrueNorth's energy per inference is over 100x the others'."""
    root = tmp_path_factory.mktemp("chips")
    return [write_records(run(RunConfig(model=DEMO_MODEL, hw=hw, mode=mode, samples=3)), root / f"{hw}-{mode}")
            for hw, mode in (("loihi", "layered"), ("seneca", "layered"), ("truenorth", "layered"),
                             ("loihi", "timestep"))]


@pytest.fixture
def drawn(monkeypatch):
    """What each figure drew, by file name: per axes its x and y scale, and the texts of its annotations."""
    seen, save = {}, plots._save

    def record(fig, path):
        seen[path.name] = [(ax.get_xscale(), ax.get_yscale(), [t.get_text() for t in ax.texts]) for ax in fig.axes]
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", record)
    return seen


def test_energies_100x_apart_get_a_log_axis(three_chips, drawn, tmp_path):
    totals = [json.loads((f / "summary.json").read_text())["energy_per_inference_j"] for f in three_chips[:3]]
    assert max(totals) / min(totals) > 100  # the case the log rule is for
    write_comparison(three_chips[:3], tmp_path / "c")
    assert drawn["compare_energy.png"][0][0] == "log" and drawn["compare_energy.png"][1][0] == "linear"  # shares
    assert drawn["compare_accuracy_latency.png"][0][0] == "log"
    md = (tmp_path / "c" / "comparison.md").read_text()
    assert "the total on a logarithmic axis" in md and "The latency axis is logarithmic" in md


def test_energies_within_10x_stay_linear_and_stacked(three_chips, drawn, tmp_path):
    write_comparison([three_chips[0], three_chips[3]], tmp_path / "c")  # loihi layered and timestep
    assert drawn["compare_energy.png"][0][0] == "linear" and drawn["compare_accuracy_latency.png"][0][0] == "linear"
    assert "logarithmic" not in (tmp_path / "c" / "comparison.md").read_text()


def test_runs_on_the_same_spot_share_one_label(three_chips, drawn, tmp_path):
    write_comparison([three_chips[0], three_chips[0], three_chips[1]], tmp_path / "c")  # the same run twice
    assert sorted(drawn["compare_accuracy_latency.png"][0][2]) == ["1, 2", "3"]
