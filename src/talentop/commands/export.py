"""`talentop export adtte | odm | dataset-json`: ADTTE as CSV and/or SAS XPT, the clinical
data as CDISC ODM 1.3.2, ADTTE and ADAE as CDISC Dataset-JSON 1.1."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from enum import StrEnum
from pathlib import Path

import typer

from talentop.commands._edge import console, edge, print_json
from talentop.commands._files import output_dir
from talentop.commands.db import URL_HELP
from talentop.errors import InvalidInput

export_app = typer.Typer(
    help="Export analysis datasets from the trial database.", no_args_is_help=True
)


class Format(StrEnum):
    csv = "csv"
    xpt = "xpt"
    both = "both"


@export_app.command("adtte")
@edge
def adtte(
    out: Path = typer.Option(
        ...,
        "--out",
        help="Folder to write adtte.csv / adtte.xpt into (created if missing; existing "
        "adtte files in it are replaced). A file, or a place that cannot be written, is an "
        "error naming the path; so is a full disk, and nothing half-written is left.",
    ),
    fmt: Format = typer.Option(
        Format.both, "--format", help="csv, xpt (SAS transport v5) or both."
    ),
    cutoff: str | None = typer.Option(
        None,
        "--cutoff",
        help=(
            "Data cut-off date YYYY-MM-DD (default: today): later events are ignored and "
            "patients randomised after it are left out (counted in the output)."
        ),
    ),
    protocol: str = typer.Option("talentop", "--protocol", help="Protocol id or YAML file."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Derive ADTTE (one row per randomised patient and parameter; CNSR 0 = event, positive
    codes = censoring reasons) with the protocol's TTF definition, and write it out."""
    from talentop.protocol import load_protocol
    from talentop.services import Context, export_adtte
    from talentop.store import Store

    cutoff_date = None
    if cutoff is not None:
        try:
            cutoff_date = dt.date.fromisoformat(cutoff)
        except ValueError:
            raise InvalidInput.field("--cutoff", cutoff, "a date YYYY-MM-DD") from None
    formats = ("csv", "xpt") if fmt is Format.both else (fmt.value,)
    output_dir(
        out, create=False
    )  # an existing file or a place that cannot be written: named, before work
    store = Store(url)
    # written into a private folder first, then moved into place: a full disk leaves no
    # half-written adtte.csv behind (and the export only reads the database)
    staging = out / f".adtte-{os.getpid()}.partial"
    try:
        result = export_adtte(
            Context(store, load_protocol(protocol), "system"),
            staging,
            formats=formats,
            cutoff_date=cutoff_date,
        )
        paths = []
        for written in result["paths"]:
            target = out / Path(written).name
            os.replace(written, target)
            paths.append(str(target))
        result["paths"] = paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        store.dispose()
    if json_out:
        print_json(result)
        return
    console.print(f"ADTTE: {result['rows']} rows for {result['patients']} randomised patients")
    if result["excluded_after_cutoff"]:
        console.print(
            f"  {result['excluded_after_cutoff']} patient(s) randomised after the cut-off "
            f"{cutoff} left out"
        )
    for path in result["paths"]:
        console.print(f"  wrote {path}")


def _cutoff(cutoff: str | None) -> dt.date | None:
    if cutoff is None:
        return None
    try:
        return dt.date.fromisoformat(cutoff)
    except ValueError:
        raise InvalidInput.field("--cutoff", cutoff, "a date YYYY-MM-DD") from None


@export_app.command("odm")
@edge
def odm(
    out: Path = typer.Option(..., "--out", help="The ODM XML file to write."),
    validate: bool = typer.Option(
        False, "--validate", help="Check the document against the ODM 1.3.2 schema first."
    ),
    with_audit: bool = typer.Option(
        False,
        "--with-audit",
        help="Write the stored records with their whole audit trail instead (a Transactional "
        "file: every change with its AuditRecord); logged as an audit export.",
    ),
    patient: int | None = typer.Option(
        None, "--patient", help="With --with-audit: this patient only (id)."
    ),
    site: str | None = typer.Option(
        None, "--site", help="With --with-audit: the patients of this site only (code)."
    ),
    protocol: str = typer.Option("talentop", "--protocol", help="Protocol id or YAML file."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write every patient's clinical data (consent, eligibility, treatment, MDT,
    randomisation, surgery, response, AEs with their SAE reports, medication, follow-up,
    deviations) with its metadata as one CDISC ODM 1.3.2 Snapshot file (docs/exchange.md).
    With --with-audit: the stored records of one patient, a site or everyone, with every
    change as an ODM transaction and its AuditRecord (who, where, when, why)."""
    from talentop.protocol import load_protocol
    from talentop.services import Context, export_odm
    from talentop.store import Store

    if not with_audit and (patient is not None or site is not None):
        raise InvalidInput.field(
            "--patient" if patient is not None else "--site",
            patient if patient is not None else site,
            "--with-audit as well (the Snapshot export holds every patient)",
        )
    if with_audit:
        from talentop.commands.audit import write_audit_odm

        store = Store(url)
        try:
            ctx = Context(store, load_protocol(protocol), "system")
            write_audit_odm(
                ctx, out, "--out", json_out, patient_id=patient, site=site, validate=validate
            )
        finally:
            store.dispose()
        return
    store = Store(url)
    result = export_odm(Context(store, load_protocol(protocol), "system"), out, validate=validate)
    store.dispose()
    if json_out:
        print_json(result)
        return
    checked = ", valid against the ODM 1.3.2 schema" if validate else ""
    console.print(
        f"ODM 1.3.2: {result['subjects']} subjects at {result['sites']} sites, "
        f"{result['forms']} forms{checked}\n  wrote {result['path']}"
    )


class Dataset(StrEnum):
    adtte = "adtte"
    adae = "adae"
    both = "both"


@export_app.command("dataset-json")
@edge
def dataset_json(
    out: Path = typer.Option(..., "--out", help="Directory to write adtte.json / adae.json."),
    dataset: Dataset = typer.Option(Dataset.both, "--dataset", help="adtte, adae or both."),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="ADTTE data cut-off YYYY-MM-DD (default: today)."
    ),
    protocol: str = typer.Option("talentop", "--protocol", help="Protocol id or YAML file."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write ADTTE and/or ADAE (adverse events with their SAE reports) as CDISC
    Dataset-JSON 1.1, tied to the ODM export's study and metadata-version OIDs."""
    from talentop.protocol import load_protocol
    from talentop.services import Context, export_dataset_json
    from talentop.store import Store

    names = ["adtte", "adae"] if dataset is Dataset.both else [dataset.value]
    store = Store(url)
    result = export_dataset_json(
        Context(store, load_protocol(protocol), "system"),
        out,
        datasets=names,
        cutoff_date=_cutoff(cutoff),
    )
    store.dispose()
    if json_out:
        print_json(result)
        return
    for name, info in result["datasets"].items():
        console.print(f"{name.upper()}: {info['records']} records\n  wrote {info['path']}")


def register(app: typer.Typer) -> None:
    """Add `talentop export` to the root app."""
    app.add_typer(export_app, name="export")
