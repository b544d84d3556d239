"""Published vs expected vs this run, every cell computed and marked by where it comes from.

Marks: ``[input]`` a published figure the model takes as given (from the protocol file's
``published`` section, or a run option such as the cohort size); ``[calibrated]`` the
calibrated model's value (fitted to the published figures, or computed from the model's
probabilities); ``[output]`` computed from this run's database; ``[not available]`` nothing
computes it (the reason is given). No cell is typed-in text.
"""

from __future__ import annotations

from typing import Any

from talentop.reports import exact_ci, fmt_hr, fmt_num, p_equals

INPUT, CALIBRATED, OUTPUT, NOT_AVAILABLE = "input", "calibrated", "output", "not available"
MARKS = (INPUT, CALIBRATED, OUTPUT, NOT_AVAILABLE)
COLUMNS = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run", "Note")


def mark(text: str, kind: str) -> str:
    """A cell: its text and, in brackets, where it comes from."""
    if kind not in MARKS:
        raise ValueError(f"kind={kind!r}: expected one of {MARKS}")
    return f"{text} [{kind}]"


def unmark(cell: str) -> str:
    """The text of a cell without its mark."""
    for kind in MARKS:
        suffix = f" [{kind}]"
        if cell.endswith(suffix):
            return cell[: -len(suffix)]
    return cell


def _of(k: int, n: int, ci: bool = False) -> str:
    if not n:
        return f"{k} of 0"
    text = f"{k} of {n} ({fmt_num(100 * k / n)}%"
    if ci:
        lo, hi = exact_ci(k, n)
        text += f", 95% CI {fmt_num(100 * lo)}-{fmt_num(100 * hi)}"
    return text + ")"


