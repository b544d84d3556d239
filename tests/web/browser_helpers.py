"""Helpers of the Chromium tests (Debian's Chromium through Playwright's ``executable_path``;
never a downloaded browser): the browser fixture, uvicorn serving a trial on a free port,
screenshots into the test's folder, one person at one browser window, and the checks every
page passes (no overflow, every input labelled, no CSP violation, nothing external)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from trial_builder import PASSWORD

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WIDTHS = (1280, 390)


def _chromium() -> str | None:
    candidate = (
        os.environ.get("TALENTOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="module")
def chromium():
    executable = _chromium()
    if executable is None:
        pytest.skip("no chromium: install Debian `chromium` or set TALENTOP_CHROMIUM")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


class Server:
    """uvicorn serving ``app`` on a free loopback port, in a background thread."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Shots:
    """Screenshots into the test's folder (and ``TALENTOP_ARTIFACTS`` if set)."""

    def __init__(self, folder: Path):
        self.folder = folder / "screenshots"
        self.folder.mkdir(parents=True, exist_ok=True)
        extra = os.environ.get("TALENTOP_ARTIFACTS")
        self.extra = Path(extra) / "web" if extra else None
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> None:
        width = page.viewport_size["width"]
        path = self.folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.extra is not None:
            self.extra.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.extra / path.name)


class Person:
    """One person at one browser window (their own cookies), with what the page logged."""

    def __init__(self, chromium, base: str, width: int = 1280):
        self.context = chromium.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return response

    def login(self, username: str, password: str = PASSWORD, *, keyboard: bool = False) -> None:
        self.go("/login")
        if keyboard:
            # The page puts the focus on the username (autofocus). Chromium applies it at its
            # next rendering update, which on a busy machine can come after the load event:
            # wait for it rather than type into nothing.
            self.page.wait_for_function("document.activeElement?.id === 'in-username'")
        with self.page.expect_navigation():
            if keyboard:  # the keyboard alone: the username has focus, Tab, password, Enter
                self.page.keyboard.type(username)
                self.page.keyboard.press("Tab")
                self.page.keyboard.type(password)
                self.page.keyboard.press("Enter")
            else:
                self.page.fill("#in-username", username)
                self.page.fill("#in-password", password)
                self.submit("form[action='/login'] button[type=submit]")
        assert "/login" not in self.page.url, self.page.inner_text("main")

    def submit(self, selector: str) -> None:
        """Click ``selector`` and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.page.wait_for_load_state("load")

    def fill(self, field: str, value: str) -> None:
        element = self.page.locator(f"#in-{field}")
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)

    def close(self) -> None:
        self.context.close()


def check_page(person: Person) -> None:
    """No horizontal overflow, every input labelled, no CSP violation, nothing external."""
    page = person.page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        page.url,
        page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"),
    )
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('table, img, svg, pre, code, input, select')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + ' ' + (e.id || e.className))"""
    )
    assert too_wide == [], (page.url, too_wide)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name)"""
    )
    assert unlabelled == [], (page.url, unlabelled)
    assert not [m for m in person.console if "Content Security Policy" in m], person.console
    assert all(u.startswith((person.base, "data:")) for u in person.requests), person.requests


def open_each(chromium, server, users: dict[str, str], pages, width: int, shots: Shots, **ids) -> None:  # fmt: skip
    """Open each ``(role, path)`` of ``pages`` at ``width`` as that role (one window per
    role; ``path`` formatted with ``ids``): 200, ``check_page``, a screenshot."""
    import re

    people: dict[str, Person] = {}
    for role, path in pages:
        if role not in people:
            people[role] = Person(chromium, server.url, width)
            people[role].login(users[role])
        person = people[role]
        url = path.format(**ids)
        response = person.go(url)
        assert response.status == 200, (path, response.status)
        check_page(person)
        name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "dashboard"
        shots(person.page, f"{role}-{name}")
    for person in people.values():
        person.close()
