"""The engine reuses the timepoints of follow-ups it has already evaluated for the same
baseline, and the parser the follow-ups it has already parsed (a service re-evaluates a
patient's whole history at every scan): the result, or the problems, must be exactly what
a fresh evaluation gives, whether the history grew, was corrected or shrank."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from talentop.errors import InvalidInput
from talentop.recist import engine, model

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "recist").glob("*.json"))


def _forget() -> None:
    engine._EVALUATED.clear()
    model._PARSED.clear()


def _fresh(case: dict) -> dict:
    _forget()
    return engine.evaluate(copy.deepcopy(case))


def _problems(case: dict) -> list[str]:
    with pytest.raises(InvalidInput) as raised:
        engine.evaluate(copy.deepcopy(case))
    return raised.value.problems


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_growing_history_gives_the_fresh_result(path: Path) -> None:
    case = json.loads(path.read_text())
    followups = case["followups"]
    expected = [_fresh({**case, "followups": followups[: n + 1]}) for n in range(len(followups))]
    _forget()
    for n in range(len(followups)):  # scan by scan, as record_assessment does
        assert (
            engine.evaluate({**copy.deepcopy(case), "followups": followups[: n + 1]})
            == (expected[n])
        )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_corrected_earlier_scan_is_evaluated_again(path: Path) -> None:
    case = json.loads(path.read_text())
    _forget()
    engine.evaluate(copy.deepcopy(case))  # the whole history is now remembered
    changed = copy.deepcopy(case)
    first = changed["followups"][0]
    first.pop("new_lesion_details", None)
    first["new_lesions"] = "unequivocal" if first.get("new_lesions") != "unequivocal" else "none"
    reused = engine.evaluate(copy.deepcopy(changed))
    assert reused == _fresh(changed)
    assert reused != _fresh(case)
    shorter = {**case, "followups": case["followups"][:1]}
    engine.evaluate(copy.deepcopy(case))
    assert engine.evaluate(copy.deepcopy(shorter)) == _fresh(shorter)


def _two_targets(*values: object) -> dict:
    return {
        "baseline": {
            "date": "2021-01-01",
            "target": [
                {"id": "T1", "organ": "liver", "diameter_mm": 40},
                {"id": "T2", "organ": "lung", "diameter_mm": 20},
            ],
            "non_target": [],
        },
        "followups": [
            {"date": f"2021-0{n + 2}-01", "target": {"T1": v, "T2": 20}, "new_lesions": "none"}
            for n, v in enumerate(values)
        ],
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_mrecist_and_recist_of_one_history_keep_apart(path: Path) -> None:
    """The parse depends on the criteria (viable diameters, mRECIST's new-lesion rules):
    both readings, warm, equal both readings, fresh."""
    case = json.loads(path.read_text())
    _forget()
    expected = {}
    for criteria in ("recist1.1", "mrecist"):
        try:
            expected[criteria] = _fresh({**case, "criteria": criteria})
        except InvalidInput as error:
            expected[criteria] = error.problems
    _forget()
    for _ in range(2):
        for criteria in ("recist1.1", "mrecist"):
            try:
                got = engine.evaluate(copy.deepcopy({**case, "criteria": criteria}))
            except InvalidInput as error:
                got = error.problems
            assert got == expected[criteria]


def test_a_value_of_another_type_is_parsed_again() -> None:
    """Reuse compares the follow-ups' reprs, so 30 (accepted) and True (a bool is not a
    diameter) are not confused, nor 30 and 30.0 (the same value, parsed alike)."""
    _forget()
    ok = engine.evaluate(_two_targets(30, 30))
    with_bool = _two_targets(30, True)
    warm = _problems(with_bool)  # the first follow-up is remembered, the second is not
    _forget()
    assert warm == _problems(with_bool)
    _forget()
    assert engine.evaluate(_two_targets(30, 30.0)) == ok


def test_problems_after_a_remembered_prefix_are_the_fresh_ones() -> None:
    """A follow-up dated before the previous one, after a remembered history: the same
    problems as a fresh parse, and the next valid history is evaluated correctly."""
    good = _two_targets(35, 30, 28)
    _forget()
    engine.evaluate(copy.deepcopy(good))
    bad = copy.deepcopy(good)
    bad["followups"].append({**bad["followups"][0], "date": "2021-02-15"})
    bad["followups"].append({"date": "2021-06-01", "target": {"T1": "huge"}, "new_lesions": "?"})
    warm = _problems(bad)
    _forget()
    assert warm == _problems(bad)
    assert len(warm) >= 3
    _forget()
    expected = engine.evaluate(copy.deepcopy(good))
    engine.evaluate(copy.deepcopy(good))
    _problems(bad)
    assert engine.evaluate(copy.deepcopy(good)) == expected


def test_options_to_dict_is_asdict():
    """``Options.to_dict`` (echoed in every result) equals ``dataclasses.asdict``, key order
    included, for the defaults and for every option changed."""
    import dataclasses

    from talentop.recist.options import Options

    changed = Options(
        ongoing_pr=True,
        reappearance_after_cr="sum_rule",
        node_growth_below_10mm="pd",
        confirmation_days=35,
        max_ne_before_confirmation=0,
        accept_sd_before_confirmation=True,
        mrecist_5mm_floor=True,
        backdate_equivocal=False,
        max_targets=3,
        max_targets_per_organ=1,
        sd_reference_date="2024-01-01",
    )
    for options in (Options(), changed):
        assert list(options.to_dict().items()) == list(dataclasses.asdict(options).items())
    assert changed.to_dict() != Options().to_dict()
