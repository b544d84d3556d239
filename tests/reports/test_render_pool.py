"""Figures drawn by forked children (``talentop.reports.render_pool``): the same PNG and SVG
bytes as drawn in the caller's process; no more children at once than the pool's
workers; a figure whose child fails, or read after the pool closed, is drawn in the
caller's process instead."""

import dataclasses
import os

import pytest
from matplotlib.ticker import FuncFormatter

from talentop.reports import ArmCurve, km_figure, rendering_in
from talentop.reports._render import _Pending, new_figure, render
from talentop.reports.render_pool import RenderPool

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork: drawn in-process")


def _km(frame, name="km_pool"):
    arms = [
        ArmCurve(
            a, frame.loc[frame.arm == a, "time"].to_numpy(), frame.loc[frame.arm == a, "event"]
        )
        for a in ("A", "B")
    ]
    return km_figure(arms, name=name, title="TTF", y_label="Free of failure", ci_band=True)


def _drawn(figure):
    return figure.png, figure.svg


def test_a_figure_drawn_by_a_child_is_the_same_bytes(two_arms):
    here = _km(two_arms).figure
    with RenderPool(workers=2) as pool, rendering_in(pool):
        there = _km(two_arms).figure
        assert isinstance(there.output, _Pending)  # handed to a child, not drawn here
        assert _drawn(there) == _drawn(here)
    assert there.png[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in there.svg


def test_no_more_children_than_workers_and_every_figure_its_own(two_arms):
    expected = [_drawn(_km(two_arms.assign(time=two_arms.time * k)).figure) for k in (1, 2, 3)]
    with RenderPool(workers=1) as pool, rendering_in(pool):
        figures = [_km(two_arms.assign(time=two_arms.time * k)).figure for k in (1, 2, 3)]
        assert len(pool._running) <= 1
        assert [_drawn(f) for f in figures] == expected
    assert len(set(expected)) == 3


def test_a_caption_change_keeps_the_pending_drawing(two_arms):
    with RenderPool() as pool, rendering_in(pool):
        figure = _km(two_arms).figure
        renamed = dataclasses.replace(figure, caption="Another caption")
        assert renamed.caption == "Another caption" and renamed.svg == figure.svg


def test_a_figure_with_a_lambda_formatter_is_drawn_by_a_child_too():
    """Nothing is pickled on the way in: the child already holds the figure."""
    fig = new_figure(3, 2)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1])
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:.1f} mo"))
    with RenderPool() as pool, rendering_in(pool):
        drawn = render(fig, "lambda_axis")
        assert isinstance(drawn.output, _Pending)
        assert "0.0 mo" in drawn.svg


def _fail(_fig):
    raise RuntimeError("the child cannot draw")


def test_when_a_child_fails_the_figure_is_drawn_here(two_arms):
    here = _drawn(_km(two_arms).figure)
    with RenderPool(workers=2) as pool, rendering_in(pool):
        pool.draw = _fail  # only the children draw with it
        figures = [_km(two_arms).figure for _ in range(2)]
        assert all(isinstance(f.output, _Pending) for f in figures[:1])
        assert [_drawn(f) for f in figures] == [here, here]


def test_a_figure_read_after_the_pool_closed_is_drawn_here(two_arms):
    here = _drawn(_km(two_arms).figure)
    with RenderPool() as pool, rendering_in(pool):
        late = _km(two_arms).figure
    assert not os.path.exists(pool._folder.name)  # the children's files are gone
    assert _drawn(late) == here


def test_outside_rendering_in_figures_are_drawn_here(two_arms):
    with RenderPool() as pool, rendering_in(pool):
        pass
    assert not isinstance(_km(two_arms).figure.output, _Pending)


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError, match="workers=0"):
        RenderPool(workers=0)
