"""`talentop calibrate`: the TALENTOP interim's data cut and piecewise hazards, or hazards
fitted to patient rows (``--from-ipd``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from talentop.commands._edge import console, edge, number_cell, print_json, print_table


def _count(value: float | None) -> str:
    """A count: whole when it is one (83), one decimal when it is an expectation (90.7)."""
    if value is None or value != value:
        return "-"
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def calibrate(
    replicates: int = typer.Option(2000, help="Monte-Carlo trials for the check of the fit."),
    seed: int = typer.Option(20251017, help="Seed of the Monte-Carlo check."),
    accrual_months: float = typer.Option(24.0, help="Assumed accrual duration (not published)."),
    data_cut_months: float = typer.Option(
        None, help="Calendar month of the interim; default: fitted so the TTF z gives P = 0.015."
    ),
    ttf_early_hr: float = typer.Option(
        1.5, help="TTF hazard of operated vs arm B in the early window (its length is fitted)."
    ),
    window_months: float = typer.Option(3.0, help="Length of the early OS surgical-risk window."),
    os_control_median: float = typer.Option(
        None, help="OS median of arm B (months); default: fitted to the OS HR CI width."
    ),
    from_ipd: list[Path] = typer.Option(
        None,
        "--from-ipd",
        help="Instead: fit piecewise hazards to patient rows (time, event), e.g. from "
        "talentop reconstruct; repeat per arm (the first is the experimental arm).",
    ),
    pieces: str = typer.Option(
        None,
        "--pieces",
        help="With --from-ipd: cut times, e.g. 0,3,6,12 (default: quartiles "
        "of the pooled event times).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print hazards and fit as JSON."),
) -> None:
    """Fit the data cut and piecewise hazards (18/101 not operated) to the TALENTOP interim.

    With --from-ipd: fit each arm's piecewise-exponential hazards to its whole curve
    (maximum likelihood per piece) and show how well the model matches the Kaplan-Meier curve.

    Targets: median TTF 20.4 vs 11.8 months, TTF HR 0.60 with P = 0.015 (fits the data cut:
    expected log-rank z 2.432), OS HR 0.67 with 95% CI 0.35-1.29 (fits the arm-B OS hazard:
    SE 0.333), 83/101 operated. Prints target vs analytic (large-sample) vs Monte Carlo for
    every figure, with the implied TTF events and OS deaths.
    """
    if from_ipd:
        from talentop.commands.ipd import calibrate_from_ipd

        calibrate_from_ipd(from_ipd, pieces, as_json)
        return
    from talentop.design.calibrate import CalibrationAssumptions, calibrate_talentop

    assumptions = CalibrationAssumptions(
        accrual_months=accrual_months,
        data_cut_months=data_cut_months,
        ttf_early_hr=ttf_early_hr,
        surgical_window_months=window_months,
        os_control_median_months=os_control_median,
    )
    result = calibrate_talentop(assumptions=assumptions, replicates=replicates, seed=seed)
    if as_json:
        print_json(result.to_dict())
        return
    hazards = Table(title="Fitted hazards per month (arm A = operated patients)")
    for name in ("endpoint", "arm", "pieces (start month: hazard)"):
        hazards.add_column(name)
    for endpoint, pieces in (("TTF", result.ttf_hazards), ("OS", result.os_hazards)):
        for arm, arm_pieces in pieces.items():
            hazards.add_row(endpoint, arm, ", ".join(f"{s:.4g}: {h:.5f}" for s, h in arm_pieces))
    print_table(hazards)
    fitted = ", ".join(result.fitted) or "nothing (all given)"
    console.print(
        f"data cut month {result.data_cut_months:.2f} after the first randomisation "
        f"(accrual {result.assumptions.accrual_months:g} months); fitted: {fitted}"
    )
    fit = Table(title=f"Fit: target vs achieved ({replicates} Monte-Carlo trials, seed {seed})")
    for name in ("quantity", "target", "source", "analytic", "Monte Carlo", "MC SE", "flag"):
        fit.add_column(name, justify="left" if name in ("quantity", "source", "flag") else "right")
    for row in result.fit.itertuples(index=False):
        count = row.kind == "count"
        fit.add_row(
            row.quantity,
            _count(row.target) if count else number_cell(row.target),
            row.source,
            number_cell(row.analytic, 1) if count else number_cell(row.analytic),
            number_cell(row.monte_carlo, 1) if count else number_cell(row.monte_carlo),
            number_cell(row.mc_se, 2) if count else number_cell(row.mc_se),
            row.flag,
        )
    print_table(fit)
    flagged = [row.quantity for row in result.fit.itertuples(index=False) if row.flag]
    if flagged:
        console.print(
            f"{len(flagged)} figure(s) further than 3 Monte-Carlo SEs from the target: "
            f"{', '.join(flagged)} (large-sample fit vs trials of this size)",
            markup=False,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add `calibrate` to the root app."""
    app.command("calibrate")(edge(calibrate))
