"""Report tables: baseline characteristics, response rates, complications, adverse events.

Conventions from CONSORT 2010 item 15 (baseline table: no p values; n (%) for categories,
median (IQR) for skewed continuous variables) and item 17a (effect with its precision).
Exact (Clopper-Pearson) binomial intervals for response rates, as in most oncology reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from talentop.errors import InvalidInput
from talentop.reports.numbers import fmt_num, fmt_range
from talentop.stats.distributions import beta


@dataclass(frozen=True)
class Table:
    """A titled table for the report; ``frame`` is shown without its index."""

    title: str
    frame: pd.DataFrame
    note: str = ""

    def to_html(self) -> str:
        """Escaped HTML; a newline inside a cell becomes a line break (pandas would print
        it as a literal backslash-n)."""
        frame = self.frame.map(lambda v: v.replace("\n", _BREAK) if isinstance(v, str) else v)
        html = frame.to_html(index=False, border=0, classes="data", na_rep="", escape=True)
        return html.replace(_BREAK, "<br>")


#: A private-use character stands in for a newline through pandas' escaping.
_BREAK = "\ue000"


def exact_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for k successes out of n (Clopper & Pearson 1934)."""
    if n <= 0 or not 0 <= k <= n:
        raise InvalidInput.field("k/n", f"{k}/{n}", "0 <= k <= n and n > 0")
    alpha = 1 - level
    lower = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lower, upper


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else "0"


