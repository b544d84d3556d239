"""`talentop digitise | reconstruct | reanalyse`: from a published KM figure to patient data.

Three steps, each a command: read the curves off the figure image, rebuild the patients from
each curve and its numbers at risk (Guyot et al. 2012), and re-analyse two arms. Also the
printing of `talentop calibrate --from-ipd`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from talentop.commands._edge import (
    console,
    edge,
    err_console,
    number_table,
    print_json,
    print_table,
)
from talentop.errors import InvalidInput

# The statistics (numpy, scipy, pandas) are imported by the commands when they run, so
# `talentop digitise --help` and the like answer at once.

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def numbers(option: str, text: str | None, *, count: int | None = None) -> list[float] | None:
    """Comma-separated finite numbers of an option ('0,36'); ``count`` of them if given."""
    if text is None:
        return None
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InvalidInput.field(option, text, "comma-separated numbers, e.g. 0,36")
        values.append(value)
    if count is not None and len(values) != count:
        raise InvalidInput.field(option, text, f"{count} comma-separated numbers")
    return values


def _range(option: str, text: str | None) -> tuple[float, float] | None:
    values = numbers(option, text, count=2)
    if values is None:
        return None
    if values[1] <= values[0]:
        raise InvalidInput.field(option, text, "the values at the axis's two ends, low,high")
    return values[0], values[1]


def digitise_command(
    figure: Path = typer.Argument(..., help="The KM figure image (PNG or JPEG)."),
    x_range: str = typer.Option(
        None, "--x-range", help="Data values at the x axis's two ends, e.g. 0,36 (months)."
    ),
    y_range: str = typer.Option(
        None, "--y-range", help="Data values at the y axis's ends: 0,1 (or 0,100 for percent)."
    ),
    curves: int = typer.Option(
        None, "--curves", help="How many curves (default: one per curve colour found)."
    ),
    calibrate: list[str] = typer.Option(
        None,
        "--calibrate",
        help="When the axes are not drawn: 'px,py=x,y' maps image pixel (column, row) to "
        "data values; give two points per axis ('120,640=0,' is an x-axis point).",
    ),
    out: Path = typer.Option(Path("clicks"), "--out", help="Folder for the step tables."),
    as_json: bool = JSON,
) -> None:
    """Read the Kaplan-Meier curves off a figure image: one (time, survival) table per curve.

    The plot area is found from the axes (frame or axis lines); the curves are separated by
    colour (two curves of one colour by line style), ignoring gridlines, text, the legend,
    censoring ticks and the numbers-at-risk table. Writes <name>.csv per curve (both ends of
    every step), overlay.png (the extraction drawn over the figure: check it) and
    summary.json (scale, resolution, repairs).
    """
    from talentop.ipd.axes import parse_calibration_point, read_image
    from talentop.ipd.digitise import digitise
    from talentop.ipd.overlay import overlay_png

    points = [parse_calibration_point(text) for text in calibrate or []]
    rgb = read_image(figure)
    result = digitise(rgb, x_range=_range("--x-range", x_range),
                      y_range=_range("--y-range", y_range), curves=curves,
                      calibration=points)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    for curve, quality in zip(result.curves, summary["curves"], strict=True):
        path = out / f"{curve.name}.csv"
        curve.clicks.round(6).to_csv(path, index=False)
        quality["file"] = str(path)
    (out / "overlay.png").write_bytes(overlay_png(rgb, result))
    summary["overlay"] = str(out / "overlay.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if as_json:
        print_json(summary)
        return
    rows = [[q["name"], q["colour"], q["style"], str(q["steps"]), f"{q['end_time']:.3g}",
             f"{q['last_survival']:.3f}", f"{q['line_width_px']:.1f}",
             str(q["monotonicity_repairs"]), f"{q['hidden_share']:.1%}", q["file"]]
            for q in summary["curves"]]  # fmt: skip
    headers = ["curve", "colour", "style", "steps", "ends at", "last S", "line px",
               "repairs", "hidden", "file"]  # fmt: skip
    print_table(number_table(f"{figure.name}: {len(rows)} curve(s)", headers, rows))
    per = summary["pixels_per_unit"]
    console.print(
        f"plot area: {summary['plot_area']['method']}; {per['x']:.2f} px per x unit, "
        f"{per['y']:.1f} px per y unit (one pixel = {summary['time_per_pixel']:.3g} in time, "
        f"{summary['survival_per_pixel']:.4f} in survival)",
        markup=False,
    )
    for curve in result.curves:
        for note in curve.notes:
            console.print(f"note ({curve.name}): {note}", markup=False)
    console.print(f"check {summary['overlay']}; summary in {out / 'summary.json'}", markup=False)


def reconstruct_command(
    clicks: Path = typer.Argument(
        ...,
        help="Curve clicks: talentop digitise, WebPlotDigitizer "
        "or a two-column (time, survival) CSV.",
    ),  # fmt: skip
    at_risk: Path = typer.Option(
        ...,
        "--at-risk",
        help="Numbers at risk: CSV with 'time' and a count column (or one "
        "column per arm, chosen with --arm).",
    ),  # fmt: skip
    events: int = typer.Option(
        None, "--events", help="Total events in this arm, if published (fits the last interval)."
    ),
    arm: str = typer.Option(None, "--arm", help="Arm name: the at-risk column and the label."),
    curve: str = typer.Option(
        None, "--curve", help="Dataset to read from a WebPlotDigitizer 'export all' file."
    ),
    out: Path = typer.Option(Path("ipd.csv"), "--out", help="Patient rows written here."),
    as_json: bool = JSON,
) -> None:
    """Rebuild individual patients (time, event) from a curve and its numbers at risk.

    The algorithm of Guyot et al. (BMC Med Res Methodol 2012;12:9): censoring per at-risk
    interval is estimated so that the reconstructed numbers at risk match the published ones.
    Then the accuracy as IPDfromKM reports it: reconstructed vs digitised survival (RMSE,
    maximum absolute difference) and vs published numbers at risk, and a plot
    (<out>_accuracy.png).
    """
    from talentop.ipd.accuracy import accuracy, accuracy_figure
    from talentop.ipd.clicks import clean_clicks, read_at_risk, read_clicks
    from talentop.ipd.guyot import reconstruct
    from talentop.stats.results import json_safe

    cleaned = clean_clicks(read_clicks(clicks, curve))
    table = read_at_risk(at_risk, arm)
    result = reconstruct(cleaned, table, total_events=events)
    label = arm or table.arm or clicks.stem
    report = accuracy(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.ipd.assign(arm=label).to_csv(out, index=False)
    figure = accuracy_figure(result, report, name=f"{out.stem}_accuracy",
                             title=f"{label}: reconstructed patients vs the digitised curve")  # fmt: skip
    plot = out.parent / f"{out.stem}_accuracy.png"
    plot.write_bytes(figure.png)
    notes = [*cleaned.notes, *result.notes]
    if as_json:
        print_json({"arm": label, "ipd": str(out), "plot": str(plot), **report.to_dict(),
                    "intervals": json_safe(result.intervals), "notes": notes})  # fmt: skip
        return
    console.print(
        f"{label}: {report.n_patients} patients, {report.events} events"
        + (f" ({events} published)" if events is not None else "")
        + f" -> {out}",
        markup=False,
    )
    console.print(
        f"reconstructed vs digitised survival: RMSE {report.rmse:.4f}, mean |diff| "
        f"{report.mean_abs:.4f}, max |diff| {report.max_abs:.4f}",
        markup=False,
    )
    rows = [[f"{r.time:g}", str(r.published), str(r.reconstructed), f"{r.difference:+d}"]
            for r in report.at_risk.itertuples()]  # fmt: skip
    print_table(number_table("Numbers at risk", ["time", "published", "reconstructed",
                                                 "difference"], rows))  # fmt: skip
    for note in notes:
        console.print(f"note: {note}", markup=False)
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False)
    console.print(f"plot: {plot}", markup=False)


def reanalyse_command(
    arm_a: Path = typer.Argument(
        ..., help="Patient rows of arm A (time, event): the experimental arm."
    ),  # fmt: skip
    arm_b: Path = typer.Argument(..., help="Patient rows of arm B: the reference arm."),
    names: str = typer.Option(None, "--names", help="Arm names A,B (default: from the files)."),
    tau: str = typer.Option(
        None, "--tau", help="RMST horizons, e.g. 12,24 (default: the shorter follow-up)."
    ),
    landmarks: str = typer.Option(
        None, "--landmarks", help="Times for landmark survival (default 6,12,24 within follow-up)."
    ),
    intervals: str = typer.Option(
        None,
        "--intervals",
        help="Cut times of the piecewise HR, e.g. 0,6,12 (default: 0 and "
        "the pooled median event time).",
    ),  # fmt: skip
    out: Path = typer.Option(Path("reanalysis"), "--out", help="Folder of the HTML report."),
    as_json: bool = JSON,
) -> None:
    """Re-analyse two arms: KM medians and landmarks, log-rank, Cox HR, RMST, piecewise HR,
    the Schoenfeld PH test, into an HTML report with the figures (HR and RMST: A vs B)."""
    from talentop.ipd.reanalyse import read_ipd, reanalyse, write_reanalysis

    labels: list[str | None] = [None, None]
    if names is not None:
        labels = [n.strip() for n in names.split(",")]
        if len(labels) != 2 or not all(labels):
            raise InvalidInput.field("--names", names, "two names, A,B")
    read, problems = [], []
    for path, label in zip((arm_a, arm_b), labels, strict=True):
        try:
            read.append(read_ipd(path, label))
        except InvalidInput as exc:  # report both files' problems at once
            problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    a, b = read
    result = reanalyse(a, b, taus=numbers("--tau", tau), landmarks=numbers("--landmarks", landmarks),
                       cuts=numbers("--intervals", intervals))  # fmt: skip
    index = write_reanalysis(result, out, title=f"Re-analysis: {a.name} vs {b.name}")
    payload = result.to_dict()
    if as_json:
        print_json({**payload, "report": str(index)})
        return
    rows = [[m["arm"], str(m["n"]), str(m["events"]), _num(m["median"]),
             f"{_num(m['lower'])}-{_num(m['upper'])}"] for m in payload["medians"]]  # fmt: skip
    print_table(number_table("Kaplan-Meier", ["arm", "n", "events", "median", "95% CI"], rows))
    cox, ph = payload["cox"], payload["ph_test"]
    hr = (
        f"{cox['hr']:.3f} ({cox['lower']:.3f}-{cox['upper']:.3f}), P = {cox['p']:.4g}"
        if cox["hr"] is not None
        else f"not estimable ({cox['reason']})"
    )
    console.print(
        f"HR {a.name} vs {b.name}: {hr}; log-rank chi-square {payload['logrank']['chisq']:.3f}, "
        f"P = {_p(payload['logrank']['p'])}; PH test P = "
        + ("not assessable" if ph is None else _p(ph["p"])),
        markup=False,
    )
    rows = [[f"{r['tau']:g}", _num(r["difference"], 3), _interval(r["lower"], r["upper"]),
             _p(r["p"])] for r in payload["rmst"]]  # fmt: skip
    print_table(number_table(f"RMST difference {a.name} - {b.name}", ["tau", "difference",
                                                                     "95% CI", "P"], rows))  # fmt: skip
    rows = [[p["interval"], f"{p['events_a']}/{p['n_a']}", f"{p['events_b']}/{p['n_b']}",
             *((_num(p["hr"], 3), f"{_num(p['ci_lower'], 3)}-{_num(p['ci_upper'], 3)}")
               if p["hr"] is not None else ("-", "not estimable"))]
            for p in payload["piecewise_hr"]]  # fmt: skip
    print_table(number_table("Piecewise hazard ratio", ["interval", f"{a.name} events/n",
                                                        f"{b.name} events/n", "HR", "95% CI"], rows))  # fmt: skip
    console.print(f"report: {index}", markup=False)


def _num(value: float | None, digits: int = 2) -> str:
    return "NR" if value is None else f"{value:.{digits}f}"


def _interval(lower: float | None, upper: float | None) -> str:
    """A difference's CI: '1.195-4.635', or '-6.014 to -1.195' when an end is negative."""
    low, high = _num(lower, 3), _num(upper, 3)
    return f"{low} to {high}" if "-" in low + high else f"{low}-{high}"


