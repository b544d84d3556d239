"""The demo report speaks to its readers (issue 18): no command, module or "SETTING" word
outside the methods appendix, journal typography, landmark survival tabulated, CONSORT
follow-up from the database, and the closed DMC report beside the open one."""

import html
import re

import pytest

from talentop.demo.analysis import key_figures
from talentop.demo.report_dmc import meaning

pytestmark = [pytest.mark.slow, pytest.mark.db]


def _text(page: str, *, appendix: bool = False) -> str:
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    page = re.sub(r'(src|href)="[^"]*"', "", page)
    if not appendix:
        page = re.sub(r'<section id="methods">.*?</section>', "", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", text)  # the generation timestamp
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pages(small_demo):
    folder = small_demo.report.parent
    return {
        "open": (folder / "index.html").read_text(),
        "closed": (folder / "closed-dmc.html").read_text(),
    }


@pytest.mark.parametrize("which", ["open", "closed"])
def test_reader_text_has_no_developer_words_and_journal_typography(pages, which):
    text = _text(pages[which])
    for pattern, what in [
        (r"talentop[ ._]\w", "a command or module name"),
        (r"SETTING", "a protocol working note"),
        (r"--[a-z]", "a command-line option"),
        (r"\b[a-z]+_[a-z_]+\b", "a code or field name with underscores"),
        (r"\d-\d", "a range with a hyphen (en dash expected)"),
        (r"(?<![\w)\]])-\d", "a hyphen for a minus sign (U+2212 expected)"),
        (r">=|<=", "ASCII >= or <="),
        (r"\bnan\b|\binf\b", "nan or inf"),
    ]:
        found = re.findall(pattern, text)
        assert not found, f"{which} report: {what}: {found[:5]}"


def test_methods_appendix_keeps_what_reviewers_need(pages, small_demo):
    appendix = _text(pages["open"], appendix=True)
    appendix = appendix[appendix.index("Methods appendix") :]
    assert "talentop demo --seed 11 --patients 120 --dynamic-reassessment" in appendix
    assert "SETTING (the trial's definition is not public)" in appendix
    assert "calibrate_talentop" in appendix and "talentop export adtte" in appendix
    assert "LOST TO FOLLOW-UP" in appendix  # the censoring codes


def test_endpoint_tables_carry_landmark_survival_with_cis(pages, small_demo):
    text = _text(pages["open"])
    assert "12 months, % (95% CI)" in text and "24 months, % (95% CI)" in text
    km_a = small_demo.interim.ttf.km["A"]
    row = km_a.summary_at([12.0]).iloc[0]
    if row["survival"] == row["survival"]:  # within follow-up
        shown = f"{100 * row['survival']:.1f}% ({100 * row['lower']:.1f}\u2013"
        assert shown in text


def test_consort_follow_up_counts_are_the_database_facts(small_demo):
    from talentop.demo.report_trial import consort_flow

    flow = consort_flow(small_demo.interim)
    facts = small_demo.interim.stored.patients
    for arm in flow.arms:
        block = facts[facts.arm == arm.label]
        assert arm.lost_to_follow_up == int(block.lost_to_follow_up.sum())
        stopped = block.discontinuation_reason.dropna()
        stopped = stopped[~stopped.isin(["maintenance_completed", "data_cutoff"])]
        assert sum(arm.discontinued.values()) == len(stopped)
        assert arm.analysed == int((small_demo.interim.ttf.data.arm == arm.label).sum())
    svg = (small_demo.report.parent / "figures" / "consort.svg").read_text()
    assert "Follow-up" in svg and "Lost to follow-up (n = " in svg


def test_closed_report_beside_the_open_one(pages, small_demo):
    closed = _text(pages["closed"])
    assert "CLOSED REPORT: results by arm, for the Data Monitoring Committee only" in closed
    interim = small_demo.interim
    figures = key_figures(interim)
    z, bound = figures["ttf_z"], interim.gs["efficacy_z"]
    expected = "was not crossed" if z is not None and z < bound else "was crossed"
    assert f"The efficacy boundary {expected}" in closed
    # safety by arm equals the adverse events recorded in the database
    events = interim.adverse_events
    for arm in ("A", "B"):
        n = int((interim.randomised.arm == arm).sum())
        grade3 = events[(events.arm == arm) & (events.grade >= 3)].patient.nunique()
        assert f"{grade3} ({100 * grade3 / n:.1f}%" in closed
    assert "Efficacy by arm" in closed and "Time to treatment failure" in closed
    # the open report does not link to the closed one (it is not for everyone)
    assert "closed-dmc.html" not in pages["open"].split('id="methods"')[0]


def test_meaning_covers_crossed_not_crossed_and_not_assessable(small_demo):
    interim = small_demo.interim
    bound = interim.gs["efficacy_z"]
    crossed = meaning(interim, {"ttf_z": bound + 1, "ttf_hr_reason": None})
    assert crossed[0].startswith("The efficacy boundary was crossed")
    not_crossed = meaning(interim, {"ttf_z": bound - 1, "ttf_hr_reason": None})
    assert not_crossed[0].startswith("The efficacy boundary was not crossed")
    missing = meaning(interim, {"ttf_z": None, "ttf_hr_reason": "no events in arm A"})
    assert "not estimable (no events in arm A)" in missing[0]
