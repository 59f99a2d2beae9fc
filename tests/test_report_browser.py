"""The HTML report of a real tiny run, opened in headless Chromium.

The report (``snakemake --report results/report.html``, as ``make run`` builds it) is a single-page
JavaScript app with every figure embedded as a data URI. The tests build it from the tiny workflow
run shared with tests/test_workflow.py, then let Chromium (Debian's ``chromium``, installed with
apt-get when missing) run it: the front page must show the verdict summary computed from the
verdict table, every embedded figure must decode to the size of its PNG, and clicking through the
menus to one figure must display it (checked in the DOM and on a screenshot).

Set ``SGDSPECTRA_REQUIRE_BROWSER=1`` to fail instead of skipping when Chromium cannot be installed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pytest
from conftest import apt_install, run_snakemake
from PIL import Image

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
#: Browser window: low enough that the front page of the tiny run overflows it (see report.css).
WINDOW = (1400, 640)
#: The figure the click-through test opens: in category "fits", which also holds tables, so the
#: path goes through the subcategory menu.
CLICKED_FIGURE = "results/figures/stationary_fits_tiny_seed0.png"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("SGDSPECTRA_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _find_chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary, installed by the test set-up when missing; skip with the reason
    when it cannot be."""
    path = _find_chromium()
    if path is None:
        problem = apt_install(["chromium"], lambda: [] if _find_chromium() else ["chromium"])
        path = _find_chromium()
        if path is None:
            _unavailable(f"headless Chromium is needed to render the report and could not be installed: "
                         f"{problem or 'no chromium binary after apt-get install'}")
    return path


