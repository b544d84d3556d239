"""The audit trail as CDISC ODM 1.3.2: one patient's (or a site's, or every readable
patient's) records with every change as an ODM transaction carrying its ``AuditRecord``.

How the ODM 1.3.2 audit model is followed (section numbers of the ODM 1.3.2 specification,
"Specification for the Operational Data Model (ODM) Version 1.3.2 Production", 2013-12-01):

- 2.8 Single Files and Collections, ``FileType``: a ``Transactional`` document shows "for
  each included entity, both the latest state of the source database, and (optionally)
  some prior states"; a ``Snapshot`` one (``talentop export odm``) only the current state.
  A file holding ClinicalData must also hold the AdminData its audit records reference:
  every ``UserRef`` and ``LocationRef`` resolves to a ``User`` / ``Location`` here.
- 2.9 Transactions: each data element has a ``TransactionType`` (Insert, Update, Remove,
  Upsert, Context); a child without one inherits its parent's; transactions are applied
  in document order. A record's creation is an ``ItemGroupData`` Insert, each later change
  an Update of the same item group (same ``ItemGroupRepeatKey``: the row id) holding only
  the items that changed; an item given its first value by an update is an Insert, a value
  cleared is an Update with ``IsNull="Yes"``; a deleted record is a Remove. Upsert is never
  used (the trail knows whether each entity existed).
- 2.10 Element Ordering: the elements for one entity appear in temporal order and its
  AuditRecords in increasing ``DateTimeStamp``; the entries are written in the order of the
  audit log (its ``seq``), every ``DateTimeStamp`` precedes ``CreationDateTime``. "A data
  entity can be represented as a series of data elements ... sequential changes to the
  same parts": one ItemGroupData element per audit entry.
- AuditRecord (``UserRef``, ``LocationRef``, ``DateTimeStamp``, ``ReasonForChange``?,
  ``SourceID``?; ``EditPoint``): who, where, when and why, on every ItemData, on the
  ItemGroupData a record's creation or removal is, and on the SubjectData (the
  registration), StudyEventData and FormData (their first record). The reason
  is the correction's category and reason (``talentop.services.data.corrections``); the
  source is the entry's position in talentop's verifiable log (``talentop audit prove
  --entry N`` proves it is in the signed tree). EditPoint: "Monitoring" (data collection and
  correction by site staff or a monitor) or "DataManagement" (data managers, admins,
  statisticians and the system), from the user's role today.

The forms are the stored records (``odm_records``), so each ItemData is one audited column
of one record. Replaying the transactions in document order gives back every change of
``talentop audit history`` (field, old -> new, who, when, why): the tests do exactly that.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from talentop import __version__
from talentop.errors import InvalidInput, NotFound
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient, require_site
from talentop.services.data.history import changes_of, log_export, patient_entries
from talentop.services.odm_export import (
    _odm,
    location,
    mdv_oid,
    metadata,
    schema_problems,
    study_element,
    study_oid,
    xml_safe,
)
from talentop.services.odm_records import RECORD_EVENTS, record_forms
from talentop.services.permissions import SYSTEM
from talentop.services.states import STATES
from talentop.store import models as m
from talentop.store import queries
from talentop.store.read_queries import patients_in_states

#: Where an action was taken by someone without a home site (central staff, the system).
CENTRAL = "LOC.CENTRAL"
#: SourceID text: the entry's position in the audit log follows.
SOURCE_PREFIX = "talentop audit_trail seq "
#: ODM 1.3.2 UserType of each role (Sponsor | Investigator | Lab | Other).
USER_TYPES = {
    "investigator": "Investigator",
    "coordinator": "Other",
    "surgeon": "Other",
    "mdt_member": "Other",
    "monitor": "Sponsor",
    "data_manager": "Sponsor",
    "statistician": "Sponsor",
    "admin": "Sponsor",
}
#: Roles whose changes are at the "Monitoring" edit point (site staff, monitors).
MONITORING_ROLES = frozenset({"investigator", "coordinator", "surgeon", "mdt_member", "monitor"})
TRANSACTIONS = {"create": "Insert", "update": "Update", "delete": "Remove"}


@dataclass(frozen=True)
class Person:
    """An actor of the trail as the document names them."""

    user_oid: str
    location_oid: str
    edit_point: str


@dataclass(frozen=True)
class Subject:
    """A patient to export: key, site and their audit entries with correction reasons."""

    patient_id: int
    usubjid: str
    site: str
    entries: list[dict[str, Any]]
    reasons: dict[tuple[int, str], str]


def utc_text(at: str) -> str:
    """An audit time (stored as naive UTC) as an ISO 8601 datetime with its offset."""
    when = dt.datetime.fromisoformat(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat()


def value_text(value: Any) -> str:
    """A stored value (as the audit entry keeps it: JSON scalars, dates as ISO text) as an
    ODM ``Value`` (2.13 Data Formats: booleans ``true``/``false``, floats in full; a
    character XML cannot carry becomes U+FFFD, ``xml_safe``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return xml_safe(json.dumps(value, sort_keys=True))
    return xml_safe(str(value))


class _Writer:
    """Builds the ClinicalData of the document, counting what it wrote."""

    def __init__(self, odm: Any, forms: dict[str, Any], people: dict[str, Person]):
        self.odm = odm
        self.forms = forms
        self.people = people
        self.transactions = 0
        self.items = 0
        self._audits: dict[tuple[int, str | None], Any] = {}

    def audit(self, entry: dict[str, Any], reason: str | None = None) -> Any:
        """The entry's AuditRecord (one object per entry and reason, serialised wherever
        it is used)."""
        key = (entry["seq"], reason)
        if key not in self._audits:
            self._audits[key] = self._audit(entry, reason)
        return self._audits[key]

    def _audit(self, entry: dict[str, Any], reason: str | None) -> Any:
        person = self.people[entry["actor"]]
        odm = self.odm
        options: dict[str, Any] = {}
        if reason:
            options["ReasonForChange"] = odm.ReasonForChange(_content=xml_safe(reason))
        return odm.AuditRecord(
            EditPoint=person.edit_point,
            UserRef=odm.UserRef(UserOID=person.user_oid),
            LocationRef=odm.LocationRef(LocationOID=person.location_oid),
            DateTimeStamp=odm.DateTimeStamp(_content=utc_text(entry["at"])),
            SourceID=odm.SourceID(_content=f"{SOURCE_PREFIX}{entry['seq']}"),
            **options,
        )

    def group(self, entry: dict[str, Any], reasons: dict, present: set[str]) -> Any | None:
        """One audit entry as an ItemGroupData transaction (None: nothing it changed is
        visible to the reader); ``present``: the record's items that have been given a
        value so far (updated in place)."""
        form = self.forms[entry["entity"]]
        action = entry["action"]
        items = []
        for field, _old, new in changes_of(entry):
            options: dict[str, Any] = {}
            if action == "update":
                options["TransactionType"] = "Update" if field in present else "Insert"
            if action != "delete":  # a Remove names the items; their values go with them
                if new is None:
                    options["IsNull"] = "Yes"
                else:
                    options["Value"] = value_text(new)
            items.append(
                self.odm.ItemData(
                    ItemOID=f"IT.{form.key}.{field}",
                    AuditRecord=self.audit(entry, reasons.get((entry["seq"], field))),
                    **options,
                )
            )
            if action == "delete":
                present.discard(field)
            else:
                present.add(field)
        if not items and action == "update":
            return None
        self.transactions += 1
        self.items += len(items)
        record: dict[str, Any] = {}
        if action != "update":  # the record's creation or removal: its own audit record
            record["AuditRecord"] = self.audit(entry)
        return self.odm.ItemGroupData(
            ItemGroupOID=f"IG.{form.key}",
            ItemGroupRepeatKey=entry["entity_id"],
            TransactionType=TRANSACTIONS[action],
            ItemData=items,
            **record,
        )

    def subject(self, subject: Subject) -> Any:
        """The patient's SubjectData: an event per kind of record, a form per table, an
        ItemGroupData per audit entry in log order."""
        odm = self.odm
        present: dict[tuple[str, str], set[str]] = {}
        by_table: dict[str, list[dict[str, Any]]] = {}
        for entry in subject.entries:
            by_table.setdefault(entry["entity"], []).append(entry)
        events: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        for table, form in self.forms.items():
            groups = [
                self.group(e, subject.reasons, present.setdefault((table, e["entity_id"]), set()))
                for e in by_table.get(table, [])
            ]
            groups = [g for g in groups if g is not None]
            if not groups:
                continue
            first = by_table[table][0]
            form_data = odm.FormData(
                FormOID=f"F.{form.key}",
                TransactionType="Insert",
                AuditRecord=self.audit(first),
                ItemGroupData=groups,
            )
            events.setdefault(form.event, []).append((first, form_data))
        event_data = []
        for event in RECORD_EVENTS:
            if event not in events:
                continue
            first = min((f for f, _ in events[event]), key=lambda e: e["seq"])
            event_data.append(
                odm.StudyEventData(
                    StudyEventOID=f"SE.{event}",
                    TransactionType="Insert",
                    AuditRecord=self.audit(first),
                    FormData=[form_data for _, form_data in events[event]],
                )
            )
        options: dict[str, Any] = {}
        creation = next(
            (
                e
                for e in subject.entries
                if e["entity"] == "patients"
                and e["entity_id"] == str(subject.patient_id)
                and e["action"] == "create"
            ),
            subject.entries[0] if subject.entries else None,
        )
        if creation is not None:
            options["AuditRecord"] = self.audit(creation)
        return odm.SubjectData(
            SubjectKey=subject.usubjid,
            TransactionType="Insert",
            SiteRef=odm.SiteRef(LocationOID=f"LOC.{subject.site}"),
            StudyEventData=event_data,
            **options,
        )


def _subjects(ctx: Context, patient_id: int | None, site: str | None) -> list[Subject]:
    """The patients to export (one, a site's or all the caller may read) with their trail."""
    protocol = ctx.protocol
    with ctx.store.read_only() as session:
        if patient_id is not None:
            patient, _ = require_patient(session, ctx, "export_audit_odm", patient_id)
            rows = [(patient, queries.get(session, m.Site, patient.site_id).code)]
        else:
            scope = read_scope(session, ctx, "export_audit_odm")
            if site is not None:
                site_row = queries.site_by_code(session, site)
                if site_row is None:
                    raise NotFound(f"site: no site with code {site!r}")
                require_site(session, scope, "export_audit_odm", site_row.id)
            rows = patients_in_states(session, scope.sql_filter(), STATES)
            if site is not None:
                rows = [(p, code) for p, code in rows if code == site]
        keys = [(p.id, f"{protocol.id.upper()}-{code}-{p.pseudo_id}", code) for p, code in rows]
    out = []
    for pid, usubjid, code in keys:
        entries, reasons = patient_entries(ctx, pid)
        out.append(Subject(pid, usubjid, code, entries, reasons))
    return out


def _people(odm: Any, session: Any, actors: list[str]) -> tuple[dict[str, Person], list, set]:
    """Each actor as a ``Person``, the AdminData ``User``s, and the sites they work at."""
    people: dict[str, Person] = {}
    users = []
    sites: set[str] = set()
    for actor in actors:
        user = None if actor == SYSTEM else queries.user_by_name(session, actor)
        site = None
        if user is not None and user.site_id is not None:
            site = queries.get(session, m.Site, user.site_id).code
            sites.add(site)
        where = f"LOC.{site}" if site else CENTRAL
        role = user.role if user is not None else None
        people[actor] = Person(
            f"USR.{actor}",
            where,
            "Monitoring" if role in MONITORING_ROLES else "DataManagement",
        )
        names: dict[str, Any] = {"LoginName": odm.LoginName(_content=actor)}
        shown = user.full_name if user is not None and user.full_name else None
        if shown:
            names["FullName"] = odm.FullName(_content=xml_safe(shown))
        label = shown or ("talentop (system process)" if actor == SYSTEM else actor)
        users.append(
            odm.User(
                OID=f"USR.{actor}",
                UserType=USER_TYPES.get(role or "", "Other"),
                DisplayName=odm.DisplayName(_content=xml_safe(f"{label} ({role or 'system'})")),
                LocationRef=[odm.LocationRef(LocationOID=where)],
                **names,
            )
        )
    return people, users, sites


def audit_mdv_oid(protocol: Any) -> str:
    return f"{mdv_oid(protocol)}.RECORDS"


def build_audit_odm(
    ctx: Context, *, patient_id: int | None = None, site: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The Transactional ODM document (XML text) and counts (see the module docstring)."""
    odm = _odm()
    protocol = ctx.protocol
    subjects = _subjects(ctx, patient_id, site)
    fields: dict[str, set[str]] = {}
    for subject in subjects:
        for entry in subject.entries:
            names = fields.setdefault(entry["entity"], set())
            names.update(f for f, _, _ in changes_of(entry))
    spec = record_forms(fields)
    actors = sorted({e["actor"] for s in subjects for e in s.entries})
    with ctx.store.read_only() as session:
        people, users, user_sites = _people(odm, session, actors)
    writer = _Writer(odm, {f.name: f for f in spec}, people)
    subject_data = [writer.subject(s) for s in subjects]
    mdv = audit_mdv_oid(protocol)
    sites = sorted({s.site for s in subjects} | user_sites)
    locations = [location(odm, protocol, f"LOC.{code}", code, "Site", mdv) for code in sites]
    if any(p.location_oid == CENTRAL for p in people.values()):
        locations.append(location(odm, protocol, CENTRAL, "Central (trial office)", "Sponsor", mdv))
    stamps = [utc_text(e["at"]) for s in subjects for e in s.entries]
    created = dt.datetime.now(dt.UTC)
    latest = max((dt.datetime.fromisoformat(t) for t in stamps), default=created)
    created = max(created, latest + dt.timedelta(microseconds=1))
    what = (
        f"patient {patient_id}"
        if patient_id is not None
        else (f"site {site}" if site else "every patient the exporter may read")
    )
    document = odm.ODM(
        Description=f"talentop audit trail with the clinical data: {what}",
        FileOID=f"TALENTOP-AUDIT-{protocol.id}-{created:%Y%m%dT%H%M%S%f}",
        FileType="Transactional",
        CreationDateTime=created.isoformat(),
        AsOfDateTime=created.isoformat(),
        ODMVersion="1.3.2",
        Originator="talentop",
        SourceSystem="talentop",
        SourceSystemVersion=__version__,
        Study=[
            study_element(
                odm,
                protocol,
                metadata(
                    odm,
                    protocol,
                    spec,
                    events=RECORD_EVENTS,
                    oid=mdv,
                    name=f"{protocol.id} stored records, protocol version {protocol.version}",
                    with_codelists=False,
                ),
            )
        ],
        AdminData=[odm.AdminData(User=users, Location=locations)] if users else [],
        ClinicalData=[
            odm.ClinicalData(
                StudyOID=study_oid(protocol), MetaDataVersionOID=mdv, SubjectData=subject_data
            )
        ]
        if subject_data
        else [],
    )
    counts = {
        "subjects": len(subject_data),
        "transactions": writer.transactions,
        "changes": writer.items,
        "users": len(users),
        "locations": len(locations),
        "forms": len(spec),
    }
    return document.to_xml_string(xml_declaration=True), counts


@service
def export_audit_odm(
    ctx: Context,
    patient_id: RecordId | None = None,
    *,
    site: str | None = None,
    validate: bool = False,
) -> dict[str, Any]:
    """The audit trail with the clinical data as a CDISC ODM 1.3.2 Transactional document:
    of one patient, of a site's patients, or (neither given) of every patient the caller
    may read. ``validate`` checks it against the ODM 1.3.2 schema (``InvalidInput`` listing
    the problems). Returns ``{"xml", "subjects", "transactions", "changes", ...}``; the
    export is itself an audited event (``auth_events``, kind ``audit_exported``)."""
    if patient_id is not None and site is not None:
        raise InvalidInput.field("site", site, "no site when a patient is named")
    xml, counts = build_audit_odm(ctx, patient_id=patient_id, site=site)
    if validate:
        problems = schema_problems(xml)
        if problems:
            raise InvalidInput(["ODM schema: " + p for p in problems])
    what = f"patient {patient_id}" if patient_id is not None else f"site {site or 'all'}"
    log_export(
        ctx,
        f"{what}: {counts['subjects']} subjects, {counts['changes']} changes (ODM 1.3.2)",
    )
    return {"xml": xml, "validated": validate, **counts}
