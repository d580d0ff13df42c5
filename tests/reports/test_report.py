"""``snnemu report``: every number in report.md equals the run folder's records,
recomputed here from summary.json, per_sample.csv, per_core.csv, per_link.csv
and events.parquet; the HTML embeds every figure; bad input exits with 2."""

from __future__ import annotations

import base64
import json
import re
import statistics

import numpy as np
import pandas as pd
import pytest
from builders import profile, random_frames, random_net
from scipy import stats as sps

from emulator.cli import main
from emulator.config import RunConfig
from emulator.records import write_records
from emulator.reports import write_report
from emulator.runner import run_network

CATS = ("synaptic", "neuron", "spike_out", "noc", "io", "barrier", "static")


def md_tables(text: str) -> list[pd.DataFrame]:
    """Every Markdown table of ``text`` as a DataFrame of strings."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            block.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif block:
            tables.append(pd.DataFrame(block[2:], columns=block[0]))
            block = []
    return tables


def table_with(tables, first_col: str) -> pd.DataFrame:
    return next(t for t in tables if t.columns[0] == first_col)


def num(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """An async run on a 2 x 2 mesh, one core per tile and one layer per core, so packets cross
    links in both directions, with a trace."""
    net = random_net([12, 10, 8, 4], seed=3)
    frames = random_frames(12, 5, 12, 0.4, seed=4)
    res = run_network(net, profile(mesh__width=2, mesh__height=2), frames, np.arange(12) % 4,
                      RunConfig(model="r", mode="async", trace=True, mapping="spread:1"))
    out = write_records(res, tmp_path_factory.mktemp("rep") / "run")
    write_report(out)
    return out


@pytest.fixture(scope="module")
def md(run_dir):
    return md_tables((run_dir / "report.md").read_text())


def summary(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_header_equals_summary_and_per_sample(run_dir, md):
    s = summary(run_dir)
    head = dict(table_with(md, "figure").values.tolist())
    n = s["samples"]
    assert head["samples"] == str(n)
    assert num(head["accuracy (%)"]) == pytest.approx(100 * s["accuracy"], abs=0.005)
    assert num(head["energy per inference (pJ)"]) == pytest.approx(s["energy_per_inference_j"] * 1e12, abs=0.05)
    assert num(head["mean latency (ns)"]) == pytest.approx(s["latency_s"]["mean"] * 1e9, abs=0.05)
    assert num(head["p95 latency (ns)"]) == pytest.approx(s["latency_s"]["p95"] * 1e9, abs=0.05)
    assert num(head["SOPs per inference"]) == pytest.approx(s["synaptic_events"] / n, abs=0.005)
    assert num(head["hops per inference"]) == pytest.approx(s["hops"] / n, abs=0.005) and s["hops"] > 0
    assert float(head["EDP (pJ·ns)"]) == pytest.approx(s["edp_js"] * 1e21, rel=1e-4)
    # the 95% interval of the mean over samples, recomputed with the statistics module and Student's t
    e = pd.read_csv(run_dir / "per_sample.csv").energy_j.tolist()
    half = sps.t.ppf(0.975, len(e) - 1) * statistics.stdev(e) / len(e) ** 0.5
    assert num(head["energy 95% interval low (pJ)"]) == pytest.approx((statistics.mean(e) - half) * 1e12, abs=0.05)
    assert num(head["energy 95% interval high (pJ)"]) == pytest.approx((statistics.mean(e) + half) * 1e12, abs=0.05)
    assert "custom (test profile)" in head["profile"]
    assert head["early decision"] == "none (each sample runs all its frames)"
    assert num(head["mean decision time (ns)"]) == pytest.approx(s["decision_s"]["mean"] * 1e9, abs=0.05)
    assert num(head["mean time to first correct output (ns)"]) == pytest.approx(s["first_correct_s"]["mean"] * 1e9,
                                                                                 abs=0.05)


def test_the_header_says_how_many_samples_an_early_decision_stopped(tmp_path):
    net = random_net([12, 10, 4], seed=3)
    frames = random_frames(5, 5, 12, 0.5, seed=4)
    res = run_network(net, profile(), frames, np.arange(5) % 4,
                      RunConfig(model="r", mode="async", stop_on_output=1))
    out = write_records(res, tmp_path / "run")
    write_report(out)
    head = dict(table_with(md_tables((out / "report.md").read_text()), "figure").values.tolist())
    stopped = sum(r["stopped"] for r in res.per_sample)
    assert 0 < stopped and head["early decision"] == f"1 output spikes after the first ({stopped} of 5 samples stopped early)"
    assert num(head["decision energy per inference (pJ)"]) == pytest.approx(summary(out)["decision_energy_per_inference_j"] * 1e12, abs=0.05)


def test_energy_tables_equal_summary_and_cores(run_dir, md):
    s = summary(run_dir)
    n = s["samples"]
    cat = table_with(md, "category").set_index("category")
    for c in CATS:
        assert num(cat.loc[c, "pJ per inference"]) == pytest.approx(s["energy_j"][c] / n * 1e12, abs=0.05)
        assert num(cat.loc[c, "share (%)"]) == pytest.approx(100 * s["energy_j"][c] / s["energy_j"]["total"], abs=0.005)
    assert num(cat.loc["total", "pJ per inference"]) == pytest.approx(s["energy_j"]["total"] / n * 1e12, abs=0.05)
    part = table_with(md, "part").set_index("part")
    assert num(part.loc["static", "pJ per inference"]) == pytest.approx(s["energy_j"]["static"] / n * 1e12, abs=0.05)
    cores = pd.read_csv(run_dir / "per_core.csv")
    layers = next(t for t in md if list(t.columns) == ["layer", "cores", "pJ per inference", "share (%)"])
    by_layer = cores.groupby(cores.layer.fillna("(no neurons)")).energy_j.sum() / n * 1e12
    for row in layers.itertuples(index=False):
        assert num(row[2]) == pytest.approx(by_layer[row[0]], abs=0.05)
    assert sum(num(v) for v in layers["pJ per inference"]) == pytest.approx(s["energy_j"]["total"] / n * 1e12, abs=0.5)
    in_use = table_with(md, "cores")
    used = cores.neurons > 0
    assert list(in_use.cores) == [f"cores in use ({used.sum()})", f"the rest of the chip ({(~used).sum()} cores)"]
    assert num(in_use["pJ per inference"][0]) == pytest.approx(cores.energy_j[used].sum() / n * 1e12, abs=0.05)
    assert num(in_use["pJ per inference"][1]) == pytest.approx(cores.energy_j[~used].sum() / n * 1e12, abs=0.05)


@pytest.fixture(scope="module")
def io_run_dir(tmp_path_factory):
    """A timestep run whose input enters through an I/O port at tile (1,1) of the 2 x 2 mesh."""
    net = random_net([12, 10, 4], seed=3)
    hw = profile(mesh__width=2, mesh__height=2, io={"input_on_cores": False, "ports": [[1, 1]],
                                                   "latency_s": 3e-9, "energy_j": 20e-12})
    res = run_network(net, hw, random_frames(6, 4, 12, 0.4, seed=4), None, RunConfig(model="r", mode="timestep"))
    out = write_records(res, tmp_path_factory.mktemp("rep") / "io")
    write_report(out)
    return out


def test_the_energy_split_lists_the_io_ports_apart(io_run_dir):
    tables = md_tables((io_run_dir / "report.md").read_text())
    cores, n = pd.read_csv(io_run_dir / "per_core.csv"), summary(io_run_dir)["samples"]
    port = cores.unit == "io"
    assert port.tolist() == [False] * 4 + [True] and (cores.tile_x[port].tolist(), cores.tile_y[port].tolist()) == ([1], [1])
    split = table_with(tables, "cores").set_index("cores")
    assert list(split.index) == ["cores in use (2)", "I/O ports (1)", "the rest of the chip (2 cores)"]
    assert num(split.loc["I/O ports (1)", "pJ per inference"]) == pytest.approx(
        cores.energy_j[port].sum() / n * 1e12, abs=0.05)
    assert cores.energy_io_j[port].sum() == pytest.approx(cores.packets_out[port].sum() * 20e-12)
    assert "the input's packets through the I/O ports" in (io_run_dir / "report.md").read_text()
    layers = next(t for t in tables if list(t.columns) == ["layer", "cores", "pJ per inference", "share (%)"])
    assert layers.set_index("layer").loc["input", "cores"] == "0"  # its energy is the port's; it holds no core


def test_every_energy_category_has_a_colour_of_its_own():
    from emulator.reports.plots import CATEGORY_COLORS
    from hw_models.cost import CATEGORIES

    assert len({CATEGORY_COLORS[c] for c in CATEGORIES}) == len(CATEGORIES)


def test_a_folder_from_before_io_ports_reports_every_row_as_a_core(io_run_dir, tmp_path):
    """Written by snnemu 0.2.0: no unit column, no energy_io_j; the report reads it as cores without I/O energy."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(io_run_dir, old)
    cores = pd.read_csv(old / "per_core.csv")
    cores = cores[cores.unit == "core"].drop(columns=["unit", "energy_io_j"])
    cores.to_csv(old / "per_core.csv", index=False)
    s = summary(old)
    s.pop("input_on_cores")
    s["energy_j"].pop("io")
    (old / "summary.json").write_text(json.dumps(s))
    assert main(["report", str(old)]) == 0
    split = table_with(md_tables((old / "report.md").read_text()), "cores")
    assert list(split.cores) == ["cores in use (2)", "the rest of the chip (2 cores)"]


