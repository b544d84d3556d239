"""Edit checks as protocol data: what a form's values are checked against when saved and in
batch (``talentop checks run``). A check that fires is a warning: the user saves anyway with
a comment, or a query is opened on the field.

Kinds (``kind``):
- ``range``: a number of ``form``.``field`` (rows matching ``when``) within ``min``..``max``
  in ``unit`` (rows in another unit are not range-checked: the unit check names them);
- ``required``: ``fields`` of ``form`` (rows matching ``when``) are recorded;
- ``date_order``: ``form``.``field`` on or after the date the patient entered state
  ``after`` (and, with ``before``, on or before the date they entered that state);
- ``visit_window``: tumour assessments after randomisation within
  ``assessment.window_days`` of the ``assessment.interval_weeks`` calendar;
- ``dose_vs_weight``: a dose given within ``tolerance_pct`` of the protocol dose computed
  from body weight;
- ``lab_window``: the latest result of each laboratory ``tests`` before induction taken at
  most ``days_before_induction`` days before it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EditCheck(BaseModel):
    """One edit check (see the module docstring for the kinds and their fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    kind: Literal["range", "required", "date_order", "visit_window", "dose_vs_weight", "lab_window"]
    form: str = Field(min_length=1)
    message: str = ""
    field: str | None = None
    fields: list[str] = Field(default_factory=list)
    when: dict[str, Any] = Field(default_factory=dict)
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    after: str | None = None
    before: str | None = None
    tolerance_pct: float | None = Field(None, gt=0, le=100)
    tests: list[str] = Field(default_factory=list)
    days_before_induction: int | None = Field(None, ge=0, le=365)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> EditCheck:
        need = {
            "range": ("field",),
            "required": ("fields",),
            "date_order": ("field", "after"),
            "dose_vs_weight": ("tolerance_pct",),
            "lab_window": ("tests", "days_before_induction"),
            "visit_window": (),
        }[self.kind]
        missing = [name for name in need if not getattr(self, name)]
        if missing:
            raise ValueError(f"edit check {self.id!r} ({self.kind}) needs {missing}")
        if self.kind == "range" and self.min is None and self.max is None:
            raise ValueError(f"edit check {self.id!r} (range) needs min or max")
        return self
