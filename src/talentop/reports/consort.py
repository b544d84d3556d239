"""CONSORT flow diagram: enrolment, induction, allocation, follow-up, analysis.

Source: CONSORT 2010 flow diagram (Schulz, Altman, Moher; BMJ 2010;340:c332): the four
stages Enrolment, Allocation, Follow-up (lost to follow-up, discontinued intervention, with
reasons) and Analysis (analysed, excluded from analysis, with reasons), with the extra
"induction" stage a conversion-therapy trial has between screening and allocation.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

from matplotlib.patches import FancyBboxPatch

from talentop.errors import InvalidInput
from talentop.reports._render import RenderedFigure, new_figure, render, styled


@dataclass(frozen=True)
class ConsortArm:
    """One arm's column of the diagram."""

    label: str
    allocated: int
    received_label: str  # e.g. "operated" or "continued atezolizumab + bevacizumab"
    received: int
    not_received: Mapping[str, int] = field(default_factory=dict)
    analysed: int = 0
    lost_to_follow_up: int = 0
    #: discontinued the allocated intervention, by reason
    discontinued: Mapping[str, int] = field(default_factory=dict)
    #: randomised but left out of the analysis, by reason (empty in an ITT analysis)
    excluded_from_analysis: Mapping[str, int] = field(default_factory=dict)
    #: completed the allocated treatment as planned (e.g. the maintenance period)
    completed: int = 0


@dataclass(frozen=True)
class ConsortFlow:
    """All the counts and reasons of the diagram; the checks make the arithmetic add up."""

    assessed: int
    excluded: Mapping[str, int]
    induction: int
    not_randomised: Mapping[str, int]
    randomised: int
    arms: tuple[ConsortArm, ...]

    def problems(self) -> list[str]:
        """Every count that does not add up (CONSORT boxes must reconcile)."""
        found = []
        if self.assessed - sum(self.excluded.values()) != self.induction:
            found.append(
                f"assessed={self.assessed} minus excluded={sum(self.excluded.values())}: "
                f"expected induction={self.induction}"
            )
        if self.induction - sum(self.not_randomised.values()) != self.randomised:
            found.append(
                f"induction={self.induction} minus not randomised="
                f"{sum(self.not_randomised.values())}: expected randomised={self.randomised}"
            )
        if sum(arm.allocated for arm in self.arms) != self.randomised:
            found.append(f"sum of arms: expected randomised={self.randomised}")
        for arm in self.arms:
            if arm.received + sum(arm.not_received.values()) != arm.allocated:
                found.append(
                    f"arm {arm.label}: received + not received != allocated={arm.allocated}"
                )
            if arm.excluded_from_analysis and (
                arm.analysed + sum(arm.excluded_from_analysis.values()) != arm.allocated
            ):
                found.append(
                    f"arm {arm.label}: analysed + excluded from analysis != "
                    f"allocated={arm.allocated}"
                )
            if arm.lost_to_follow_up > arm.allocated:
                found.append(f"arm {arm.label}: lost to follow-up > allocated={arm.allocated}")
        return found


#: Characters of a reason per line in a side box (8 pt text in a 3.5-inch box).
WRAP_CHARS = 50


def _lines(title: str, count: int, reasons: Mapping[str, int] | None = None) -> list[str]:
    """Title line, then one bullet per reason (most frequent first), long reasons wrapped."""
    lines = [f"{title} (n = {count})"]
    for reason, n in sorted((reasons or {}).items(), key=lambda item: (-item[1], item[0])):
        text = reason.replace("_", " ")
        wrapped = textwrap.wrap(f"{text[:1].upper()}{text[1:]} (n = {n})", WRAP_CHARS)
        lines.append(f"  • {wrapped[0]}")
        lines += [f"     {more}" for more in wrapped[1:]]
    return lines


def _box(ax, x: float, y_top: float, width: float, lines: list[str], *, bold_first=True) -> float:
    """Draw a box whose top-left is (x, y_top); return the y of its bottom edge."""
    line_h = 2.6
    height = line_h * len(lines) + 1.6
    ax.add_patch(
        FancyBboxPatch(
            (x, y_top - height),
            width,
            height,
            boxstyle="round,pad=0.2,rounding_size=0.8",
            fc="#f4f8fb",
            ec="#2c5d87",
            lw=1.0,
        )
    )
    for i, line in enumerate(lines):
        ax.text(
            x + 1.0,
            y_top - 1.6 - i * line_h,
            line,
            va="center",
            ha="left",
            fontsize=8,
            fontweight="bold" if (i == 0 and bold_first) else "normal",
        )
    return y_top - height


def _banner(ax, y_top: float, label: str) -> float:
    """A CONSORT 2010 stage label (Enrolment, Allocation, Follow-up, Analysis) across the
    diagram; returns the y of its bottom edge."""
    height = 3.2
    ax.add_patch(
        FancyBboxPatch(
            (1.0, y_top - height),
            98.0,
            height,
            boxstyle="round,pad=0.1,rounding_size=0.6",
            fc="#d9e6f2",
            ec="none",
        )
    )
    ax.text(50.0, y_top - height / 2, label, ha="center", va="center", fontsize=8.5,
            fontweight="bold", color="#1f4e79")  # fmt: skip
    return y_top - height


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate(
        "", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "#2c5d87", "lw": 1.0}
    )


