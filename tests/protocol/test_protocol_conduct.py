"""Trial conduct as protocol data: consent forms, the reference safety information, the
medication rules and the deviation vocabulary load, default and fail with clear problems."""

import pytest

from talentop.errors import ProtocolError
from talentop.protocol import load_protocol, protocol_from_mapping

TALENTOP = load_protocol("talentop")


def _data(**changes):
    data = TALENTOP.model_dump(mode="json")
    data.update(changes)
    return data


def test_reference_safety_information_expectedness():
    """ICH E2A II.C: expected only as listed and no more severe; fatal only if listed."""
    bev = TALENTOP.safety.product("bevacizumab")
    assert bev.expects("Hypertension", 4) and not bev.expects("Hypertension", 5)
    assert bev.expects("gastrointestinal HAEMORRHAGE", 5)  # fatal bleeding is labelled
    assert not bev.expects("Proteinuria", 4) and not bev.expects("Hepatic failure", 1)
    assert TALENTOP.safety.product("surgery").kind == "procedure"
    assert (TALENTOP.safety.expedited_days_fatal, TALENTOP.safety.expedited_days_other) == (7, 15)


def test_every_category_the_services_raise_is_in_both_vocabularies():
    for name in ("talentop", "talentace"):
        ids = {c.id for c in load_protocol(name).deviations.categories}
        assert {"dosing", "bevacizumab_restart", "surgery_washout", "other"} <= ids, name


def test_medication_classes_match_names():
    medication = TALENTOP.medication
    assert medication.classify("Entecavir 0.5 mg") == "hbv_antiviral"
    assert medication.classify("enoxaparin sodium") == "anticoagulant"
    assert medication.classify("Huaier granule") == "tcm"
    assert medication.classify("Paracetamol") is None
    assert [r.kind for r in medication.rules] == ["required_when_lab", "flag_with_drug", "washout"]


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("medication", {"classes": [], "rules": [{"id": "r", "text": "t", "kind": "washout",
                                                   "drug_class": "tcm", "days": 7}]},
         "rules name unknown medication classes ['tcm']"),
        ("medication", {"classes": [{"id": "tcm"}], "rules": [{"id": "r", "text": "t",
                                                               "kind": "washout", "drug_class": "tcm"}]},
         "rule 'r' (washout) needs ['days']"),
        ("consent", {"forms": [{"version": "2", "effective_on": "2021-01-01"},
                               {"version": "1", "effective_on": "2020-01-01"}]},
         "consent forms must be listed in order of effective_on"),
        ("consent", {"forms": [{"version": "1", "effective_on": "2020-01-01"},
                               {"version": "1", "effective_on": "2021-01-01"}]},
         "duplicate consent form versions"),
        ("safety", {"rsi_version": "x", "products": [{"product": "a", "reference": "r"},
                                                     {"product": "a", "reference": "r"}]},
         "duplicate products"),
    ],
)  # fmt: skip
def test_malformed_conduct_sections_are_named(section, value, message):
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(_data(**{section: value}), source="p.yaml")
    assert any(section in p and message in p for p in info.value.problems), info.value.problems


def test_conduct_sections_are_optional():
    data = _data()
    for key in ("consent", "safety", "medication", "deviations"):
        data.pop(key)
    protocol = protocol_from_mapping(data)
    assert protocol.safety is None and protocol.medication.rules == []
    assert protocol.consent.forms[0].version == "1.0"
    assert protocol.consent.required_scopes == ["treatment", "follow_up", "data_use"]
