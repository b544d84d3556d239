"""Dataset-JSON 1.1 exports of the analysis datasets ADTTE and ADAE (beside ADTTE's CSV and
XPT), tied to the ODM export's study and metadata-version OIDs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from talentop import __version__
from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.services.odm_export import mdv_oid, study_oid
from talentop.services.sae import CRITERIA
from talentop.services.states import STATES
from talentop.store import models as m
from talentop.store import queries
from talentop.store.read_queries import patients_in_states

DATASETS = ("adtte", "adae")


def adae_frame(ctx: Context) -> Any:
    """ADAE of the patients the caller may read (every AE, with its SAE report if any)."""
    from talentop.endpoints.adae import derive_adae

    events = []
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "export_dataset_json")
        for patient, site in patients_in_states(session, scope.sql_filter(), STATES):
            doses = queries.rows_for(session, m.DrugAdministration, patient.id)
            allocation = queries.latest(
                session, m.Randomisation, patient.id, m.Randomisation.randomised_on
            )
            reports = {
                r.adverse_event_id: r for r in queries.rows_for(session, m.SaeReport, patient.id)
            }
            for ae in queries.rows_for(session, m.AdverseEvent, patient.id):
                sae = reports.get(ae.id)
                events.append(
                    {
                        "id": ae.id,
                        "usubjid": f"{ctx.protocol.id.upper()}-{site}-{patient.pseudo_id}",
                        "site": site,
                        "arm": patient.arm,
                        "first_dose": min((d.given_on for d in doses), default=None),
                        "randomised_on": allocation.randomised_on if allocation else None,
                        "term": ae.term,
                        "grade": ae.grade,
                        "attribution": ae.attribution,
                        "serious": ae.serious,
                        "onset_date": ae.onset_date,
                        "sae": None
                        if sae is None
                        else {
                            "criteria": {c: getattr(sae, c) for c in CRITERIA},
                            "outcome": sae.outcome,
                            "susar": sae.susar,
                            "on_time": sae.reported_at <= sae.due_at,
                        },
                    }
                )
    return derive_adae(ctx.protocol.id.upper(), events)


@service
def export_dataset_json(
    ctx: Context,
    out_dir: str | Path,
    *,
    datasets: Annotated[list[Literal["adtte", "adae"]], Field(min_length=1, max_length=2)]
    | None = None,
    cutoff_date: dt.date | str | None = None,
) -> dict[str, Any]:
    """Write ``adtte.json`` and/or ``adae.json`` (Dataset-JSON 1.1; default both) into
    ``out_dir``; ADTTE at ``cutoff_date`` as ``derive_endpoints`` derives it."""
    from talentop.endpoints import export as adtte_export
    from talentop.endpoints.adae import LABELS as ADAE_LABELS
    from talentop.endpoints.dataset_json import dataset_json, write_dataset_json
    from talentop.services.endpoints import derive_endpoints

    with ctx.store.read_only() as session:
        read_scope(session, ctx, "export_dataset_json")  # refuse before deriving anything
    out = Path(out_dir)
    created = ctx.now().replace(tzinfo=dt.UTC)
    written: dict[str, Any] = {}
    for name in dict.fromkeys(datasets or DATASETS):
        if name == "adtte":
            frame = derive_endpoints(ctx, cutoff_date)
            labels, label, keys = (
                adtte_export.LABELS,
                "Time-to-Event Analysis Dataset",
                (
                    "USUBJID",
                    "PARAMCD",
                ),
            )
        else:
            frame = adae_frame(ctx)
            labels, label, keys = (
                ADAE_LABELS,
                "Adverse Events Analysis Dataset",
                (
                    "USUBJID",
                    "AESEQ",
                ),
            )
        document = dataset_json(
            frame,
            name=name.upper(),
            label=label,
            labels=labels,
            study_oid=study_oid(ctx.protocol),
            metadata_version_oid=mdv_oid(ctx.protocol),
            created=created,
            source_version=__version__,
            keys=keys,
        )
        path = write_dataset_json(document, out / f"{name}.json")
        written[name] = {"path": str(path), "records": len(frame)}
    return {"datasets": written}
