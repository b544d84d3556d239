"""Report sections about the trial's conduct: published vs run, CONSORT flow, baseline,
response, safety and the protocol summary (the SAP and the interim against it:
``report_experts.sap_or_design``). One function per
section, each returning a ``Section``."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pandas as pd

from talentop.demo.analysis import CD_GRADES, Interim, published_rows
from talentop.demo.report_text import listed, reader_rows, symbols, words
from talentop.reports import (
    ConsortFlow,
    Section,
    Table,
    baseline_table,
    consort_figure,
    grade_table,
    key_value_table,
    response_table,
)
from talentop.reports.provenance import provenance_table


def published_section(figures: dict[str, Any], protocol: Any) -> Section:
    """Every published figure next to the model's expectation and this run's value, each cell
    marked input, calibrated, output or not available (``reports.provenance``)."""
    sources = sorted({figure.source for figure in protocol.published.values()})
    table = provenance_table(
        reader_rows(published_rows(figures, protocol)),
        "; ".join(sources) or "none in the protocol file",
    )
    return Section(
        "published",
        "Published vs this run",
        [
            "Every figure of the published interim analysis next to the calibrated model's "
            "expectation and the same figure computed from this simulated trial."
        ],
        tables=[table],
    )


def consort_flow(interim: Interim) -> ConsortFlow:
    """The flow with its CONSORT 2010 follow-up and analysis stages, from the database facts:
    lost to follow-up, first discontinuation of treatment with its reason, and the patients
    in the intention-to-treat analysis (those with a time-to-treatment-failure record)."""
    facts = interim.stored.patients if interim.stored is not None else None
    analysed = interim.ttf.data.groupby("arm").size().to_dict()
    arms = []
    for arm in interim.flow.arms:
        lost, stopped, completed = 0, Counter(), 0
        if facts is not None and len(facts):
            block = facts[facts.arm == arm.label]
            lost = int(block.get("lost_to_follow_up", pd.Series(dtype=bool)).fillna(False).sum())
            reasons = block.get("discontinuation_reason", pd.Series(dtype=object)).dropna()
            completed = int((reasons == "maintenance_completed").sum())
            stopped = Counter(
                words(r) for r in reasons if r not in ("maintenance_completed", "data_cutoff")
            )
        n_analysed = int(analysed.get(arm.label, 0))
        excluded = (
            {"no time-to-treatment-failure record": arm.allocated - n_analysed}
            if n_analysed < arm.allocated
            else {}
        )
        arms.append(
            dataclasses.replace(
                arm,
                not_received={symbols(k): v for k, v in arm.not_received.items()},
                completed=completed,
                analysed=n_analysed,
                lost_to_follow_up=lost,
                discontinued=dict(stopped),
                excluded_from_analysis=excluded,
            )
        )
    flow = interim.flow
    return dataclasses.replace(
        flow,
        excluded={symbols(k): v for k, v in flow.excluded.items()},
        not_randomised={symbols(k): v for k, v in flow.not_randomised.items()},
        arms=tuple(arms),
    )


def consort_section(interim: Interim) -> Section:
    figure = consort_figure(consort_flow(interim))
    caption = (
        "CONSORT 2010 flow diagram: enrolment, induction, allocation, follow-up (lost to "
        "follow-up; first discontinuation of the allocated treatment, by reason) and analysis "
        "(intention to treat)."
    )
    return Section(
        "consort",
        "Patient flow (CONSORT)",
        figures=[dataclasses.replace(figure, caption=caption)],
    )


def baseline_section(interim: Interim) -> Section:
    rand = interim.randomised
    return Section(
        "baseline",
        "Baseline characteristics",
        tables=[
            baseline_table(
                rand,
                arm="arm",
                arm_order=["A", "B"],
                continuous={
                    "age_years": "Age, years",
                    "largest_tumour_diameter_cm": "Largest tumour, cm",
                    "depth_of_response_pct": "Depth of response, %",
                },
                categorical={
                    "sex": "Sex",
                    "ecog": "ECOG performance status",
                    "vp_grade": "Portal vein tumour thrombus",
                    "bor": "Best response to induction",
                },
            )
        ],
    )


def response_section(interim: Interim) -> Section:
    return Section(
        "response",
        "Response to induction",
        tables=[response_table(interim.responses, group="group", response="bor")],
    )


def safety_section(interim: Interim) -> Section:
    rand = interim.randomised
    denominators = {arm: int((rand.arm == arm).sum()) for arm in ("A", "B")}
    return Section(
        "safety",
        "Safety",
        tables=[
            grade_table(
                interim.complications.assign(grade=interim.complications.grade.astype(str)),
                arm="arm",
                term="term",
                grade="grade",
                denominators={"A": max(interim.operated, 1)},
                grade_order=CD_GRADES,
                high_grades=CD_GRADES[2:],
                high_label="grade ≥ IIIa",
                title="Surgical complications, Clavien–Dindo (operated arm-A patients)",
            ),
            grade_table(
                interim.adverse_events,
                arm="arm",
                term="term",
                grade="grade",
                denominators=denominators,
                grade_order=[1, 2, 3, 4, 5],
                high_grades=[3, 4, 5],
                high_label="grade ≥ 3",
                title="Adverse events, CTCAE v5 (randomised patients)",
            ),
            *conduct_tables(interim, denominators),
        ],
    )


def conduct_tables(interim: Interim, denominators: dict[str, int]) -> list[Table]:
    """SAEs by arm (count and listing), deviations by category and arm, consent and
    withdrawals, concomitant medication (``talentop.reports.conduct``), from the stored
    facts."""
    from talentop.reports.conduct import (
        consent_table,
        deviation_table,
        medication_table,
        sae_listing_table,
        sae_summary_table,
    )

    stored = interim.stored
    if stored is None:
        return []
    randomised = [r for r in stored.sae_listing if r.get("arm") in denominators]
    tables = [sae_summary_table(randomised, denominators), sae_listing_table(randomised)]
    if stored.deviations is not None:
        tables.append(deviation_table(stored.deviations, {"-": "not randomised"}))
    if stored.conduct is not None:
        tables.append(consent_table(stored.conduct, {"-": "not randomised"}))
        tables.append(medication_table(stored.conduct, {"-": "not randomised"}))
    return tables


def crossed(z: float | None, bound: float | None) -> str:
    """Whether the observed z crossed the efficacy boundary, in words."""
    if bound is None:
        return "not assessable (no events: no bound yet)"
    if z is None:
        return "not assessable (the observed z is not estimable)"
    return "yes" if z >= bound else "no"


def protocol_section(protocol: Any, statements: list[tuple[str, str]] = ()) -> Section:
    """The protocol summary and ``statements``: what it decides where the sources are silent."""
    ttf = protocol.ttf
    pairs = [
        ("registry", protocol.registry_id),
        (
            "eligibility criteria",
            "\n".join(
                f"{i}. {c.kind}: {symbols(c.text)}"
                for i, c in enumerate(protocol.eligibility, start=1)
            ),
        ),
        (
            "induction",
            f"{len(protocol.induction.cycles)} cycles every "
            f"{protocol.induction.cycle_length_days} days",
        ),
        ("strata", ", ".join(s.label for s in protocol.strata)),
        ("arms", "; ".join(f"{a.id}: {a.name}" for a in protocol.arms)),
        (
            "multidisciplinary team",
            f"at least {protocol.mdt.min_members} members, decision by {words(protocol.mdt.rule)}",
        ),
        ("treatment failure", listed(ttf.failure_reasons)),
        ("censoring", listed(ttf.censor_reasons)),
        ("neither failure nor censoring (follow-up continues)", listed(ttf.continue_reasons)),
        *statements,
    ]
    return Section("protocol", "Protocol summary", tables=[key_value_table(protocol.title, pairs)])


def dynamic_section(dynamic: pd.DataFrame, more: list[Table] = ()) -> Section:
    return Section(
        "dynamic",
        "Dynamic reassessment (arm B may switch to surgery)",
        [
            "The same cohort and random seed, run again with arm-B patients operated when a "
            "multidisciplinary reassessment finds them resectable."
        ],
        tables=[Table("Standard vs dynamic reassessment", dynamic), *more],
    )
