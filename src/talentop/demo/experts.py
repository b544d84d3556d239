"""The analyses the experts asked for (seed article), on one trial run.

- conversion: among all patients who started induction and among the technically unresectable
  at baseline, the share the MDT judged resectable and the share resected, exact CIs, by Vp
  grade; arm B: the share flagged / judged operable within ``reassessment.operable_within_months``;
- depth of response as a continuous variable: a landmark analysis of OS from randomisation (the
  end of induction: every randomised patient is alive there) by the depth at the end of
  induction, and its interaction with Vp grade;
- surgical safety after bevacizumab by days since the last dose: Clavien-Dindo >= IIIa, ISGLS
  liver failure, bleeding and wound complications, 90-day mortality;
- pathological response of resected specimens and its link to OS (landmark at surgery);
- the arm-B switch to surgery under each TTF reading (ICH E9(R1) strategies).

Exact intervals are Clopper-Pearson; Cox fits are ``talentop.stats.cox`` (Efron ties).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from talentop.clinical.resectability import TECHNICALLY_UNRESECTABLE
from talentop.clinical.surgery_outcomes import band_labels, interval_band, pathological_response
from talentop.demo.cohort import DAYS_PER_MONTH
from talentop.errors import ConvergenceError, InvalidInput
from talentop.reports import exact_ci, fmt_num
from talentop.stats.distributions import chi2

SWITCH_LABELS = {
    "ignore": "treatment policy: switch ignored, failure after surgery counts",
    "censor": "hypothetical: censored at the switch",
    "event": "composite: the switch is a failure",
}


def share(k: int, n: int) -> str:
    """ "k of n (x%, 95% CI lo-hi)" with a Clopper-Pearson interval; "-" when n = 0."""
    if n == 0:
        return "- (no patients)"
    lo, hi = exact_ci(k, n)
    return f"{k} of {n} ({fmt_num(100 * k / n)}%, 95% CI {fmt_num(100 * lo)}-{fmt_num(100 * hi)})"


def _vp_level(vp: Any) -> str:
    return {"Vp3": "Vp3", "Vp4": "Vp4"}.get(vp, "Vp1-Vp2 or hepatic vein only")


def conversion_table(patients: pd.DataFrame) -> pd.DataFrame:
    """Conversion among induction patients: MDT resectable and resected, by Vp grade.

    ``patients``: one row per induction patient with ``baseline_class``, ``mdt_resectable``
    (the post-induction MDT: True/False/None when not reviewed), ``operated`` and ``vp_grade``.
    """
    rows = []
    populations = {
        "All who started induction": patients,
        "Technically unresectable at baseline": patients[
            patients["baseline_class"] == TECHNICALLY_UNRESECTABLE
        ],
    }
    for label, block in populations.items():
        groups = [("All", block)] + [
            (level, block[block["vp_grade"].map(_vp_level) == level])
            for level in ("Vp1-Vp2 or hepatic vein only", "Vp3", "Vp4")
        ]
        for vp, group in groups:
            n = len(group)
            rows.append(
                {
                    "Population": label,
                    "Thrombus": vp,
                    "n": n,
                    "Judged resectable by the MDT": share(
                        int(group["mdt_resectable"].eq(True).sum()), n
                    ),
                    "Resected": share(int(group["operated"].eq(True).sum()), n),
                }
            )
    return pd.DataFrame(rows)


def operable_within(stored: Any, months: float, cutoff: dt.date) -> dict[str, Any]:
    """Arm-B patients (with the full window before the cut) flagged by the structured trigger,
    and judged resectable by an MDT reassessment, within ``months`` of randomisation."""
    facts = stored.patients
    arm_b = facts[facts["arm"] == "B"]
    window = dt.timedelta(days=round(months * DAYS_PER_MONTH))
    complete = arm_b[arm_b["randomised_on"].map(lambda d: d + window <= cutoff)]

    def within(column: str) -> int:
        return int(
            sum(
                1
                for start, day in zip(complete["randomised_on"], complete[column], strict=True)
                if day is not None and not pd.isna(day) and day <= start + window
            )
        )

    n = len(complete)
    return {
        "months": months,
        "arm_b": len(arm_b),
        "with_full_window": n,
        "flagged": within("first_flag_on"),
        "resectable": within("first_resectable_review_on"),
        "flagged_text": share(within("first_flag_on"), n),
        "resectable_text": share(within("first_resectable_review_on"), n),
    }


def depth_landmark(os_frame: pd.DataFrame) -> pd.DataFrame:
    """Cox OS from the landmark (randomisation = end of induction) on the depth of response,
    per 10 percentage points of deeper shrinkage, adjusted for arm; within Vp3/Vp4 and the
    others; the depth x Vp3/Vp4 interaction by likelihood ratio (1 df)."""
    from talentop.stats.cox import cox

    data = os_frame.dropna(subset=["depth_of_response_pct"]).copy()
    data["deeper_10pct"] = -data["depth_of_response_pct"].astype(float) / 10.0
    data["vp34"] = data["vp_grade"].isin(["Vp3", "Vp4"]).astype(float)
    data["deeper_x_vp34"] = data["deeper_10pct"] * data["vp34"]
    rows = []

    def fit_row(label: str, block: pd.DataFrame, covariates: list[str]) -> None:
        row = {"Analysis": label, "n": len(block), "deaths": int(block["event"].sum())}
        try:
            fit = cox(block, duration="time", event="event", covariates=covariates)
            row |= {
                "HR per 10 points deeper (95% CI)": f"{fmt_num(float(fit.hr['deeper_10pct']), 2)} "
                f"({fmt_num(float(fit.ci_lower['deeper_10pct']), 2)}-"
                f"{fmt_num(float(fit.ci_upper['deeper_10pct']), 2)})",
                "P": fmt_num(float(fit.p["deeper_10pct"]), 3),
            }
        except (ConvergenceError, InvalidInput) as error:
            row |= {"HR per 10 points deeper (95% CI)": f"not estimable ({error})", "P": ""}
        rows.append(row)

    fit_row("All randomised (adjusted for arm)", data, ["deeper_10pct", "treat_a"])
    for label, block in (
        ("Vp3/Vp4", data[data["vp34"] == 1]),
        ("Vp1-Vp2 or hepatic vein only", data[data["vp34"] == 0]),
    ):
        fit_row(f"{label} (adjusted for arm)", block, ["deeper_10pct", "treat_a"])
    try:
        main = cox(
            data, duration="time", event="event", covariates=["deeper_10pct", "treat_a", "vp34"]
        )
        full = cox(
            data,
            duration="time",
            event="event",
            covariates=["deeper_10pct", "treat_a", "vp34", "deeper_x_vp34"],
        )
        p_int = fmt_num(float(chi2.sf(2 * (full.loglik - main.loglik), df=1)), 3)
    except (ConvergenceError, InvalidInput) as error:
        p_int = f"not estimable ({error})"
    rows.append(
        {
            "Analysis": "Depth x Vp3/Vp4 interaction (likelihood ratio, 1 df)",
            "n": len(data),
            "deaths": int(data["event"].sum()),
            "HR per 10 points deeper (95% CI)": "",
            "P": p_int,
        }
    )
    return pd.DataFrame(rows)


def surgical_safety(stored: Any, protocol: Any) -> pd.DataFrame:
    """Operated patients by days since the last bevacizumab dose: complications beside
    Clavien-Dindo (ISGLS liver failure, bleeding, wound) and mortality within
    ``surgical_safety.mortality_days`` days of surgery."""
    surgeries = stored.surgeries
    complications = stored.complications
    edges = protocol.surgical_safety.bevacizumab_interval_bands_days.value
    days = protocol.surgical_safety.mortality_days.value
    if surgeries is None or surgeries.empty:
        return pd.DataFrame(columns=["Days since last bevacizumab", "Operated"])
    surgeries = surgeries.assign(
        band=surgeries["days_after_bevacizumab"].map(
            lambda d: interval_band(None if pd.isna(d) else int(d), edges)
        )
    )
    high = {"IIIa", "IIIb", "IVa", "IVb", "V"}

    def patients_with(block: pd.DataFrame, rule) -> int:
        mine = complications[complications["patient"].isin(block["patient"])]
        return int(mine[mine.apply(rule, axis=1)]["patient"].nunique()) if len(mine) else 0

    def died(block: pd.DataFrame) -> int:
        return int(
            sum(
                1
                for surgery, death in zip(block["surgery_date"], block["death_date"], strict=True)
                if death is not None and not pd.isna(death) and (death - surgery).days <= days
            )
        )

    rows = []
    labels = [b for b in band_labels(edges) if b in set(surgeries["band"])]
    labels += sorted(set(surgeries["band"]) - set(labels))
    for label, block in [
        *((b, surgeries[surgeries["band"] == b]) for b in labels),
        ("All operated", surgeries),
    ]:
        n = len(block)
        rows.append(
            {
                "Days since last bevacizumab": label,
                "Operated": n,
                "Clavien-Dindo >= IIIa": share(
                    patients_with(block, lambda r: r["grade"] in high), n
                ),
                "Liver failure (ISGLS any)": share(
                    patients_with(block, lambda r: r["category"] == "liver_failure"), n
                ),
                "Liver failure ISGLS B/C": share(
                    patients_with(block, lambda r: r["isgls_grade"] in ("B", "C")), n
                ),
                "Bleeding": share(patients_with(block, lambda r: r["category"] == "bleeding"), n),
                "Wound": share(patients_with(block, lambda r: r["category"] == "wound"), n),
                f"Death within {days} days": share(died(block), n),
            }
        )
    return pd.DataFrame(rows)


def pathology(
    stored: Any, os_frame: pd.DataFrame, protocol: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pathological response of resected specimens (complete / major / partial, exact CIs),
    and OS from surgery (landmark) by major-or-complete vs partial response: Cox HR, deaths."""
    from talentop.stats.cox import cox

    surgeries = stored.surgeries
    if surgeries is None or surgeries.empty:
        empty = pd.DataFrame(columns=["Pathological response", "Resected specimens"])
        return empty, pd.DataFrame(columns=["Comparison"])
    first = surgeries.sort_values("surgery_date").drop_duplicates("patient")
    first = first.assign(
        response=first["necrosis_pct"].map(
            lambda v: pathological_response(None if pd.isna(v) else float(v), protocol.pathology)
        )
    )
    n = int(first["response"].notna().sum())
    rules = protocol.pathology
    labels = {
        "complete": f"complete (necrosis >= {fmt_num(rules.complete_response_necrosis_pct.value, 0)}%)",
        "major": f"major (necrosis >= {fmt_num(rules.major_response_min_necrosis_pct.value, 0)}%)",
        "partial": "partial or none",
    }
    table = pd.DataFrame(
        [
            {
                "Pathological response": text,
                "Resected specimens": share(int((first["response"] == key).sum()), n),
            }
            for key, text in labels.items()
        ]
    )
    facts = stored.patients.set_index("usubjid")
    frame = os_frame.set_index("USUBJID").join(
        first.set_index("patient")[["surgery_date", "response"]], how="inner"
    )
    frame = frame.dropna(subset=["response"])
    offset = [
        (surgery - facts.loc[usubjid, "randomised_on"]).days / DAYS_PER_MONTH
        for usubjid, surgery in zip(frame.index, frame["surgery_date"], strict=True)
    ]
    frame = frame.assign(
        time=np.maximum(frame["time"].to_numpy() - np.array(offset), 1e-6),
        good=frame["response"].isin(["complete", "major"]).astype(float),
    )
    link = {
        "Comparison": "OS from surgery: major or complete vs partial response",
        "n (major or complete / partial)": f"{int(frame['good'].sum())} / {int((1 - frame['good']).sum())}",
        "deaths": int(frame["event"].sum()),
    }
    try:
        if frame["good"].nunique() < 2 or frame["event"].sum() < 2:
            raise InvalidInput("fewer than 2 deaths or one response group empty")
        fit = cox(frame.reset_index(), duration="time", event="event", covariates=["good"])
        link["HR (95% CI)"] = (
            f"{fmt_num(float(fit.hr['good']), 2)} ({fmt_num(float(fit.ci_lower['good']), 2)}-"
            f"{fmt_num(float(fit.ci_upper['good']), 2)})"
        )
        link["P"] = fmt_num(float(fit.p["good"]), 3)
    except (ConvergenceError, InvalidInput) as error:
        link["HR (95% CI)"] = f"not estimable ({error})"
        link["P"] = ""
    return table, pd.DataFrame([link])


def switch_sensitivity(results: dict[str, Any], switched: int, primary: str) -> pd.DataFrame:
    """TTF under each reading of the arm-B switch: the protocol's primary and sensitivities.

    ``results``: reading -> ``analysis.EndpointResult``.
    """
    from talentop.reports import fmt_hr, p_equals

    rows = []
    for reading, result in results.items():
        km = result.km
        rows.append(
            {
                "Reading": f"{SWITCH_LABELS[reading]}{' (primary)' if reading == primary else ''}",
                "Arm-B switches": switched,
                "Events A / B": " / ".join(
                    str(int(result.data.event[result.data.arm == arm].sum())) for arm in ("A", "B")
                ),
                "Median A vs B, months": f"{fmt_num(km['A'].median, 1, 'NR')} vs {fmt_num(km['B'].median, 1, 'NR')}",
                "HR A vs B (95% CI)": fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason),
                "Log-rank P": p_equals(result.logrank_p, result.logrank_reason),
            }
        )
    return pd.DataFrame(rows)
