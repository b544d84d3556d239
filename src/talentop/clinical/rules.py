"""The small, safe rule vocabulary eligibility criteria are written in (no ``eval``).

A rule is YAML/JSON data, one of::

    {field: NAME, op: OP, value: V}     OP: < <= > >= == != (V a number, text or bool)
    {field: NAME, op: in, value: [..]}  also not_in
    {all: [rule, ...]}                  every sub-rule holds
    {any: [rule, ...]}                  at least one holds
    {not: rule}

NAME is a patient field (``talentop.clinical.fields.FIELDS``) or a derived quantity
(``DERIVED`` below: ``child_pugh_grade``, ``rlv_pct``, ``macrovascular_invasion``,
``ast_x_uln``...). Evaluation is three-valued (Kleene): a comparison on a missing value is
"missing"; ``all`` is false if any part is false, ``any`` is true if any part is true,
otherwise missing wins over the remaining answer. Numbers are compared exactly
(``Decimal(str(x))``) so 28.0 g/L is never 27.999...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from talentop.clinical.fields import FIELDS
from talentop.clinical.liver import albi, child_pugh
from talentop.clinical.vascular import (
    is_vp3_vp4,
    macrovascular_invasion_present,
    vascular_invasion_any,
)
from talentop.clinical.volumetry import rlv_pct

__all__ = [
    "DERIVED",
    "OPS",
    "Outcome",
    "check_rule",
    "evaluate_rule",
    "patient_value",
    "rule_fields",
]

OPS = ("<", "<=", ">", ">=", "==", "!=", "in", "not_in")
_ORDERED = {"<", "<=", ">", ">="}


class _Missing(Exception):
    def __init__(self, fields: list[str]):
        self.fields = fields
        super().__init__(", ".join(fields))


def _get(patient: Mapping[str, Any], name: str) -> Any:
    value = patient.get(name)
    if value is None:
        raise _Missing([name])
    return value


def _first(patient: Mapping[str, Any], *names: str) -> tuple[str, Any]:
    """The first of several unit variants present (e.g. bilirubin_umol_l, bilirubin_mg_dl)."""
    for name in names:
        if patient.get(name) is not None:
            return name, patient[name]
    raise _Missing([" or ".join(names)])


def _child_pugh(patient: Mapping[str, Any]):
    missing: list[str] = []
    labs: dict[str, Any] = {}
    for names in (("bilirubin_umol_l", "bilirubin_mg_dl"), ("albumin_g_l", "albumin_g_dl")):
        try:
            name, value = _first(patient, *names)
            labs[name] = value
        except _Missing as exc:
            missing += exc.fields
    for name in ("inr", "ascites", "encephalopathy"):
        if patient.get(name) is None:
            missing.append(name)
        else:
            labs[name] = patient[name]
    if missing:
        raise _Missing(missing)
    return child_pugh(**labs)


def _albi_grade(patient: Mapping[str, Any]) -> int:
    name, bili = _first(patient, "bilirubin_umol_l", "bilirubin_mg_dl")
    if name == "bilirubin_mg_dl":
        bili = bili * 17.1  # 1 mg/dL = 17.1 umol/L
    alb_name, alb = _first(patient, "albumin_g_l", "albumin_g_dl")
    if alb_name == "albumin_g_dl":
        alb = alb * 10
    return albi(bilirubin_umol_l=bili, albumin_g_l=alb).grade


def _albumin_g_l(patient: Mapping[str, Any]) -> Decimal:
    name, value = _first(patient, "albumin_g_l", "albumin_g_dl")
    # g/dL x 10 is exact in Decimal: 2.8 g/dL is exactly 28 g/L.
    return Decimal(str(value)) * (10 if name == "albumin_g_dl" else 1)


def _rlv(patient: Mapping[str, Any]) -> float:
    # A site may report the percentage itself; otherwise compute it from the volumes.
    if patient.get("rlv_pct") is not None:
        return patient["rlv_pct"]
    missing = [
        n
        for n in ("future_liver_remnant_ml", "total_functional_liver_volume_ml")
        if patient.get(n) is None
    ]
    if missing:
        raise _Missing(["rlv_pct or " + " + ".join(missing)])
    flr, total = patient["future_liver_remnant_ml"], patient["total_functional_liver_volume_ml"]
    rlv_pct(future_liver_remnant_ml=flr, total_functional_liver_volume_ml=total)  # validates
    # Decimal, not the float percentage: 307.77 of 1025.9 mL is exactly 30 %, but the float
    # quotient is 29.999999999999993 and would fail a ">= 30" rule.
    return Decimal(str(flr)) * 100 / Decimal(str(total))


def _mvi(patient: Mapping[str, Any]) -> bool:
    """Three-valued MVI: an atrial thrombus decides alone; a thrombus needs the atrium known."""
    vp, vv, atrial = (patient.get(n) for n in ("vp_grade", "vv_grade", "right_atrial_thrombus"))
    if atrial is True:
        return False
    if vp == "Vp0" and vv == "Vv0":
        return False
    if vp in (None, "Vp0") and vv in (None, "Vv0"):
        raise _Missing([n for n, v in (("vp_grade", vp), ("vv_grade", vv)) if v is None])
    if atrial is None:
        raise _Missing(["right_atrial_thrombus"])
    return macrovascular_invasion_present(vp_grade=vp or "Vp0", vv_grade=vv or "Vv0")


def _any_vascular(patient: Mapping[str, Any]) -> bool:
    values = {n: patient.get(n) for n in ("vp_grade", "vv_grade", "right_atrial_thrombus")}
    known_true = (
        values["vp_grade"] not in (None, "Vp0")
        or values["vv_grade"] not in (None, "Vv0")
        or values["right_atrial_thrombus"] is True
    )
    if known_true:
        return True
    missing = [n for n, v in values.items() if v is None]
    if missing:
        raise _Missing(missing)
    return vascular_invasion_any(**values)


def _x_uln(analyte: str, *pairs: tuple[str, str]) -> Callable[[Mapping[str, Any]], float]:
    def ratio(patient: Mapping[str, Any]) -> Decimal:
        for value_name, uln_name in pairs:
            if patient.get(value_name) is not None:
                uln = _get(patient, uln_name)
                return Decimal(str(patient[value_name])) / Decimal(str(uln))
        raise _Missing([" or ".join(v for v, _ in pairs)])

    ratio.__doc__ = f"{analyte} as a multiple of the site's upper limit of normal"
    return ratio


@dataclass(frozen=True)
class Derived:
    """A quantity computed from patient fields; ``inputs`` are the fields it reads."""

    compute: Callable[[Mapping[str, Any]], Any]
    inputs: tuple[str, ...]
    description: str
    #: Value type, as ``FieldSpec.kind``: "float" | "int" | "bool" | "choice".
    kind: str = "float"
    choices: tuple[str, ...] = ()


_CP_INPUTS = (
    "bilirubin_umol_l",
    "bilirubin_mg_dl",
    "albumin_g_l",
    "albumin_g_dl",
    "inr",
    "ascites",
    "encephalopathy",
)

DERIVED: dict[str, Derived] = {
    "child_pugh_grade": Derived(
        lambda p: _child_pugh(p).grade,
        _CP_INPUTS,
        "Child-Pugh class A/B/C (Pugh 1973)",
        "choice",
        ("A", "B", "C"),
    ),
    "child_pugh_points": Derived(
        lambda p: _child_pugh(p).points, _CP_INPUTS, "Child-Pugh points 5-15", "int"
    ),
    "albi_grade": Derived(_albi_grade, _CP_INPUTS[:4], "ALBI grade 1-3 (Johnson 2015)", "int"),
    "albumin_in_g_l": Derived(
        _albumin_g_l, ("albumin_g_l", "albumin_g_dl"), "albumin in g/L from either unit"
    ),
    "rlv_pct": Derived(
        _rlv,
        ("rlv_pct", "future_liver_remnant_ml", "total_functional_liver_volume_ml"),
        "remnant liver volume, % of functional volume",
    ),
    "macrovascular_invasion": Derived(
        _mvi,
        ("vp_grade", "vv_grade", "right_atrial_thrombus"),
        "PVTT Vp1-Vp4 or HVTT/IVCTT, and no right atrial thrombus (NCT04649489)",
        "bool",
    ),
    "vascular_invasion_any": Derived(
        _any_vascular,
        ("vp_grade", "vv_grade", "right_atrial_thrombus"),
        "any portal / hepatic vein / IVC / atrial tumour thrombus",
        "bool",
    ),
    "vp3_vp4": Derived(
        lambda p: is_vp3_vp4(_get(p, "vp_grade")), ("vp_grade",), "Vp3 or Vp4", "bool"
    ),
    "ast_x_uln": Derived(
        _x_uln("AST", ("ast_u_l", "ast_uln_u_l")), ("ast_u_l", "ast_uln_u_l"), "AST / ULN"
    ),
    "alt_x_uln": Derived(
        _x_uln("ALT", ("alt_u_l", "alt_uln_u_l")), ("alt_u_l", "alt_uln_u_l"), "ALT / ULN"
    ),
    "alp_x_uln": Derived(
        _x_uln("ALP", ("alp_u_l", "alp_uln_u_l")), ("alp_u_l", "alp_uln_u_l"), "ALP / ULN"
    ),
    "bilirubin_x_uln": Derived(
        _x_uln(
            "bilirubin",
            ("bilirubin_umol_l", "bilirubin_uln_umol_l"),
            ("bilirubin_mg_dl", "bilirubin_uln_mg_dl"),
        ),
        ("bilirubin_umol_l", "bilirubin_uln_umol_l", "bilirubin_mg_dl", "bilirubin_uln_mg_dl"),
        "bilirubin / ULN (same unit)",
    ),
    "up_to_seven_score": Derived(
        lambda p: Decimal(str(_get(p, "largest_tumour_diameter_cm"))) + _get(p, "tumour_count"),
        ("largest_tumour_diameter_cm", "tumour_count"),
        "largest tumour diameter (cm) + number of tumours (up-to-seven style)",
    ),
}


def patient_value(patient: Mapping[str, Any], name: str) -> Any:
    """A recorded field or a derived quantity (``DERIVED``) of a patient; None if missing.

    The same lookup the eligibility rules use, for callers that need one value (e.g. a
    randomisation stratum defined on ``up_to_seven_score``).
    """
    if name in DERIVED:
        try:
            return DERIVED[name].compute(patient)
        except _Missing:
            return None
    return patient.get(name)


def check_rule(rule: Any, path: str = "") -> list[tuple[str, str]]:
    """Every structural problem of a rule as (path inside the rule, message); [] if valid."""
    here = path or "rule"
    if not isinstance(rule, Mapping):
        return [(here, f"expected a mapping (field/op/value, all, any or not), got {rule!r}")]
    keys = set(rule)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                return [(here, f"'{combinator}' must stand alone, got keys {sorted(keys)}")]
            parts = rule[combinator]
            if not isinstance(parts, list) or not parts:
                return [(_join(path, combinator), "expected a non-empty list of rules")]
            problems: list[tuple[str, str]] = []
            for index, part in enumerate(parts):
                problems += check_rule(part, f"{_join(path, combinator)}[{index}]")
            return problems
    if "not" in keys:
        if keys != {"not"}:
            return [(here, f"'not' must stand alone, got keys {sorted(keys)}")]
        return check_rule(rule["not"], _join(path, "not"))
    problems = []
    unknown = keys - {"field", "op", "value"}
    if unknown:
        problems.append((here, f"unknown keys {sorted(unknown)}; expected field, op, value"))
    name = rule.get("field")
    if name not in FIELDS and name not in DERIVED:
        problems.append((_join(path, "field"), f"unknown field {name!r}"))
    op = rule.get("op")
    if op not in OPS:
        problems.append((_join(path, "op"), f"unknown operator {op!r}; expected one of {OPS}"))
    if "value" not in rule:
        problems.append((_join(path, "value"), "missing"))
    else:
        value = rule["value"]
        if op in ("in", "not_in") and not isinstance(value, list):
            problems.append((_join(path, "value"), f"expected a list for '{op}', got {value!r}"))
        elif op in _ORDERED and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append((_join(path, "value"), f"expected a number for '{op}', got {value!r}"))
        elif op in OPS and (name in FIELDS or name in DERIVED):
            problems += _type_problems(name, op, value, path)
    return problems


def _kind_of(name: str) -> tuple[str, tuple[str, ...]]:
    spec = FIELDS.get(name)
    if spec is not None:
        return spec.kind, spec.choices
    return DERIVED[name].kind, DERIVED[name].choices


def _type_problems(name: str, op: str, value: Any, path: str) -> list[tuple[str, str]]:
    """A rule whose value can never match its field's type would silently never hold
    (``hcc_confirmed == "yes"``, ``vp_grade == "Vp5"``, ``vp_grade >= 3``): refuse it."""
    kind, choices = _kind_of(name)
    if op in _ORDERED:
        if kind not in ("float", "int"):
            return [(_join(path, "op"), f"'{op}' needs a numeric field; {name!r} is {kind}")]
        return []
    wanted = {
        "bool": ("true or false", lambda v: isinstance(v, bool)),
        "choice": (f"one of {list(choices)}", lambda v: v in choices),
        "str": ("text", lambda v: isinstance(v, str)),
    }.get(kind, ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)))
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if not wanted[1](v)]
    if bad:
        shown = bad[0] if len(bad) == 1 else bad
        return [(_join(path, "value"), f"{shown!r} can never match {name!r}: expected {wanted[0]}")]
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def rule_fields(rule: Mapping[str, Any]) -> list[str]:
    """The raw patient fields a (valid) rule reads, in order, without repeats."""
    names: list[str] = []
    for combinator in ("all", "any"):
        for part in rule.get(combinator, []):
            names += rule_fields(part)
    if "not" in rule:
        names += rule_fields(rule["not"])
    if "field" in rule:
        name = rule["field"]
        names += list(DERIVED[name].inputs) if name in DERIVED else [name]
    return list(dict.fromkeys(names))


@dataclass
class Outcome:
    """The three-valued answer of a rule: True, False or None (a needed value is missing)."""

    holds: bool | None
    reason: str
    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def _compare(value: Any, op: str, target: Any) -> bool:
    if op in ("in", "not_in"):
        return (value in target) == (op == "in")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if isinstance(target, int | float) and not isinstance(target, bool):
            value, target = Decimal(str(value)), Decimal(str(target))
    return {
        "<": lambda: value < target,
        "<=": lambda: value <= target,
        ">": lambda: value > target,
        ">=": lambda: value >= target,
        "==": lambda: value == target,
        "!=": lambda: value != target,
    }[op]()


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def evaluate_rule(rule: Mapping[str, Any], patient: Mapping[str, Any]) -> Outcome:
    """Evaluate a valid rule on coerced patient values (see ``coerce_patient``)."""
    for combinator in ("all", "any"):
        if combinator in rule:
            parts = [evaluate_rule(part, patient) for part in rule[combinator]]
            decisive = False if combinator == "all" else True
            values = {k: v for p in parts for k, v in p.values.items()}
            missing = list(dict.fromkeys(m for p in parts for m in p.missing))
            hits = [p for p in parts if p.holds is decisive]
            if hits:
                return Outcome(decisive, "; ".join(p.reason for p in hits), values, [])
            if missing:
                return Outcome(None, "missing " + ", ".join(missing), values, missing)
            joiner = " and " if combinator == "all" else " or "
            return Outcome(not decisive, joiner.join(p.reason for p in parts), values, [])
    if "not" in rule:
        inner = evaluate_rule(rule["not"], patient)
        holds = None if inner.holds is None else not inner.holds
        return Outcome(holds, f"not ({inner.reason})", inner.values, inner.missing)
    name, op, target = rule["field"], rule["op"], rule["value"]
    try:
        value = DERIVED[name].compute(patient) if name in DERIVED else _get(patient, name)
    except _Missing as exc:
        return Outcome(None, "missing " + ", ".join(exc.fields), {}, exc.fields)
    holds = _compare(value, op, target)
    shown = _show(value)
    shown_target = (
        "[" + ", ".join(_show(t) for t in target) + "]"
        if isinstance(target, list)
        else _show(target)
    )
    wanted = f"{op} {shown_target}"
    verdict = "ok" if holds else "needs"
    return Outcome(holds, f"{name} = {shown} ({verdict} {wanted})", {name: _plain(value)}, [])


def _plain(value: Any) -> Any:
    """JSON-friendly value for reports: Decimal ratios become floats."""
    return float(value) if isinstance(value, Decimal) else value