def published_rows(
    figures: dict[str, Any],
    published: dict[str, Any],
    expected: dict[str, Any] | None = None,
    *,
    n_screened_option: bool = True,
) -> list[dict[str, str]]:
    """The rows of the comparison table (``COLUMNS``).

    ``figures``: this run's key figures (``analysis.key_figures``); ``published``: the
    protocol file's ``published`` values (plain numbers); ``expected``: the model's values
    (``outcome_model().expected`` plus ``expected_counts`` and ``cd3_pct``).
    """
    f, p, e = figures, published, expected or {}
    num = fmt_num

    def pub(key: str, text: str | None = None) -> str:
        if key not in p:
            return mark("not published", NOT_AVAILABLE)
        return mark(text if text is not None else str(p[key]), INPUT)

    def exp(key: str, text: str | None = None, kind: str = CALIBRATED) -> str:
        if key not in e or e[key] is None:
            return mark("not in the model", NOT_AVAILABLE)
        return mark(text if text is not None else num(e[key]), kind)

    rows = []
    rows.append((
        "Screened",
        pub("screened"),
        mark(str(f["screened"]), INPUT) if n_screened_option else exp("screened"),
        mark(str(f["screened"]), OUTPUT),
        "cohort size (--patients)",
    ))  # fmt: skip
    rows.append((
        "Met criteria, received induction", pub("induction"),
        exp("induction", num(e.get("induction"), 0)), mark(str(f["induction"]), OUTPUT),
        "eligibility engine; expected: screened x P(no exclusion) of the generator",
    ))  # fmt: skip
    rows.append((
        "PR/SD and resectable, randomised", pub("randomised"),
        exp("randomised", num(e.get("randomised"), 0)), mark(str(f["randomised"]), OUTPUT),
        "RECIST engine + MDT; expected: response and MDT probabilities of the generator",
    ))  # fmt: skip
    arms = (
        pub("arm_a", f"{p['arm_a']} / {p['arm_b']}")
        if "arm_a" in p and "arm_b" in p
        else pub("arm_a")
    )
    rows.append((
        "Arm A / arm B", arms,
        exp("arm_a", f"{num(e.get('arm_a'), 0)} / {num(e.get('arm_a'), 0)}"),
        mark(f"{f['arm_a']} / {f['arm_b']}", OUTPUT), "stratified permuted blocks, 1:1",
    ))  # fmt: skip
    operated_pub = (
        pub("operated", _of(int(p["operated"]), int(p["arm_a"])))
        if "arm_a" in p
        else pub("operated")
    )
    rows.append((
        "Arm A operated", operated_pub,
        exp("operated_fraction", f"{num(100 * e['operated_fraction'])}% of arm A", INPUT)
        if "operated_fraction" in e else exp("operated_fraction"),
        mark(_of(f["operated"], f["arm_a"], ci=True), OUTPUT),
        "record_surgery; the model is given the published share (failures before the planned "
        "date are not operated)",
    ))  # fmt: skip
    rows.append((
        "Median TTF A vs B, months",
        pub("ttf_median_a", f"{p.get('ttf_median_a')} vs {p.get('ttf_median_b')}"),
        exp("ttf_median_a", f"{num(e.get('ttf_median_a'))} vs {num(e.get('ttf_median_b'))}"),
        mark(f"{num(f['ttf_median_a'])} vs {num(f['ttf_median_b'])}", OUTPUT),
        "Kaplan-Meier; the protocol file's TTF definition (as talentop export adtte)",
    ))  # fmt: skip
    rows.append((
        "TTF hazard ratio (A vs B), P",
        pub("ttf_hr", f"{fmt_num(p.get('ttf_hr'), 2)}, {p_equals(p.get('ttf_p'))}"),
        exp("ttf_hr", f"{fmt_num(e.get('ttf_hr'), 2)}, z = {fmt_num(e.get('ttf_z'), 2)}"),
        mark(
            f"{fmt_hr(f['ttf_hr'], *f['ttf_hr_ci'], reason=f['ttf_hr_reason'])}, log-rank "
            f"{p_equals(f['ttf_p'], f.get('ttf_p_reason'))}",
            OUTPUT,
        ),
        "stratified Cox; stratified log-rank P",
    ))  # fmt: skip
    os_ci = p.get("os_ci") or [None, None]
    se = e.get("os_se_log_hr")
    rows.append((
        "OS hazard ratio (95% CI)",
        pub("os_hr", fmt_hr(p.get("os_hr"), *os_ci)),
        exp("os_hr", f"{fmt_num(e.get('os_hr'), 2)}, SE {fmt_num(se, 3)}, "
                     f"{num(e.get('os_deaths'), 0)} deaths" if se is not None else None),
        mark(fmt_hr(f["os_hr"], *f["os_ci"], reason=f["os_hr_reason"]), OUTPUT),
        f"{f['os_events']} deaths: immature; OS = TTF + post-failure survival",
    ))  # fmt: skip
    cd3 = f.get("cd3_pct")
    rows.append((
        "Grade >= 3 surgical complications (arm A, operated)",
        pub("cd3_pct", f"{p.get('cd3_pct')}%"),
        exp("cd3_pct", f"{num(e.get('cd3_pct'))}%"),
        mark("no operated patient" if cd3 is None else f"{num(cd3)}%", OUTPUT),
        "Clavien-Dindo >= IIIa, from the database; expected: drawn grades + deaths within "
        "30 days under the OS model",
    ))  # fmt: skip
    outside = f.get("ae_terms_outside_profile")
    rows.append((
        "New atezo/bev safety signals",
        pub("new_safety_signals"),
        mark("the model draws AEs from the known profile; hepatic failure, rarely, as an "
             "unexpected SAE (so that SUSARs occur)", NOT_AVAILABLE),
        mark(f"{outside} AE terms outside the known profile", OUTPUT)
        if outside is not None else mark("not computed", NOT_AVAILABLE),
        "known profile: the reference safety information in the protocol file (per product) "
        "and the generator's AE list (IMbrave150-like)",
    ))  # fmt: skip
    if "ttf_sensitivity_events" in f:
        events = f["ttf_sensitivity_events"]
        hr = fmt_hr(
            f["ttf_sensitivity_hr"],
            *f["ttf_sensitivity_hr_ci"],
            reason=f["ttf_sensitivity_hr_reason"],
        )
        rows.append((
            "Sensitivity: TTF censored at maintenance completion",
            mark("not published", NOT_AVAILABLE),
            mark("not in the model", NOT_AVAILABLE),
            mark(
                f"median {num(f['ttf_sensitivity_median_a'])} vs "
                f"{num(f['ttf_sensitivity_median_b'])}; HR {hr}, log-rank "
                f"{p_equals(f['ttf_sensitivity_p'], f.get('ttf_sensitivity_p_reason'))}; events {events['A']} / {events['B']}",
                OUTPUT,
            ),
            f"continue reasons moved to censoring; {f['maintenance_completed']} completed "
            "maintenance",
        ))  # fmt: skip
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def published_values(protocol: Any) -> dict[str, Any]:
    """The protocol file's ``published`` section as plain values."""
    return {key: figure.value for key, figure in protocol.published.items()}
