"""Curve clicks and numbers-at-risk tables from files, checked and cleaned for reconstruction.

Clicks come from ``talentop digitise`` (``time,survival``), from WebPlotDigitizer (one
dataset's ``x,y`` rows without a header, or "Export all data": a row of dataset names, a row
``X,Y,X,Y``, then ragged value rows) or from any two-column CSV (comma, semicolon or tab;
survival as a proportion or in percent). Cleaning follows Guyot et al. (2012): sort by time,
start at (0, 1), and make survival non-increasing (by isotonic regression); a click more than ``MAX_RISE`` above an
earlier one is not noise but a wrong curve (cumulative incidence, two curves in one file) and
is refused.

The numbers-at-risk table is ``time`` plus one count column (or one per arm, chosen with
``arm``; or long format with an ``arm`` column).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from talentop.errors import InvalidInput

#: The largest rise (survival proportion) treated as digitising noise and repaired; a larger
#: rise is noise too if it lasts less than RISE_SPAN of the curve's time span.
MAX_RISE = 0.05
RISE_SPAN = 0.02
_TIME_NAMES = ("time", "t", "x", "months", "month", "ts", "trisk", "time_months")
_SURVIVAL_NAMES = ("survival", "s", "y", "surv", "probability", "survival_probability")
_COUNT_NAMES = ("n_risk", "n", "nrisk", "at_risk", "n_at_risk", "nar", "number_at_risk")


@dataclass(frozen=True)
class Clicks:
    """A digitised curve: times and survival proportions, cleaned when ``cleaned`` is True."""

    time: np.ndarray
    survival: np.ndarray
    source: str = ""
    repairs: int = 0
    notes: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "survival": self.survival})


@dataclass(frozen=True)
class AtRisk:
    """A published numbers-at-risk row: times (the first is 0) and counts."""

    time: np.ndarray
    n_risk: np.ndarray
    arm: str | None = None


def _text(path: Path, what: str) -> str:
    if path.is_dir() or not path.is_file():
        raise InvalidInput.field(what, str(path), "an existing CSV file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.field(what, str(path), "a UTF-8 text (CSV) file") from None


def _rows(text: str) -> list[list[str]]:
    """CSV rows with the delimiter sniffed (, ; tab); a decimal comma is read with ';'."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = [
        [cell.strip() for cell in row]
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        if any(cell.strip() for cell in row)
    ]
    if delimiter in ";\t":
        rows = [[cell.replace(",", ".") for cell in row] for row in rows]
    return rows


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_numeric(row: list[str]) -> bool:
    return all(_number(cell) is not None for cell in row if cell != "")


def _datasets(rows: list[list[str]], path: Path) -> dict[str, list[list[str]]]:
    """Named (x, y) column pairs: WebPlotDigitizer's 'export all' or a header row."""
    if len(rows) >= 2 and not _is_numeric(rows[0]) and not _is_numeric(rows[1]):
        names, axes = rows[0], rows[1]
        if all(a.lower() in ("x", "y") for a in axes if a):
            found = {}
            for column in range(0, len(axes) - 1, 2):
                name = (
                    names[column] if column < len(names) and names[column] else f"{column // 2 + 1}"
                )
                found[name] = [r[column : column + 2] for r in rows[2:] if len(r) > column]
            return found
    if not _is_numeric(rows[0]):
        header = [h.lower() for h in rows[0]]
        t = next((header.index(n) for n in _TIME_NAMES if n in header), None)
        s = next((header.index(n) for n in _SURVIVAL_NAMES if n in header), None)
        if t is None or s is None:
            if len(header) != 2:
                raise InvalidInput.field(
                    f"{path} header", rows[0], f"a time column ({', '.join(_TIME_NAMES[:3])}) and "
                    f"a survival column ({', '.join(_SURVIVAL_NAMES[:3])})",
                )  # fmt: skip
            t, s = 0, 1
        return {path.stem: [[r[t], r[s]] for r in rows[1:] if len(r) > max(t, s)]}
    return {path.stem: rows}


