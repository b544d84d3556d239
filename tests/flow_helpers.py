"""Walk patients along the TALENTOP path through the real services (test helpers)."""

from __future__ import annotations

import datetime as dt
import json

from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.protocol import load_protocol
from talentop.store import models as m

PROTOCOL = load_protocol("talentop")
D0 = dt.date(2025, 1, 6)


LESIONS = [
    {
        "id": "T1",
        "kind": "target",
        "organ": "liver",
        "diameter_mm": 60.0,
        "viable_diameter_mm": 50.0,
    },
    {
        "id": "T2",
        "kind": "target",
        "organ": "liver",
        "diameter_mm": 40.0,
        "viable_diameter_mm": 30.0,
    },
    {"id": "N1", "kind": "non_target", "organ": "portal_vein"},
]

#: Structured criteria every "resectable" vote rests on (TALENTOP mdt.criteria_required).
CRITERIA_YES = {
    "r0_feasible": True,
    "remnant_liver_pct": 42.9,
    "vp_grade": "Vp3",
    "vv_grade": "Vv0",
    "child_pugh_grade": "A",
    "albi_grade": 1,
}

#: The same criteria as a web form sends them (text, "yes" for true).
CRITERIA_FORM = {k: "yes" if v is True else str(v) for k, v in CRITERIA_YES.items()}

VOTES_YES = [
    {
        "member": "surg1",
        "specialty": "hepatobiliary_surgeon",
        "resectable": True,
        "reason": "R0 feasible",
        "criteria": CRITERIA_YES,
    },
    {
        "member": "onc1",
        "specialty": "hepatologist_or_oncologist",
        "resectable": True,
        "reason": "PR, CP-A",
        "criteria": CRITERIA_YES,
    },
    {
        "member": "rad1",
        "specialty": "radiologist",
        "resectable": True,
        "reason": "thrombus receded",
        "criteria": CRITERIA_YES,
    },
]


#: The trial team every test context has (services.permissions: one role each).
MDT_ACTOR = "mdt1"
SURGEON_ACTOR = "surgeon1"
STATISTICIAN_ACTOR = "stat1"


def context(store, actor: str = "inv1") -> sv.Context:
    """A context with site SH01, an investigator ``actor``, an MDT member and a surgeon."""
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "SH01", "Zhongshan Hospital", country="CN")
    sv.create_user(system, actor, "investigator", site_code="SH01")
    sv.create_user(system, MDT_ACTOR, "mdt_member", specialty="hepatobiliary_surgeon")
    sv.create_user(system, SURGEON_ACTOR, "surgeon", site_code="SH01")
    sv.create_user(system, STATISTICIAN_ACTOR, "statistician")
    return sv.Context(store, PROTOCOL, actor)


def mdt(ctx: sv.Context) -> sv.Context:
    """The same trial as ``ctx``, acting as the MDT member (records MDT reviews)."""
    return sv.Context(ctx.store, ctx.protocol, MDT_ACTOR)


def statistician(ctx: sv.Context) -> sv.Context:
    """The same trial as ``ctx``, acting as the trial statistician (endpoints, ADTTE)."""
    return sv.Context(
        ctx.store,
        ctx.protocol,
        STATISTICIAN_ACTOR,
        allow_future_dates=ctx.allow_future_dates,
        today=ctx.today,
    )


def surgeon(ctx: sv.Context) -> sv.Context:
    """The same trial as ``ctx``, acting as the site's surgeon (surgery, complications)."""
    return sv.Context(ctx.store, ctx.protocol, SURGEON_ACTOR)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


#: Every scope a consent form can cover.
ALL_SCOPES = ["treatment", "follow_up", "data_use", "biobank"]


def consent(ctx, pid: int, on=None, **options) -> dict:
    """The patient signs the consent form in force (every scope unless ``scopes``)."""
    on = on or day(-14)
    options.setdefault("scopes", ALL_SCOPES)
    options.setdefault("form_version", ctx.protocol.consent.in_force(on).version)
    options.setdefault("obtained_by", "Dr Chen (investigator)")
    return sv.record_consent(ctx, pid, on, **options)


def register(ctx, site_code: str, pseudo_id: str, registered_on=None, **kwargs) -> int:
    """Register a patient and record their informed consent the same day."""
    on = registered_on or day(-14)
    pid = sv.register_patient(ctx, site_code, pseudo_id, registered_on=on, **kwargs)
    consent(ctx, pid, on)
    return pid


def to_induction(ctx, pseudo_id: str = "P001", site_code: str = "SH01", **record) -> int:
    pid = register(ctx, site_code, pseudo_id, day(-14))
    sv.screen_patient(ctx, pid, {**ELIGIBLE, **record}, day(-7))
    sv.record_lesions_baseline(ctx, pid, day(-7), LESIONS)
    sv.start_induction(ctx, pid, day(0))
    return pid


