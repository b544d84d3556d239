"""`talentop audit verify|checkpoint|prove|check-proof|history`: the audit log as a verifiable
log, and one patient's history for people (table, JSON, CSV or CDISC ODM 1.3.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.commands._edge import EXIT_ERROR, console, edge, print_json, print_table
from talentop.commands.db import CHECKPOINTS_HELP, KEYS_HELP, URL_HELP, open_store

audit_app = typer.Typer(help="Verify, checkpoint and prove the audit log.", no_args_is_help=True)


@audit_app.command("verify")
@edge
def verify_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    checkpoints: Path | None = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the audit log and the tables against each other and against every signed
    checkpoint; name the first entry or table row where they disagree.

    Checked: every entry against its RFC 6962 leaf hash and position; the Merkle tree of
    the entries against each checkpoint in CHECKPOINTS (signature with the log's public
    key, order, consistency proof between successive tree heads); the randomisation keys
    against their fingerprints; every table row against its latest entry.

    Caught once a checkpoint covers them: an entry edited, deleted, inserted or moved even
    with every hash recomputed; the tail deleted; the database emptied or replaced; an old
    checkpoint replayed. Not caught: a rewrite of the entries no checkpoint covers yet
    (the report gives their number: run `talentop audit checkpoint` often), or an attacker
    who can also rewrite the checkpoint folder (keep a copy elsewhere).

    Exit code 0 when intact, 1 when any check fails, 2 when the database cannot be opened
    or was never initialised.
    """
    from talentop.services import verify

    store = open_store(url, keys, checkpoints)
    report = verify(store)
    store.dispose()
    if json_out:
        print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"[green]audit trail intact[/]: {report.rows} entries, {report.table_rows} table "
            f"rows reconciled, tree head #{report.head_seq} {report.head_hash}",
            highlight=False,
        )
    else:
        table = Table(
            title=f"audit trail: {len(report.problems)} problem(s) in {report.rows} entries"
        )
        table.add_column("entry", justify="right")
        table.add_column("problem")
        table.add_column("detail")
        for problem in report.problems:
            # seq 0: nothing to name (a table row with no entry, a checkpoint, a key)
            table.add_row(str(problem.seq) if problem.seq else "-", problem.kind, problem.detail)
        print_table(table)
    if not json_out:
        latest = report.latest_checkpoint
        if latest is None:
            console.print(
                f"[yellow]no checkpoint covers the log[/] in {store.keys.checkpoint_dir}: "
                "a rewrite cannot be seen (run talentop audit checkpoint)",
                highlight=False,
            )
        else:
            colour = "yellow" if report.uncovered else "green"
            console.print(
                f"checkpoints: {report.checkpoints}, the newest the log matches is "
                f"{latest['number']} ({latest['size']} entries, {latest['time']}); "
                f"[{colour}]{report.uncovered} newer entries not yet covered[/]",
                highlight=False,
            )
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


