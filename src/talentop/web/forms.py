"""Forms as data: each input's name, label, unit, kind and choices; what was typed comes back
as text, and the services' ``InvalidInput`` problems are told next to their field in words
a research nurse understands (the service's own wording stays available underneath).

The services coerce text themselves ("70" is a weight, "2025-03-01" a date), so a form
hands them what was typed, with empty inputs left out (None) and yes/no made booleans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from talentop.errors import InvalidInput


@dataclass(frozen=True)
class Input:
    """One form input. ``kind``: text | number | date | datetime | select | yesno | checkbox
    | textarea | password (never shown again once typed)."""

    name: str
    label: str
    kind: str = "text"
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    hint: str = ""
    step: str = "any"
    group: str = ""
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        """Free text a user types (what the hostile-input tests fill in)."""
        return self.kind in ("text", "textarea")


#: Inputs of one ``group`` are shown together under this legend (a fieldset).
LEGENDS = {
    "scopes": "What the patient agreed to",
    "withdrawn": "What the patient withdraws (and what it implies)",
    "criteria": "Seriousness criteria (ICH E2A): tick every one that applies",
    "causality": "Causality per product (the investigator's assessment)",
}


def choices(*values: str, labels: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    labels = labels or {}
    return tuple((v, labels.get(v, v.replace("_", " "))) for v in values)


def parse(inputs: list[Input] | tuple[Input, ...], values: dict[str, str]) -> dict[str, Any]:
    """The service arguments from typed text: blanks -> None, yes/no -> bool, checkboxes
    -> bool; everything else as typed (the service validates it)."""
    out: dict[str, Any] = {}
    for spec in inputs:
        raw = values.get(spec.name, "")
        if spec.kind == "checkbox":
            out[spec.name] = raw in ("on", "true", "yes", "1")
            continue
        text = raw.strip() if spec.kind != "textarea" else raw
        if text == "" or (spec.kind == "textarea" and not text.strip()):
            out[spec.name] = None
        elif spec.kind == "yesno":
            out[spec.name] = {"yes": True, "no": False}.get(text, text)
        else:
            out[spec.name] = text
    return out


def required_problems(inputs: list[Input] | tuple[Input, ...], args: dict[str, Any]) -> list[str]:
    """A problem for every required input left empty (in the services' format)."""
    return [
        f"{spec.name}=None: expected {spec.label.lower()} (required)"
        for spec in inputs
        if spec.required and args.get(spec.name) is None
    ]


# --- plain words for the services' problems ---------------------------------------------
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^a date \(YYYY-MM-DD\)"), "Enter a date as year-month-day, e.g. 2025-03-01."),
    (
        re.compile(r"^a date on or before today \((?P<d>[^)]*)\)"),
        "This date is in the future. It must be today ({d}) or earlier.",
    ),
    (
        re.compile(r"^on or after (?P<what>.+?) \((?P<d>[^)]*)\)"),
        "This date is too early: it must be on or after {what} ({d}).",
    ),
    (
        re.compile(r"^on or before the recorded death date \((?P<d>[^)]*)\)"),
        "This date is after the recorded death ({d}).",
    ),
    (
        re.compile(r"valid (number|float)|^a number$"),
        "Enter a number using digits, e.g. 70 or 70.5.",
    ),
    (re.compile(r"valid integer|whole number"), "Enter a whole number, e.g. 2."),
    (
        re.compile(r"^implausible, expected (?P<lo>[^.]+)\.\.(?P<hi>[^ ]+)(?: \((?P<hint>.*)\))?"),
        "This value is outside the plausible range {lo} to {hi}. Check the number and its unit.",
    ),
    (re.compile(r"at least 1 item"), "Tick at least one."),
    (re.compile(r"^true or false"), "Answer yes or no."),
    (re.compile(r"^one of (?P<opts>.+)$"), "Choose one of: {opts}."),
    (re.compile(r"required\)?$"), "This field is required."),
    (re.compile(r"valid boolean"), "Answer yes or no."),
]


def plain(expected: str) -> str:
    """The service's 'expected ...' as a sentence for the person at the keyboard."""
    for pattern, sentence in _RULES:
        match = pattern.search(expected)
        if match:
            words = {k: (v or "").strip("[]") for k, v in match.groupdict().items()}
            if "what" in words:  # a field's name: "start_date" -> "start date"
                words["what"] = words["what"].replace("_", " ")
            text = sentence.format(**words)
            hint = words.get("hint")
            return f"{text} ({hint})" if hint else text
    return f"Please check this value: expected {expected}."


def field_key(path: str | None) -> str | None:
    """A problem's field path as the form input it belongs to: ``record.ecog`` -> ``ecog``,
    ``lesions[0].diameter_mm`` -> ``lesion-0-diameter_mm``, ``target['T1']`` -> ``target-T1``."""
    if not path:
        return None
    path = path.removeprefix("record.").removeprefix("body.")
    match = re.fullmatch(r"lesions\[(\d+)\]\.(\w+)", path)
    if match:
        return f"lesion-{match[1]}-{match[2]}"
    match = re.fullmatch(r"(\w+)\[['\"]?([^'\"\]]+)['\"]?\]", path)
    if match:
        return f"{match[1]}-{match[2]}"
    return path


@dataclass(frozen=True)
class Problem:
    field: str | None
    message: str
    technical: str


def plain_problems(error: InvalidInput) -> list[Problem]:
    """Every problem of ``error`` with its form field and a plain sentence."""
    out = []
    for detail, raw in zip(error.details, error.problems, strict=True):
        expected = detail.get("expected") or raw
        out.append(Problem(field_key(detail.get("field")), plain(expected), raw))
    return out


def errors_by_field(
    error: InvalidInput, known: set[str], aliases: dict[str, str] | None = None
) -> tuple[dict[str, str], list[Problem]]:
    """(field -> message) for problems of inputs on the form, and the rest (shown on top).
    ``aliases``: a field the service names -> the input it was typed in."""
    by_field: dict[str, str] = {}
    other = []
    for problem in plain_problems(error):
        key = (aliases or {}).get(problem.field or "", problem.field)
        if key in known and key not in by_field:
            by_field[key] = problem.message
        else:
            other.append(problem)
    return by_field, other
