"""The published-vs-expected-vs-run table whose cells say where they come from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from talentop.reports.tables import Table

COLUMNS = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run", "Note")


def provenance_table(rows: Sequence[Mapping[str, object]], sources: str) -> Table:
    """Rows with marked cells ([input] / [calibrated] / [output] / [not available])."""
    return Table(
        "Published interim results vs the calibrated model vs this simulated run",
        pd.DataFrame(rows, columns=list(COLUMNS)),
        "[input]: a published figure the model is given, or a run option; [calibrated]: the "
        "calibrated model's value (fitted to the published figures or computed from its "
        "probabilities, large-sample values at its data cut); [output]: computed from this "
        "run's database; [not available]: nothing computes it. "
        f"Published figures: {sources}. One simulated trial scatters around the expected "
        "values (log-HR SE about 2/sqrt(events)).",
    )
