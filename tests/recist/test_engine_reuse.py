"""The engine reuses the timepoints of follow-ups it has already evaluated for the same
baseline (a service re-evaluates a patient's whole history at every scan): the result must
be exactly what a fresh evaluation gives, whether the history grew, was corrected or shrank."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from talentop.recist import engine

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "recist").glob("*.json"))


def _fresh(case: dict) -> dict:
    engine._EVALUATED.clear()
    return engine.evaluate(copy.deepcopy(case))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_growing_history_gives_the_fresh_result(path: Path) -> None:
    case = json.loads(path.read_text())
    followups = case["followups"]
    expected = [_fresh({**case, "followups": followups[: n + 1]}) for n in range(len(followups))]
    engine._EVALUATED.clear()
    for n in range(len(followups)):  # scan by scan, as record_assessment does
        assert (
            engine.evaluate({**copy.deepcopy(case), "followups": followups[: n + 1]})
            == (expected[n])
        )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_corrected_earlier_scan_is_evaluated_again(path: Path) -> None:
    case = json.loads(path.read_text())
    engine._EVALUATED.clear()
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
