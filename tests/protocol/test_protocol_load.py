"""The shipped protocol files load, match the trial as published, and bad files list every problem.

TALENTOP facts: seed article (ESMO 2025 interview) and NCT04649489; TALENTACE: NCT04712643.
"""

from decimal import Decimal
from fractions import Fraction

import pytest
import yaml

from talentop.errors import InvalidInput, ProtocolError
from talentop.protocol import available_protocols, load_protocol, protocol_from_mapping
from talentop.protocol.loader import _PACKAGE

P = load_protocol("talentop")


def test_both_protocols_ship():
    assert {"talentop", "talentace"} <= set(available_protocols())
    assert load_protocol("talentace").registry_id == "NCT04712643"


def test_talentop_contract_attributes():
    assert (P.id, P.registry_id) == ("talentop", "NCT04649489")
    ind = P.induction
    assert ind.cycle_length_days == 21 and len(ind.cycles) == 4
    for cycle in ind.cycles[:3]:
        assert [(d.drug, d.dose, d.dose_unit) for d in cycle.drugs] == [
            ("atezolizumab", 1200, "mg"),
            ("bevacizumab", 15, "mg_per_kg"),
        ]
    assert [d.drug for d in ind.cycles[3].drugs] == ["atezolizumab"]
    assert P.surgery.min_days_after_bevacizumab == 28
    assert P.surgery.bevacizumab_restart_min_days == 28
    a = P.assessment
    assert (a.criteria, a.confirmation, a.min_sd_days, a.randomisable_responses) == (
        "recist1.1",
        False,
        42,
        ["PR", "SD"],
    )
    assert P.randomisation.ratio == {"A": 1, "B": 1}
    assert [s.variable for s in P.strata] == ["depth_of_response_pct", "ecog"]
    assert P.arm("A").includes_surgery and P.arm("A").maintenance_cap_months == 12
    assert P.arm("B").maintenance_cap_months is None
    assert set(P.ttf.failure_reasons) <= set(P.discontinuation_reasons)
    assert {"progression", "unacceptable_toxicity", "death"} <= set(P.ttf.failure_reasons)
    assert P.mdt.min_members >= len(P.mdt.required_specialties)


def test_criteria_declare_the_fields_they_need():
    by_id = {c.id: c for c in P.eligibility}
    assert by_id["albumin"].needs == ["albumin_g_l", "albumin_g_dl"]
    assert "right_atrial_thrombus" in by_id["macrovascular_invasion"].needs
    assert by_id["platelets"].needs == ["platelets_10e9_l"]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (-100, "deep"),
        (-30.0, "deep"),
        (-30, "deep"),
        (Decimal("-30.00"), "deep"),
        (Fraction(-30), "deep"),
        (-29.9, "shallow"),
        (-29.999999, "shallow"),
        (0.0, "shallow"),
        (0.1, "growth"),
        (19.9, "growth"),
    ],
)
def test_depth_of_response_levels_compare_exactly(value, level):
    assert P.stratum("depth_of_response").level_for(value) == level


def test_float_arithmetic_does_not_flip_a_level():
    # (23.1 - 33.0) / 33.0 * 100 is -30.000000000000004 in binary floats; the shortest repr
    # is what was measured, and a measurement of exactly -30 % must stay "deep".
    assert P.stratum("depth_of_response").level_for(-30.000000000000004) == "deep"
    assert P.stratum("ecog").level_for(1) == "ecog1"
    with pytest.raises(InvalidInput, match="ecog=2: expected at most 1"):
        P.stratum("ecog").level_for(2)


def _data(name="talentop"):
    from importlib import resources

    return yaml.safe_load((resources.files(_PACKAGE) / f"{name}.yaml").read_text())


def test_malformed_protocol_lists_every_problem_with_its_yaml_path():
    data = _data()
    data["registry_id"] = "NCT123"
    data["induction"]["cycles"][3]["drugs"][0]["dose"] = -1200
    data["induction"]["cycles"][1]["drugs"][1]["dose_unit"] = "mg/kg"
    data["eligibility"][5]["rule"] = {
        "all": [
            {"field": "ecog", "op": "=<", "value": 1},
            {"field": "weight", "op": "<", "value": "heavy"},
        ]
    }
    data["strata"][0]["levels"][1]["upper"] = -40
    data["mdt"]["rule"] = "supermajority"
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="bad.yaml")
    problems = info.value.problems
    expected_prefixes = [
        "bad.yaml: registry_id:",
        "bad.yaml: eligibility[5].rule.all[0].op: unknown operator '=<'",
        "bad.yaml: eligibility[5].rule.all[1].field: unknown field 'weight'",
        "bad.yaml: eligibility[5].rule.all[1].value: expected a number for '<'",
        "bad.yaml: induction.cycles[1].drugs[1].dose_unit:",
        "bad.yaml: induction.cycles[3].drugs[0].dose: Input should be greater than 0",
        "bad.yaml: strata[0]: level uppers must increase strictly",
        "bad.yaml: mdt: rule 'supermajority' needs a threshold",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    assert len(problems) == len(expected_prefixes)


def test_cross_field_problems_are_reported_with_paths():
    data = _data()
    data["ttf"]["failure_reasons"].append("boredom")
    data["randomisation"]["ratio"] = {"A": 1, "C": 1}
    data["arms"][1]["id"] = "A"
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="x.yaml")
    text = "\n".join(info.value.problems)
    assert "x.yaml: arms: duplicate ids ['A']" in text
    assert "x.yaml: randomisation.ratio: arms ['A', 'C'] do not match arm ids ['A']" in text
    assert "x.yaml: ttf.failure_reasons: ['boredom'] not in discontinuation_reasons" in text