def _p(value: float | None) -> str:
    return "not estimable" if value is None else f"{value:.4g}"


def calibrate_from_ipd(files: list[Path], pieces: str | None, as_json: bool) -> None:
    """`talentop calibrate --from-ipd A.csv --from-ipd B.csv`: hazards fitted to the curves."""
    from talentop.ipd.hazards import fit_hazards
    from talentop.ipd.reanalyse import read_ipd

    fit = fit_hazards([read_ipd(path) for path in files], numbers("--pieces", pieces))
    if as_json:
        print_json(fit.to_dict())
        return
    names = [arm.name for arm in fit.arms]
    rows = []
    for row in fit.hazard_table().to_dict(orient="records"):
        cells = [f"{row['start']:g}"]
        for name in names:
            cells += [f"{row[f'hazard_{name}']:.5f}", f"{row[f'events_{name}']}"]
        if "hazard_ratio" in row:
            cells.append(_num(row["hazard_ratio"], 3))
        rows.append(cells)
    headers = ["start"] + [h for n in names for h in (f"hazard {n}", f"events {n}")]
    if len(names) == 2:
        headers.append(f"HR {names[0]}/{names[1]}")
    print_table(number_table("Piecewise-exponential hazards (per time unit)", headers, rows))
    rows = [[a.name, f"{a.max_abs_difference:.3f}", f"{a.inside_band:.0%}", _num(a.km_median),
             _num(a.model_median), f"{a.tau:.3g}", _num(a.km_rmst), _num(a.model_rmst)]
            for a in fit.arms]  # fmt: skip
    print_table(number_table("Fit: model vs Kaplan-Meier", ["arm", "max |S diff|",
                             "inside KM 95% band", "KM median", "model median", "tau",
                             "KM RMST", "model RMST"], rows))  # fmt: skip
    console.print("hazards for TrialDesign arms: " + json.dumps(fit.to_dict()["arms"]),
                  markup=False)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `digitise`, `reconstruct` and `reanalyse` to the root app."""
    app.command("digitise")(edge(digitise_command))
    app.command("reconstruct")(edge(reconstruct_command))
    app.command("reanalyse")(edge(reanalyse_command))