def test_activity_and_latency_tables(run_dir, md):
    s = summary(run_dir)
    n = s["samples"]
    act = next(t for t in md if "spikes per inference" in t.columns).set_index("layer")
    assert list(act.index) == list(s["spikes"]["per_layer"])
    for layer, count in s["spikes"]["per_layer"].items():
        assert num(act.loc[layer, "spikes per inference"]) == pytest.approx(count / n, abs=0.005)
    sops = sum(num(v) for v in act["SOPs per inference (into the layer)"])
    assert sops == pytest.approx(s["synaptic_events"] / n, abs=0.05)
    lat = table_with(md, "figure (ns)").set_index("figure (ns)")
    per = pd.read_csv(run_dir / "per_sample.csv").latency_s.to_numpy() * 1e9
    for col, want in (("mean", per.mean()), ("p50", np.percentile(per, 50)), ("p95", np.percentile(per, 95)),
                      ("max", per.max())):
        assert num(lat.loc["latency", col]) == pytest.approx(want, abs=0.05)


def test_links_and_queue_waits_equal_the_records(run_dir, md):
    n = summary(run_dir)["samples"]
    links = pd.read_csv(run_dir / "per_link.csv")
    busiest = table_with(md, "link")
    top = links.sort_values("packets", ascending=False).head(len(busiest))
    assert [num(v) for v in busiest["packets per inference"]] == pytest.approx(list(top.packets / n), abs=0.005)
    named = {f"({r.tile_x},{r.tile_y}) {r.direction}": r.packets / n for r in links.itertuples()}
    for name, value in zip(busiest["link"], busiest["packets per inference"]):  # each row names its own link
        assert named[name] == pytest.approx(num(value), abs=0.005)
    ev = pd.read_parquet(run_dir / "events.parquet")
    pk = ev[(ev.kind == "packet") & ev.queue_wait_s.notna()]
    waits = next(t for t in md if "median (ns)" in t.columns).set_index("core")
    assert len(waits) == pk.dst_core.nunique() > 1
    for core, w in pk.groupby("dst_core").queue_wait_s:
        assert num(waits.loc[str(core), "median (ns)"]) == pytest.approx(np.median(w) * 1e9, abs=0.05)