@styled
def consort_figure(flow: ConsortFlow, *, name: str = "consort") -> RenderedFigure:
    """Draw the flow diagram; raise InvalidInput if the counts do not reconcile."""
    problems = flow.problems()
    if problems:
        raise InvalidInput(problems)
    # height from the wrapped line counts (the drawing is cropped to its content below)
    side_lines = len(_lines("", 0, flow.excluded)) + len(_lines("", 0, flow.not_randomised))
    n_arm_lines = max(
        (
            len(_lines("", 0, arm.not_received))
            + len(_lines("", 0, arm.discontinued))
            + len(_lines("", 0, arm.excluded_from_analysis))
            for arm in flow.arms
        ),
        default=0,
    )
    height_units = 110 + 2.6 * side_lines + 2.6 * n_arm_lines
    fig = new_figure(8.8, height_units / 9.0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, height_units)
    ax.axis("off")

    main_x, main_w, side_x, side_w = 22.0, 32.0, 58.0, 40.0
    y = _banner(ax, height_units - 1, "Enrolment") - 2
    bottom = _box(ax, main_x, y, main_w, [f"Assessed for eligibility (n = {flow.assessed})"])
    side_top = bottom - 2
    side_bottom = _box(
        ax, side_x, side_top, side_w, _lines("Excluded", sum(flow.excluded.values()), flow.excluded)
    )
    mid = main_x + main_w / 2
    next_top = side_bottom - 3
    _arrow(ax, (mid, bottom), (mid, next_top))
    ax.plot([mid, side_x], [(side_top + side_bottom) / 2] * 2, color="#2c5d87", lw=1.0)
    bottom = _box(
        ax,
        main_x,
        next_top,
        main_w,
        [
            f"Induction: atezo/bev (n = {flow.induction})",
            "Response by RECIST 1.1",
            "Resectability by MDT",
        ],
    )
    side_top = bottom - 2
    side_bottom = _box(
        ax,
        side_x,
        side_top,
        side_w,
        _lines("Not randomised", sum(flow.not_randomised.values()), flow.not_randomised),
    )
    next_top = side_bottom - 3
    _arrow(ax, (mid, bottom), (mid, next_top))
    ax.plot([mid, side_x], [(side_top + side_bottom) / 2] * 2, color="#2c5d87", lw=1.0)
    bottom = _box(ax, main_x + 4, next_top, main_w - 8, [f"Randomised (n = {flow.randomised})"])

    n_arms = max(len(flow.arms), 1)
    col_w = 96.0 / n_arms
    arm_top = _banner(ax, bottom - 3, "Allocation") - 3
    arm_bottoms = []
    for i, arm in enumerate(flow.arms):
        x = 2 + i * col_w
        box_w = col_w - 4
        _arrow(ax, (mid, bottom), (x + box_w / 2, arm_top))
        lines = [
            f"Allocated to arm {arm.label} (n = {arm.allocated})",
            f"  {arm.received_label} (n = {arm.received})",
        ]
        if arm.not_received:
            lines += _lines(
                "  Did not receive allocated intervention",
                sum(arm.not_received.values()),
                arm.not_received,
            )
        arm_bottoms.append(_box(ax, x, arm_top, box_w, lines))
    follow_top = _banner(ax, min(arm_bottoms) - 2, "Follow-up") - 3
    follow_bottoms = []
    for i, (arm, arm_bottom) in enumerate(zip(flow.arms, arm_bottoms, strict=True)):
        x = 2 + i * col_w
        box_w = col_w - 4
        _arrow(ax, (x + box_w / 2, arm_bottom), (x + box_w / 2, follow_top))
        lines = [f"Lost to follow-up (n = {arm.lost_to_follow_up})"]
        if arm.completed:
            lines.append(f"Completed allocated treatment (n = {arm.completed})")
        lines += _lines(
            "Discontinued intervention", sum(arm.discontinued.values()), arm.discontinued
        )
        follow_bottoms.append(_box(ax, x, follow_top, box_w, lines, bold_first=False))
    analysed_top = _banner(ax, min(follow_bottoms) - 2, "Analysis") - 3
    lowest = analysed_top
    for i, (arm, follow_bottom) in enumerate(zip(flow.arms, follow_bottoms, strict=True)):
        x = 2 + i * col_w
        box_w = col_w - 4
        _arrow(ax, (x + box_w / 2, follow_bottom), (x + box_w / 2, analysed_top))
        lines = [f"Analysed, intention to treat (n = {arm.analysed})"]
        lines += _lines(
            "Excluded from analysis",
            sum(arm.excluded_from_analysis.values()),
            arm.excluded_from_analysis,
        )
        lowest = min(lowest, _box(ax, x, analysed_top, box_w, lines))
    # Crop to the drawing: same scale (units per inch), less empty paper.
    ax.set_ylim(lowest - 2, height_units)
    fig.set_size_inches(8.8, (height_units - lowest + 2) / 9.0)
    return render(fig, name, "CONSORT flow diagram")
