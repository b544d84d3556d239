"""Report tables for trial conduct: the SAE count and listing by arm, deviations by category
and arm, consent and withdrawals, concomitant medication. Pure: they take what
``services.sae_listing``, ``services.deviation_summary`` and ``services.conduct_summary``
return (lists and dicts), nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from talentop.reports.tables import Table


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else str(k)


def sae_summary_table(
    listing: Sequence[Mapping[str, Any]], denominators: Mapping[str, int]
) -> Table:
    """SAE counts per arm: events, patients with one or more, SUSARs, reports on time."""
    arms = list(denominators)
    rows: list[dict[str, Any]] = []

    def add(label: str, value) -> None:
        rows.append({"": label, **{arm: value(arm) for arm in arms}})

    by_arm = {arm: [r for r in listing if r.get("arm") == arm] for arm in arms}
    add("SAEs (events)", lambda a: str(len(by_arm[a])))
    add(
        "Patients with >= 1 SAE, n (%)",
        lambda a: _pct(len({r["patient_id"] for r in by_arm[a]}), denominators[a]),
    )
    add("Life-threatening or fatal SAEs", lambda a: str(sum(_grave(r) for r in by_arm[a])))
    add("SUSARs", lambda a: str(sum(bool(r["susar"]) for r in by_arm[a])))
    add(
        "Initial reports within their clock, n (%)",
        lambda a: _pct(sum(bool(r["on_time"]) for r in by_arm[a]), len(by_arm[a])),
    )
    add(
        "Follow-up reports late",
        lambda a: str(sum(int(r.get("follow_ups_late", 0)) for r in by_arm[a])),
    )
    note = (
        "Serious per ICH E2A (death, life-threatening, hospitalisation or its prolongation, "
        "disability, congenital anomaly, important medical event). Initial report clock: "
        "the protocol's hours from the site's awareness to the report reaching the sponsor. "
        "SUSAR: serious, suspected related to a product (possible, probable, definite) and "
        "unexpected against the protocol's reference safety information."
    )
    return Table(
        "Serious adverse events by arm (randomised patients)",
        pd.DataFrame(rows, columns=["", *arms]),
        note,
    )


def _grave(record: Mapping[str, Any]) -> bool:
    return bool({"death", "life_threatening"} & set(record.get("criteria", ())))


def _products(record: Mapping[str, Any], key: str) -> str:
    chosen = [c["product"] for c in record.get("causality", ()) if c[key]]
    return ", ".join(chosen) or "-"


def reader_date(value: Any) -> str:
    """'2022-05-03' -> '3 May 2022' (a listing for readers; ISO dates read as ranges)."""
    import datetime as dt

    if not value:
        return "-"
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"


def sae_listing_table(listing: Sequence[Mapping[str, Any]]) -> Table:
    """One row per SAE, by arm then onset."""
    rows = [
        {
            "Arm": r.get("arm") or "-",
            "Patient": r["pseudo_id"],
            "Event (CTCAE)": r["term"],
            "Grade": r["grade"],
            "Onset": reader_date(r["onset_date"]),
            "Criteria": ", ".join(c.replace("_", " ") for c in r["criteria"]),
            "Hours to report": f"{r['hours_to_report']:.0f}",
            "On time": "yes" if r["on_time"] else f"no (+{r['late_by_hours']:.0f} h)",
            "Suspected": _products(r, "related"),
            "Expected for": _products(r, "expected"),
            "SUSAR": "yes" if r["susar"] else "no",
            "Outcome": str(r["outcome"]).replace("_", " "),
        }
        for r in listing
    ]
    columns = [
        "Arm", "Patient", "Event (CTCAE)", "Grade", "Onset", "Criteria", "Hours to report",
        "On time", "Suspected", "Expected for", "SUSAR", "Outcome",
    ]  # fmt: skip
    return Table("Listing of serious adverse events", pd.DataFrame(rows, columns=columns))


def deviation_table(summary: Mapping[str, Any], arm_labels: Mapping[str, str]) -> Table:
    """Deviations by category (major / minor) and arm."""
    arms = list(summary["arms"])
    rows = [
        {
            "Category": c["category"].replace("_", " "),
            "Class": c["classification"],
            **{arm_labels.get(arm, arm): c[arm] for arm in arms},
            "Total": c["total"],
        }
        for c in summary["categories"]
    ]
    columns = ["Category", "Class", *[arm_labels.get(a, a) for a in arms], "Total"]
    note = (
        f"{summary['total']} deviations, {summary['major']} major (important deviations, "
        "ICH E3 Q&A R1); entered by hand and raised by the services (dose, bevacizumab "
        "restart, surgery washout). Per ICH E6(R3) 2.5.3 each major one carries its "
        "preventive action in the deviation log."
    )
    return Table(
        "Protocol deviations by category and arm", pd.DataFrame(rows, columns=columns), note
    )


_CONSENT_ROWS = (
    ("consented", "Consented (any form version), n"),
    ("treatment", "  to trial treatment"),
    ("follow_up", "  to follow-up"),
    ("data_use", "  to use of their data"),
    ("biobank", "  to the biobank / future research (optional)"),
    ("reconsent_due", "Due to re-consent on a newer form version"),
)


def _by_arm(
    summary: Mapping[str, Any], arm_labels: Mapping[str, str], counts: Mapping[str, int], pct=False
) -> dict[str, Any]:
    """One table row's cells: the arm's label -> its count (with % of the arm's patients)."""
    return {
        arm_labels.get(arm, arm): _pct(counts[arm], summary["patients"][arm])
        if pct
        else counts[arm]
        for arm in summary["arms"]
    }


def consent_table(summary: Mapping[str, Any], arm_labels: Mapping[str, str]) -> Table:
    """Informed consent and withdrawals by arm (``services.conduct_summary``)."""
    labels = [arm_labels.get(a, a) for a in summary["arms"]]
    rows = [{"": "Patients", **_by_arm(summary, arm_labels, summary["patients"])}]
    for key, label in _CONSENT_ROWS:
        rows.append({"": label, **_by_arm(summary, arm_labels, summary["consent"][key])})
    for scope, counts in summary["withdrawals"].items():
        label = f"Withdrew consent: {scope.replace('_', ' ')}"
        rows.append({"": label, **_by_arm(summary, arm_labels, counts)})
    note = (
        "Patients per arm. Consent is taken before any screening procedure (ICH E6(R3) "
        "2.8.7); a withdrawal names its scope, and the services keep honouring the others "
        "(follow-up stops only when follow-up consent is withdrawn; biobank samples are "
        "flagged for destruction)."
    )
    return Table(
        "Informed consent and withdrawals by arm", pd.DataFrame(rows, columns=["", *labels]), note
    )


def medication_table(summary: Mapping[str, Any], arm_labels: Mapping[str, str]) -> Table:
    """Concomitant medication by the protocol's classes, the medication rules' findings and
    medical history, patients by arm (``services.conduct_summary``)."""
    labels = [arm_labels.get(a, a) for a in summary["arms"]]
    names = {"other": "Other medication", "any": "Any concomitant medication"}
    rows = [
        {"": names.get(row["class"], row["label"]), **_by_arm(summary, arm_labels, row, True)}
        for row in summary["medication"]
    ]
    for row in summary["findings"]:
        label = f"Rule finding: {row['text']}"
        rows.append({"": label, **_by_arm(summary, arm_labels, row, True)})
    history = summary["medical_history"]
    rows.append({"": "Medical history recorded", **_by_arm(summary, arm_labels, history, True)})
    note = (
        "Patients with at least one medication of the class, n (% of the arm's patients); "
        "classes and rules come from the protocol file (section medication); a rule "
        "finding is a violation or a flag for the investigator's review."
    )
    return Table(
        "Concomitant medication and medical history by arm",
        pd.DataFrame(rows, columns=["", *labels]),
        note,
    )
