"""The TTF reason lists: failure, censoring and continue (neither fails nor censors).

TALENTOP's TTF definition is not public (protocol.md): it is a protocol setting. Completing
the 12-month arm-A maintenance must neither fail nor censor TTF, because the published arm-A
median TTF of 20.4 months (seed article, ESMO 2025) lies beyond the end of maintenance
(about 13 months after randomisation), which censoring at completion would make unobservable.
"""

from importlib import resources

import pytest
import yaml

from talentop.errors import ProtocolError
from talentop.protocol import load_protocol, protocol_from_mapping
from talentop.protocol.loader import _PACKAGE
from talentop.protocol.models import Ttf


def _data(name: str = "talentop") -> dict:
    return yaml.safe_load((resources.files(_PACKAGE) / f"{name}.yaml").read_text())


def test_talentop_lets_ttf_continue_after_maintenance_completion():
    ttf = load_protocol("talentop").ttf
    assert ttf.continue_reasons == ["maintenance_completed"]
    assert "maintenance_completed" not in ttf.censor_reasons + ttf.failure_reasons
    # the definition says so, and why (a setting; the published median lies beyond it)
    assert "neither fails nor censors" in ttf.definition
    assert "20.4" in ttf.definition and "SETTING" in ttf.definition


def test_every_reason_has_exactly_one_meaning_in_the_shipped_files():
    for name in ("talentop", "talentace"):
        protocol = load_protocol(name)
        lists = [
            protocol.ttf.failure_reasons,
            protocol.ttf.censor_reasons,
            protocol.ttf.continue_reasons,
        ]
        listed = [r for reasons in lists for r in reasons]
        assert len(listed) == len(set(listed)), name
        assert set(listed) <= set(protocol.discontinuation_reasons), name


def test_continue_reasons_default_to_none():
    """A file without the key (TALENTACE) loads: every discontinuation fails or censors."""
    assert "continue_reasons" not in _data("talentace")["ttf"]
    assert load_protocol("talentace").ttf.continue_reasons == []
    assert Ttf(failure_reasons=["death"]).continue_reasons == []


@pytest.mark.parametrize("other", ["failure_reasons", "censor_reasons"])
def test_a_continue_reason_also_failing_or_censoring_is_refused(other):
    data = _data()
    data["ttf"][other].append("maintenance_completed")
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="t.yaml")
    assert info.value.problems == [
        f"t.yaml: ttf.continue_reasons: ['maintenance_completed'] also in ttf.{other}: "
        "expected disjoint lists"
    ]


def test_failure_and_censor_overlap_is_refused_with_its_path():
    data = _data()
    data["ttf"]["censor_reasons"].append("death")
    with pytest.raises(
        ProtocolError,
        match=r"t\.yaml: ttf\.censor_reasons: \['death'\] also in ttf\.failure_reasons: "
        "expected disjoint lists",
    ):
        protocol_from_mapping(data, source="t.yaml")


def test_continue_reason_outside_the_vocabulary_is_refused():
    data = _data()
    data["ttf"]["continue_reasons"].append("sabbatical")
    with pytest.raises(
        ProtocolError,
        match=r"t\.yaml: ttf\.continue_reasons: \['sabbatical'\] not in discontinuation_reasons",
    ):
        protocol_from_mapping(data, source="t.yaml")


def test_overlap_is_reported_with_other_ttf_field_problems():
    """A broken TTF field stops the model's own check; the cross-check still reports the
    overlap, once, in the same list."""
    data = _data()
    data["ttf"]["failure_reasons"] = "progression"  # not a list: a field problem
    data["ttf"]["censor_reasons"].append("maintenance_completed")
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="t.yaml")
    problems = info.value.problems
    overlap = (
        "t.yaml: ttf.continue_reasons: ['maintenance_completed'] also in "
        "ttf.censor_reasons: expected disjoint lists"
    )
    assert problems.count(overlap) == 1
    assert any(p.startswith("t.yaml: ttf.failure_reasons:") for p in problems)
    assert len(problems) == 2
