"""`talentop audit verify`: check the hash chain of the audit trail; exit 1 on any problem."""

from __future__ import annotations

import typer
from rich.table import Table

from talentop.commands._edge import EXIT_ERROR, console, edge, print_json, print_table
from talentop.commands.db import URL_HELP

audit_app = typer.Typer(help="Inspect and verify the audit trail.", no_args_is_help=True)


@audit_app.command("verify")
@edge
def verify_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute every audit row's SHA-256 and link, then reconcile the trail with the
    tables it describes; name each audit row or table row that fails.

    What it sees: an audit row edited, deleted, inserted or moved (hash and link); the
    newest audit rows cut off (table rows with no audit entry, or newer than their latest
    entry); a table edited directly in SQL, e.g. randomisations.arm flipped (the row no
    longer equals the after image of its latest audit entry); a table row deleted outside
    the services.

    What it cannot see: a forger who edits a table and also appends a correctly hashed audit
    row for it, or who deletes the newest audit rows together with the table rows they
    created. Keep the printed head hash outside the database (e.g. in the monitoring
    report): a later run with a different head at the same sequence number shows that.

    Exit code 0 when intact, 1 when any check fails, 2 when the database cannot be opened
    or was never initialised.
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
            f"[green]audit trail intact[/]: {report.rows} rows, {report.table_rows} table rows "
            f"reconciled, head #{report.head_seq} {report.head_hash}"
        )
    else:
        table = Table(title=f"audit trail: {len(report.problems)} problem(s) in {report.rows} rows")
        table.add_column("audit row", justify="right")
        table.add_column("problem")
        table.add_column("detail")
        for problem in report.problems:
            # seq 0: a table row with no audit entry at all
            table.add_row(str(problem.seq) if problem.seq else "-", problem.kind, problem.detail)
        print_table(table)
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


def register(app: typer.Typer) -> None:
    """Add `talentop audit` to the root app."""
    app.add_typer(audit_app, name="audit")
