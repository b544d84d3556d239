"""`talentop km | logrank | cox`: survival statistics on a CSV file, for people and scripts."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from talentop.commands._edge import console, edge, number_table, print_json, print_table
from talentop.errors import InvalidInput
from talentop.stats import cox, kaplan_meier_by, logrank
from talentop.stats.results import json_safe

FILE = typer.Argument(..., help="CSV file with one row per patient.")
TIME = typer.Option(..., "--time", help="Column of follow-up times (e.g. ttf_months).")
EVENT = typer.Option(..., "--event", help="Column of event indicators: 1 = event, 0 = censored.")
JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if path.is_dir():
        raise InvalidInput(f"FILE={str(path)!r}: is a directory; expected a CSV file")
    if not path.is_file():
        raise InvalidInput(f"FILE={str(path)!r}: no such file; expected an existing CSV file")
    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InvalidInput(
            [f"{path}: column {c!r} not found; columns are {list(data.columns)}" for c in missing]
        )
    return data


def _times(text: str | None) -> list[float]:
    """Parse --at: comma-separated finite times >= 0 (numbers at risk before 0 mean nothing)."""
    if text is None:
        return []
    values, problems = [], []
    for position, item in enumerate(text.split(","), start=1):
        try:
            value = float(item)
        except ValueError:
            problems.append(f"--at={text!r}: item {position} {item.strip()!r} is not a number")
            continue
        if not math.isfinite(value) or value < 0:
            problems.append(f"--at={text!r}: item {position} {item.strip()!r} is not a time >= 0")
        values.append(value)
    if problems:
        raise InvalidInput([f"{p}; expected comma-separated times >= 0, e.g. 0,180,365"
                            for p in problems])  # fmt: skip
    return values


def _table(frame: pd.DataFrame, title: str) -> Table:
    frame = frame.reset_index()
    rows = [
        ["NR" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    return number_table(title, [str(c) for c in frame.columns], rows)


def register(app: typer.Typer) -> None:
    """Add the survival-statistics commands to the root app."""

    @app.command("km")
    @edge
    def km_command(
        file: Path = FILE,
        time: str = TIME,
        event: str = EVENT,
        group: str | None = typer.Option(None, "--group", help="Column that splits the curves."),
        conf_type: str = typer.Option("log", help='Band: "log" (R), "log-log" (SAS), "plain".'),
        at: str | None = typer.Option(None, help="Comma-separated times for numbers at risk."),
        as_json: bool = JSON,
    ) -> None:
        """Kaplan-Meier medians with 95% CI (R's rule; NR = not reached) and numbers at risk."""
        times = _times(at)
        data = _read(file, [time, event, *([group] if group else [])])
        labels = data[group] if group else pd.Series("all", index=data.index)
        fits = kaplan_meier_by(data[time], data[event], labels, conf_type=conf_type)
        risk = pd.DataFrame({str(k): c.at_risk(times) for k, c in fits.curves.items()}).T
        risk.index.name = "group"
        if as_json:
            print_json({"summary": json_safe(fits.summary.reset_index()),
                        "at_risk": json_safe(risk.reset_index())})  # fmt: skip
            return
        print_table(_table(fits.summary, f"Kaplan-Meier ({conf_type} band)"))
        if times:
            print_table(_table(risk, "Numbers at risk"))

    @app.command("logrank")
    @edge
    def logrank_command(
        file: Path = FILE,
        time: str = TIME,
        event: str = EVENT,
        group: str = typer.Option(..., "--group", help="Column with the groups to compare."),
        strata: str | None = typer.Option(None, help="Column to stratify by."),
        rho: float = typer.Option(0.0, help="Fleming-Harrington rho: weight S(t-)^rho."),
        gamma: float = typer.Option(0.0, help="Fleming-Harrington gamma: (1-S(t-))^gamma."),
        as_json: bool = JSON,
    ) -> None:
        """k-group log-rank test (R survdiff), optionally stratified and weighted."""
        data = _read(file, [time, event, group, *([strata] if strata else [])])
        result = logrank(data[time], data[event], data[group],
                         strata=data[strata] if strata else None, rho=rho, gamma=gamma)  # fmt: skip
        if as_json:
            print_json(result.to_dict())
            return
        print_table(_table(result.table, "Log-rank test"))
        console.print(result._footer()[0])

    @app.command("cox")
    @edge
    def cox_command(
        file: Path = FILE,
        time: str = TIME,
        event: str = EVENT,
        covariate: list[str] = typer.Option(..., "--covariate", "-x", help="Repeat per covariate."),
        strata: str | None = typer.Option(None, help="Column to stratify the baseline hazard."),
        ties: str = typer.Option("efron", help='"efron" (R default) or "breslow".'),
        robust: bool = typer.Option(False, help="Robust (sandwich) standard errors."),
        as_json: bool = JSON,
    ) -> None:
        """Cox proportional hazards: HR with 95% CI, tests, and the Schoenfeld PH test."""
        data = _read(file, [time, event, *covariate, *([strata] if strata else [])])
        fit = cox(data, duration=time, event=event, covariates=covariate, strata=strata,
                  ties=ties, robust=robust)  # fmt: skip
        ph = fit.ph_test()
        if as_json:
            print_json({**fit.to_dict(), "ph_test": json_safe(ph.table.reset_index())})
            return
        print_table(_table(fit.summary, "Cox proportional hazards"))
        for line in fit._footer():
            console.print(line, markup=False)
        print_table(_table(ph.table, "Proportional hazards (cox.zph, km transform)"))
