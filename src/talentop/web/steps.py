"""The forms of the patient's path as data: one ``Step`` per service call, its inputs (named
as the service's arguments, so a problem the service names lands next to its input) and
how the typed values become the call.

Which steps a patient page offers is decided here too (``offered``): the user's role must
grant the step's action (``permissions``), the patient must be at the user's site for a
write (a user without a site: any), and the state machine must allow the arrow from the
patient's state (``states.ARROWS``; records such as labs are allowed in any state but
``died``). Screening, baseline lesions, the assessment, the MDT vote and randomisation have
pages of their own (``routes/``); they are listed here so the buttons come from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talentop import services as sv
from talentop.clinical.fields import VP_GRADES, VV_GRADES
from talentop.protocol import Protocol
from talentop.services.follow_up import ATTRIBUTIONS, CONTACT_STATUSES
from talentop.services.induction import PHASES
from talentop.services.permissions import SERVICE_ACTIONS, WRITE_ACTIONS, allowed
from talentop.services.states import ARROWS, DIED
from talentop.services.surgery import CLAVIEN_DINDO, MARGINS
from talentop.web.forms import Input, choices

Call = Callable[[sv.Context, int, dict[str, Any]], Any]

#: Consent scopes (``talentop.protocol.conduct``) as a patient is asked about them.
SCOPE_LABELS = {
    "treatment": "Trial treatment",
    "follow_up": "Follow-up",
    "data_use": "Use of my data",
    "biobank": "Biobank and future research",
}


@dataclass(frozen=True)
class Step:
    """One step of the path: ``slug`` (its address under the patient), the service it calls,
    a title and its inputs. ``call`` is None for steps with a page of their own."""

    slug: str
    service: str
    title: str
    inputs: tuple[Input, ...] = ()
    call: Call | None = None
    intro: str = ""
    group: str = "record"
    #: a field the service names -> the input it was typed in (e.g. "scopes" -> a checkbox)
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str:
        return SERVICE_ACTIONS[self.service]


def _date(name: str, label: str = "Date") -> Input:
    return Input(name, label, "date", required=True, hint="year-month-day, e.g. 2025-03-01")


def _drugs(protocol: Protocol) -> tuple[tuple[str, str], ...]:
    names = sorted({d.drug for c in protocol.induction.cycles for d in c.drugs})
    return choices(*names)


def steps(protocol: Protocol) -> list[Step]:
    """Every step, in path order (the protocol gives drugs and discontinuation reasons)."""
    from talentop.web.steps_conduct import conduct_steps

    return [
        Step(
            "consent",
            "record_consent",
            "Informed consent",
            (
                _date("consented_on", "Date the form was signed"),
                Input(
                    "form_version",
                    "Consent form version",
                    "select",
                    choices=choices(*(f.version for f in protocol.consent.forms)),
                    required=True,
                ),  # fmt: skip
                Input("obtained_by", "Consent obtained by", required=True, hint="name and role"),
                Input("witness", "Witness", hint="if one signed"),
                *(
                    Input(f"scope_{scope}", SCOPE_LABELS[scope], "checkbox", group="scopes")
                    for scope in SCOPE_LABELS
                ),
            ),
            lambda c, p, a: sv.record_consent(
                c,
                p,
                a["consented_on"],
                form_version=a["form_version"],
                obtained_by=a["obtained_by"],
                witness=a["witness"],
                scopes=[s for s in SCOPE_LABELS if a.get(f"scope_{s}")],
            ),
            intro="No screening procedure before the patient has signed the consent form in "
            "force (ICH E6(R3) 2.8). Tick every part the patient agreed to. A newer form "
            "version signed later is a re-consent.",
            group="path",
            aliases=(("scopes", "scope_treatment"),),
        ),
        Step("screening", "screen_patient", "Screening", group="path"),
        Step(
            "labs",
            "record_lab",
            "Laboratory result",
            (
                _date("sampled_on", "Sample date"),
                Input("test", "Test", required=True, hint="e.g. bilirubin, albumin, AFP"),
                Input("value", "Value", "number", required=True),
                Input("unit", "Unit", required=True, hint="e.g. umol/L, g/L, ng/mL"),
                Input("upper_limit_normal", "Upper limit of normal", "number", hint="optional"),
            ),
            lambda c, p, a: sv.record_lab(c, p, **a),
        ),
        Step(
            "imaging",
            "record_imaging",
            "Imaging study",
            (
                _date("study_date", "Study date"),
                Input(
                    "modality",
                    "Modality",
                    "select",
                    choices=choices("CT", "MRI", "US", "PET-CT"),
                    required=True,
                ),  # fmt: skip
                Input(
                    "vp_grade",
                    "Portal vein thrombus (Vp grade)",
                    "select",
                    choices=choices(*VP_GRADES),
                ),  # fmt: skip
                Input(
                    "vv_grade",
                    "Hepatic vein thrombus (Vv grade)",
                    "select",
                    choices=choices(*VV_GRADES),
                ),  # fmt: skip
                Input("future_liver_remnant_ml", "Future liver remnant", "number", unit="mL"),
                Input(
                    "total_functional_liver_volume_ml",
                    "Functional liver volume",
                    "number",
                    unit="mL",
                ),  # fmt: skip
                Input("findings", "Findings", "textarea"),
            ),
            lambda c, p, a: sv.record_imaging(c, p, **a),
        ),
        Step("lesions", "record_lesions_baseline", "Baseline lesions", group="path"),
        Step(
            "induction",
            "start_induction",
            "Start induction",
            (_date("start_date", "First day of induction"),),
            lambda c, p, a: sv.start_induction(c, p, a["start_date"]),
            group="path",
        ),
        Step(
            "doses",
            "record_dose",
            "Dose given",
            (
                Input("cycle", "Cycle", "number", required=True, hint="1, 2, 3..."),
                Input("drug", "Drug", "select", choices=_drugs(protocol), required=True),
                Input(
                    "weight_kg", "Body weight", "number", unit="kg", hint="needed for doses per kg"
                ),  # fmt: skip
                Input("dose_given_mg", "Dose given", "number", unit="mg", required=True),
                _date("given_on", "Date given"),
                Input(
                    "phase",
                    "Phase",
                    "select",
                    choices=choices(*PHASES),
                    hint="left empty: from the patient's state",
                ),  # fmt: skip
                Input(
                    "override_reason",
                    "Reason for an early bevacizumab restart",
                    "textarea",
                    hint="only when restarting bevacizumab early after surgery",
                ),  # fmt: skip
            ),
            lambda c, p, a: sv.record_dose(c, p, **a),
            group="path",
        ),
        Step("assessment", "record_assessment", "Tumour assessment", group="path"),
        Step(
            "completion",
            "complete_assessment",
            "Close induction with its response",
            (_date("on_date", "Date"),),
            lambda c, p, a: sv.complete_assessment(c, p, a["on_date"]),
            intro="Takes the best overall response so far: PR or SD without progression moves "
            "the patient on to the MDT review; otherwise the path ends before randomisation.",
            group="path",
        ),
        Step(
            "decline",
            "decline_randomisation",
            "Not randomised",
            (_date("on_date", "Date"), Input("reason", "Reason", "textarea", required=True)),
            lambda c, p, a: sv.decline_randomisation(c, p, a["on_date"], a["reason"]),
            group="path",
        ),
        Step("vote", "cast_mdt_vote", "MDT vote", group="path"),
        Step("randomise", "randomise", "Randomise", group="path"),
        Step(
            "flag",
            "flag_for_resectability_review",
            "Flag for an MDT reassessment",
            (
                _date("flagged_on", "Date"),
                Input("reason", "Why resectable now", "textarea", required=True),
            ),  # fmt: skip
            lambda c, p, a: sv.flag_for_resectability_review(c, p, a["flagged_on"], a["reason"]),
            group="path",
        ),
        Step(
            "switch",
            "switch_to_surgery",
            "Switch to surgery (arm B)",
            (
                _date("switch_date", "Date"),
                Input(
                    "mdt_review_id",
                    "MDT reassessment number",
                    "number",
                    required=True,
                    hint="the number of the resectable MDT decision in the timeline",
                ),  # fmt: skip
                Input("reason", "Reason", "textarea", required=True),
            ),
            lambda c, p, a: sv.switch_to_surgery(
                c, p, a["switch_date"], a["mdt_review_id"], a["reason"]
            ),
            group="path",
        ),
        Step(
            "surgery",
            "record_surgery",
            "Surgery",
            (
                _date("surgery_date", "Date of surgery"),
                Input(
                    "procedure",
                    "Procedure",
                    required=True,
                    hint="e.g. right hepatectomy with thrombectomy",
                ),  # fmt: skip
                Input(
                    "margin", "Resection margin", "select", choices=choices(*MARGINS), required=True
                ),  # fmt: skip
                Input("blood_loss_ml", "Blood loss", "number", unit="mL", required=True),
                Input(
                    "override_reason",
                    "Reason to operate within the bevacizumab washout",
                    "textarea",
                    hint="only if surgery is earlier than the protocol's washout",
                ),  # fmt: skip
            ),
            lambda c, p, a: sv.record_surgery(c, p, a.pop("surgery_date"), **a),
            group="path",
        ),
        Step(
            "complication",
            "record_complication",
            "Surgical complication",
            (
                _date("onset_date", "Onset"),
                Input("description", "What happened", "textarea", required=True),
                Input(
                    "clavien_dindo",
                    "Clavien-Dindo grade",
                    "select",
                    choices=choices(*CLAVIEN_DINDO),
                    required=True,
                ),  # fmt: skip
            ),
            lambda c, p, a: sv.record_complication(c, p, a.pop("onset_date"), **a),
        ),
        Step(
            "maintenance",
            "start_maintenance",
            "Start maintenance",
            (_date("start_date", "First day of maintenance"),),
            lambda c, p, a: sv.start_maintenance(c, p, a["start_date"]),
            group="path",
        ),
        Step(
            "adverse-event",
            "record_adverse_event",
            "Adverse event",
            (
                _date("onset_date", "Onset"),
                Input("term", "CTCAE term", required=True, hint="e.g. Hypertension"),
                Input(
                    "grade",
                    "CTCAE grade",
                    "select",
                    choices=tuple((str(g), f"grade {g}") for g in range(1, 6)),
                    required=True,
                ),  # fmt: skip
                Input(
                    "attribution",
                    "Related to the study drugs?",
                    "select",
                    choices=choices(*ATTRIBUTIONS),
                    required=True,
                ),  # fmt: skip
                Input("serious", "Serious adverse event", "checkbox"),
            ),
            lambda c, p, a: sv.record_adverse_event(c, p, a.pop("onset_date"), **a),
        ),
        Step(
            "contact",
            "record_follow_up",
            "Follow-up contact",
            (
                _date("contact_date", "Date of contact"),
                Input(
                    "status", "Status", "select", choices=choices(*CONTACT_STATUSES), required=True
                ),  # fmt: skip
                Input("method", "How", hint="e.g. phone, clinic visit"),
            ),
            lambda c, p, a: sv.record_follow_up(c, p, a.pop("contact_date"), **a),
        ),
        Step(
            "new-therapy",
            "record_new_therapy",
            "New anticancer therapy",
            (
                _date("start_date", "Start"),
                Input("description", "Therapy", required=True, hint="e.g. lenvatinib"),
            ),  # fmt: skip
            lambda c, p, a: sv.record_new_therapy(
                c, p, a["start_date"], description=a["description"]
            ),  # fmt: skip
        ),
        Step(
            "discontinuation",
            "record_discontinuation",
            "Stop protocol treatment",
            (
                _date("stop_date", "Date stopped"),
                Input(
                    "reason",
                    "Reason",
                    "select",
                    choices=choices(*protocol.discontinuation_reasons),
                    required=True,
                ),  # fmt: skip
                Input("note", "Note", "textarea"),
            ),
            lambda c, p, a: sv.record_discontinuation(
                c, p, a["stop_date"], a["reason"], note=a["note"]
            ),
            group="path",
        ),
        Step(
            "death",
            "record_death",
            "Death",
            (_date("death_date", "Date of death"), Input("cause", "Cause", "textarea")),
            lambda c, p, a: sv.record_death(c, p, a["death_date"], cause=a["cause"]),
        ),
        *conduct_steps(protocol),
        Step(
            "biospecimen",
            "record_biospecimen",
            "Biospecimen",
            (
                _date("collected_on", "Collected on"),
                Input(
                    "specimen_type",
                    "Specimen type",
                    required=True,
                    hint="e.g. blood, tissue_resected_tumour",
                ),  # fmt: skip
                Input("storage_code", "Storage code"),
                Input("pathological_necrosis_pct", "Pathological necrosis", "number", unit="%"),
                Input("pd_l1_cps", "PD-L1 combined positive score", "number"),
            ),
            lambda c, p, a: sv.record_biospecimen(c, p, a.pop("collected_on"), **a),
        ),
    ]


#: Records allowed in any state except ``died`` (the services' ``enter_any``).
ANY_STATE = frozenset(
    {
        "record_lab",
        "record_imaging",
        "record_adverse_event",
        "record_new_therapy",
        "record_biospecimen",
        "flag_for_resectability_review",
        "withdraw_consent",
        "record_conmed",
        "record_medical_history",
    }
)


def state_allows(service: str, state: str) -> bool:
    """Whether the state machine lets ``service`` start from ``state``."""
    if service in ARROWS:
        return state in ARROWS[service][0]
    if service == "record_deviation":
        return True
    return state != DIED if service in ANY_STATE else True


def may_write(role: str, user_site_id: int | None, service: str, patient_site_id: int) -> bool:
    """Whether the role grants ``service`` and, for a write, the patient is at the user's site."""
    action = SERVICE_ACTIONS[service]
    if not allowed(role, action):
        return False
    return action not in WRITE_ACTIONS or user_site_id in (None, patient_site_id)


def offered(
    all_steps: list[Step],
    *,
    role: str,
    user_site_id: int | None,
    patient_site_id: int,
    state: str,
    arm_has_surgery: bool | None = None,
) -> list[Step]:
    """The steps to show as buttons on a patient page for this user."""
    out = []
    for step in all_steps:
        if not may_write(role, user_site_id, step.service, patient_site_id):
            continue
        if not state_allows(step.service, state):
            continue
        if step.service == "switch_to_surgery" and arm_has_surgery:
            continue
        if step.service == "flag_for_resectability_review" and (
            arm_has_surgery is not False or state != "randomised"
        ):
            continue
        out.append(step)
    return out


def by_slug(all_steps: list[Step]) -> dict[str, Step]:
    return {step.slug: step for step in all_steps}
