"""`talentop protocol`: list and show the protocols (eligibility, schedule, strata, arms)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from talentop.commands._edge import console, edge, print_json, print_table
from talentop.protocol import Protocol, available_protocols, load_protocol

protocol_app = typer.Typer(
    help="Show trial protocols (protocol-as-data files).", no_args_is_help=True
)


@protocol_app.command("list")
@edge
def list_protocols(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the protocols shipped with talentop."""
    names = available_protocols()
    if as_json:
        print_json([{"id": n, "registry_id": load_protocol(n).registry_id} for n in names])
        return
    for name in names:
        p = load_protocol(name)
        console.print(f"{name}  {p.registry_id}  {p.title}", markup=False, highlight=False)


def _dose(d) -> str:
    unit = "mg/kg" if d.dose_unit == "mg_per_kg" else "mg"
    return f"{d.drug} {d.dose:g} {unit} {d.route}"


def _render(p: Protocol) -> None:
    console.print(f"[bold]{p.title}[/]  ({p.id}, {p.registry_id}, version {p.version})")
    crit = Table(title="Eligibility")
    # The fields a criterion needs go under its text, in the widest column: a field name
    # the user must supply is never cut with "…" (it folds only below ~50 columns).
    crit.add_column("id", overflow="fold")
    crit.add_column("criterion / needs (patient fields)", overflow="fold")
    for c in p.eligibility:
        crit.add_row(c.id, Text(c.text) + Text("\nneeds: " + ", ".join(c.needs), style="cyan"))
    print_table(crit)
    ind = p.induction
    cycles = Table(
        title=f"Induction: q{ind.cycle_length_days}d, window +/-{ind.visit_window_days}d"
    )
    cycles.add_column("cycle")
    cycles.add_column("drugs")
    for cycle in ind.cycles:
        cycles.add_row(str(cycle.number), "; ".join(_dose(d) for d in cycle.drugs))
    print_table(cycles)
    console.print(
        f"Surgery >= {p.surgery.min_days_after_bevacizumab} d after bevacizumab; restart >= "
        f"{p.surgery.bevacizumab_restart_min_days} d after. Assessment {p.assessment.criteria} every "
        f"{p.assessment.interval_weeks} wk (window +/- {p.assessment.window_days} d; "
        f"{p.follow_up.imaging_interval_weeks} wk after treatment), "
        f"randomisable: {', '.join(p.assessment.randomisable_responses) or '-'}"
    )
    for s in p.strata:
        levels = ", ".join(
            f"{lvl.id} (<= {lvl.upper if lvl.upper is not None else 'inf'})" for lvl in s.levels
        )
        console.print(f"Stratum {s.id} on {s.variable}: {levels}", markup=False)
    r = p.randomisation
    console.print(
        f"Randomisation {r.scheme} ({r.timing}), ratio {r.ratio}, blocks {r.block_sizes}, "
        f"by site: {r.stratify_by_site}",
        markup=False,
    )
    for arm in p.arms:
        cap = f"{arm.maintenance_cap_months} months" if arm.maintenance_cap_months else "no cap"
        console.print(
            f"Arm {arm.id}: {arm.name} (surgery: {arm.includes_surgery}, {cap})", markup=False
        )
    console.print(
        f"MDT: >= {p.mdt.min_members} members, {p.mdt.rule}; "
        f"TTF failures: {', '.join(p.ttf.failure_reasons)}; "
        f"censored: {', '.join(p.ttf.censor_reasons) or 'none'}; "
        f"neither (follow-up continues): {', '.join(p.ttf.continue_reasons) or 'none'}",
        markup=False,
    )
    _render_plan(p)


def _sourced(name: str, item) -> str:
    value = item.value
    text = (
        ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        if isinstance(value, list)
        else value
    )
    return f"{name} = {text} [{item.source.strip()}]"


def _render_plan(p: Protocol) -> None:
    """Primary endpoint, the arm-B switch, the SAP (with sources) and the scenarios."""
    switch = p.ttf.switch_to_surgery
    console.print(
        f"Primary endpoint {p.endpoints.primary}; arm-B switch in TTF: {switch.primary} "
        f"(sensitivity: {', '.join(switch.sensitivity)})",
        markup=False,
    )
    if p.sap is not None:
        table = Table(title=f"SAP (planned HR {p.sap.planned_hazard_ratio:.3f})")
        table.add_column(escape("assumption [source]"), overflow="fold")
        for name in type(p.sap).model_fields:
            item = getattr(p.sap, name)
            if hasattr(item, "source"):
                table.add_row(Text(_sourced(name, item)))
        console.print(table)
    if p.scenarios:
        console.print(
            "Scenarios (talentop simulate --scenario ID): "
            + "; ".join(f"{s.id}: {s.title}" for s in p.scenarios),
            markup=False,
        )


@protocol_app.command("show")
@edge
def show(
    name: str = typer.Argument("talentop", help="Shipped protocol name or a YAML path."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole protocol as JSON."),
) -> None:
    """Show a protocol: criteria, induction cycles and doses, strata, arms, MDT and TTF rules."""
    p = load_protocol(name)
    if as_json:
        print_json(p.model_dump(mode="json"))
    else:
        _render(p)


def register(app: typer.Typer) -> None:
    """Add `talentop protocol ...` to the root app."""
    app.add_typer(protocol_app, name="protocol")
