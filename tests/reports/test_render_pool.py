"""Figures drawn by render worker processes (``talentop.reports.render_pool``): the same PNG
and SVG bytes as drawn in the caller's process, and a figure a worker cannot draw (it does
not pickle, or the worker died) is drawn in the caller's process instead."""

import dataclasses

import pytest
from matplotlib.ticker import FuncFormatter

from talentop.reports import ArmCurve, km_figure, rendering_in
from talentop.reports._render import _Pending, new_figure, render
from talentop.reports.render_pool import RenderPool


def _km(frame):
    arms = [
        ArmCurve(
            a, frame.loc[frame.arm == a, "time"].to_numpy(), frame.loc[frame.arm == a, "event"]
        )
        for a in ("A", "B")
    ]
    return km_figure(arms, name="km_pool", title="TTF", y_label="Free of failure", ci_band=True)


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=2) as running:
        yield running


def test_a_figure_drawn_by_a_worker_is_the_same_bytes(two_arms, pool):
    here = _km(two_arms).figure
    with rendering_in(pool):
        there = _km(two_arms).figure
    assert isinstance(there.output, _Pending)  # handed to a worker, not drawn here
    assert there.png == here.png and there.svg == here.svg
    assert there.png[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in there.svg


def test_several_figures_in_flight_each_get_their_own_drawing(two_arms, pool):
    with rendering_in(pool):
        figures = [_km(two_arms.assign(time=two_arms.time * k)).figure for k in (1, 2, 3)]
    drawn = [(f.png, f.svg) for f in figures]
    assert len(set(drawn)) == 3
    assert drawn[1] == (lambda f: (f.png, f.svg))(
        _km(two_arms.assign(time=two_arms.time * 2)).figure
    )


def test_a_caption_change_keeps_the_pending_drawing(two_arms, pool):
    with rendering_in(pool):
        figure = _km(two_arms).figure
        renamed = dataclasses.replace(figure, caption="Another caption")
    assert renamed.caption == "Another caption" and renamed.svg == figure.svg


def test_a_figure_that_does_not_pickle_is_drawn_here(pool):
    fig = new_figure(3, 2)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1])
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:.1f} mo"))  # a lambda
    with rendering_in(pool):
        drawn = render(fig, "lambda_axis")
    assert not isinstance(drawn.output, _Pending)
    assert "0.0 mo" in drawn.svg


def test_when_the_workers_die_the_figures_are_drawn_here(two_arms):
    here = _km(two_arms).figure
    with RenderPool(workers=1) as dying:
        for process in dying._processes:
            process.kill()
            process.wait()
        with rendering_in(dying):
            figures = [_km(two_arms).figure for _ in range(2)]
        assert [(f.png, f.svg) for f in figures] == [(here.png, here.svg)] * 2


def test_outside_rendering_in_figures_are_drawn_here(two_arms, pool):
    with rendering_in(pool):
        pass
    assert not isinstance(_km(two_arms).figure.output, _Pending)