def read_clicks(path: str | Path, curve: str | None = None) -> Clicks:
    """Read one curve's clicks (raw; ``clean_clicks`` makes them ready for Guyot)."""
    path = Path(path)
    rows = _rows(_text(path, "CLICKS"))
    if not rows:
        raise InvalidInput.field("CLICKS", str(path), "a CSV file with (time, survival) rows")
    datasets = _datasets(rows, path)
    if curve is not None:
        if curve not in datasets:
            raise InvalidInput.field(
                "--curve", curve, f"one of the file's datasets {list(datasets)}"
            )
        name = curve
    elif len(datasets) == 1:
        name = next(iter(datasets))
    else:
        raise InvalidInput.field(
            "--curve", None, f"the dataset to read: the file holds {list(datasets)}"
        )
    times, survival, problems = [], [], []
    for line, pair in enumerate(datasets[name], start=1):
        cells = [c for c in pair if c != ""]
        if not cells:
            continue  # a shorter dataset in WebPlotDigitizer's ragged export
        values = [_number(c) for c in pair]
        if len(pair) < 2 or None in values:
            problems.append(f"{path} ({name}) row {line}: {pair!r}: expected two numbers")
            continue
        times.append(values[0])
        survival.append(values[1])
    if problems:
        raise InvalidInput(problems[:10])
    if len(times) < 2:
        raise InvalidInput.field(f"{path} ({name})", f"{len(times)} click(s)", "at least 2 clicks")
    return Clicks(np.array(times), np.array(survival), f"{path.name} ({name})")


def clean_clicks(clicks: Clicks, *, max_rise: float = MAX_RISE) -> Clicks:
    """Sorted, in [0, 1], starting at (0, 1) and non-increasing (Guyot et al. 2012, step 1).

    Survival in percent (any value above 1.5) is divided by 100. Rises up to ``max_rise``,
    or that last less than 2 % of the time span (a drop's corners clicked out of order),
    are digitising noise and are repaired by isotonic regression; lasting larger rises are
    an error.
    """
    time = np.asarray(clicks.time, float)
    survival = np.asarray(clicks.survival, float)
    notes = list(clicks.notes)
    if survival.max() > 1.5:
        survival = survival / 100.0
        notes.append("survival read as percent (values above 1.5) and divided by 100")
    span = float(time.max() - min(time.min(), 0.0)) or 1.0
    problems = []
    if time.min() < -0.02 * span:
        problems.append(f"time={time.min():g}: expected clicks at times >= 0")
    if survival.max() > 1.05 or survival.min() < -0.05:
        problems.append(
            f"survival from {survival.min():g} to {survival.max():g}: expected proportions in "
            "[0, 1] (or percent in [0, 100])"
        )
    if problems:
        raise InvalidInput([f"{clicks.source}: {p}" for p in problems])
    time = np.maximum(time, 0.0)
    survival = np.clip(survival, 0.0, 1.0)
    order = np.lexsort((-survival, time))
    time, survival = time[order], survival[order]
    floor = np.minimum.accumulate(survival)
    rise = survival - floor
    # a rise is an error only if it lasts: both corners of a drop clicked a hair apart in
    # the wrong order (bottom first) rise for an instant and are noise
    lasting = [k for k in np.flatnonzero(rise > max_rise)
               if time[np.flatnonzero(survival[k:] > floor[k] + max_rise)[-1] + k] - time[k]
               > RISE_SPAN * span or k == len(time) - 1]  # fmt: skip
    if lasting:
        worst = max(lasting, key=lambda k: rise[k])
        before = int(np.flatnonzero(survival[:worst] == floor[worst])[0])
        raise InvalidInput.field(
            f"{clicks.source} clicks",
            f"survival {survival[before]:.3f} at t={time[before]:g} rising to "
            f"{survival[worst]:.3f} at t={time[worst]:g}",
            f"a survival curve that never rises (by more than {max_rise:g}): is it a "
            "cumulative-incidence curve, or two curves in one file?",
        )
    # deliberate deviation from Guyot (who lowers a click to its lower neighbour): the
    # non-increasing least-squares fit (isotonic regression, pool-adjacent-violators, as
    # the `isotonic` option of Stata's ipdfc; Wei & Royston, Stata J 2017;17:786-802).
    # Lowering biases noisy hand clicks downwards; pooling averages the noise out.
    fitted = isotonic_regression(survival, increasing=False).x
    repairs = int(np.sum(np.abs(fitted - survival) > 1e-12))
    if repairs:
        notes.append(f"{repairs} click(s) out of order made non-increasing (isotonic regression)")
    survival = np.clip(fitted, 0.0, 1.0)
    if time[0] > 0 or survival[0] < 1:
        time = np.concatenate([[0.0], time])
        survival = np.concatenate([[1.0], survival])
    return Clicks(time, survival, clicks.source, repairs, tuple(notes))


