"""`talentop km | logrank | cox`: survival statistics on a CSV file, for people and scripts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from talentop.commands._edge import (
    console,
    edge,
    err_console,
    number_table,
    print_json,
    print_table,
)
from talentop.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from talentop.commands._survival_csv import SurvivalTable

# pandas and the statistics (numpy, scipy: about 0.6 s) are imported by the commands when
# they run, so `talentop km --help` and the like answer at once.

FILE = typer.Argument(
    ...,
    help="CSV with one row per patient, or an ADTTE (one row per patient and PARAMCD; pick "
    "one with --param). UTF-8, UTF-16 or Excel (Windows-1252); comma, semicolon or tab.",
)
TIME = typer.Option(..., "--time", help="Column of follow-up times (e.g. AVAL, ttf_months).")
EVENT = typer.Option(None, "--event", help="Column of event indicators: 1 = event, 0 = censored.")
CENSOR = typer.Option(
    None,
    "--censor",
    help="Column of censoring codes instead of --event, CDISC ADTTE style: CNSR 0 = event, "
    "a positive code = censored (e.g. --censor CNSR).",
)
PARAM = typer.Option(
    None, "--param", help="Keep the rows of this PARAMCD of an ADTTE (e.g. OS, TTF, PFS)."
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
MISSING_RULE = (
    "Rows with a missing value in a column the command uses are left out and listed "
    "(R's na.omit); row 1 is the first data row after the header. Column names match "
    "ignoring case and spaces."
)


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
    import pandas as pd

    frame = frame.reset_index()
    rows = [
        ["NR" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    return number_table(title, [str(c) for c in frame.columns], rows)


def _say_input(table: SurvivalTable) -> None:
    """Notes about the input for people (stderr, so stdout stays the result)."""
    for note in table.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if table.dropped:
        rows = list(table.dropped.items())
        shown = "; ".join(f"row {r} ({', '.join(c)})" for r, c in rows[:10])
        more = f"; +{len(rows) - 10} more" if len(rows) > 10 else ""
        err_console.print(
            f"note: {len(rows)} row(s) left out for a missing value: {shown}{more}",
            markup=False,
            highlight=False,
        )


def _reference(values: list[str]) -> dict[str, str]:
    """--reference COL=LEVEL (repeatable) -> {COL: LEVEL}."""
    out = {}
    for item in values:
        column, sep, level = item.partition("=")
        if not sep or not column.strip() or not level.strip():
            raise InvalidInput.field("--reference", item, "COLUMN=LEVEL, e.g. sex=female")
        out[column.strip()] = level.strip()
    return out


def register(app: typer.Typer) -> None:
    """Add the survival-statistics commands to the root app."""

    @app.command("km", help=f"Kaplan-Meier medians with 95% CI (R's rule; NR = not reached) "
                 f"and numbers at risk. {MISSING_RULE}")  # fmt: skip
    @edge
    def km_command(
        file: Path = FILE,
        time: str = TIME,
        event: str | None = EVENT,
        censor: str | None = CENSOR,
        param: str | None = PARAM,
        group: str | None = typer.Option(None, "--group", help="Column that splits the curves."),
        conf_type: str = typer.Option("log", help='Band: "log" (R), "log-log" (SAS), "plain".'),
        at: str | None = typer.Option(None, help="Comma-separated times for numbers at risk."),
        as_json: bool = JSON,
    ) -> None:
        import pandas as pd

        from talentop.commands._survival_csv import read_survival
        from talentop.stats import kaplan_meier_by
        from talentop.stats.results import json_safe

        times = _times(at)
        table = read_survival(
            file, time=time, event=event, censor=censor, param=param, others={"--group": group}
        )
        data = table.data
        labels = data[table.columns["--group"]] if group else pd.Series("all", index=data.index)
        fits = kaplan_meier_by(data[table.time], data[table.event], labels, conf_type=conf_type)
        risk = pd.DataFrame({str(k): c.at_risk(times) for k, c in fits.curves.items()}).T
        risk.index.name = "group"
        if as_json:
            print_json({"summary": json_safe(fits.summary.reset_index()),
                        "at_risk": json_safe(risk.reset_index()),
                        "input": table.report()})  # fmt: skip
            return
        _say_input(table)
        print_table(_table(fits.summary, f"Kaplan-Meier ({conf_type} band)"))
        if times:
            print_table(_table(risk, "Numbers at risk"))

    @app.command("logrank", help="k-group log-rank test (R survdiff), optionally stratified "
                 f"and weighted. {MISSING_RULE}")  # fmt: skip
    @edge
    def logrank_command(
        file: Path = FILE,
        time: str = TIME,
        event: str | None = EVENT,
        censor: str | None = CENSOR,
        param: str | None = PARAM,
        group: str = typer.Option(..., "--group", help="Column with the groups to compare."),
        strata: str | None = typer.Option(None, help="Column to stratify by."),
        rho: float = typer.Option(0.0, help="Fleming-Harrington rho: weight S(t-)^rho."),
        gamma: float = typer.Option(0.0, help="Fleming-Harrington gamma: (1-S(t-))^gamma."),
        as_json: bool = JSON,
    ) -> None:
        from talentop.commands._survival_csv import read_survival
        from talentop.stats import logrank

        table = read_survival(
            file, time=time, event=event, censor=censor, param=param,
            others={"--group": group, "--strata": strata},
        )  # fmt: skip
        data = table.data
        result = logrank(data[table.time], data[table.event], data[table.columns["--group"]],
                         strata=data[table.columns["--strata"]] if strata else None,
                         rho=rho, gamma=gamma)  # fmt: skip
        if as_json:
            print_json({**result.to_dict(), "input": table.report()})
            return
        _say_input(table)
        print_table(_table(result.table, "Log-rank test"))
        for line in result._footer():
            console.print(line, markup=False, highlight=False)

    @app.command("cox", help="Cox proportional hazards: HR with 95% CI, tests, and the "
                 "Schoenfeld PH test. A text covariate (e.g. sex = female/male) is coded as "
                 "0/1 dummies against a reference level, as R does: the first level in sorted "
                 f"order unless --reference names another. {MISSING_RULE}")  # fmt: skip
    @edge
    def cox_command(
        file: Path = FILE,
        time: str = TIME,
        event: str | None = EVENT,
        censor: str | None = CENSOR,
        param: str | None = PARAM,
        covariate: list[str] = typer.Option(..., "--covariate", "-x", help="Repeat per covariate."),
        reference: list[str] = typer.Option(
            [], "--reference", help="Reference level of a text covariate, COLUMN=LEVEL (repeat)."
        ),
        strata: str | None = typer.Option(None, help="Column to stratify the baseline hazard."),
        ties: str = typer.Option("efron", help='"efron" (R default) or "breslow".'),
        robust: bool = typer.Option(False, help="Robust (sandwich) standard errors."),
        as_json: bool = JSON,
    ) -> None:
        from talentop.commands._survival_csv import read_survival
        from talentop.stats import cox
        from talentop.stats.results import json_safe

        table = read_survival(
            file, time=time, event=event, censor=censor, param=param,
            others={"--covariate": covariate, "--strata": strata},
        )  # fmt: skip
        covariates = [table.columns[f"--covariate {name}"] for name in covariate]
        references = {}
        for name, level in _reference(reference).items():
            matched = [c for c, given in zip(covariates, covariate, strict=True)
                       if name in (c, given)]  # fmt: skip
            if not matched:
                raise InvalidInput.field("--reference", name, f"one of the covariates {covariate}")
            references[matched[0]] = level
        fit = cox(table.data, duration=table.time, event=table.event, covariates=covariates,
                  strata=table.columns.get("--strata"), ties=ties, robust=robust,
                  reference=references)  # fmt: skip
        ph = fit.ph_test()
        if as_json:
            print_json({**fit.to_dict(), "ph_test": json_safe(ph.table.reset_index()),
                        "input": table.report()})  # fmt: skip
            return
        _say_input(table)
        print_table(_table(fit.summary, "Cox proportional hazards"))
        for line in fit._footer():
            console.print(line, markup=False)
        print_table(_table(ph.table, "Proportional hazards (cox.zph, km transform)"))
