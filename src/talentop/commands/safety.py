"""`talentop safety ...`: the SAE listing and overdue clocks, the printable SAE form, the
deviation log and summary, patients due to re-consent, medication rule findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.commands._edge import console, edge, print_json
from talentop.commands.db import URL_HELP

safety_app = typer.Typer(
    help="Safety and trial conduct: SAEs, deviations, consent, medication.",
    no_args_is_help=True,
)

PROTOCOL_OPTION = typer.Option("talentop", "--protocol", help="Protocol id or YAML file.")
URL_OPTION = typer.Option(None, "--url", help=URL_HELP)
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")


def _call(service: Any, protocol: str, url: str | None, *args: Any, **kwargs: Any) -> Any:
    from talentop.protocol import load_protocol
    from talentop.services import Context
    from talentop.store import Store

    store = Store(url)
    try:
        return service(Context(store, load_protocol(protocol), "system"), *args, **kwargs)
    finally:
        store.dispose()


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


@safety_app.command("saes")
@edge
def saes(
    arm: str | None = typer.Option(None, "--arm", help="Only this arm."),
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The SAE listing by arm: criteria, the initial report's clock, causality, SUSAR."""
    from talentop.services import sae_listing

    listing = _call(sae_listing, protocol, url, arm=arm)
    if json_out:
        print_json(listing)
        return
    _table(
        f"{len(listing)} SAE report(s)",
        ["SAE", "arm", "patient", "event", "grade", "onset", "h to report", "on time", "SUSAR"],
        [
            [
                r["sae_id"],
                r["arm"] or "-",
                r["pseudo_id"],
                r["term"],
                r["grade"],
                r["onset_date"],
                f"{r['hours_to_report']:.0f}",
                "yes" if r["on_time"] else f"no (+{r['late_by_hours']:.0f} h)",
                "yes" if r["susar"] else "no",
            ]
            for r in listing
        ],
    )


@safety_app.command("overdue")
@edge
def overdue(
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Safety clocks run out with nothing sent: serious AEs without an SAE report, SUSARs
    without their expedited report. Exit code 1 when any is overdue (for cron jobs)."""
    from talentop.services import overdue_saes

    items = _call(overdue_saes, protocol, url)
    if json_out:
        print_json(items)
    elif not items:
        console.print("[green]no safety report overdue[/]")
    else:
        _table(
            f"{len(items)} overdue safety report(s)",
            ["kind", "patient", "site", "event", "due", "overdue by (h)"],
            [
                [i["kind"], i["pseudo_id"], i["site"], i["term"], i["due"], i["overdue_by_hours"]]
                for i in items
            ],
        )
    if items:
        raise typer.Exit(1)


@safety_app.command("form")
@edge
def form(
    sae_id: int = typer.Argument(..., help="The SAE report's id (see `talentop safety saes`)."),
    out: Path = typer.Option(..., "--out", help="The HTML file to write (print it to PDF)."),
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
) -> None:
    """Write the printable SAE form of one report (HTML, print styles)."""
    from talentop.reports.sae_form import render_sae_form
    from talentop.services import sae_form

    record = _call(sae_form, protocol, url, sae_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_sae_form(record), encoding="utf-8")
    console.print(f"SAE {sae_id} ({record['term']}): wrote {out}")


@safety_app.command("deviations")
@edge
def deviations(
    site: str | None = typer.Option(None, "--site", help="Only this site's log."),
    summary: bool = typer.Option(False, "--summary", help="Counts by category and arm."),
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The deviation log by site (category, major/minor, CAPA, who decided), or its summary."""
    from talentop.services import deviation_log, deviation_summary

    if summary:
        result = _call(deviation_summary, protocol, url)
        if json_out:
            print_json(result)
            return
        arms = result["arms"]
        _table(
            f"{result['total']} deviations, {result['major']} major",
            ["category", "class", *arms, "total"],
            [
                [c["category"], c["classification"], *[c[a] for a in arms], c["total"]]
                for c in result["categories"]
            ],
        )
        return
    log = _call(deviation_log, protocol, url, site=site)
    if json_out:
        print_json(log)
        return
    _table(
        f"deviation log: {len(log)} entries",
        ["site", "patient", "date", "category", "class", "description", "decided by"],
        [
            [
                d["site"],
                d["pseudo_id"],
                d["deviation_date"],
                d["category"],
                d["classification"],
                d.get("description"),
                d.get("decided_by"),
            ]
            for d in log
        ],
    )


@safety_app.command("reconsent")
@edge
def reconsent(
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Patients on study who must sign the newest consent form that requires re-consent."""
    from talentop.services import reconsent_due

    due = _call(reconsent_due, protocol, url)
    if json_out:
        print_json(due)
        return
    _table(
        f"{len(due)} patient(s) to re-consent",
        ["patient", "site", "state", "signed", "due", "since"],
        [
            [
                d["pseudo_id"],
                d["site"],
                d["state"],
                d["signed_version"],
                d["due_version"],
                d["due_since"],
            ]
            for d in due
        ],
    )


@safety_app.command("medication")
@edge
def medication(
    protocol: str = PROTOCOL_OPTION,
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Findings of the protocol's medication rules (HBV antiviral and HBV DNA monitoring,
    anticoagulants with bevacizumab, traditional Chinese medicine washout)."""
    from talentop.services import medication_alerts

    alerts = _call(medication_alerts, protocol, url)
    if json_out:
        print_json(alerts)
        return
    _table(
        f"{len(alerts)} medication finding(s)",
        ["patient", "site", "rule", "severity", "date", "finding"],
        [
            [a["pseudo_id"], a["site"], a["rule"], a["severity"], a["date"], a["message"]]
            for a in alerts
        ],
    )


def register(app: typer.Typer) -> None:
    """Add `talentop safety` to the root app."""
    app.add_typer(safety_app, name="safety")
