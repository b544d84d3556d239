"""The conduct forms that are simple steps of a patient (``talentop.web.steps.Step``):
withdrawal of consent per scope, a protocol deviation entered by hand, a concomitant
medication and a medical-history entry. Their services are ``talentop.services.consent``,
``deviations`` and ``medication``; the protocol gives the vocabularies (deviation
categories, medication classes)."""

from __future__ import annotations

from typing import Any

from talentop import services as sv
from talentop.protocol import Protocol
from talentop.web.forms import Input, choices

#: Consent scopes as a withdrawal names them, with what each implies (``consent_rules``).
WITHDRAWN_LABELS = {
    "treatment": "Trial treatment only (follow-up goes on)",
    "follow_up": "Further follow-up (treatment stops too)",
    "data_use": "Use of data (follow-up and treatment stop too)",
    "biobank": "Biobank and future research (samples are flagged for destruction)",
}


def _date(name: str, label: str, *, required: bool = True, hint: str = "") -> Input:
    return Input(name, label, "date", required=required, hint=hint or "year-month-day, e.g. 2025-03-01")  # fmt: skip


def _withdraw(ctx: sv.Context, patient_id: int, args: dict[str, Any]) -> Any:
    scopes = [s for s in WITHDRAWN_LABELS if args.get(f"withdraw_{s}")]
    return sv.withdraw_consent(ctx, patient_id, args["withdrawn_on"], scopes=scopes, reason=args["reason"])  # fmt: skip


def _conmed(ctx: sv.Context, patient_id: int, args: dict[str, Any]) -> Any:
    start = args.pop("start_date")
    return sv.record_conmed(ctx, patient_id, start, **args)


def _history(ctx: sv.Context, patient_id: int, args: dict[str, Any]) -> Any:
    on = args.pop("recorded_on")
    if args.get("ongoing") is None:
        args.pop("ongoing")  # the service's default: not ongoing
    return sv.record_medical_history(ctx, patient_id, on, **args)


def conduct_steps(protocol: Protocol) -> list[Any]:
    """The conduct steps of ``protocol``'s forms (``Step`` objects)."""
    from talentop.web.steps import Step

    categories = tuple((c.id, c.label or c.id.replace("_", " ")) for c in protocol.deviations.categories)  # fmt: skip
    classes = tuple((c.id, c.label or c.id.replace("_", " ")) for c in protocol.medication.classes)  # fmt: skip
    return [
        Step(
            "withdrawal",
            "withdraw_consent",
            "Withdrawal of consent",
            (
                _date("withdrawn_on", "Date of the withdrawal"),
                *(
                    Input(f"withdraw_{scope}", label, "checkbox", group="withdrawn")
                    for scope, label in WITHDRAWN_LABELS.items()
                ),
                Input("reason", "Reason (if the patient gave one)", "textarea"),
            ),
            _withdraw,
            intro="A withdrawal is final. From its date no new record of a withdrawn part is "
            "accepted; records dated before it may still be entered, and safety reporting "
            "(adverse events, SAE reports, death) always goes on.",
            aliases=(("scopes", "withdraw_treatment"),),
        ),
        Step(
            "deviation",
            "record_deviation",
            "Protocol deviation",
            (
                _date("deviation_date", "Date"),
                Input("category", "Category", "select", choices=categories, required=True),
                Input(
                    "classification",
                    "Major or minor",
                    "select",
                    choices=choices("major", "minor"),
                    hint="left empty: the category's usual classification",
                ),  # fmt: skip
                Input("description", "What happened", "textarea", required=True),
                Input(
                    "corrective_action",
                    "Corrective action",
                    "textarea",
                    hint="what was done about it",
                ),  # fmt: skip
                Input(
                    "preventive_action",
                    "Preventive action",
                    "textarea",
                    hint="what stops it happening again; required for a major deviation",
                ),  # fmt: skip
                Input("decided_by", "Classified by", hint="name and role; left empty: you"),
            ),
            lambda c, p, a: sv.record_deviation(c, p, a.pop("deviation_date"), **a),
            intro="A major deviation is an important one (ICH E3 Q&A R1): it may affect the "
            "reliability of the data or the patient's rights, safety or well-being. It needs "
            "its preventive action (ICH E6(R3) 2.5.3).",
        ),
        Step(
            "conmed",
            "record_conmed",
            "Concomitant medication",
            (
                _date("start_date", "Started on"),
                Input("name", "Medication", required=True, hint="e.g. entecavir, warfarin"),
                Input("indication", "Indication", required=True, hint="e.g. chronic hepatitis B"),
                Input("dose_value", "Dose", "number"),
                Input("dose_unit", "Dose unit", hint="e.g. mg"),
                Input("frequency", "Frequency", hint="e.g. once daily"),
                Input(
                    "ongoing",
                    "Still taken?",
                    "yesno",
                    hint="left empty: yes unless a stop date is given",
                ),  # fmt: skip
                _date(
                    "stop_date",
                    "Stopped on",
                    required=False,
                    hint="year-month-day; empty if still taken",
                ),  # fmt: skip
                Input(
                    "drug_class",
                    "Class the protocol watches",
                    "select",
                    choices=classes,
                    hint="left empty: recognised from the medication's name",
                ),  # fmt: skip
            ),
            _conmed,
            intro="The protocol's medication rules are checked on save: antiviral therapy when "
            "HBV DNA is detectable, anticoagulants with bevacizumab, the washout of "
            "traditional Chinese medicine before induction.",
        ),
        Step(
            "medical-history",
            "record_medical_history",
            "Medical history",
            (
                _date("recorded_on", "Recorded on"),
                Input("condition", "Condition", required=True, hint="e.g. chronic hepatitis B"),
                Input("onset_year", "Year of onset", "number", hint="e.g. 2009"),
                Input("ongoing", "Still present?", "yesno"),
                Input("note", "Note", "textarea"),
            ),
            _history,
        ),
    ]
