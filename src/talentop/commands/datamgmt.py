"""`talentop checks|query|correct|sdv|lock|unlock|sign`: data management from the command
line, acting as a named user (``--as``, password asked); the same services, permissions
and audit trail as the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from talentop.commands._acting import AS_USER, PASSWORD_STDIN, TOTP, acting, read_password
from talentop.commands._edge import console, edge, print_json
from talentop.commands.db import CHECKPOINTS_HELP, KEYS_HELP, URL_HELP, open_store

URL = typer.Option(None, "--url", help=URL_HELP)
KEYS = typer.Option(None, "--keys", help=KEYS_HELP)
CHECKPOINTS = typer.Option(None, "--checkpoints", help=CHECKPOINTS_HELP)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _ctx(
    url: str | None,
    keys: Path | None,
    checkpoints: Path | None,
    user: str,
    stdin: bool,
    totp: str | None,
) -> Any:
    store = open_store(url, keys, checkpoints)
    return acting(store, user, read_password(user, stdin), totp)


def _out(result: Any, as_json: bool, text: str) -> None:
    if as_json:
        print_json(result.to_dict() if hasattr(result, "to_dict") else result)
    else:
        console.print(text, markup=False, highlight=False)


checks_app = typer.Typer(help="The protocol's edit checks.", no_args_is_help=True)


@checks_app.command("run")
@edge
def checks_run(
    site: str | None = typer.Option(None, "--site", help="Only this site's patients."),
    patient: int | None = typer.Option(None, "--patient", help="Only this patient (id)."),
    user: str = AS_USER,
    password_stdin: bool = PASSWORD_STDIN,
    totp: str | None = TOTP,
    url: str | None = URL,
    keys: Path | None = KEYS,
    checkpoints: Path | None = CHECKPOINTS,
    as_json: bool = JSON,
) -> None:
    """Run every edit check of the protocol over the patients you may see; each new
    finding opens a query on its field (findings already queried or acknowledged are not
    raised again)."""
    from talentop import services as sv

    ctx = _ctx(url, keys, checkpoints, user, password_stdin, totp)
    result = sv.run_checks(ctx, site=site, patient_id=patient)
    lines = [
        f"{f['patient_id']:>6} {f['entity']} {f['entity_id']} {f['field']}: {f['message']}"
        for f in result["findings"]
    ]
    _out(
        result,
        as_json,
        "\n".join(
            [
                f"{result['patients_checked']} patient(s) checked, {result['new_findings']} new finding(s), {result['queries_opened']} query(ies) opened",
                *lines,
            ]
        ),
    )


query_app = typer.Typer(
    help="Data queries: raise, answer, close, re-open, list.", no_args_is_help=True
)


@query_app.command("list")
@edge
def query_list(
    state: str | None = typer.Option(None, "--state", help="open, answered or closed."),
    patient: int | None = typer.Option(None, "--patient"),
    site: str | None = typer.Option(None, "--site"),
    user: str = AS_USER,
    password_stdin: bool = PASSWORD_STDIN,
    totp: str | None = TOTP,
    url: str | None = URL,
    keys: Path | None = KEYS,
    checkpoints: Path | None = CHECKPOINTS,
    as_json: bool = JSON,
) -> None:
    """Queries you may see, newest first, with their history."""
    from talentop import services as sv

    ctx = _ctx(url, keys, checkpoints, user, password_stdin, totp)
    page = sv.list_queries(ctx, site=site, patient_id=patient, state=state, limit=500)
    lines = [
        f"#{q['query_id']} [{q['state']}] {q['site']} {q['pseudo_id']} {q['entity']} {q['entity_id']}.{q['field']}: {q['text']}"
        + "".join(
            f"\n      {h['at'][:16]} {h['by']} {h['action']}: {h['text'] or ''}"
            for h in q["history"]
        )
        for q in page.items
    ]
    _out(page, as_json, "\n".join([f"{page.total} query(ies)", *lines]))


@query_app.command("raise")
@edge
def query_raise(
    entity: str = typer.Argument(..., help="The form (table), e.g. labs."),
    entity_id: int = typer.Argument(..., help="The record's id."),
    field: str = typer.Argument(..., help="The field, e.g. value (screening: record.ecog)."),
    text: str = typer.Argument(..., help="The question to the site."),
    user: str = AS_USER,
    password_stdin: bool = PASSWORD_STDIN,
    totp: str | None = TOTP,
    url: str | None = URL,
    keys: Path | None = KEYS,
    checkpoints: Path | None = CHECKPOINTS,
    as_json: bool = JSON,
) -> None:
    """Raise a query on one field of one record (monitors, data managers)."""
    from talentop import services as sv

    result = sv.raise_query(
        _ctx(url, keys, checkpoints, user, password_stdin, totp), entity, entity_id, field, text
    )
    _out(result, as_json, f"query #{result['query_id']} raised on {entity} {entity_id}.{field}")


@query_app.command("answer")
@edge
def query_answer(
    query_id: int = typer.Argument(...),
    text: str = typer.Argument(..., help="The answer."),
    correct: list[str] = typer.Option(
        [], "--set", help="field=value: correct the record too (repeat)."
    ),
    category: str = typer.Option(
        "source_corrected",
        "--category",
        help="transcription_error, source_corrected, late_result or other.",
    ),
    user: str = AS_USER,
    password_stdin: bool = PASSWORD_STDIN,
    totp: str | None = TOTP,
    url: str | None = URL,
    keys: Path | None = KEYS,
    checkpoints: Path | None = CHECKPOINTS,
    as_json: bool = JSON,
) -> None:
    """Answer a query (site staff), optionally correcting the record with --set."""
    from talentop import services as sv

    changes = _assignments(correct)
    result = sv.answer_query(
        _ctx(url, keys, checkpoints, user, password_stdin, totp),
        query_id,
        text,
        correction=changes or None,
        reason_category=category,
    )
    _out(
        result,
        as_json,
        f"query #{query_id} answered" + (f"; corrected {sorted(changes)}" if changes else ""),
    )


def _assignments(items: list[str]) -> dict[str, Any]:
    from talentop.errors import InvalidInput

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput.field("--set", item, "field=value")
        name, value = item.split("=", 1)
        try:
            out[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip()] = value
    return out


def _step(name: str, doc: str):
    @query_app.command(name)
    @edge
    def step(
        query_id: int = typer.Argument(...),
        text: str = typer.Argument("resolved" if name == "close" else ..., help="Why."),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        from talentop import services as sv

        call = sv.close_query if name == "close" else sv.reopen_query
        result = call(_ctx(url, keys, checkpoints, user, password_stdin, totp), query_id, text)
        _out(result, as_json, f"query #{query_id} {result['state']}")

    step.__doc__ = doc
    return step


_step("close", "Close a query (whoever raised it).")
_step("reopen", "Re-open an answered or closed query (whoever raised it).")


def register(app: typer.Typer) -> None:
    app.add_typer(checks_app, name="checks")
    app.add_typer(query_app, name="query")

    @app.command("correct")
    @edge
    def correct(
        entity: str = typer.Argument(..., help="The form (table), e.g. labs, lesion_measurements."),
        entity_id: int = typer.Argument(..., help="The record's id."),
        assignments: list[str] = typer.Option(..., "--set", help="field=value (repeat)."),
        reason: str = typer.Option(..., "--reason", help="Why the value is corrected."),
        category: str = typer.Option(
            ..., "--category", help="transcription_error, source_corrected, late_result or other."
        ),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        """Correct saved values with a reason; prints what changed and what was re-derived
        (RECIST responses, eligibility, ALBI, ADTTE) and any stratification error."""
        from talentop import services as sv

        result = sv.correct_record(
            _ctx(url, keys, checkpoints, user, password_stdin, totp),
            entity,
            entity_id,
            _assignments(assignments),
            reason=reason,
            category=category,
        )
        _out(
            result,
            as_json,
            json.dumps(
                {
                    k: result[k]
                    for k in ("changed", "rederived", "sdv_cleared", "stratification_errors")
                },
                indent=2,
                default=str,
            ),
        )

    @app.command("sdv")
    @edge
    def sdv(
        entity: str = typer.Argument(...),
        entity_id: int = typer.Argument(...),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        """Mark a form as source-verified (monitors)."""
        from talentop import services as sv

        result = sv.verify_form(
            _ctx(url, keys, checkpoints, user, password_stdin, totp), entity, entity_id
        )
        _out(result, as_json, f"{entity} {entity_id} verified by {result['verified_by']}")

    @app.command("lock")
    @edge
    def lock(
        scope: str = typer.Argument(..., help="record, patient or database."),
        reason: str = typer.Option(..., "--reason"),
        patient: int | None = typer.Option(None, "--patient"),
        entity: str | None = typer.Option(None, "--entity"),
        entity_id: int | None = typer.Option(None, "--entity-id"),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        """Lock a form, a patient or the whole database (data managers)."""
        from talentop import services as sv

        result = sv.lock_records(
            _ctx(url, keys, checkpoints, user, password_stdin, totp),
            scope,
            reason=reason,
            patient_id=patient,
            entity=entity,
            entity_id=entity_id,
        )
        _out(result, as_json, f"{result['description']} (lock id {result['lock_id']})")

    @app.command("unlock")
    @edge
    def unlock(
        lock_id: int = typer.Argument(...),
        reason: str = typer.Option(..., "--reason"),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        """Lift a lock with the reason."""
        from talentop import services as sv

        result = sv.unlock_records(
            _ctx(url, keys, checkpoints, user, password_stdin, totp), lock_id, reason=reason
        )
        _out(result, as_json, f"lock {lock_id} lifted")

    @app.command("sign")
    @edge
    def sign(
        target: str = typer.Argument(..., help="case_report, interim or mdt_vote."),
        meaning: str = typer.Option(..., "--meaning", help="entered, reviewed or approved."),
        patient: int | None = typer.Option(None, "--patient"),
        milestone: str | None = typer.Option(
            None,
            "--milestone",
            help="end_of_induction, randomisation, end_of_treatment, end_of_study.",
        ),
        target_id: str | None = typer.Option(
            None, "--id", help="interim: the cut-off date; mdt_vote: the vote id."
        ),
        user: str = AS_USER,
        password_stdin: bool = PASSWORD_STDIN,
        totp: str | None = TOTP,
        url: str | None = URL,
        keys: Path | None = KEYS,
        checkpoints: Path | None = CHECKPOINTS,
        as_json: bool = JSON,
    ) -> None:
        """Sign (21 CFR 11): your password is asked again even if you just logged in."""
        from talentop import services as sv

        password = read_password(user, password_stdin)
        store = open_store(url, keys, checkpoints)
        ctx = acting(store, user, password, totp)
        result = sv.sign(
            ctx,
            target,
            meaning=meaning,
            password=password,
            totp=totp,
            target_id=target_id,
            patient_id=patient,
            milestone=milestone,
        )
        _out(
            result,
            as_json,
            f"signed: {result['manifest']} ({target} {result['target_id']}, sha256 {result['content_hash'][:16]}...)",
        )
