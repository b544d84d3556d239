"""The demo report opened in headless Chromium: figures render, key text is visible.

Screenshots go to ``test-artifacts/report-*.png`` (attached to CI runs). Uses the Debian
``chromium`` (or ``TALENTOP_CHROMIUM``) through Playwright's ``executable_path``; Playwright's
own browser download is never used.
"""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str | None:
    candidate = (
        os.environ.get("TALENTOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("no chromium: install Debian `chromium` or set TALENTOP_CHROMIUM")
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (test extra)"
    )
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=ARGS)
        yield instance
        instance.close()


def test_closed_dmc_report_renders_with_its_banner(browser, report):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(report.with_name("closed-dmc.html").as_uri())
    page.wait_for_load_state("load")
    assert "CLOSED REPORT" in page.inner_text(".banner")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "report-closed-dmc-390.png"), full_page=True)
    page.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from talentop.demo.pipeline import run_demo

    out = tmp_path_factory.mktemp("browser") / "report"
    return run_demo(out, n_patients=120, seed=2025, dynamic_reassessment=True).report


def test_report_renders_offline_in_chromium(browser, report):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    widths = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
    )
    assert len(widths) >= 4 and all(w > 0 for w in widths)
    sources = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.src.slice(0, 26))")
    assert all(src == "data:image/svg+xml;base64," for src in sources)  # SVG, sharp
    body = page.inner_text("body")
    for text in (
        "Published vs this run",
        "Patient flow (CONSORT)",
        "Time to treatment failure",
        "Overall survival",
        "Subgroups",
        "Clavien-Dindo",
        "Dynamic reassessment",
        "proportional-hazards test",
    ):
        assert text in body
    # only the file itself and data: URIs, nothing from the network
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    page.screenshot(path=str(ARTIFACTS / "report-top.png"))
    for anchor in (
        "published", "consort", "ttf", "os", "dynamic", "subgroups", "safety", "protocol",
        "methods",
    ):  # fmt: skip
        page.locator(f"#{anchor}").scroll_into_view_if_needed()
        page.locator(f"#{anchor}").screenshot(path=str(ARTIFACTS / f"report-{anchor}.png"))
    page.close()


@pytest.mark.parametrize("width", [1280, 1024, 390])
def test_report_has_no_horizontal_overflow(browser, report, width):
    """Neither the page nor any paragraph or figure is wider than its window / card; a
    table wider than its card scrolls inside its own container (issue 18: tables scroll
    rather than break words; was: cells broke words anywhere)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    )
    too_wide = page.eval_on_selector_all(
        "section",
        """sections => sections.flatMap(s => [...s.querySelectorAll('.table-scroll, img, p')]
            .filter(e => e.getBoundingClientRect().right > s.getBoundingClientRect().right + 1)
            .map(e => s.id + ': ' + e.tagName + ' ' + e.textContent.slice(0, 60)))""",
    )
    assert too_wide == []
    # every table scrolls in its own container, and no cell breaks a word
    loose = page.eval_on_selector_all(
        "table", "ts => ts.filter(t => !t.parentElement.classList.contains('table-scroll')).length"
    )
    assert loose == 0
    breaking = page.eval_on_selector_all(
        "table.data td",
        """cells => cells.filter(c => {const s = getComputedStyle(c);
            return s.overflowWrap !== 'normal' || s.wordBreak !== 'normal'}).length""",
    )
    assert breaking == 0
    # the eligibility criteria are one per line (a line box per criterion)
    criteria = page.locator("#protocol td", has_text="1. inclusion").inner_text()
    assert len(criteria.splitlines()) >= 8
    if width == 390:  # a phone: figures shrink to the card, headline cards stack
        images = page.eval_on_selector_all(
            "figure img", "imgs => imgs.map(i => i.getBoundingClientRect().width)"
        )
        assert images and max(images) <= 390
    body = page.inner_text("body")
    assert "nan" not in body.split() and " nan" not in body and "HR 0.00" not in body
    page.screenshot(path=str(ARTIFACTS / f"report-full-{width}.png"), full_page=True)
    page.close()