def test_cycles_must_be_numbered_in_order_and_blocks_fit_ratio():
    data = _data()
    data["induction"]["cycles"][2]["number"] = 7
    data["randomisation"]["block_sizes"] = [3, 4]
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data)
    text = "\n".join(info.value.problems)
    assert "induction: cycle numbers must run 1, 2, 3... in order, got [1, 2, 7, 4]" in text
    assert "randomisation: block sizes must be positive multiples of 2, got [3]" in text


def test_bad_yaml_and_unknown_names(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(ProtocolError, match=r"broken.yaml: line \d+, column \d+ not valid YAML"):
        load_protocol(broken)
    with pytest.raises(
        ProtocolError, match=r"protocol='nosuch': expected a YAML file path or one of"
    ):
        load_protocol("nosuch")
    with pytest.raises(ProtocolError, match="no such protocol file"):
        load_protocol(tmp_path / "missing.yaml")


def test_unknown_keys_are_refused():
    data = _data()
    data["surgery"]["min_days_after_bevacizumap"] = 42
    with pytest.raises(ProtocolError, match=r"surgery.min_days_after_bevacizumap: Extra inputs"):
        protocol_from_mapping(data)


def test_a_path_loads_like_a_name(tmp_path):
    copy = tmp_path / "mine.yaml"
    data = _data()
    data["surgery"]["min_days_after_bevacizumab"] = 42
    copy.write_text(yaml.safe_dump(data))
    assert load_protocol(copy).surgery.min_days_after_bevacizumab == 42


def test_field_and_cross_field_problems_come_in_one_list():
    """A broken field used to hide the cross-checks until it was fixed (two editing rounds)."""
    data = _data()
    data["registry_id"] = "NCT123"  # a field problem...
    data["ttf"]["censor_reasons"].append("holiday")  # ...and three cross-field ones
    data["randomisation"]["ratio"] = {"A": 1, "X": 1}
    data["eligibility"][1]["id"] = data["eligibility"][0]["id"]
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="both.yaml")
    problems = info.value.problems
    assert any(p.startswith("both.yaml: registry_id:") for p in problems)
    assert "both.yaml: ttf.censor_reasons: ['holiday'] not in discontinuation_reasons" in problems
    assert (
        "both.yaml: randomisation.ratio: arms ['A', 'X'] do not match arm ids ['A', 'B']"
        in problems
    )
    assert "both.yaml: eligibility: duplicate ids ['hcc_confirmed']" in problems
    assert len(problems) == 4


def test_cross_checks_survive_malformed_sections():
    """Wrong types in the sections cross-checks read give field problems, not a crash."""
    data = _data()
    data["arms"] = "A and B"
    data["ttf"] = ["progression"]
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="m.yaml")
    text = "\n".join(info.value.problems)
    assert "m.yaml: arms:" in text and "m.yaml: ttf:" in text


@pytest.mark.parametrize("variable", ["depth_of_response", "ecog_ps", "vp_grade", "ascites"])
def test_stratum_variable_must_be_a_known_numeric_quantity(variable):
    """A typo (or a non-numeric field) would only surface at the first randomisation."""
    data = _data()
    data["strata"][1]["variable"] = variable
    with pytest.raises(
        ProtocolError,
        match=rf"strata\[1\]\.variable: unknown stratification variable '{variable}'",
    ):
        protocol_from_mapping(data, source="s.yaml")


def test_rule_values_must_be_able_to_match_the_field_type():
    """``hcc_confirmed == "yes"`` would silently never hold: refused with its path."""
    data = _data()
    data["eligibility"][0]["rule"] = {"field": "hcc_confirmed", "op": "==", "value": "yes"}
    data["eligibility"][4]["rule"] = {"field": "vp_grade", "op": ">=", "value": 1}
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="t.yaml")
    assert info.value.problems == [
        "t.yaml: eligibility[0].rule.value: 'yes' can never match 'hcc_confirmed': "
        "expected true or false",
        "t.yaml: eligibility[4].rule.op: '>=' needs a numeric field; 'vp_grade' is choice",
    ]


def test_assessment_window_is_a_setting_with_a_default_and_may_not_overlap():
    """assessment.window_days: the +/- days around a scheduled scan within which a scan
    counts for it (PFS missed-visit rule, FDA 2007 App. 3 Table A). talentop.yaml sets 7;
    talentace.yaml omits it and gets the model default (7). A window of half the interval
    or more would let one scan count for two visits (6 weeks = 42 days: 21 is refused)."""
    assert P.assessment.window_days == 7
    assert load_protocol("talentace").assessment.window_days == 7
    data = _data()
    data["assessment"]["window_days"] = 21
    with pytest.raises(ProtocolError, match=r"window_days=21 must be less than half"):
        protocol_from_mapping(data, source="w.yaml")
