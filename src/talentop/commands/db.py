"""`talentop db init|upgrade|current`: create and migrate the trial database."""

from __future__ import annotations

import typer

from talentop.commands._edge import console, edge, print_json

URL_HELP = (
    "Database URL (default: TALENTOP_DATABASE_URL, else the SQLite file talentop.db in the "
    "current directory). PostgreSQL: postgresql+psycopg://user:password@host/db."
)

db_app = typer.Typer(
    help="Create and migrate the trial database (SQLite file or PostgreSQL).",
    no_args_is_help=True,
)


@db_app.command("init")
@edge
def init(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create the database (or migrate it to the newest schema) and generate the secret
    randomisation seed inside it. The seed is never printed, logged or exported."""
    from talentop.store import Store, init_database

    store = Store(url)
    result = init_database(store)
    store.dispose()
    payload = {"database": repr(store), **result}
    if json_out:
        print_json(payload)
        return
    secret = "generated" if result["secret_created"] else "already present"
    console.print(
        f"{payload['database']}: schema at revision [bold]{result['revision']}[/]; "
        f"randomisation secret {secret}."
    )


@db_app.command("upgrade")
@edge
def upgrade_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    revision: str = typer.Option("head", "--revision", help="Target revision (default: head)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Apply the schema migrations shipped with talentop (Alembic, run in-process)."""
    from talentop.store import Store, current_revision, upgrade

    store = Store(url)
    before = current_revision(store)
    after = upgrade(store, revision)
    store.dispose()
    if json_out:
        print_json({"database": repr(store), "from": before, "to": after})
        return
    console.print(f"{store!r}: {before or '(empty)'} -> [bold]{after}[/]")


@db_app.command("current")
@edge
def current(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show the database's schema revision and whether it is the newest one."""
    from talentop.store import Store, current_revision, head_revision

    store = Store(url)
    now, head = current_revision(store), head_revision(store)
    store.dispose()
    if json_out:
        print_json(
            {"database": repr(store), "current": now, "head": head, "up_to_date": now == head}
        )
        return
    state = "[green]up to date[/]" if now == head else f"[yellow]behind (head {head})[/]"
    console.print(f"{store!r}: revision {now or '(empty)'} - {state}")


def register(app: typer.Typer) -> None:
    """Add `talentop db` to the root app."""
    app.add_typer(db_app, name="db")
