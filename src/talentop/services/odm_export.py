"""CDISC ODM 1.3.2 export of the clinical data, with its metadata, written with odmlib
(Sam Hume's maintained ODM library: the ODM 1.3.2 object model, serialisation and the
bundled schema). What it covers and what not: ``docs/exchange.md``.

One ``Study`` (global variables, one ``MetaDataVersion`` with the protocol's events, forms,
item groups, items and code lists from ``odm_spec``), ``AdminData`` with a ``Location`` per
site, and ``ClinicalData`` with one ``SubjectData`` per patient in the caller's read scope
(pseudonymised readers get no free-text values).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from talentop import __version__
from talentop.errors import InvalidInput
from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.services.odm_spec import EVENTS, Form, Item, codelists, forms
from talentop.services.states import STATES
from talentop.store.read_queries import patients_in_states

ODM_NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
#: Characters XML 1.0 cannot carry, not even as character references (section 2.2 Char):
#: C0 controls other than tab, line feed and carriage return, U+FFFE, U+FFFF, surrogates.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry replaced by U+FFFD (the services
    accept free text with control characters; written raw they would make the whole
    document unreadable)."""
    return _NOT_XML.sub("\ufffd", text)


def _odm() -> Any:
    import odmlib.ns_registry as ns
    import odmlib.odm_1_3_2.model as odm

    ns.NamespaceRegistry(prefix="odm", uri=ODM_NAMESPACE, is_default=True, is_reset=True)
    return odm


def _text(odm: Any, text: str) -> Any:
    return odm.Description(TranslatedText=[odm.TranslatedText(_content=text, lang="en")])


def study_oid(protocol: Any) -> str:
    return f"ST.{protocol.id.upper()}"


def mdv_oid(protocol: Any) -> str:
    return f"MDV.{protocol.id.upper()}.{protocol.version}"


def _item_oid(form: Form, item: Item) -> str:
    return f"IT.{form.key}.{item.name}"


def metadata(
    odm: Any,
    protocol: Any,
    spec: list[Form],
    *,
    events: dict[str, str] = EVENTS,
    oid: str | None = None,
    name: str | None = None,
    with_codelists: bool = True,
) -> Any:
    """The ``MetaDataVersion``: events -> forms -> one repeating item group each -> items
    (``events``: key -> name, in order; the audit export describes its own record forms)."""
    used = [e for e in events if any(f.event == e for f in spec)]
    event_defs = [
        odm.StudyEventDef(
            OID=f"SE.{event}",
            Name=events[event],
            Repeating="No",
            Type="Common",
            FormRef=[
                odm.FormRef(FormOID=f"F.{f.key}", Mandatory="No", OrderNumber=i)
                for i, f in enumerate((f for f in spec if f.event == event), start=1)
            ],
        )
        for event in used
    ]
    form_defs = [
        odm.FormDef(
            OID=f"F.{f.key}",
            Name=f.name,
            Repeating="No",
            ItemGroupRef=[odm.ItemGroupRef(ItemGroupOID=f"IG.{f.key}", Mandatory="No")],
        )
        for f in spec
    ]
    group_defs = [
        odm.ItemGroupDef(
            OID=f"IG.{f.key}",
            Name=f.name,
            Repeating="Yes",
            Description=_text(odm, f.name),
            ItemRef=[
                odm.ItemRef(ItemOID=_item_oid(f, item), Mandatory="No", OrderNumber=i)
                for i, item in enumerate(f.items, start=1)
            ],
        )
        for f in spec
    ]
    item_defs = []
    for f in spec:
        for item in f.items:
            options: dict[str, Any] = {}
            if item.length is not None:
                options["Length"] = item.length
            if item.codelist is not None:
                options["CodeListRef"] = odm.CodeListRef(CodeListOID=f"CL.{item.codelist}")
            item_defs.append(
                odm.ItemDef(
                    OID=_item_oid(f, item),
                    Name=item.name,
                    DataType=item.datatype,
                    SASFieldName=item.name[:8],
                    Description=_text(odm, item.label),
                    **options,
                )
            )
    code_lists = [
        odm.CodeList(
            OID=f"CL.{list_name}",
            Name=list_name,
            DataType=datatype,
            CodeListItem=[
                odm.CodeListItem(
                    CodedValue=value,
                    Decode=odm.Decode(
                        TranslatedText=[odm.TranslatedText(_content=decode, lang="en")]
                    ),
                )
                for value, decode in entries
            ],
        )
        for list_name, (datatype, entries) in (
            codelists(protocol) if with_codelists else {}
        ).items()
    ]
    return odm.MetaDataVersion(
        OID=oid or mdv_oid(protocol),
        Name=name or f"{protocol.id} protocol version {protocol.version}",
        Description=protocol.title,
        Protocol=odm.Protocol(
            StudyEventRef=[
                odm.StudyEventRef(StudyEventOID=f"SE.{e}", OrderNumber=i, Mandatory="No")
                for i, e in enumerate(used, start=1)
            ]
        ),
        StudyEventDef=event_defs,
        FormDef=form_defs,
        ItemGroupDef=group_defs,
        ItemDef=item_defs,
        CodeList=code_lists,
    )


def value_text(value: Any, datatype: str) -> str | None:
    """An item value as ODM writes it (ISO dates and times, ``true``/``false``)."""
    if value is None:
        return None
    if datatype == "boolean":
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if datatype == "integer":
        return str(int(value))
    if datatype == "float":
        return repr(float(value))
    return xml_safe(str(value))


