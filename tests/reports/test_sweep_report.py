"""The sweep report: the Pareto front is the set of non-dominated configurations, the log rule switches at a span
of 10, coinciding points share one label and no label overprints another, and ``write_sweep_report`` writes the
table, the fronts, one small-multiples figure per axis that varies and the failed configurations; in a browser
the table sorts by the clicked column."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from test_report import md_tables

from emulator import DEMO_MODEL, RunConfig
from emulator.errors import InputError
from emulator.records import write_records
from emulator.reports import Document, pareto_front, plots, write_sweep_report
from emulator.runner import run

NAN = float("nan")


# --- the Pareto front ---------------------------------------------------------------------------------------------

def test_a_known_front():
    # costs and accuracies: 4 is beaten by 3 (cheaper, more accurate), 5 by 2
    x = np.array([1.0, 2.0, 3.0, 4.0, 2.5])
    y = np.array([0.5, 0.7, 0.9, 0.8, 0.6])
    assert pareto_front(x, y).tolist() == [True, True, True, False, False]


def test_ties_and_weak_domination():
    assert pareto_front(np.array([1.0, 1.0, 2.0]), np.array([0.5, 0.5, 0.5])).tolist() == [True, True, False]
    assert pareto_front(np.array([1.0, 1.0]), np.array([0.5, 0.4])).tolist() == [True, False]  # same cost, worse
    assert pareto_front(np.array([1.0, 2.0]), np.array([0.5, 0.5])).tolist() == [True, False]  # same accuracy, dearer


def test_nan_is_never_on_the_front_and_dominates_nothing():
    x = np.array([NAN, 1.0, 2.0, 0.5])
    y = np.array([0.99, 0.5, 0.6, NAN])
    assert pareto_front(x, y).tolist() == [False, True, True, False]
    assert pareto_front(np.array([NAN]), np.array([NAN])).tolist() == [False]


# --- the log rule and the labels of coinciding points ----------------------------------------------------------

@pytest.mark.parametrize("values, scale", [
    ([1.0, 9.9], "linear"), ([1.0, 10.1], "log"), ([2.0, 20.0], "linear"),  # a factor of exactly 10 stays linear
    ([0.0, -5.0, 1.0, 9.9, NAN, None], "linear"), ([0.0, -100.0, 1.0, 10.1], "log"),  # non-positive ones ignored
    ([], "linear"), ([0.0, 0.0], "linear"), ([3e-12, 3e-9], "log"),
])
def test_scale_for(values, scale):
    assert plots.scale_for(values) == scale


def test_a_log_axis_that_must_show_zero_is_symmetric_log():
    fig, ax = plt.subplots()
    assert plots.set_scale(ax, "x", np.array([0.0, 1.0, 100.0])) == "log"
    assert ax.get_xscale() == "symlog"
    assert plots.set_scale(ax, "y", np.array([1.0, 100.0])) == "log" and ax.get_yscale() == "log"
    plt.close(fig)


def test_near_groups_join_points_within_two_percent_in_chains():
    pts = np.array([[0.10, 0.5], [0.115, 0.5], [0.13, 0.51], [0.5, 0.5], [0.5, 0.9]])
    assert sorted(plots.near_groups(pts)) == [[0, 1, 2], [3], [4]]


def test_coinciding_points_share_one_label():
    """On a log axis 1.00 and 1.01 µs coincide (one label for both), 1 µs and 2 µs do not."""
    fig, ax = plt.subplots(layout="constrained", figsize=(6, 4))
    x, y = np.array([1e-6, 1.01e-6, 2e-6, 1e-3]), np.array([50.0, 50.0, 50.0, 50.0])
    ax.scatter(x, y)
    ax.set_xscale("log")
    assert sorted(plots.label_points(ax, x, y, ["1", "2", "3", "4"])) == [[0, 1], [2], [3]]
    assert sorted(t.get_text() for t in ax.texts) == ["1, 2", "3", "4"]
    plt.close(fig)


def test_no_label_overprints_another():
    """Points just over 2% apart keep their own labels, too long to sit side by side: they are moved apart."""
    fig, ax = plt.subplots(layout="constrained", figsize=(6, 4))
    x, y = np.array([0.0, 0.03, 0.06, 0.09, 1.0]), np.array([0.5, 0.5, 0.5, 0.5, 0.0])
    ax.scatter(x, y)
    groups = plots.label_points(ax, x, y, ["alpha", "bravo", "charlie", "delta", "echo"])
    assert len(groups) == len(ax.texts) == 5
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), [t.get_text() for t in ax.texts]
    plt.close(fig)


# --- the report -----------------------------------------------------------------------------------------------

CONFIGS = [  # name: (hw, mode, samples, engine); the functional run first, so that "n/a last" means something
    ("reference", "loihi", "layered", 3, "functional"), ("loihi-layered", "loihi", "layered", 3, "chip"), ("loihi-async", "loihi", "async", 3, "chip"),
    ("seneca-layered", "seneca", "layered", 3, "chip"), ("seneca-async", "seneca", "async", 3, "chip"),
    ("truenorth-layered", "truenorth", "layered", 3, "chip"), ("truenorth-layered-4", "truenorth", "layered", 4, "chip"),
]
FAILED = [("truenorth-async", "DeadlockError: the chip stopped making progress")]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    folders = []
    for name, hw, mode, samples, engine in CONFIGS:
        res = run(RunConfig(model=DEMO_MODEL, hw=hw, mode=mode, samples=samples, engine=engine))
        folders.append(write_records(res, root / "runs" / name))
    axes = pd.DataFrame({"hw": [c[1] for c in CONFIGS], "mode": [c[2] for c in CONFIGS],
                         "samples": [c[3] for c in CONFIGS], "engine": [c[4] for c in CONFIGS],
                         "model": "demo_digits", "noc.hop_latency_s.east_west": 1e-9})
    out = root / "out"
    page = write_sweep_report(folders, axes, out, FAILED)
    return out, page, axes


def _section(text: str, start: str, end: str | None = None) -> str:
    part = text[text.index(start):]
    return part[:part.index(end)] if end else part


def test_the_files(sweep):
    out, page, _ = sweep
    assert page == out / "sweep.html" and page.is_file()
    assert (out / "sweep.md").is_file() and (out / "sweep_table.csv").is_file()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs and all(p.startswith("sweep_") for p in pngs)
    assert page.read_text().count("data:image/png;base64,") == len(pngs)


def test_the_csv_has_one_row_per_configuration_with_its_axes_and_metrics(sweep):
    out, _, axes = sweep
    df = pd.read_csv(out / "sweep_table.csv")
    assert list(df.config) == [c[0] for c in CONFIGS]
    assert list(df.columns[:1 + len(axes.columns)]) == ["config", *axes.columns]
    assert list(df["samples"]) == [c[3] for c in CONFIGS]
    for row in df.itertuples():
        s = json.loads((out.parent / "runs" / row.config / "summary.json").read_text())
        assert row.accuracy == pytest.approx(s["accuracy"])
        if s["energy_per_inference_j"] is None:
            assert np.isnan(row.energy_per_inference_j) and row.engine == "functional"
        else:
            assert row.energy_per_inference_j == pytest.approx(s["energy_per_inference_j"], rel=1e-12)
            assert row.latency_mean_s == pytest.approx(s["latency_s"]["mean"], rel=1e-12)


def test_the_table_lists_every_configuration_sortably(sweep):
    out, page, _ = sweep
    text = page.read_text()
    table = _section(text, '<table class="sortable">', "</table>")
    assert all(f'<td class="text">{name}</td>' in table for name, *_ in CONFIGS)
    assert '<div class="table-wrap"><table class="sortable">' in text and "overflow-x: auto" in text
    assert "<script>" in text and 'querySelectorAll("table.sortable")' in text
    md = next(t for t in md_tables((out / "sweep.md").read_text()) if "config" in t.columns)
    assert list(md.config) == [c[0] for c in CONFIGS]
    assert list(md.columns[:4]) == ["#", "config", "hw", "mode"] and "energy / inf. (pJ)" in md.columns
    ref = md[md.config == "reference"].iloc[0]
    assert ref["energy / inf. (pJ)"] == "n/a" and ref["mean latency (ns)"] == "n/a"


@pytest.mark.parametrize("cost, name", [("energy_per_inference_j", "energy per inference"),
                                        ("latency_mean_s", "mean latency"), ("decision_mean_s", "mean decision time")])
def test_the_pareto_text_names_exactly_the_non_dominated(sweep, cost, name):
    out, page, _ = sweep
    df = pd.read_csv(out / "sweep_table.csv")
    front = pareto_front(df[cost].to_numpy(float), df.accuracy.to_numpy(float))
    assert front.any()
    text = html.unescape(page.read_text())
    line = re.search(rf"<p>Non-dominated in accuracy against {name}, cheapest first: (.*?)</p>", text)[1]
    named = [re.match(r"\d+ (\S+) ", item)[1] for item in line.rstrip(".").split("; ")]
    assert sorted(named) == sorted(df.config[front])
    caption = re.search(rf"<figcaption>Accuracy against {name},(.*?)</figcaption>", text)[1]
    assert "Left out" in caption and "reference" in caption and "functional" in caption  # no hardware figures


def test_one_small_multiples_figure_per_axis_that_varies(sweep):
    out, _, axes = sweep
    varied = ["hw", "mode", "samples", "engine"]  # model and the hop latency take one value each
    assert sorted(p.name for p in out.glob("sweep_axis_*.png")) == sorted(
        f"sweep_axis_{i + 1}_{a}.png" for i, a in enumerate(varied))
    md = (out / "sweep.md").read_text()
    assert "The same in every configuration: model = demo_digits; noc.hop_latency_s.east_west = 1e-09." in md


def test_the_failed_configurations_are_listed_with_their_error(sweep):
    out, page, _ = sweep
    failed = next(t for t in md_tables((out / "sweep.md").read_text()) if "error" in t.columns)
    assert failed.values.tolist() == [list(f) for f in FAILED]
    assert "<h2>Failed configurations</h2>" in page.read_text()
    assert "7 configurations completed, 1 failed." in page.read_text()


def test_no_failed_section_without_failures_and_stale_figures_go(sweep, tmp_path):
    out, _, axes = sweep
    folders = [out.parent / "runs" / name for name, *_ in CONFIGS[1:3]]
    again = tmp_path / "again"
    again.mkdir()
    (again / "sweep_axis_9_old.png").write_bytes(b"not ours any more")
    (again / "notes.txt").write_text("keep")  # a sweep's folder holds other things: they stay
    page = write_sweep_report(folders, axes.iloc[1:3][["mode"]], again)
    assert "Failed configurations" not in page.read_text()
    assert [p.name for p in again.glob("sweep_axis_*.png")] == ["sweep_axis_1_mode.png"]
    assert (again / "notes.txt").read_text() == "keep"


def test_axes_must_match_the_folders(sweep, tmp_path):
    out, _, axes = sweep
    with pytest.raises(InputError, match="axes"):
        write_sweep_report([out.parent / "runs" / "loihi-async"], axes, tmp_path / "x")
    with pytest.raises(InputError, match="accuracy"):
        write_sweep_report([out.parent / "runs" / "loihi-async"], pd.DataFrame({"accuracy": [1]}), tmp_path / "x")


def test_a_sortable_table_keeps_its_markdown():
    df = pd.DataFrame({"name": ["a", "b"], "value": ["1.0", "n/a"]})
    plain, sortable = Document("t"), Document("t")
    plain.table(df)
    sortable.table(df, sortable=True)
    assert plain.to_markdown() == sortable.to_markdown()
    assert "<script>" not in plain.to_html() and "<script>" in sortable.to_html()


# --- sorting in a browser -----------------------------------------------------------------------------------------

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

# Appended to a copy of the page: after load, click the named header (once or twice) and record the order of the
# config column.
CLICK = """<script>window.addEventListener("load", () => {
  const table = document.querySelector("table.sortable");
  const heads = [...table.tHead.rows[0].cells];
  const head = heads.find(h => h.textContent.startsWith(HEADER));
  const col = heads.findIndex(h => h.textContent.startsWith("config"));
  for (let i = 0; i < CLICKS; i++) head.click();
  document.body.setAttribute("data-order", JSON.stringify([...table.tBodies[0].rows].map(r => r.cells[col].textContent)));
});</script>"""


def _order_after_clicks(page, tmp_path, header: str, clicks: int) -> list[str]:
    probe = tmp_path / f"probe-{clicks}.html"
    probe.write_text(page.read_text().replace("</body>", CLICK.replace("HEADER", json.dumps(header))
                                              .replace("CLICKS", str(clicks)) + "</body>"))
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'data-order="([^"]*)"', proc.stdout)
    assert m, f"Chromium gave no page (exit {proc.returncode}): {proc.stderr[-500:]}"
    return json.loads(html.unescape(m[1]))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_clicking_a_header_sorts_numerically_with_na_last(sweep, tmp_path):
    out, page, _ = sweep
    df = pd.read_csv(out / "sweep_table.csv")
    known = df.dropna(subset=["energy_per_inference_j"])
    up = list(known.sort_values("energy_per_inference_j", kind="stable").config) + ["reference"]
    down = list(known.sort_values("energy_per_inference_j", ascending=False, kind="stable").config) + ["reference"]
    assert _order_after_clicks(page, tmp_path, "energy / inf.", 1) == up
    assert _order_after_clicks(page, tmp_path, "energy / inf.", 2) == down
    assert _order_after_clicks(page, tmp_path, "config", 1) == sorted(df.config)