def _browse(chromium: str, page: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess:
    """Load ``page`` in headless Chromium, give its scripts 15 s of virtual time, then ``mode``."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=15000", *mode, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


def _rendered(dom: str) -> str:
    """The dumped DOM without its scripts (the report's data sit in <script> blocks as JSON)."""
    return re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)


@pytest.fixture(scope="module")
def report(tiny_workflow) -> Path:
    """results/report.html built from the tiny run, with the command of `make report`."""
    workdir, _, _ = tiny_workflow
    css = REPO / "workflow/report/report.css"
    proc = run_snakemake(workdir, "--report", "results/report.html", "--report-stylesheet", str(css))
    path = workdir / "results" / "report.html"
    assert path.stat().st_size > 10_000, proc.stderr[-2000:]
    return path


# Runs after the report app has rendered: (1) decodes every embedded image, (2) clicks, as a
# reader would, the category, the subcategory and the view button of TARGET's row, waits until
# the app shows the figure, then clicks its info button (the caption), (3) writes what it saw as
# JSON into <pre id="sgdspectra-check">. With HIDE_FIGURE the displayed figure is then hidden:
# the screenshot of that page is the reference the figure's own pixels are measured against.
CLICK_THROUGH = r"""
<script>
(function () {
  const TARGET = %(target)s;
  const HIDE_FIGURE = %(hide)s;
  const out = {decoded: {}, steps: [], errors: []};
  function done() {
    const pre = document.createElement("pre");
    pre.id = "sgdspectra-check";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  function waitFor(probe, then, what) {
    let tries = 300;
    (function poll() {
      let value = null;
      try { value = probe(); } catch (err) { value = null; }
      if (value) { then(value); return; }
      if (--tries <= 0) { out.errors.push("timed out waiting for " + what); done(); return; }
      setTimeout(poll, 20);
    })();
  }
  function link(text) {
    return Array.from(document.querySelectorAll("#app a")).find((a) => a.textContent.trim() === text);
  }
  function targetRow() {
    const values = Object.values(results[TARGET].labels).map(String);
    return Array.from(document.querySelectorAll("#app tr")).find(function (tr) {
      const cells = Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.trim());
      return cells.length && values.every((v) => cells.includes(v));
    });
  }
  function clickThrough() {
    // The front page as it loads: its text must start inside the window, even when it overflows.
    const page = document.querySelector("#app .prose");  // the front page's text
    const front = page ? page.getBoundingClientRect() : {top: NaN, height: NaN};
    out.front = {top: front.top, height: front.height, window: window.innerHeight};
    const category = Object.keys(categories).find(
      (c) => Object.values(categories[c]).some((paths) => paths.includes(TARGET)));
    const subcategory = Object.keys(categories[category]).find(
      (s) => categories[category][s].includes(TARGET));
    waitFor(() => link(category), function (a) {
      a.click(); out.steps.push("category " + category);
      const openRow = function () {
        waitFor(targetRow, function (tr) {
          tr.querySelector("a").click(); out.steps.push("view");
          waitFor(() => Array.from(document.querySelectorAll("#app img")).find(
              (img) => img.src === results[TARGET].data_uri && img.complete && img.naturalWidth > 0),
            function (img) {
              const buttons = targetRow().querySelectorAll("a");
              buttons[buttons.length - 1].click(); out.steps.push("info");
              out.shown = {size: [img.naturalWidth, img.naturalHeight], top: img.getBoundingClientRect().top};
              if (HIDE_FIGURE) img.style.visibility = "hidden";  // the reference screenshot
              setTimeout(done, 200);
            }, "the figure to be displayed");
        }, "the row of " + TARGET);
      };
      if (Object.keys(categories[category]).length > 1) {
        waitFor(() => link(subcategory), function (b) {
          b.click(); out.steps.push("subcategory " + subcategory); openRow();
        }, "subcategory " + subcategory);
      } else {
        openRow();
      }
    }, "category " + category);
  }
  window.addEventListener("load", function () {
    const images = Object.keys(results).filter((p) => results[p].mime_type.startsWith("image/"));
    let pending = images.length;
    const next = function () {
      if (--pending === 0) waitFor(() => document.querySelector("#app a"), clickThrough, "the app");
    };
    if (!pending) { pending = 1; next(); }
    images.forEach(function (p) {
      const img = new Image();
      img.onload = function () { out.decoded[p] = [img.naturalWidth, img.naturalHeight]; next(); };
      img.onerror = function () { out.decoded[p] = null; next(); };
      img.src = results[p].data_uri;
    });
  });
})();
</script>
"""


@pytest.fixture(scope="module")
def click_through(report: Path, chromium: str, tmp_path_factory) -> tuple[dict, str, Path, Path]:
    """The report with CLICK_THROUGH injected: (its JSON record, the DOM, a screenshot of the
    figure view, the same screenshot with the figure hidden)."""
    tmp = tmp_path_factory.mktemp("browser")
    head, body_end, tail = report.read_text(encoding="utf-8").rpartition("</body>")
    assert body_end, "report.html has no </body>"
    pages, shots = {}, {}
    for hide in (False, True):
        page = report.with_name(f"report_click_through_{hide}.html")  # beside the report
        script = CLICK_THROUGH % {"target": json.dumps(CLICKED_FIGURE), "hide": json.dumps(hide)}
        page.write_text(head + script + body_end + tail, encoding="utf-8")
        pages[hide], shots[hide] = page, tmp / f"figure_hidden_{hide}.png"
        _browse(chromium, page, tmp, f"--screenshot={shots[hide]}")
    dom = _browse(chromium, pages[False], tmp, "--dump-dom").stdout
    for page in pages.values():
        page.unlink()
    match = re.search(r'<pre id="sgdspectra-check">(.*?)</pre>', dom, flags=re.S)
    assert match, "the click-through script never finished: " + _rendered(dom)[-2000:]
    return json.loads(html.unescape(match.group(1))), dom, shots[False], shots[True]


def test_front_page_says_what_is_tested_and_summarises_the_verdict(report, chromium, tmp_path):
    workdir = report.parents[1]
    dom = _rendered(_browse(chromium, report, tmp_path, "--dump-dom").stdout)
    assert "tests Olsen et al." in dom and "Dyson Brownian motion" in dom
    summary = re.search(r'<div id="sgdspectra-verdict">(.*?)</div>', dom, flags=re.S)
    assert summary, "the verdict summary is not on the front page"
    text = re.sub(r"<[^>]+>", "", summary.group(1))
    verdict = pd.read_csv(workdir / "results/tables/verdict_tiny.csv")
    last = verdict[verdict["step"] == verdict["step"].max()]
    assert f"tiny (step {int(last['step'].iloc[0])}, {len(last)} matrices" in text
    for law, n in last["best_aic"].value_counts().items():
        assert f"{law} ({n})" in text, (law, n, text)
    for matrix in last["matrix"]:
        assert f"<td>{matrix}</td>" in summary.group(1)
    for category in ("training", "spectra", "fits", "SDE"):  # the menu of the rendered app
        assert re.search(rf"<span>{category}</span>", dom), category


def test_tall_content_is_not_cut_off_at_the_top(click_through):
    """Without workflow/report/report.css the report centres an overflowing front page or figure
    and its top is out of reach (a transformer's ESD grid is four times taller than wide)."""
    record = click_through[0]
    assert record["front"]["top"] >= 0, record["front"]
    assert record["shown"]["top"] >= 0, record["shown"]


def test_every_figure_is_embedded_and_decodes(report, click_through):
    record = click_through[0]
    figures = sorted(p.relative_to(report.parents[1]).as_posix()
                     for p in (report.parent / "figures").glob("*.png"))
    assert figures and sorted(record["decoded"]) == figures
    for path in figures:
        with Image.open(report.parents[1] / path) as img:
            assert record["decoded"][path] == list(img.size), path


def test_clicking_to_a_figure_shows_it_with_its_caption(report, click_through):
    record, dom, shot, reference = click_through
    assert not record["errors"], record
    assert record["steps"] == ["category fits", "subcategory figures", "view", "info"]
    with Image.open(report.parents[1] / CLICKED_FIGURE) as img:
        assert record["shown"]["size"] == list(img.size)
    caption = (REPO / "workflow/report/stationary_fits.rst").read_text(encoding="utf-8")
    first_words = " ".join(caption.split()[:6])
    assert first_words in re.sub(r"\s+", " ", _rendered(dom)), first_words

    with Image.open(shot) as a, Image.open(reference) as b:
        shown = np.asarray(a.convert("RGB"), dtype=np.int16)  # (height, width, 3)
        hidden = np.asarray(b.convert("RGB"), dtype=np.int16)
    assert shown.shape == hidden.shape == (WINDOW[1], WINDOW[0], 3)
    colours, counts = np.unique(shown.reshape(-1, 3), axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    painted = float(np.mean(np.abs(shown - background).sum(axis=-1) > 60))
    assert painted > 0.05, f"the screenshot is blank ({painted:.4f} of it differs from {background})"
    # The figure's own ink: pixels that change when only the displayed figure is hidden. A broken
    # or blank image, or a view that never shows it, leaves (almost) none.
    figure_ink = float(np.mean(np.abs(shown - hidden).sum(axis=-1) > 60))
    assert figure_ink > 0.005, f"the displayed figure is blank: it changes {figure_ink:.4f} of the screenshot"
