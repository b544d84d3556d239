"""The printable SAE form: one self-contained HTML page (print styles, no scripts) from the
``services.sae_form`` record: the event, seriousness criteria, the reporting clock,
causality and expectedness per product, SUSAR status and the follow-up reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, select_autoescape

from talentop.protocol.conduct import SAE_CRITERIA as CRITERIA

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SAE report {{ r.sae_id }} - {{ r.protocol.id | upper }}</title>
<style>
body { font: 11pt/1.35 "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 15pt; margin: 0 0 .2em; } h2 { font-size: 12pt; margin: 1.2em 0 .3em;
border-bottom: 1px solid #999; } table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } tr > th:first-child { width: 32%; }
table.list th { width: auto; } td { overflow-wrap: anywhere; } .late { color: #a00; font-weight: bold; }
.box { display: inline-block; width: .9em; height: .9em; border: 1px solid #111;
text-align: center; line-height: .9em; margin-right: .3em; }
@media print { body { margin: 1cm; } a { color: inherit; } }
</style></head><body>
<h1>Serious adverse event report</h1>
<p>{{ r.protocol.title }} ({{ r.protocol.registry_id }}) &middot; SAE {{ r.sae_id }}
&middot; reference safety information {{ r.rsi_version }}</p>
<h2>Patient and event</h2>
<table>
<tr><th>Patient</th><td>{{ r.pseudo_id }} (site {{ r.site }}, arm {{ r.arm or "not randomised" }})</td></tr>
<tr><th>Event (CTCAE term)</th><td>{{ r.term }}</td></tr>
<tr><th>CTCAE grade</th><td>{{ r.grade }}</td></tr>
<tr><th>Onset</th><td>{{ r.onset_date }}</td></tr>
<tr><th>Outcome</th><td>{{ r.outcome | replace("_", " ") }}</td></tr>
{% if r.narrative is defined and r.narrative %}<tr><th>Narrative</th><td>{{ r.narrative }}</td></tr>{% endif %}
</table>
<h2>Seriousness (ICH E2A)</h2>
<table>{% for c in criteria %}
<tr><th>{{ c | replace("_", " ") }}</th><td><span class="box">{{ "X" if c in r.criteria else "" }}</span></td></tr>
{% endfor %}</table>
<h2>Reporting clock</h2>
<table>
<tr><th>Site aware</th><td>{{ r.awareness_at | utc }}</td></tr>
<tr><th>Initial report sent</th><td>{{ r.reported_at | utc }}</td></tr>
<tr><th>Due ({{ r.clocks.initial_report_hours }} h)</th><td>{{ r.due_at | utc }}</td></tr>
<tr><th>On time</th><td>{% if r.on_time %}yes ({{ r.hours_to_report }} h){% else %}<span class="late">no: {{ r.late_by_hours }} h late</span>{% endif %}</td></tr>
</table>
<h2>Causality and expectedness per product</h2>
<table class="list"><tr><th>Product</th><th>Relatedness</th><th>Suspected</th><th>Expected (RSI)</th></tr>
{% for c in r.causality %}<tr><td>{{ c.product }}</td><td>{{ c.relatedness }}</td>
<td>{{ "yes" if c.related else "no" }}</td><td>{{ "yes" if c.expected else "no" }}</td></tr>{% endfor %}
</table>
<p><strong>SUSAR:</strong> {% if r.susar %}yes - expedited report due {{ r.expedited_due_on }}{% if r.expedited_reported_on %}, sent {{ r.expedited_reported_on }}{% elif r.expedited_overdue %} <span class="late">(overdue)</span>{% endif %}{% else %}no{% endif %}</p>
<h2>Follow-up reports</h2>
{% if r.follow_ups %}<table class="list"><tr><th>#</th><th>Information received</th><th>Reported</th><th>On time</th></tr>
{% for f in r.follow_ups %}<tr><td>{{ f.sequence }}</td><td>{{ f.info_received_at | utc }}</td><td>{{ f.reported_at | utc }}</td>
<td>{% if f.on_time %}yes{% else %}<span class="late">{{ f.late_by_hours }} h late</span>{% endif %}</td></tr>
{% if f.description is defined %}<tr><td></td><td colspan="3">{{ f.description }}</td></tr>{% endif %}{% endfor %}
</table>{% else %}<p>None.</p>{% endif %}
<h2>Signatures</h2>
<table><tr><th>Investigator (name, signature, date)</th><td style="height:3em"></td></tr>
<tr><th>Sponsor receipt (name, date)</th><td style="height:3em"></td></tr></table>
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def utc(value: str | datetime | None) -> str:
    """A stored time as the form prints it: '2023-06-08 16:00 UTC' (every time on the form is
    UTC, said beside each value rather than only in some headings)."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_ENV.filters["utc"] = utc


def render_sae_form(record: dict[str, Any]) -> str:
    """The SAE form as HTML (values escaped)."""
    return _ENV.from_string(_TEMPLATE).render(r=record, criteria=CRITERIA)
