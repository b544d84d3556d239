"""The SAP, published figures, scenarios and the pathway settings are protocol data.

TALENTOP values: seed article (ESMO 2025 interim), NCT04649489 (target about 198 patients).
TALENTACE values: ESMO GI 2025 LBA2 as reported by MIMS (TACE-PFS 11.30 vs 7.03 months, HR
0.71, 95% CI 0.55-0.92, P = 0.009; TACE-PFS = untreatable progression, TACE failure/
refractoriness or death), Chugai 2024 (342 patients).
"""

import copy

import pytest
import yaml

from talentop.errors import ProtocolError
from talentop.protocol import load_protocol, protocol_from_mapping
from talentop.protocol.loader import _read

TALENTOP = load_protocol("talentop")
TALENTACE = load_protocol("talentace")


def _data(name: str) -> dict:
    return yaml.safe_load(_read(name)[0])


def test_sap_planned_hr_comes_from_the_planned_medians_not_the_result():
    sap = TALENTOP.sap
    assert sap.planned_hazard_ratio == pytest.approx(10.0 / 18.0)
    assert sap.planned_hazard_ratio != TALENTOP.published["ttf_hr"].value
    assert sap.target_patients.value == 198
    assert "NCT04649489" in sap.target_patients.source
    assert sap.power.is_setting and not sap.target_patients.is_setting


def test_every_sap_value_names_a_source_or_setting():
    for protocol in (TALENTOP, TALENTACE):
        sap = protocol.sap
        for name in type(sap).model_fields:
            value = getattr(sap, name)
            if hasattr(value, "source"):
                assert value.source.strip(), name


def test_published_figures_are_data():
    assert TALENTOP.published["operated"].value == 83
    assert TALENTOP.published["os_ci"].value == [0.35, 1.29]
    assert TALENTACE.published["tacepfs_hr"].value == 0.71
    assert TALENTACE.published["tacepfs_hr_ci"].value == [0.55, 0.92]


def test_talentace_is_randomised_at_entry_with_tace_pfs_primary():
    assert TALENTACE.randomisation.timing == "at_entry"
    assert not TALENTACE.induction.before_randomisation
    assert TALENTACE.endpoints.primary == "TACEPFS"
    tace = TALENTACE.endpoints.tace_pfs
    assert tace.event_reasons == ["untreatable_progression", "tace_refractoriness"]
    assert (
        tace.refractory_after.value == 2
        and "Japan Society of Hepatology" in tace.refractory_after.source
    )
    assert TALENTACE.arm("A").drugs == ["atezolizumab", "bevacizumab"]
    assert TALENTACE.arm("A").drugs_after_local_therapy
    assert TALENTACE.arm("B").drugs == []
    assert TALENTACE.local_therapy.when == "on_study"


def test_talentop_pathway_settings():
    assert TALENTOP.endpoints.primary == "TTF"
    assert TALENTOP.ttf.switch_to_surgery.primary == "ignore"
    assert TALENTOP.ttf.switch_to_surgery.sensitivity == ["censor", "event"]
    assert "ICH E9(R1)" in TALENTOP.ttf.switch_to_surgery.rationale
    assert TALENTOP.resectability.min_remnant_liver_pct.value == 25.0
    assert TALENTOP.reassessment.responses.value == ["CR", "PR"]
    assert TALENTOP.local_therapy.ttf_effect.value == "continue"
    assert "CR" not in TALENTOP.assessment.randomisable_responses
    assert "not stated" in TALENTOP.assessment.randomisable_responses_source
    assert [s.id for s in TALENTOP.scenarios] == [
        "as_designed",
        "dynamic_reassessment",
        "os_primary",
        "tace_first",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["endpoints"]["tace_pfs"].update(event_reasons=["unTACEable"]),
            r"endpoints.tace_pfs.event_reasons: \['unTACEable'\] not in discontinuation_reasons",
        ),
        (
            lambda d: d["sap"].update(primary_endpoint="TTF"),
            "sap.primary_endpoint: 'TTF' differs from endpoints.primary 'TACEPFS'",
        ),
        (
            lambda d: d["scenarios"].append(copy.deepcopy(d["scenarios"][0])),
            r"scenarios: duplicate ids \['as_designed'\]",
        ),
        (
            lambda d: d["arms"][0].update(drugs=["sorafenib"]),
            r"arms\[0\].drugs: \['sorafenib'\] not among the protocol drugs",
        ),
    ],
)
def test_cross_checks_name_the_path(edit, message):
    data = _data("talentace")
    edit(data)
    with pytest.raises(ProtocolError, match=message):
        protocol_from_mapping(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("ttf", "switch_to_surgery"),
            {"primary": "event", "sensitivity": ["event"]},
            "other than the primary",
        ),
        (
            ("resectability", "resectable_vp_grades"),
            {"value": ["Vp5"], "source": "x"},
            r"\['Vp5'\] not in",
        ),
        (("reassessment", "responses"), {"value": ["GOOD"], "source": "x"}, "expected responses"),
        (("sap", "looks"), {"value": [0.5, 0.9], "source": "x"}, "ending at 1"),
        (("sap", "experimental_median_months"), {"value": 10.0, "source": "x"}, "HR 1"),
    ],
)
def test_bad_settings_are_refused_with_their_path(path, value, message):
    data = _data("talentop")
    data[path[0]][path[1]] = value
    with pytest.raises(ProtocolError, match=message) as caught:
        protocol_from_mapping(data)
    assert any(p.startswith(f"<mapping>: {path[0]}") for p in caught.value.problems)


def test_scenario_lookup():
    assert TALENTOP.scenario("os_primary").hazard_ratio.value == 0.67
    with pytest.raises(Exception, match="one of"):
        TALENTOP.scenario("nope")