def give_induction(ctx, pid: int, weight_kg: float = 70.0) -> None:
    for cycle in PROTOCOL.induction.cycles:
        for dose in cycle.drugs:
            mg = dose.dose if dose.dose_unit == "mg" else dose.dose * weight_kg
            sv.record_dose(
                ctx,
                pid,
                cycle=cycle.number,
                drug=dose.drug,
                dose_given_mg=mg,
                given_on=day(21 * (cycle.number - 1)),
                weight_kg=weight_kg,
            )


def assess(ctx, pid: int, visit_day: int, shrink: float = 0.6, **kwargs):
    """A visit with both targets at ``shrink`` x baseline (0.6 -> -40%, PR)."""
    return sv.record_assessment(
        ctx,
        pid,
        day(visit_day),
        target={"T1": 60.0 * shrink, "T2": 40.0 * shrink},
        non_target={"N1": "present"},
        **kwargs,
    )


def to_assessed(ctx, pseudo_id: str = "P001", shrink: float = 0.6, site_code: str = "SH01") -> int:
    pid = to_induction(ctx, pseudo_id, site_code)
    give_induction(ctx, pid)
    assess(ctx, pid, 70, shrink)
    sv.complete_assessment(ctx, pid, day(71))
    return pid


def to_randomised(ctx, pseudo_id: str = "P001", shrink: float = 0.6) -> tuple[int, str]:
    pid = to_assessed(ctx, pseudo_id, shrink)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    return pid, sv.randomise(ctx, pid, day(73))["arm"]


def randomised_in_arm(ctx, arm: str, prefix: str = "P") -> int:
    """Randomise patients until one lands in ``arm`` (blocks of 2/4 make this quick)."""
    for i in range(20):
        pid, got = to_randomised(ctx, f"{prefix}{arm}{i:03d}")
        if got == arm:
            return pid
    raise AssertionError(f"no patient randomised to arm {arm} in 20 tries")


def seed_ready_patients(store, n: int, *, site_code: str = "SH01", seed: int = 0) -> list[int]:
    """Insert ``n`` patients directly in state ``assessed``, MDT-resectable, PR/SD (bulk setup
    for concurrency tests; ecog and depth vary so several strata fill). Each row is audited
    like a service write, so ``verify`` reconciles the tables afterwards."""
    import random

    from talentop.store import writes

    rng = random.Random(seed)
    ids = []
    with store.unit_of_work() as session:
        site = session.query(m.Site).filter_by(code=site_code).one()
        for i in range(n):
            patient = m.Patient(
                site_id=site.id, pseudo_id=f"S{i:05d}", registered_on=D0, state="assessed"
            )
            writes.insert(session, "system", patient)
            writes.insert(
                session,
                "system",
                m.Consent(
                    patient_id=patient.id,
                    consented_on=D0,
                    form_version=PROTOCOL.consent.forms[0].version,
                    obtained_by="seed",
                    scope_treatment=True,
                    scope_follow_up=True,
                    scope_data_use=True,
                    scope_biobank=False,
                ),
            )
            ecog = rng.choice([0, 1])
            depth = rng.choice([-45.0, -10.0, 12.0])
            writes.insert(
                session,
                "system",
                m.Screening(
                    patient_id=patient.id,
                    screened_on=D0,
                    protocol_id="talentop",
                    protocol_version="1",
                    record_json=json.dumps({"ecog": ecog}),
                    verdict="eligible",
                ),
            )
            visit = m.AssessmentVisit(
                patient_id=patient.id,
                visit_date=day(70),
                new_lesions="none",
                new_lesions_mrecist="none",
            )
            writes.insert(session, "system", visit)
            writes.insert(
                session,
                "system",
                m.ResponseAssessment(
                    patient_id=patient.id,
                    visit_id=visit.id,
                    criteria="recist1.1",
                    engine_version="seed",
                    overall_response="PR" if depth <= -30 else "SD",
                    best_overall_response="PR" if depth <= -30 else "SD",
                    depth_of_response_pct=depth,
                    result_json="{}",
                ),
            )
            writes.insert(
                session,
                "system",
                m.MdtReview(
                    patient_id=patient.id,
                    review_date=day(72),
                    purpose="randomisation",
                    rule="majority",
                    votes_resectable=3,
                    votes_total=3,
                    resectable=True,
                ),
            )
            ids.append(patient.id)
    return ids


def randomisation_secret(store) -> bytes:
    """The trial's current randomisation key, read from outside the database as the
    service reads it (tests re-derive allocations with it; nothing else may)."""
    from talentop.store import queries

    with store.unit_of_work() as session:
        key_id = queries.randomisation_keys(session)[-1].key_id
    return store.keys.load_randomisation_key(key_id)