def _check_columns(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InvalidInput.field(f"{what} columns", list(frame.columns), f"also {missing}")


def baseline_table(
    patients: pd.DataFrame,
    *,
    arm: str,
    continuous: Mapping[str, str],
    categorical: Mapping[str, str],
    arm_order: Sequence[str] | None = None,
) -> Table:
    """Baseline characteristics by arm: median (IQR) for ``continuous``, n (%) per category.

    ``continuous`` and ``categorical`` map a column to its display label.
    """
    _check_columns(patients, [arm, *continuous, *categorical], "baseline")
    arms = list(arm_order or sorted(patients[arm].dropna().unique()))
    groups = {a: patients[patients[arm] == a] for a in arms}
    header = {a: f"Arm {a} (n = {len(g)})" for a, g in groups.items()}
    rows: list[dict[str, str]] = []
    for column, label in continuous.items():
        row = {"Characteristic": f"{label}, median (IQR)"}
        for a, g in groups.items():
            values = g[column].dropna().astype(float)
            row[header[a]] = (
                f"{fmt_num(values.median())} "
                f"({fmt_range(values.quantile(0.25), values.quantile(0.75))})"
                if len(values)
                else "–"
            )
        rows.append(row)
    for column, label in categorical.items():
        rows.append({"Characteristic": label, **{header[a]: "" for a in arms}})
        levels = sorted(patients[column].dropna().astype(str).unique())
        for level in levels:
            row = {"Characteristic": f"    {level}"}
            for a, g in groups.items():
                row[header[a]] = _pct(int((g[column].astype(str) == level).sum()), len(g))
            rows.append(row)
    return Table("Baseline characteristics (randomised patients)", pd.DataFrame(rows))


def response_table(
    responses: pd.DataFrame,
    *,
    group: str,
    response: str,
    categories: Sequence[str] = ("CR", "PR", "SD", "PD", "NE"),
    title: str = "Best overall response after induction (RECIST 1.1)",
) -> Table:
    """n (%) per response category and ORR (CR+PR) / DCR (CR+PR+SD) with exact 95% CIs."""
    _check_columns(responses, [group, response], "response")
    rows = []
    for name, block in responses.groupby(group, sort=True):
        n = len(block)
        counts = block[response].value_counts()
        row: dict[str, object] = {"Group": f"{name} (n = {n})"}
        for category in categories:
            row[category] = _pct(int(counts.get(category, 0)), n)
        for label, members in (("ORR", ("CR", "PR")), ("DCR", ("CR", "PR", "SD"))):
            k = int(sum(counts.get(c, 0) for c in members))
            lo, hi = exact_ci(k, n)
            row[f"{label} (95% CI)"] = f"{100 * k / n:.1f}% ({fmt_range(100 * lo, 100 * hi)})"
        rows.append(row)
    return Table(title, pd.DataFrame(rows), "Exact Clopper-Pearson 95% confidence intervals.")


def grade_table(
    events: pd.DataFrame,
    *,
    arm: str,
    term: str,
    grade: str,
    denominators: Mapping[str, int],
    grade_order: Sequence[object],
    high_grades: Sequence[object],
    title: str,
    high_label: str,
    note: str = "",
) -> Table:
    """Patients with at least one event, by term and worst grade, per arm (n, %).

    Counting worst grade per patient and term is the CTCAE / Clavien-Dindo reporting rule
    (each patient counted once per row at their highest grade). ``events`` needs a
    ``patient`` column too.
    """
    _check_columns(events, [arm, term, grade, "patient"], "event")
    rank = {g: i for i, g in enumerate(grade_order)}
    unknown = sorted({str(g) for g in events[grade]} - {str(g) for g in rank})
    if unknown:
        raise InvalidInput.field(grade, unknown, f"one of {list(grade_order)}")
    frame = events.assign(_rank=events[grade].map(rank))
    worst = frame.sort_values("_rank").groupby([arm, "patient", term], as_index=False).last()
    worst_any = frame.sort_values("_rank").groupby([arm, "patient"], as_index=False).last()
    worst_any[term] = "Any"
    rows = []
    for term_name, block in pd.concat([worst_any, worst]).groupby(term, sort=False):
        row: dict[str, object] = {"Event": term_name}
        for a, n in denominators.items():
            in_arm = block[block[arm] == a]
            row[f"Arm {a}: any grade"] = _pct(int(in_arm["patient"].nunique()), n)
            high = in_arm[in_arm[grade].isin(list(high_grades))]
            row[f"Arm {a}: {high_label}"] = _pct(int(high["patient"].nunique()), n)
        rows.append(row)
    if not rows:  # no event at all (a small or early trial): the "Any" row, all zero
        rows.append(
            {
                "Event": "Any",
                **{
                    f"Arm {a}: {label}": _pct(0, n)
                    for a, n in denominators.items()
                    for label in ("any grade", high_label)
                },
            }
        )
    order = ["Any"] + sorted(r["Event"] for r in rows if r["Event"] != "Any")
    table = pd.DataFrame(rows).set_index("Event").loc[order].reset_index()
    return Table(title, table, note)


def published_table(rows: Sequence[Mapping[str, object]]) -> Table:
    """ "Published vs this run": figure, published value, the calibrated model's expected
    value (when the rows carry one), this run's value, and a note."""
    columns = ["Figure", "Published (interim)", "This run", "Note"]
    if any("Calibrated model (expected)" in row for row in rows):
        columns.insert(2, "Calibrated model (expected)")
    frame = pd.DataFrame(rows, columns=columns)
    return Table(
        "Published interim results vs the calibrated model vs this simulated run",
        frame,
        "Published figures: ESMO 2025 TALENTOP interim analysis and the trial registration "
        "(NCT04649489). Expected: the large-sample values of the simulation model calibrated "
        "to the publication, at its data cut-off. One simulated trial of this size scatters "
        "around them (the standard error of a log hazard ratio is about 2/\u221aevents: 0.33 "
        "with 37 deaths).",
    )


def key_value_table(title: str, pairs: Sequence[tuple[str, object]], note: str = "") -> Table:
    """A two-column table (e.g. the protocol summary)."""
    frame = pd.DataFrame(
        [(k, "" if v is None else str(v)) for k, v in pairs], columns=["Item", "Value"]
    )
    return Table(title, frame, note)
