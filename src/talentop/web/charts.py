"""Recruitment by site and month as an inline SVG bar chart, drawn on the server.

Hand-built rather than matplotlib: a few rectangles and labels render in microseconds,
scale with the page (``viewBox``), need no inline style (the Content Security Policy
forbids it; SVG presentation attributes are not CSS) and every label is escaped.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

#: Colour-blind-safe palette (Okabe & Ito, 2008).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 48


def _ticks(top: int) -> list[int]:
    step = max(1, -(-top // 4))
    return list(range(0, top + step, step))


def recruitment_svg(
    data: dict[str, Any], *, title: str = "Patients registered per month"
) -> Markup:
    """Stacked bars: one bar per month, one colour per site, with a legend and a y axis.

    ``data`` is ``services.recruitment``'s result (months, sites, per_month, total)."""
    months: list[str] = data.get("months", [])
    sites: dict[str, list[int]] = data.get("sites", {})
    if not months:
        return Markup('<p class="hint">No patient registered yet.</p>')
    top = max(max(data.get("per_month", [0])), 1)
    ticks = _ticks(top)
    top = ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bar = max(2.0, slot * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20 * ((len(sites) + 5) // 6)}" '
        f'role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMin meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_describe(data))}</desc>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#444">{tick}</text>'
        )
    colours = {site: PALETTE[i % len(PALETTE)] for i, site in enumerate(sites)}
    every = max(1, -(-len(months) // 8))  # at most 8 month labels: they must not overlap
    for i, month in enumerate(months):
        x = LEFT + i * slot + (slot - bar) / 2
        base = TOP + plot_h
        for site, counts in sites.items():
            n = counts[i]
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colours[site]}"><title>{escape(site)} {escape(month)}: {n}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" '
                f'font-size="10" fill="#444">{escape(month)}</text>'
            )
    for i, site in enumerate(sites):
        lx = LEFT + (i % 6) * 115
        ly = HEIGHT - 18 + 20 * (i // 6)
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colours[site]}"/>'
            f'<text x="{lx + 14}" y="{ly}" font-size="11" fill="#222">'
            f"{escape(site[:14])} ({data.get('per_site', {}).get(site, 0)})</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(data: dict[str, Any]) -> str:
    per_site = ", ".join(f"{site} {n}" for site, n in data.get("per_site", {}).items())
    months = data.get("months", [])
    span = f"{months[0]} to {months[-1]}" if months else "no months"
    return f"{data.get('total', 0)} patients registered, {span}; by site: {per_site}."
