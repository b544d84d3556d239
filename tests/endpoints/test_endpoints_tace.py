"""TACE refractoriness: consecutive insufficient post-TACE responses (JSH, Kudo et al., Oncology
2014;87 Suppl 1:22-31: two or more consecutive insufficient responses of the treated tumour)."""

import datetime as dt

from talentop.endpoints.tace import refractoriness_date

D = [dt.date(2024, 1, 1) + dt.timedelta(days=60 * i) for i in range(6)]


def test_two_consecutive_insufficient_responses():
    responses = [(D[0], "PR"), (D[1], "SD"), (D[2], "PD"), (D[3], "SD")]
    assert refractoriness_date(responses, consecutive=2, insufficient=["SD", "PD"]) == D[2]


def test_a_sufficient_response_resets_the_count():
    responses = [(D[0], "SD"), (D[1], "PR"), (D[2], "SD"), (D[3], "CR")]
    assert refractoriness_date(responses, consecutive=2, insufficient=["SD", "PD"]) is None


def test_order_of_records_does_not_matter():
    responses = [(D[2], "SD"), (D[0], "PR"), (D[1], "SD")]
    assert refractoriness_date(responses, consecutive=2, insufficient=["SD", "PD"]) == D[2]
