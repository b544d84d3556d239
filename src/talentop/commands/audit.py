"""`talentop audit verify`: check the hash chain of the audit trail; exit 1 on any problem."""

from __future__ import annotations

import typer
from rich.table import Table

from talentop.commands._edge import EXIT_ERROR, console, edge, print_json
from talentop.commands.db import URL_HELP

audit_app = typer.Typer(help="Inspect and verify the audit trail.", no_args_is_help=True)


@audit_app.command("verify")
@edge
def verify_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute every audit row's SHA-256 and link; name each edited, deleted or moved row.

    Exit code 0 when the chain is intact, 1 when any row fails. Keep the printed head hash
    outside the database (e.g. in the monitoring report): a later run with a different
    head at the same sequence number shows that the newest rows were removed.
    """
    from talentop.services import verify
    from talentop.store import Store

    store = Store(url)
    report = verify(store)
    store.dispose()
    if json_out:
        print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"[green]audit trail intact[/]: {report.rows} rows, head #{report.head_seq} "
            f"{report.head_hash}"
        )
    else:
        table = Table(title=f"audit trail: {len(report.problems)} problem(s) in {report.rows} rows")
        table.add_column("row", justify="right")
        table.add_column("problem")
        table.add_column("detail")
        for problem in report.problems:
            table.add_row(str(problem.seq), problem.kind, problem.detail)
        console.print(table)
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


def register(app: typer.Typer) -> None:
    """Add `talentop audit` to the root app."""
    app.add_typer(audit_app, name="audit")
