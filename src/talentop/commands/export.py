"""`talentop export adtte`: the ADTTE dataset (TTF, OS, PFS, PFSMR) as CSV and/or SAS XPT."""

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


def register(app: typer.Typer) -> None:
    """Add `talentop export` to the root app."""
    app.add_typer(export_app, name="export")