def read_at_risk(path: str | Path, arm: str | None = None) -> AtRisk:
    """Read a numbers-at-risk table (wide: time + a column per arm; or long with ``arm``)."""
    path = Path(path)
    _text(path, "--at-risk")
    try:
        table = pd.read_csv(path, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput.field("--at-risk", str(path), f"a readable CSV file ({exc})") from None
    columns = {c.lower().strip(): c for c in table.columns}
    time_col = next((columns[n] for n in _TIME_NAMES if n in columns), None)
    if time_col is None:
        raise InvalidInput.field(
            f"{path} columns", list(table.columns), "a 'time' column and the numbers at risk"
        )
    if "arm" in columns:  # long format
        if arm is None:
            raise InvalidInput.field(
                "--arm", None, f"one of {sorted(table[columns['arm']].astype(str).unique())}"
            )
        table = table[table[columns["arm"]].astype(str) == arm]
        if table.empty:
            raise InvalidInput.field("--arm", arm, f"an arm of {path}")
        count_col = next((columns[n] for n in _COUNT_NAMES if n in columns), None)
    else:
        counts = [c for c in table.columns if c != time_col]
        if arm is not None:
            count_col = next((c for c in counts if str(c).strip() == arm), None)
            if count_col is None:
                raise InvalidInput.field("--arm", arm, f"a column of {path}: {counts}")
        elif len(counts) == 1:
            count_col = counts[0]
        else:
            raise InvalidInput.field("--arm", None, f"the column to use, one of {counts}")
    if count_col is None:
        raise InvalidInput.field(f"{path} columns", list(table.columns), "a numbers-at-risk column")
    times = pd.to_numeric(table[time_col], errors="coerce").to_numpy(float)
    counts = pd.to_numeric(table[count_col], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(times) | ~np.isfinite(counts))
    if bad.size:
        raise InvalidInput.field(
            f"{path} row(s)", [int(b) + 2 for b in bad], "a number in every time and count cell"
        )
    return AtRisk(times, counts, arm or str(count_col))


def check_at_risk(at_risk: AtRisk, last_click_time: float) -> tuple[AtRisk, list[str]]:
    """Validate a numbers-at-risk row against its curve; drop zero counts past the curve.

    At-risk times up to 2 % of the curve's span past its last click are kept (the caller
    extends the curve flat to them).
    """
    times, counts = at_risk.time, at_risk.n_risk
    problems, notes = [], []
    if times.size == 0:
        problems.append("numbers at risk: expected at least the number at time 0")
    else:
        if times[0] != 0:
            problems.append(
                f"time={times[0]:g}: expected the first number at risk at time 0 (the number "
                "randomised)"
            )
        if np.any(np.diff(times) <= 0):
            problems.append(f"times={times.tolist()}: expected strictly increasing times")
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            problems.append(f"n_risk={counts.tolist()}: expected whole numbers >= 0")
        rising = np.flatnonzero(np.diff(counts) > 0)
        if rising.size:
            k = int(rising[0])
            problems.append(
                f"n_risk {counts[k]:g} at t={times[k]:g} then {counts[k + 1]:g} at "
                f"t={times[k + 1]:g}: expected numbers at risk that never increase"
            )
        if counts.size and counts[0] <= 0:
            problems.append(f"n_risk={counts[0]:g} at time 0: expected at least 1 patient")
        # a curve cut at the axis's end (or clicked a little short of it) reaches the last
        # at-risk time within 2 % of its span: it is extended flat to it
        slack = 0.02 * max(last_click_time, 1e-9)
        beyond = times > last_click_time + slack
        alive = beyond & (counts > 0)
        if alive.any():
            k = int(np.flatnonzero(alive)[0])
            problems.append(
                f"at-risk time {times[k]:g} (n={counts[k]:g}) is after the curve's last click "
                f"at {last_click_time:g}: expected at-risk times inside the curve (digitise "
                "the curve to its end, or drop that column)"
            )
        elif beyond.any():
            notes.append(
                f"at-risk time(s) {times[beyond].tolist()} after the curve's end with 0 at "
                "risk: not needed, left out"
            )
            times, counts = times[~beyond], counts[~beyond]
    if problems:
        raise InvalidInput([f"{at_risk.arm or 'at-risk table'}: {p}" for p in problems])
    return AtRisk(times, counts.astype(int), at_risk.arm), notes
