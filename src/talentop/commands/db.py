"""`talentop db init|upgrade|current`: create and migrate the trial database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from talentop.commands._edge import console, edge, print_json

if TYPE_CHECKING:
    from talentop.store import Store

URL_HELP = (
    "Database URL (default: TALENTOP_DATABASE_URL, else the SQLite file talentop.db in the "
    "current directory). PostgreSQL: postgresql+psycopg://user:password@host/db."
)
KEYS_HELP = (
    "Folder of the trial's private keys, kept outside the database (default: "
    "TALENTOP_KEY_DIR, else ./talentop-keys). Back it up; never give it to the database's "
    "administrators."
)
CHECKPOINTS_HELP = (
    "Folder of the signed audit checkpoints (default: TALENTOP_CHECKPOINT_DIR, else "
    "./talentop-checkpoints). Put it where the database's administrators cannot write."
)


def open_store(url: str | None, keys: Path | None, checkpoints: Path | None) -> Store:
    """A Store with its key ring from the options or the environment."""
    from talentop.store import KeyRing, Store

    return Store(url, keys=KeyRing.from_environment(keys, checkpoints))


db_app = typer.Typer(
    help="Create and migrate the trial database (SQLite file or PostgreSQL).",
    no_args_is_help=True,
)


@db_app.command("init")
@edge
def init(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    checkpoints: Path | None = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create the database (or migrate it to the newest schema), the randomisation key and
    the audit log's signing key, and sign the first checkpoint.

    The randomisation key is written to KEYS/randomisation-<id>.key (mode 0600), or taken
    from TALENTOP_RANDOMISATION_KEY (64 hex digits) when set; the database keeps only its
    id and a keyed fingerprint. The key is never printed, logged or exported. Copy the
    printed public key somewhere safe: it is what checkpoints are checked against.
    """
    from talentop.store import init_database

    store = open_store(url, keys, checkpoints)
    result = init_database(store)
    store.dispose()
    payload = {"database": repr(store), **result}
    if json_out:
        print_json(payload)
        return
    secret = "generated" if result["secret_created"] else "already present"
    console.print(
        f"{payload['database']}: schema at revision [bold]{result['revision']}[/]; "
        f"randomisation key {result['key_id']} {secret} (in {result['key_dir']}); "
        f"audit log checkpoints in {result['checkpoint_dir']}, "
        f"public key {result['log_public_key']}",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("upgrade")
@edge
def upgrade_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    revision: str = typer.Option("head", "--revision", help="Target revision (default: head)."),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Apply the schema migrations shipped with talentop (Alembic, run in-process).

    Revision 0005 moves a randomisation secret kept in the database to a 0600 key file in
    KEYS and keeps only its id and fingerprint."""
    from talentop.store import current_revision, upgrade

    store = open_store(url, keys, None)
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


@db_app.command("rotate-key")
@edge
def rotate_key(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make a new randomisation key the current one (the old one must be present).

    Each stratum finishes the permuted block it is in with its old key, then starts its
    next block on the new key, so every block stays complete and balanced. Keep the old
    key file and its backup: it re-derives the allocations made with it. Back up the new
    key file now."""
    from talentop.store import rotate_randomisation_key

    store = open_store(url, keys, None)
    result = rotate_randomisation_key(store)
    store.dispose()
    if json_out:
        print_json({"database": repr(store), **result})
        return
    console.print(
        f"{store!r}: new randomisation key {result['key_id']} in {result['key_file']}; "
        "back it up now.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `talentop db` to the root app."""
    app.add_typer(db_app, name="db")
