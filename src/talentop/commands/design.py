"""`talentop design`, `talentop simulate`, `talentop calibrate`: trial design and simulation."""

from __future__ import annotations

import math

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from talentop.commands import _limits
from talentop.commands._edge import (
    console,
    edge,
    err_console,
    number_cell,
    number_table,
    print_json,
    print_table,
)
from talentop.errors import InvalidInput, check_problems

# ``talentop.design`` (numpy, scipy, pandas: about 0.8 s) is imported by the commands when
# they run, so `talentop design --help` and the like answer at once.


def _check_design(
    hazard_ratio: float, power: float, alpha: float, allocation: float, sided: int = 1
) -> None:
    """Name the options the user typed (power, not the internal beta = 1 - power)."""
    problems = []
    if sided not in (1, 2):
        problems.append(f"sided={sided!r}: expected 1 (one-sided) or 2 (two-sided symmetric)")
        sided = 1
    kind = "one-sided" if sided == 1 else "two-sided total"
    per_side = alpha / sided
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0 and hazard_ratio != 1):
        problems.append(
            f"hazard_ratio={hazard_ratio!r}: expected a finite positive ratio other than 1"
        )
    elif problem := _limits.hazard_ratio("--hazard-ratio", hazard_ratio):
        problems.append(problem)
    if not 0 < alpha < 0.5:
        problems.append(f"alpha={alpha!r}: expected a {kind} 0 < alpha < 0.5")
    if not 0 < power < 1:
        problems.append(f"power={power!r}: expected 0 < power < 1")
    elif 0 < alpha < 0.5 and power <= per_side:
        which = "alpha" if sided == 1 else "alpha per side"
        problems.append(f"power={power!r}: expected power > {which} ({per_side!r})")
    if not 0 < allocation < 1:
        problems.append(f"allocation={allocation!r}: expected the arm-A fraction, 0 < p < 1")
    check_problems(problems)


def design_table(
    *,
    hazard_ratio: float,
    power: float,
    alpha: float,
    looks: list[float],
    spending: str,
    gamma: float = -4.0,
    futility: str | None = None,
    futility_gamma: float = -2.0,
    allocation: float = 0.5,
    look_events: list[int] | None = None,
    sided: int = 1,
) -> dict:
    """The design as data: events per look and bounds on the z, HR and p scales.

    Without ``look_events`` the maximum events are Schoenfeld's times the inflation and the
    looks are fractions of it; with them the looks are those counts and the cumulative power
    is what they deliver at ``hazard_ratio`` (the events the target power needs are reported).
    ``sided=2``: symmetric two-sided bounds with ``alpha`` the two-sided total, alpha / 2
    spent on each side (the library's convention; gsDesign's ``test.type = 2`` takes the
    per-side alpha, so ``alpha=0.05, sided=2`` here is ``gsDesign(test.type=2, alpha=0.025)``);
    the events are sized for z_{alpha/2} and power counts the efficacy side only; each
    look's ``nominal_p`` and ``cumulative_alpha`` are then two-sided (``nominal_p_one_sided``
    is 1 - Phi(z) on either design).
    """
    from talentop.design.boundaries import gs_boundaries
    from talentop.design.plan import look_event_counts
    from talentop.design.sample_size import schoenfeld_events_exact

    _check_design(hazard_ratio, power, alpha, allocation, sided)
    options = dict(
        information=looks,
        alpha=alpha,
        spending=spending,
        beta=1 - power,
        futility=futility,
        gamma=gamma,
        futility_gamma=futility_gamma,
        sided=sided,
    )
    bounds = gs_boundaries(**options)
    fixed = schoenfeld_events_exact(
        hazard_ratio=hazard_ratio, alpha=alpha, power=power, allocation=allocation, sided=sided
    )
    needed = math.ceil(round(fixed * bounds.inflation, 9))
    if look_events is None:
        events = look_event_counts(fixed, bounds.inflation, list(bounds.information))
        final = events[-1]
    else:
        events = list(look_events)
        final = events[-1]
        drift = abs(math.log(hazard_ratio)) * math.sqrt(allocation * (1 - allocation) * final)
        bounds = gs_boundaries(**options, drift=drift)
    table = bounds.summary
    table.insert(2, "events", events)
    table["efficacy_hr"] = bounds.hr_scale(events, allocation, hazard_ratio=hazard_ratio)
    if sided == 2:  # the mirror bound: stop for harm (HR on the other side of 1)
        table["lower_z"] = [-z for z in bounds.efficacy_z]
        table["harm_hr"] = [1 / hr for hr in table["efficacy_hr"]]
    if bounds.futility_z is not None:
        table["futility_hr"] = bounds.hr_scale(
            events, allocation, bound="futility", hazard_ratio=hazard_ratio
        )
    return {
        "hazard_ratio": hazard_ratio,
        "power": power,
        "sided": sided,
        "alpha": alpha,
        "alpha_one_sided": alpha / sided,
        "allocation": allocation,
        "fixed_design_events": fixed,
        "inflation": bounds.inflation,
        "max_events": final,
        "required_events": needed,
        "achieved_power": bounds.cumulative_power[-1],
        "looks": table.to_dict(orient="records"),
        "bounds": bounds.to_dict(),
    }


