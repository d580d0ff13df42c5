"""The HTML pages render in a real browser: headless Chromium loads them, every
image decodes, and the title is right.

CI installs Chromium (``.ci/run``: ``apt-get install chromium``); where it is
absent the test is skipped and says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from emulator.cli import main

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")

# Appended to a copy of the page: after load, count the images and those that decoded.
PROBE = """<script>window.addEventListener("load", () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length;
  document.body.setAttribute("data-probe", imgs.length + "/" + ok + "/" + document.title);
});</script>"""


def render(page, tmp_path) -> tuple[int, int, str]:
    probe = tmp_path / f"probe-{page.name}"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'data-probe="(\d+)/(\d+)/([^"]*)"', proc.stdout)
    assert m, f"Chromium gave no page (exit {proc.returncode}): {proc.stderr[-500:]}"
    return int(m[1]), int(m[2]), m[3]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    runs = []
    for mode in ("layered", "async"):
        runs.append(root / mode)
        assert main(["run", "--model", "emulator/data/demo_digits.nir", "--samples", "4", "--mode", mode, "--trace",
                     "--out", str(runs[-1])]) == 0
    assert main(["report", str(runs[1])]) == 0
    assert main(["compare", "--runs", *map(str, runs), "--out", str(root / "cmp")]) == 0
    return runs[1] / "report.html", root / "cmp" / "comparison.html"


def test_report_renders_with_every_image(pages, tmp_path):
    n, ok, title = render(pages[0], tmp_path)
    assert n == ok == len(list(pages[0].parent.glob("report_*.png"))) == 6
    assert title == "snnemu report: demo_digits / loihi / async:fifo"


def test_comparison_renders_with_every_image(pages, tmp_path):
    n, ok, title = render(pages[1], tmp_path)
    assert n == ok == 4
    assert title == "snnemu comparison: layered, async:fifo"


def test_the_probe_sees_a_broken_image(pages, tmp_path):
    """The check can fail: a page with one undecodable image counts it as not loaded."""
    broken = tmp_path / "broken.html"
    broken.write_text(pages[1].read_text().replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1))
    n, ok, _ = render(broken, tmp_path)
    assert (n, ok) == (4, 3)
