"""The vendored htmx is the pinned npm release with its licence, served by the app itself;
no template loads anything from another host, and no template has an inline script or
style (the Content Security Policy would block it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "talentop" / "web" / "static"
TEMPLATES = STATIC.parent / "templates"
#: sha256 of htmx.org@2.0.11 dist/htmx.min.js as `npm pack htmx.org@2.0.11` gives it.
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_vendored_htmx_is_the_pinned_release_with_its_licence():
    digest = hashlib.sha256((STATIC / "htmx-2.0.11.min.js").read_bytes()).hexdigest()
    assert digest == HTMX_SHA256
    assert "Zero-Clause BSD" in (STATIC / "htmx-LICENSE.txt").read_text()
    assert HTMX_SHA256 in (STATIC / "VENDORED.md").read_text()


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_fetch_nothing_elsewhere_and_inline_nothing(template):
    html = (TEMPLATES / template).read_text()
    assert not re.search(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", html)
    assert not re.search(r"<script(?![^>]*\ssrc=)", html), "inline script"
    assert not re.search(r"\sstyle\s*=", html) and "<style" not in html, "inline style"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "|safe" not in html.replace(" ", ""), "unescaped output"


@pytest.mark.db
def test_static_files_are_served_with_the_security_headers(web_trial):
    from fastapi.testclient import TestClient

    client = TestClient(web_trial.app)
    js = client.get("/static/htmx-2.0.11.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert hashlib.sha256(js.content).hexdigest() == HTMX_SHA256
    css = client.get("/static/talentop.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/../pyproject.toml").status_code == 404
