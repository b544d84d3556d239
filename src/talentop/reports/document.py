"""The report as data (sections of text, figures and tables) and the writer to HTML + files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from talentop import __version__
from talentop.errors import InvalidInput
from talentop.reports._render import RenderedFigure
from talentop.reports.tables import Table


@dataclass(frozen=True)
class Section:
    """One report section: an id (anchor), a title, paragraphs, figures and tables."""

    anchor: str
    title: str
    paragraphs: Sequence[str] = ()
    figures: Sequence[RenderedFigure] = ()
    tables: Sequence[Table] = ()


@dataclass(frozen=True)
class Report:
    """A whole report: title, a line of provenance, headline figures and the sections.

    ``banner`` is shown above everything in a warning colour (e.g. "CLOSED REPORT: for the
    Data Monitoring Committee only"); ``footer`` is the last line (e.g. "simulated data").
    """

    title: str
    subtitle: str
    headline: Sequence[tuple[str, str]] = ()
    sections: Sequence[Section] = ()
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    banner: str = ""
    footer: str = "Simulated data, not trial data"
    file_name: str = "index.html"


_ENV = Environment(
    loader=PackageLoader("talentop.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: Anything that would make the page fetch from the network when opened offline.
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def render_html(report: Report) -> str:
    """The self-contained HTML page (figures as inline SVG data URIs, sharp at any width,
    with links to the SVG and PNG files; CSS inline; no external URL). Tables sit in
    horizontally scrolling containers, so on a 390-px phone they scroll instead of
    breaking words."""
    anchors = [s.anchor for s in report.sections]
    if len(set(anchors)) != len(anchors):
        raise InvalidInput.field("sections.anchor", anchors, "unique anchors")
    template = _ENV.get_template("report.html.j2")
    html = template.render(
        report=report,
        version=__version__,
        table_html=lambda table: Markup(table.to_html()),
    )
    if _EXTERNAL.search(html):
        # A report that needs the network is a broken report for an offline reviewer.
        raise InvalidInput.field("report html", _EXTERNAL.search(html).group(0), "no external URL")
    return html


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write ``report.file_name`` (default index.html), ``figures/<name>.{png,svg}`` and
    ``tables/*.csv``; return the HTML's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures_dir = out / "figures"
    for section in report.sections:
        for figure in section.figures:
            figure.write(figures_dir)
        for table in section.tables:
            # Tables also as CSV: reviewers re-check numbers in a spreadsheet, not in HTML.
            tables_dir = out / "tables"
            tables_dir.mkdir(exist_ok=True)
            stem = re.sub(r"[^a-z0-9]+", "-", table.title.lower()).strip("-")[:60]
            table.frame.to_csv(tables_dir / f"{stem}.csv", index=False)
    index = out / report.file_name
    index.write_text(render_html(report), encoding="utf-8")
    return index