@audit_app.command("checkpoint")
@edge
def checkpoint_cmd(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    checkpoints: Path | None = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Sequence the new entries and sign the tree head into CHECKPOINTS; print the signed
    checkpoint (e-mail it or paste it in the monitoring report: it is text).

    Refused (exit 1) if the log no longer extends the previous checkpoint: a rewritten
    history is never signed over. A running server signs one every
    TALENTOP_CHECKPOINT_INTERVAL_S seconds (default 300) and on shutdown."""
    from talentop.services import checkpoint

    store = open_store(url, keys, checkpoints)
    result = checkpoint(store)
    store.dispose()
    if json_out:
        print_json(result.to_dict())
        return
    console.print(f"checkpoint {result.path} ({result.head.size} entries):", highlight=False)
    # The note exactly as signed (never wrapped): it must verify when pasted elsewhere.
    typer.echo(Path(result.path).read_text(), nl=False)


@audit_app.command("prove")
@edge
def prove_cmd(
    seq: int | None = typer.Option(None, "--entry", help="The entry's position (#) in the log."),
    randomisation: int | None = typer.Option(
        None, "--randomisation", help="A randomisation id: proves the allocation's entry."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the proof to this JSON file."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    checkpoints: Path | None = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP),
) -> None:
    """Export the inclusion proof of one entry (RFC 9162): the entry, its audit path and
    the first signed checkpoint that covers it, so a monitor can show (with
    `talentop audit check-proof`) that, e.g., a randomisation was in the log at that
    checkpoint's time."""
    from talentop.errors import InvalidInput
    from talentop.services import prove_inclusion

    if (seq is None) == (randomisation is None):
        raise InvalidInput("give exactly one of --entry N and --randomisation ID")
    store = open_store(url, keys, checkpoints)
    if seq is not None:
        proof = prove_inclusion(store, seq=seq)
    else:
        proof = prove_inclusion(store, entity="randomisations", entity_id=str(randomisation))
    store.dispose()
    if out is None:
        print_json(proof)
        return
    out.write_text(json.dumps(proof, indent=2) + "\n")
    console.print(f"inclusion proof of entry #{proof['entry']['seq']} written to {out}")


@audit_app.command("check-proof")
@edge
def check_proof_cmd(
    proof_file: Path = typer.Argument(..., help="A JSON file from `talentop audit prove`."),
    public_key: str = typer.Option(
        ...,
        "--public-key",
        help="The log's public key (name+hash+base64, as `db init` printed it) or a file "
        "holding it, e.g. CHECKPOINTS/log.pub. Take it from your own copy, not the proof.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check an inclusion proof offline: the checkpoint's signature, the entry's leaf hash
    and its audit path to the signed root. Exit 1 if any fails."""
    from talentop.errors import InvalidInput
    from talentop.store.log import verify_inclusion_document
    from talentop.store.note import NoteVerifier

    try:
        proof = json.loads(proof_file.read_text())
    except (OSError, ValueError) as error:
        raise InvalidInput.field("proof_file", str(proof_file), f"a JSON proof ({error})") from None
    key_text = Path(public_key).read_text() if Path(public_key).is_file() else public_key
    head = verify_inclusion_document(proof, NoteVerifier.parse(key_text))
    entry = proof["entry"]
    result = {
        "ok": True,
        "entry": entry["seq"],
        "entity": entry["entity"],
        "entity_id": entry["entity_id"],
        "tree_size": head.size,
        "checkpoint_time": head.time.isoformat(),
    }
    if json_out:
        print_json(result)
        return
    console.print(
        f"[green]proof valid[/]: entry #{entry['seq']} ({entry['entity']} {entry['entity_id']} "
        f"{entry['action']}) is in the log of {head.size} entries signed at {head.time} UTC",
        highlight=False,
    )


@audit_app.command("history")
@edge
def history_cmd(
    patient: int = typer.Option(..., "--patient", help="The patient's id."),
    csv_out: Path | None = typer.Option(
        None, "--csv", help="Write the history as CSV (logged as an export)."
    ),
    odm_out: Path | None = typer.Option(
        None,
        "--odm",
        help="Write the patient's records with their audit trail as a CDISC ODM 1.3.2 "
        "Transactional file: every change an ODM transaction with its AuditRecord (who, "
        "where, when, why). Logged as an export; see docs/exchange.md.",
    ),
    validate: bool = typer.Option(
        False, "--validate", help="With --odm: check the file against the ODM 1.3.2 schema."
    ),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    keys: Path | None = typer.Option(None, "--keys", help=KEYS_HELP),
    checkpoints: Path | None = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the history as JSON."),
) -> None:
    """One patient's audit history, readably: every change of every record with who, when
    (UTC), the old and the new value and, for a correction, its reason."""
    from talentop.services.audit import store_context
    from talentop.services.data import export_audit, history_rows

    ctx = store_context(open_store(url, keys, checkpoints))
    if odm_out is not None:
        write_audit_odm(ctx, odm_out, "--odm", json_out, patient_id=patient, validate=validate)
        return
    if csv_out is not None:
        csv_out.write_text(export_audit(ctx, patient))
        console.print(f"audit history of patient {patient} written to {csv_out}")
        return
    rows = history_rows(ctx, patient)
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"audit history of patient {patient} ({len(rows)} changes)")
    for column in ("at (UTC)", "who", "record", "field", "old", "new", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["at_utc"][:19],
            row["actor"],
            f"{row['entity']} {row['entity_id']} {row['action']}",
            row["field"],
            "" if row["old"] is None else str(row["old"])[:60],
            "" if row["new"] is None else str(row["new"])[:60],
            row["reason"] or "",
        )
    console.print(table)


def write_audit_odm(
    ctx: Any, out: Path, option: str, json_out: bool, **selection: Any
) -> dict[str, Any]:
    """Write the ODM audit export (``export_audit_odm``) to ``out`` and say what it holds."""
    from talentop.commands._files import output_file
    from talentop.services import export_audit_odm

    output_file(out, option, overwrite=True)
    result = export_audit_odm(ctx, **selection)
    out.write_text(result.pop("xml"), encoding="utf-8")
    result["path"] = str(out)
    if json_out:
        print_json(result)
        return result
    checked = ", valid against the ODM 1.3.2 schema" if result["validated"] else ""
    console.print(
        f"ODM 1.3.2 audit trail: {result['subjects']} subject(s), {result['transactions']} "
        f"transactions, {result['changes']} changes by {result['users']} users{checked}\n"
        f"  wrote {out}",
        highlight=False,
    )
    return result


def register(app: typer.Typer) -> None:
    """Add `talentop audit` to the root app."""
    app.add_typer(audit_app, name="audit")
