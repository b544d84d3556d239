"""Property-based checks of monotonicity that follow from the RECIST 1.1 definitions.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247: a new unequivocal lesion is PD
(section 4.3.2), PR/PD thresholds are relative (so uniform scaling keeps the category),
and the response order CR > PR > SD > PD makes smaller tumours never worse.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from talentop.recist import evaluate

from .builders import case, visit

ORDER = {"CR": 0, "PR": 1, "SD": 2, "NE": 3, "PD": 4}
baselines = st.lists(st.integers(100, 800), min_size=1, max_size=3)  # tenths of mm, >= 10 mm
visits = st.integers(1, 4)


def _as_mm(tenths):
    return tenths / 10


@st.composite
def histories(draw):
    base = draw(baselines)
    n = draw(visits)
    rows = [[draw(st.integers(0, 1200)) for _ in base] for _ in range(n)]
    return base, rows


def _run(base, rows, new_last="none", scale=1):
    ids = [f"T{i + 1}" for i in range(len(base))]
    followups = [
        visit(
            56 * (k + 1),
            target={i: _as_mm(v * scale) for i, v in zip(ids, row, strict=True)},
            new=new_last if k == len(rows) - 1 else "none",
        )
        for k, row in enumerate(rows)
    ]
    return evaluate(case(dict(zip(ids, map(_as_mm, base), strict=True)), followups=followups))


@settings(max_examples=60, deadline=None)
@given(histories())
def test_unequivocal_new_lesion_never_improves_the_response(history):
    base, rows = history
    plain = _run(base, rows)["timepoints"][-1]["overall_response"]
    worse = _run(base, rows, new_last="unequivocal")["timepoints"][-1]["overall_response"]
    assert worse == "PD"
    assert ORDER[worse] >= ORDER[plain]


@settings(max_examples=60, deadline=None)
@given(baselines, st.lists(st.integers(0, 1200), min_size=3, max_size=3), st.integers(1, 9))
def test_shrinking_every_diameter_never_worsens_the_first_target_response(base, row, tenths):
    """At the first follow-up (nadir = baseline), smaller diameters never give a worse category."""
    row = row[: len(base)]
    before = _run(base, [row])["timepoints"][0]["target_response"]
    after = _run(base, [[v * tenths // 10 for v in row]])["timepoints"][0]["target_response"]
    assert ORDER[after] <= ORDER[before]


@settings(max_examples=60, deadline=None)
@given(histories())
def test_percentages_follow_the_exact_definition(history):
    base, rows = history
    result = _run(base, rows)
    baseline = sum(base)
    for row, point in zip(rows, result["timepoints"], strict=True):
        assert point["sum_mm"] == sum(row) / 10
        expected = round((sum(row) - baseline) * 100 / baseline, 2)
        assert abs(point["change_from_baseline_pct"] - expected) <= 0.0100001


RANK = {"CR": 0, "PR": 1, "SD": 2, "non-CR/non-PD": 3, "PD": 4, "NE": 5}


@settings(max_examples=60, deadline=None)
@given(histories())
def test_confirmation_never_improves_the_best_response(history):
    """Requiring confirmation can only remove CR/PR candidates (Table 3 vs section 4.4.1)."""
    base, rows = history
    result = _run(base, rows)
    unconfirmed = result["best_overall_response_unconfirmed"]
    confirmed = result["best_overall_response_confirmed"]
    if unconfirmed in ("CR", "PR"):
        assert RANK[confirmed] >= RANK[unconfirmed]
    else:
        assert confirmed == unconfirmed
