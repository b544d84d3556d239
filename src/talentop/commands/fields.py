"""`talentop fields`: the screening data dictionary, and a blank CSV template for `screen`."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.table import Table

from talentop.clinical.dictionary import dictionary, template_columns
from talentop.commands._edge import console, edge, print_json, print_table
from talentop.commands._files import output_file


@edge
def fields(
    protocol: str = typer.Option(
        None,
        "--protocol",
        "-p",
        help="Shipped protocol name or YAML path: show which criteria read each field, and "
        "put only the fields it needs in the template.",
    ),
    template: Path = typer.Option(
        None,
        "--template",
        help="Write a blank screening CSV here: a header row of field names (one unit per "
        "lab), ready to fill and pass to `talentop screen`.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --template file."),
    as_json: bool = typer.Option(False, "--json", help="Print the dictionary as JSON."),
) -> None:
    """The data dictionary of the patient fields `talentop screen` reads.

    One row per field: unit, allowed values (values outside are refused as implausible,
    with a hint when they look like another unit), the source document the value comes
    from and, with --protocol, the eligibility criteria that read it. Labs accepted in two
    units (bilirubin, albumin) take exactly one of them per patient.
    """
    from talentop.protocol import load_protocol

    loaded = load_protocol(protocol) if protocol else None
    entries = dictionary(loaded)
    columns = template_columns(loaded)
    if template is not None:
        output_file(template, "--template", overwrite=force)
        with template.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(columns)
    if as_json:
        print_json(
            {
                "protocol": loaded.id if loaded else None,
                "fields": [entry.__dict__ | {"used_by": list(entry.used_by)} for entry in entries],
                "template_columns": columns,
                "template": str(template) if template else None,
            }
        )
        return
    title = "Screening fields" + (f" read by {loaded.id}" if loaded else "")
    table = Table(title=title)
    names = ("field", "meaning", "unit", "allowed values", "source", "used by" if loaded else None)
    for name in names:
        if name:
            table.add_column(name, overflow="fold")
    for entry in entries:
        field_text = entry.field + (f"\n(or {entry.alternative})" if entry.alternative else "")
        row = [field_text, entry.description, entry.unit, entry.allowed, entry.source]
        if loaded:
            row.append(", ".join(entry.used_by) or "-")
        table.add_row(*row)
    print_table(table)
    if template is not None:
        console.print(
            f"wrote {template}: {len(columns)} columns (patient_id, site and "
            f"{'the fields ' + loaded.id + ' reads' if loaded else 'every field'})",
            markup=False,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add `talentop fields` to the root app."""
    app.command("fields")(fields)