_LOOKS_HELP = (
    "Looks, comma-separated. Values all in (0, 1] are information fractions (e.g. 0.5,1; "
    "the last must be 1, else 1 is appended with a note). Values all > 1 are event counts "
    "(increasing whole numbers, e.g. 60,121; the last is the final analysis and the power "
    "shown is what it delivers). A mix (0.5,1.5) is an error."
)


def design(
    hazard_ratio: float = typer.Option(
        ..., "--hazard-ratio", help="Hazard ratio to detect (A vs B), e.g. 0.6 (or 1.5 for harm)."
    ),
    power: float = typer.Option(0.8, help="Power at that hazard ratio, 0 < power < 1."),
    alpha: float = typer.Option(
        None,
        help="Type I error, 0 < alpha < 0.5: one-sided with --sided 1 (default 0.025), the "
        "two-sided total with --sided 2 (default 0.05, i.e. 0.025 per side).",
    ),
    sided: int = typer.Option(
        1,
        "--sided",
        help="1: one-sided efficacy bounds. 2: symmetric two-sided bounds (stop for benefit "
        "or harm), alpha / 2 spent per side; --alpha 0.05 --sided 2 equals R gsDesign "
        "test.type=2 with alpha=0.025. Futility bounds need --sided 1.",
    ),
    looks: str = typer.Option("1", help=_LOOKS_HELP),
    spending: str = typer.Option(
        "obf",
        help="Alpha spending: obf (O'Brien-Fleming-type), pocock, hsd (Lan-DeMets), or "
        "classical_obf / classical_pocock (Wang-Tsiatis, no spending function).",
    ),
    gamma: float = typer.Option(-4.0, help="Hwang-Shih-DeCani gamma when --spending hsd."),
    futility: str = typer.Option(
        None, help="Add non-binding futility bounds by beta spending: obf, pocock, hsd."
    ),
    futility_gamma: float = typer.Option(-2.0, help="HSD gamma of the futility spending."),
    allocation: float = typer.Option(0.5, help="Fraction randomised to arm A."),
    as_json: bool = typer.Option(False, "--json", help="Print the design JSON for scripts."),
) -> None:
    """Group-sequential design: events (Schoenfeld x inflation) and bounds per look.

    Limits (docs/limits.md): hazard ratio 0.01 to 100, alpha per side >= 1e-12, power <=
    0.9999, at most 100 looks; outside them the numbers would not be right.

    Bounds are Lan-DeMets spending bounds computed by recursive numerical integration (as R
    gsDesign); the table shows them on the z, hazard-ratio and nominal p scales with the
    cumulative alpha spent (both two-sided with --sided 2; the JSON also gives each look's
    one-sided nominal_p_one_sided). On the HR scale a bound is exp(-z / sqrt(p (1 - p) d)) for a
    hazard ratio below 1 and exp(+z / sqrt(p (1 - p) d)) above 1.
    """
    from talentop.design.looks import parse_looks

    if alpha is None:
        alpha = 0.05 if sided == 2 else 0.025
    parsed = parse_looks(looks)
    check_problems(_limits.design_options(alpha / max(sided, 1), power, len(parsed.fractions)))
    result = design_table(
        hazard_ratio=hazard_ratio,
        power=power,
        alpha=alpha,
        looks=parsed.fractions,
        spending=spending,
        gamma=gamma,
        futility=futility,
        futility_gamma=futility_gamma,
        allocation=allocation,
        look_events=parsed.event_counts,
        sided=sided,
    )
    if as_json:
        print_json({**result, "notes": parsed.notes})
        return
    for note in parsed.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    columns = ["look", "fraction", "events", "Z efficacy", "HR at bound", "nominal p", "cum. alpha"]
    if sided == 2:
        columns[3:7] = ["Z bounds (+/-)", "HR benefit", "HR harm", "nominal p (2-sided)"]
        columns.append("cum. alpha (2-sided)")
    has_futility = result["bounds"]["futility_z"] is not None
    if has_futility:
        columns += ["Z futility", "HR futility"]
    columns.append("cum. power")
    rows = []
    for row in result["looks"]:
        cells = [
            str(row["look"]),
            f"{row['information_fraction']:.3f}",
            str(row["events"]),
            f"{row['efficacy_z']:.4f}",
            f"{row['efficacy_hr']:.3f}",
            _p_cell(row["nominal_p"]),
            _p_cell(row["cumulative_alpha"]),
        ]
        if sided == 2:
            cells[3:6] = [
                f"±{row['efficacy_z']:.4f}",
                f"{row['efficacy_hr']:.3f}",
                f"{row['harm_hr']:.3f}",
                _p_cell(row["nominal_p"]),
            ]
        if has_futility:
            cells += [f"{row['futility_z']:.4f}", f"{row['futility_hr']:.3f}"]
        cells.append(f"{row['cumulative_power']:.3f}")
        rows.append(cells)
    sides = (
        f"one-sided alpha {alpha}"
        if sided == 1
        else f"two-sided alpha {alpha} ({alpha / 2:g} per side, symmetric)"
    )
    title = f"HR {hazard_ratio}, power {power:.0%}, {sides}, {spending} spending"
    table = number_table(title, columns, rows)
    print_table(table)
    console.print(
        f"fixed design {result['fixed_design_events']:.1f} events; inflation "
        f"{result['inflation']:.4f}; maximum {result['max_events']} events"
    )
    if parsed.event_counts is not None:
        console.print(
            f"power at {result['max_events']} events: {result['achieved_power']:.1%} "
            f"(power {power:.0%} needs {result['required_events']} events)"
        )