def test_html_is_self_contained_with_every_figure(run_dir):
    html = (run_dir / "report.html").read_text()
    pngs = sorted(run_dir.glob("report_*.png"))
    assert {p.name for p in pngs} == {"report_energy.png", "report_mesh.png", "report_latency.png",
                                      "report_activity.png", "report_raster.png", "report_queue_waits.png"}
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(p.read_bytes() for p in pngs)
    assert "<title>snnemu report: random / custom / async:fifo</title>" in html
    assert 'src="http' not in html and "<link" not in html  # nothing outside the file
    md = (run_dir / "report.md").read_text()
    assert all(f"]({p.name})" in md for p in pngs)


def test_rewriting_the_run_folder_is_allowed_after_a_report(run_dir):
    from emulator.records import check_out_dir

    assert check_out_dir(run_dir) == run_dir  # report files do not make it a foreign folder


def test_untraced_tick_run_and_out_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--model", "emulator/data/demo_digits.nir", "--samples", "3", "--mode", "layered",
                 "--out", str(out)]) == 0
    assert main(["report", str(out), "--format", "md", "--out", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "run with --trace" in text and "Tick mode" in text
    assert not (tmp_path / "rep" / "report.html").exists() and not (out / "report.md").exists()
    assert "pre-silicon" in text  # the loihi profile's notes


def test_functional_run_folder_gets_a_reduced_report(tmp_path):
    out = tmp_path / "f"
    assert main(["run", "--engine", "functional", "--model", "emulator/data/demo_digits.nir", "--samples", "4",
                 "--trace", "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "functional reference (no hardware figures)" in text and "## Energy" not in text
    assert (out / "report_raster.png").is_file()


@pytest.mark.parametrize("make, field", [
    (lambda d: None, "summary.json"),
    (lambda d: (d / "summary.json").write_text("{not json"), "summary.json"),
    (lambda d: (d / "summary.json").write_text('{"schema": "other"}'), "schema"),
])
def test_bad_run_folders_exit_2_with_one_line(tmp_path, capsys, make, field):
    d = tmp_path / "bad"
    d.mkdir()
    make(d)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0] and str(d) in err[0]


def test_bad_sample_exits_2(run_dir, capsys):
    assert main(["report", str(run_dir), "--sample", "99", "--out", str(run_dir.parent / "x")]) == 2
    assert "--sample" in capsys.readouterr().err


def test_a_bad_sample_leaves_the_earlier_report_whole(run_dir, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.glob("report*")}
    assert main(["report", str(run_dir), "--sample", "1000"]) == 2
    assert {p.name: p.read_bytes() for p in run_dir.glob("report*")} == before
