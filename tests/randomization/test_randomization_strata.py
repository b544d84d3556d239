"""Stratum keys: canonical and order-independent, invalid levels named."""

import pytest

from talentop.errors import InvalidInput
from talentop.randomization import UNSTRATIFIED, stratum_key


def test_key_is_sorted_by_factor_name_whatever_the_input_order():
    a = stratum_key({"site": "S01", "ecog": "0", "depth": "deep"})
    b = stratum_key({"depth": "deep", "site": "S01", "ecog": "0"})
    assert a == b == "depth=deep|ecog=0|site=S01"


def test_integer_levels_are_written_as_text():
    assert stratum_key({"ecog": 1}) == stratum_key({"ecog": "1"}) == "ecog=1"


def test_empty_levels_mean_one_stratum():
    assert stratum_key({}) == UNSTRATIFIED


def test_different_levels_give_different_keys():
    assert stratum_key({"ecog": "0"}) != stratum_key({"ecog": "1"})


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"ecog": "0|1"}, r"levels\['ecog'\]='0\|1': expected no"),
        ({"ec=og": "0"}, r"factor='ec=og': expected no"),
        ({"ecog": ""}, r"levels\['ecog'\]='': expected a non-empty level"),
        ({"ecog": None}, r"levels\['ecog'\]=None: expected a string"),
        ("ecog=0", r"levels='ecog=0': expected a mapping"),
    ],
)
def test_invalid_levels_are_refused_with_the_field_named(levels, message):
    with pytest.raises(InvalidInput, match=message):
        stratum_key(levels)
