"""TACE failure/refractoriness from the recorded post-TACE responses (TACE-PFS events).

Source: Japan Society of Hepatology (JSH) definition of TACE failure/refractoriness (Kudo M et
al., Oncology 2014;87 Suppl 1:22-31; 2021 revision): two or more consecutive insufficient
responses of the treated tumour (viable lesion > 50%) after TACE. The number of consecutive
responses and which mRECIST responses count as insufficient are protocol settings
(``endpoints.tace_pfs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def refractoriness_date(
    responses: Iterable[tuple[dt.date, str]], *, consecutive: int, insufficient: Iterable[str]
) -> dt.date | None:
    """Date of the response completing ``consecutive`` insufficient responses in a row, or None.

    ``responses``: (assessment date, mRECIST response of the treated lesions) per TACE, in
    any order; a sufficient response resets the count.
    """
    if consecutive < 1:
        raise ValueError(f"consecutive={consecutive}: expected at least 1")
    insufficient = set(insufficient)
    run = 0
    for on, response in sorted(responses):
        run = run + 1 if response in insufficient else 0
        if run >= consecutive:
            return on
    return None
