"""Data queries (data clarification): a question on one field of one record.

Raised by an edit check or by hand (monitor, data manager); answered by the site (with or
without a correction, in the same transaction); closed or re-opened by whoever raised it
(an edit check's query by any monitor or data manager of the site). States open ->
answered -> closed (-> open again), each step a ``query_events`` row. A site user sees the
queries of their site only; counts by site, patient and age feed the dashboard.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from talentop.errors import InvalidInput, PermissionDenied, ProtocolViolation
from talentop.services._context import Context, check_actor
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient, require_site
from talentop.services.data.records import load
from talentop.services.permissions import SYSTEM
from talentop.services.reads import Limit, Offset, Page
from talentop.store import dm_queries, queries, writes
from talentop.store import models as m

STATES = ("open", "answered", "closed")
#: Age bands of open queries on the dashboard (days since raised).
AGE_BANDS = ((0, 7, "0-7 days"), (8, 30, "8-30 days"), (31, 10**6, "over 30 days"))
MAX_TEXT = 4000


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidInput.field(name, value, f"a text of 1-{MAX_TEXT} characters")
    return value.strip()


def query_dict(query: m.DataQuery, events: list[m.QueryEvent] | None = None, **extra: Any) -> dict:
    out = {
        "query_id": query.id,
        "patient_id": query.patient_id,
        "entity": query.entity,
        "entity_id": query.entity_id,
        "field": query.field,
        "text": query.text,
        "source": query.source,
        "check_id": query.check_id,
        "state": query.state,
        "raised_by": query.raised_by,
        "raised_at": query.raised_at.isoformat() + "Z",
        "updated_at": query.updated_at.isoformat() + "Z",
        **extra,
    }
    if events is not None:
        out["history"] = [
            {
                "action": e.action,
                "text": e.text,
                "by": e.actor,
                "at": e.at.isoformat() + "Z",
                "correction_id": e.correction_id,
            }
            for e in events
        ]
    return out


def open_query(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    entity: str,
    entity_id: str,
    field: str,
    text: str,
    *,
    source: str,
    check_id: str | None = None,
) -> m.DataQuery:
    """Insert a query and its "raise" event (the caller has checked who may)."""
    at = ctx.now()
    query = writes.insert(
        session,
        ctx.actor,
        m.DataQuery(
            patient_id=patient.id,
            site_id=patient.site_id,
            entity=entity,
            entity_id=entity_id,
            field=field,
            text=text,
            source=source,
            check_id=check_id,
            state="open",
            raised_by=ctx.actor,
            raised_at=at,
            updated_at=at,
        ),
    )
    writes.insert(
        session,
        ctx.actor,
        m.QueryEvent(query_id=query.id, action="raise", text=text, actor=ctx.actor, at=at),
    )
    return query


@service
def raise_query(
    ctx: Context, entity: str, entity_id: RecordId, field: str, text: str
) -> dict[str, Any]:
    """A monitor or data manager asks the site about one field of one record."""
    text = _text("text", text)
    with ctx.store.unit_of_work() as session:
        row, patient = load(session, entity, entity_id)
        require_patient(session, ctx, "raise_query", patient.id)
        if field not in _fields(row):
            raise InvalidInput.field("field", field, f"a field of {entity}: {sorted(_fields(row))}")
        query = open_query(
            session, ctx, patient, entity, str(entity_id), field, text, source="manual"
        )
        return query_dict(query)


def _fields(row: Any) -> set[str]:
    names = {c.key for c in row.__table__.columns} - {"id", "patient_id", "created_at"}
    if isinstance(row, m.Screening):
        import json

        names |= {f"record.{k}" for k in json.loads(row.record_json)}
    return names


def _event(
    session: Any,
    ctx: Context,
    query: m.DataQuery,
    action: str,
    text: str | None,
    state: str,
    correction_id: int | None = None,
) -> None:
    at = ctx.now()
    writes.insert(
        session,
        ctx.actor,
        m.QueryEvent(
            query_id=query.id,
            action=action,
            text=text,
            actor=ctx.actor,
            at=at,
            correction_id=correction_id,
        ),
    )
    writes.update(session, ctx.actor, query, state=state, updated_at=at)


@service
def answer_query(
    ctx: Context,
    query_id: RecordId,
    text: str,
    *,
    correction: dict[str, Any] | None = None,
    reason_category: str = "source_corrected",
) -> dict[str, Any]:
    """The site answers (a user who may enter data at the patient's site). With
    ``correction`` (new values of the record's fields) the record is corrected in the
    same transaction, the answer giving the reason."""
    text = _text("text", text)
    with ctx.store.atomic() as session:
        query = queries.get(session, m.DataQuery, query_id, what="query")
        check_actor(session, ctx, "answer_query", site_id=query.site_id)
        if query.state != "open":
            raise ProtocolViolation(
                f"query {query_id} is {query.state}; only an open query is answered",
                state=query.state,
                rule="open -> answered -> closed; re-open it to answer again",
            )
        correction_id = None
        result = None
        if correction:
            from talentop.services.data.corrections import correct_record

            result = correct_record(
                ctx,
                query.entity,
                int(query.entity_id),
                correction,
                reason=f"query {query.id}: {text}",
                category=reason_category,
                query_id=query.id,
            )
            correction_id = result["correction_ids"][0]
        _event(session, ctx, query, "answer", text, "answered", correction_id)
        return query_dict(query, correction=result)


def _may_manage(session: Any, ctx: Context, query: m.DataQuery, service_name: str) -> None:
    """Close and re-open: the user who raised it; an edit check's query: any user who may
    manage queries at the site."""
    require_patient(session, ctx, service_name, query.patient_id)
    if query.source == "manual" and ctx.actor not in (query.raised_by, SYSTEM):
        user = queries.user_by_name(session, ctx.actor)
        if user is None or user.role != "admin":
            raise PermissionDenied(
                f"{service_name} refused: query {query.id} was raised by {query.raised_by!r}; "
                "only they (or an admin) close or re-open it"
            )


@service
def close_query(ctx: Context, query_id: RecordId, text: str = "resolved") -> dict[str, Any]:
    """Close a query (answered, or open if raised in error)."""
    text = _text("text", text)
    with ctx.store.unit_of_work() as session:
        query = queries.get(session, m.DataQuery, query_id, what="query")
        _may_manage(session, ctx, query, "close_query")
        if query.state == "closed":
            raise ProtocolViolation(
                f"query {query_id} is already closed",
                state="closed",
                rule="a closed query is re-opened, not closed again",
            )
        _event(session, ctx, query, "close", text, "closed")
        return query_dict(query)


@service
def reopen_query(ctx: Context, query_id: RecordId, text: str) -> dict[str, Any]:
    """Re-open an answered or closed query (the answer did not settle it)."""
    text = _text("text", text)
    with ctx.store.unit_of_work() as session:
        query = queries.get(session, m.DataQuery, query_id, what="query")
        _may_manage(session, ctx, query, "reopen_query")
        if query.state == "open":
            raise ProtocolViolation(
                f"query {query_id} is already open",
                state="open",
                rule="only an answered or closed query is re-opened",
            )
        _event(session, ctx, query, "reopen", text, "open")
        return query_dict(query)


@service
def list_queries(
    ctx: Context,
    *,
    site: str | None = None,
    patient_id: RecordId | None = None,
    state: list[Literal["open", "answered", "closed"]]
    | Literal["open", "answered", "closed"]
    | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """Queries the caller may see (their sites), newest first, with their history."""
    states = [state] if isinstance(state, str) else state
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "list_queries")
        site_id = None
        if site is not None:
            found = queries.site_by_code(session, site)
            if found is None:
                from talentop.errors import NotFound

                raise NotFound(f"site: no site {site!r}")
            site_id = found.id
            require_site(session, scope, "list_queries", site_id)
        if patient_id is not None:
            require_patient(session, ctx, "list_queries", patient_id)
        rows, total = dm_queries.query_page(
            session,
            scope.sql_filter(),
            site_id=site_id,
            patient_id=patient_id,
            states=states,
            limit=limit,
            offset=offset,
        )
        events = dm_queries.query_events(session, [q.id for q, _, _ in rows])
        items = [
            query_dict(q, events.get(q.id, []), site=code, pseudo_id=p.pseudo_id)
            for q, p, code in rows
        ]
        return Page(items, total, limit, offset)


@service
def query_counts(ctx: Context) -> dict[str, Any]:
    """Queries per state; open queries per site, per patient and by age (days since raised)."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "query_counts")
        rows = [
            (q.state, q.raised_at, code, pseudo)
            for q, code, pseudo in dm_queries.queries_in_scope(session, scope.sql_filter())
        ]
    today = ctx.now()
    by_state = Counter(state for state, _, _, _ in rows)
    open_rows = [(raised, code, pseudo) for state, raised, code, pseudo in rows if state == "open"]
    by_age: Counter = Counter()
    for raised, _, _ in open_rows:
        age = (today - raised).days
        for low, high, label in AGE_BANDS:
            if low <= age <= high:
                by_age[label] += 1
    return {
        "by_state": {state: by_state.get(state, 0) for state in STATES},
        "open_by_site": dict(sorted(Counter(code for _, code, _ in open_rows).items())),
        "open_by_patient": dict(sorted(Counter(p for _, _, p in open_rows).items())),
        "open_by_age": {label: by_age.get(label, 0) for _, _, label in AGE_BANDS},
    }
