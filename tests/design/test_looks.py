"""The looks rule: fractions in (0, 1], or event counts > 1, never a mix."""

import pytest

from talentop.design.looks import parse_looks
from talentop.errors import InvalidInput


def test_fractions_ending_at_1_are_kept_without_a_note():
    looks = parse_looks("0.25, 0.5,1")
    assert looks.fractions == [0.25, 0.5, 1.0]
    assert looks.event_counts is None and looks.notes == []


def test_counts_become_fractions_of_the_last_count():
    looks = parse_looks("50,100,200")
    assert looks.event_counts == [50, 100, 200]
    assert looks.fractions == [0.25, 0.5, 1.0]
    assert looks.notes == ["looks read as event counts 50,100,200 (the last is the final analysis)"]


def test_a_mix_names_both_groups():
    with pytest.raises(InvalidInput, match=r"fractions 0\.3,1; counts 2,3"):
        parse_looks("0.3,1,2,3")