def subject_data(
    odm: Any,
    session: Any,
    patient: Any,
    site: str,
    spec: list[Form],
    *,
    usubjid: str,
    pseudonymised: bool,
) -> Any:
    """One patient's ``SubjectData``: an event per event type with data, a form per form
    with rows, one ``ItemGroupData`` per row."""
    events: dict[str, list[Any]] = {}
    for f in spec:
        groups = []
        for key, row in enumerate(f.rows(session, patient), start=1):
            data = []
            for item in f.items:
                if pseudonymised and item.free_text:
                    continue
                text = value_text(row.get(item.name), item.datatype)
                if text is not None:
                    data.append(odm.ItemData(ItemOID=_item_oid(f, item), Value=text))
            if data:
                groups.append(
                    odm.ItemGroupData(
                        ItemGroupOID=f"IG.{f.key}", ItemGroupRepeatKey=str(key), ItemData=data
                    )
                )
        if groups:
            events.setdefault(f.event, []).append(
                odm.FormData(FormOID=f"F.{f.key}", ItemGroupData=groups)
            )
    return odm.SubjectData(
        SubjectKey=usubjid,
        SiteRef=odm.SiteRef(LocationOID=f"LOC.{site}"),
        StudyEventData=[
            odm.StudyEventData(StudyEventOID=f"SE.{event}", FormData=forms_)
            for event, forms_ in events.items()
        ],
    )


def location(
    odm: Any, protocol: Any, oid: str, name: str, kind: str, mdv: str | None = None
) -> Any:
    """An AdminData ``Location`` (``kind``: Site, Sponsor, ...) using the metadata version
    ``mdv`` (default: the protocol's) since the first consent form took effect."""
    return odm.Location(
        OID=oid,
        Name=name,
        LocationType=kind,
        MetaDataVersionRef=[
            odm.MetaDataVersionRef(
                StudyOID=study_oid(protocol),
                MetaDataVersionOID=mdv or mdv_oid(protocol),
                EffectiveDate=protocol.consent.forms[0].effective_on.isoformat(),
            )
        ],
    )


def study_element(odm: Any, protocol: Any, mdv: Any) -> Any:
    """The ``Study``: the protocol's global variables and one ``MetaDataVersion``."""
    return odm.Study(
        OID=study_oid(protocol),
        GlobalVariables=odm.GlobalVariables(
            StudyName=odm.StudyName(_content=protocol.id.upper()),
            StudyDescription=odm.StudyDescription(_content=protocol.title),
            ProtocolName=odm.ProtocolName(_content=protocol.registry_id),
        ),
        MetaDataVersion=[mdv],
    )


def build_odm(ctx: Context, *, now: dt.datetime | None = None) -> tuple[str, dict[str, Any]]:
    """The ODM document (XML text) and counts, for the patients the caller may read."""
    odm = _odm()
    protocol = ctx.protocol
    spec = forms(protocol)
    created = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "export_odm")
        rows = patients_in_states(session, scope.sql_filter(), STATES)
        sites = sorted({site for _, site in rows})
        subjects = [
            subject_data(
                odm,
                session,
                patient,
                site,
                spec,
                usubjid=f"{protocol.id.upper()}-{site}-{patient.pseudo_id}",
                pseudonymised=scope.pseudonymised,
            )
            for patient, site in rows
        ]
    locations = [location(odm, protocol, f"LOC.{site}", site, "Site") for site in sites]
    study = study_element(odm, protocol, metadata(odm, protocol, spec))
    document = odm.ODM(
        FileOID=f"TALENTOP-ODM-{protocol.id}-{created:%Y%m%dT%H%M%S}",
        FileType="Snapshot",
        Granularity="All",
        CreationDateTime=created.isoformat(),
        ODMVersion="1.3.2",
        Originator="talentop",
        SourceSystem="talentop",
        SourceSystemVersion=__version__,
        Study=[study],
        AdminData=[odm.AdminData(Location=locations)] if locations else [],
        ClinicalData=[
            odm.ClinicalData(
                StudyOID=study_oid(protocol),
                MetaDataVersionOID=mdv_oid(protocol),
                SubjectData=subjects,
            )
        ]
        if subjects
        else [],
    )
    counts = {
        "subjects": len(subjects),
        "sites": len(sites),
        "forms": len(spec),
        "items": sum(len(f.items) for f in spec),
        "pseudonymised": scope.pseudonymised,
    }
    return document.to_xml_string(xml_declaration=True), counts


def schema_problems(xml: str, *, limit: int = 20) -> list[str]:
    """Problems of ``xml`` against the ODM 1.3.2 XSD bundled with odmlib (xmlschema)."""
    from importlib import resources

    import xmlschema

    xsd = resources.files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
    schema = xmlschema.XMLSchema(str(xsd))
    return [f"{e.path}: {e.reason}" for e in list(schema.iter_errors(xml))[:limit]]


@service
def export_odm(ctx: Context, out_path: str | Path, *, validate: bool = False) -> dict[str, Any]:
    """Write the ODM 1.3.2 document to ``out_path``; ``validate`` checks it against the
    ODM schema first (``InvalidInput`` listing the problems, nothing written)."""
    xml, counts = build_odm(ctx)
    if validate:
        problems = schema_problems(xml)
        if problems:
            raise InvalidInput(["ODM schema: " + p for p in problems])
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(xml, encoding="utf-8")
    return {"path": str(path), "validated": validate, "bytes": path.stat().st_size, **counts}
