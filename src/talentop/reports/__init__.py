"""The trial report: figures (KM, forest, CONSORT), tables, and a self-contained HTML page.

Pure: takes DataFrames and ``talentop.stats`` result objects, writes files; no database.
"""

from talentop.reports._render import RenderedFigure, render, rendering_in
from talentop.reports.consort import ConsortArm, ConsortFlow, consort_figure
from talentop.reports.document import Report, Section, render_html, write_report
from talentop.reports.forest import FOREST_COLUMNS, forest_figure
from talentop.reports.km import ArmCurve, KMFigure, km_figure
from talentop.reports.numbers import (
    fmt_ci,
    fmt_hr,
    fmt_num,
    fmt_p,
    fmt_range,
    fmt_small,
    json_number,
    not_estimable,
    p_equals,
)
from talentop.reports.tables import (
    Table,
    baseline_table,
    exact_ci,
    grade_table,
    key_value_table,
    published_table,
    response_table,
)

__all__ = [
    "FOREST_COLUMNS",
    "ArmCurve",
    "ConsortArm",
    "ConsortFlow",
    "KMFigure",
    "RenderedFigure",
    "Report",
    "Section",
    "Table",
    "baseline_table",
    "consort_figure",
    "exact_ci",
    "fmt_ci",
    "fmt_hr",
    "fmt_num",
    "fmt_p",
    "fmt_range",
    "fmt_small",
    "forest_figure",
    "grade_table",
    "json_number",
    "key_value_table",
    "km_figure",
    "not_estimable",
    "p_equals",
    "published_table",
    "render",
    "render_html",
    "rendering_in",
    "response_table",
    "write_report",
]