_HEADERS = {
    "hr": "HR",
    "looks": "look events",
    "rejection_rate": "reject",
    "mc_se": "MC SE",
    "expected_events": "E events",
    "expected_duration_months": "E months",
    "stop_efficacy": "P stop eff.",
    "mean_hr": "mean HR",
    "log_hr_bias": "lnHR bias",
    "hr_trials": "trials with an HR",
}


_GRID_HELP = (
    "KEY=V1,V2; repeat or list, e.g. --grid hr=0.6,0.7 --grid n=200,300 --grid looks=0.5:1. "
    "Keys: hr (true hazard ratio A vs B, > 0); n (patients, >= 2; default 1.3 x events); "
    "events (events at the final analysis, >= 1); looks (information fractions in (0, 1] "
    "joined by ':', ending at 1). Without events the final count is Schoenfeld's for the "
    "cell's hr (or --design-hr) times the group-sequential inflation; a cell with hr=1 "
    "(type I error) needs events or --design-hr."
)


def simulate(
    grid: list[str] = typer.Option(None, "--grid", help=_GRID_HELP),
    scenario: list[str] = typer.Option(
        None,
        "--scenario",
        help="A ready-made scenario of the protocol file (scenarios[].id), repeatable, or 'all' "
        "(TALENTOP: as_designed, dynamic_reassessment, os_primary, tace_first). Unset values "
        "come from the protocol's SAP. Use instead of --grid.",
    ),
    protocol_name: str = typer.Option(
        "talentop",
        "--protocol",
        help="Protocol (name or YAML file) whose scenarios --scenario reads.",
    ),
    replicates: int = typer.Option(1000, help="Trials per grid cell (>= 1)."),
    seed: int = typer.Option(
        20251017, help="Seed (integer >= 0): same seed, same table on any cluster."
    ),
    scheduler: str = typer.Option(
        None, help="Address of an existing Dask scheduler (tcp://host:8786)."
    ),
    connect_timeout: float = typer.Option(
        10.0, help="Seconds to wait for --scheduler before giving up."
    ),
    local: str = typer.Option(
        "dask", help="Without --scheduler: dask (LocalCluster, 2 processes), processes or serial."
    ),
    design_hr: float = typer.Option(
        None,
        help="Size every cell without events for this HR instead of the cell's own "
        "(needed for hr=1 cells unless events is given).",
    ),
    control_median: float = typer.Option(12.0, help="Control-arm median (months, exponential)."),
    accrual_rate: float = typer.Option(10.0, help="Patients per month."),
    power: float = typer.Option(
        0.8, help="Power used to size events when the grid has no events key."
    ),
    alpha: float = typer.Option(0.025, help="One-sided alpha."),
    spending: str = typer.Option("obf", help="Alpha spending for the looks."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the grid table as JSON (numbers; one list entry per look; mean_hr and "
        "log_hr_bias are over the hr_trials trials whose HR could be estimated, null when "
        "none could).",
    ),
) -> None:
    """Simulate a grid of designs, or the protocol's ready-made scenarios (--scenario).

    Each grid cell is a 1:1 exponential trial; its final event count is Schoenfeld's times
    the group-sequential inflation unless the grid gives events. Before anything runs, the
    memory (about 40 kB per patient per block of 250 trials, 2 blocks at once unless
    --local serial; half the available memory at most) and the work (at most 2e10
    patient-trials) are estimated and a request beyond them is refused, naming the option
    (docs/limits.md); hazard ratios must lie between 0.01 and 100. Several keys may share one
    --grid value ("hr=0.6,0.7 n=200,300"). A scenario (protocol file, section scenarios) is
    the SAP with some assumptions changed: it reports the events and patients the SAP's power
    needs and, by simulation, the power of the trial as the scenario runs it. Results depend
    only on the seed.
    """
    if bool(grid) == bool(scenario):
        raise InvalidInput(
            "give exactly one of --grid (a design grid) or --scenario (the protocol's scenarios)"
        )
    if scenario:
        _scenarios(scenario, protocol_name, replicates, seed, as_json)
        return
    from talentop.design.distributed import (
        cell_design,
        check_run,
        grid_cells,
        grid_table,
        parse_grid,
        run_grid,
    )

    check_run(replicates, seed, connect_timeout)
    problems = [
        f"{name}={value!r}: expected a finite number > 0"
        for name, value in (("control_median", control_median), ("accrual_rate", accrual_rate))
        if not (math.isfinite(value) and value > 0)
    ]
    check_problems(problems)
    items = [part for item in grid for part in item.split()]
    parsed_grid = parse_grid(items)
    problems = [
        p for hr in parsed_grid.get("hr", []) if (p := _limits.hazard_ratio("--grid hr", hr))
    ]
    looks = max((len(v) for v in parsed_grid.get("looks", [(1.0,)])), default=1)
    problems += _limits.design_options(alpha, power, looks)
    check_problems(problems)
    cells = grid_cells(parsed_grid)
    # memory and work from the grid's own n (before sizing, which may raise them)
    given_n = [int(n) for n in parsed_grid.get("n", [])]
    if given_n:
        check_problems(_limits.simulation(
            patients=[max(given_n)] * len(cells), replicates=replicates,
            parallel=1 if (local == "serial" and not scheduler) else _limits.PARALLEL_BLOCKS,
        ))  # fmt: skip
    designs = [
        cell_design(
            c,
            control_median_months=control_median,
            accrual_rate_per_month=accrual_rate,
            alpha=alpha,
            power=power,
            spending=spending,
            design_hr=design_hr,
        )
        for c in cells
    ]
    check_problems(
        _limits.simulation(
            patients=[int(d.n_patients) for d in designs],
            replicates=replicates,
            parallel=1 if (local == "serial" and not scheduler) else _limits.PARALLEL_BLOCKS,
        )
    )
    mode = "dask" if scheduler else local
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console if not as_json else None,
        disable=as_json,
        transient=as_json,
    ) as bar:
        task = bar.add_task("blocks", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        frames = run_grid(
            designs,
            replicates=replicates,
            seed=seed,
            mode=mode,
            scheduler=scheduler,
            progress=progress,
            connect_timeout=connect_timeout,
        )
    table = grid_table(cells, designs, frames)
    if as_json:
        print_json(
            {"replicates": replicates, "seed": seed, "cells": table.to_dict(orient="records")}
        )
        return
    rows = [
        [_format(name, v) for name, v in zip(table.columns, row, strict=True)]
        for row in table.itertuples(index=False)
    ]
    headers = [_HEADERS.get(name, name) for name in table.columns]
    print_table(number_table(f"{replicates} trials per cell, seed {seed}", headers, rows))


def _scenarios(names: list[str], protocol_name: str, replicates: int, seed: int, as_json: bool):
    """Run the protocol's scenarios and print one row each (or JSON)."""
    from talentop.design.scenarios import ScenarioSpec, run_scenario
    from talentop.protocol import load_protocol
    from talentop.protocol.plan import scenario_values

    protocol = load_protocol(protocol_name)
    if protocol.sap is None:
        raise InvalidInput(f"protocol {protocol.id} has no sap section: scenarios need its plan")
    chosen = protocol.scenarios if names == ["all"] else [protocol.scenario(n) for n in names]
    results = [
        run_scenario(
            ScenarioSpec(**scenario_values(s, protocol.sap)), replicates=replicates, seed=seed
        )
        for s in chosen
    ]
    if as_json:
        print_json(
            {"protocol": protocol.id, "replicates": replicates, "seed": seed, "scenarios": results}
        )
        return
    headers = [
        "scenario", "endpoint", "HR", "control median", "patients", "analysis events",
        "events needed", "patients needed", "power (MC SE)", "mean HR", "E months", "switched",
    ]  # fmt: skip
    rows = [
        [
            r["id"], r["endpoint"], f"{r['effective_hazard_ratio']:.3f}",
            f"{r['control_median_months'] * r['control_hazard_multiplier'] ** -1:.1f}",
            str(r["n_patients"]), ":".join(str(e) for e in r["look_events"]),
            str(r["required_events"]), "-" if r["patients_needed"] is None else str(r["patients_needed"]),
            f"{r['power']:.3f} ({r['power_mc_se']:.3f})", number_cell(r["mean_hr"], 3),
            f"{r['expected_duration_months']:.1f}", f"{r['switched_per_trial']:.1f}",
        ]
        for r in results
    ]  # fmt: skip
    print_table(
        number_table(
            f"{protocol.id} scenarios: {replicates} trials each, seed {seed}", headers, rows
        )
    )
    for r in results:
        console.print(f"{r['id']}: {r['title']}", markup=False, highlight=False)


def _format(name: str, value: object) -> str:
    """One cell of the human grid table; per-look lists are joined with ':'."""
    if isinstance(value, list):
        return ":".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):  # NaN ("-"): e.g. no replicate had an estimable HR
        return number_cell(
            value, 1 if name in ("expected_events", "expected_duration_months") else 3
        )
    return str(value)


def _p_cell(value: float) -> str:
    """A probability in the design table: 5 decimals, or 3 significant digits below 0.001
    (an early O'Brien-Fleming look's nominal p, 7.36e-06, is not "0.00001")."""
    return f"{value:.5f}" if value >= 0.001 or value == 0 else f"{value:.3g}"


def register(app: typer.Typer) -> None:
    """Add `design` and `simulate` to the root app."""
    app.command("design")(edge(design))
    app.command("simulate")(edge(simulate))
