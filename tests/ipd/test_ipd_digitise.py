"""Digitising KM figures automatically: the round trip with known truth, and bad figures.

Known truth: two simulated arms (``ipd_journal.simulate_arms``: 200 each, HR 0.7, with
censoring) drawn at 1000 x 700 px as a journal would (two colours, censoring ticks, dashed
gridlines, a legend inside the plot, a title, an annotation and a numbers-at-risk table);
the figure is digitised automatically, rebuilt with the true numbers at risk
(``guyot.reconstruct``) and compared with the simulated patients.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pandas as pd
import pytest
from ipd_journal import ARMS, X_MAX, draw_journal_figure, simulate_arms
from ipd_truth import arm_rows, effects, median_within_one_step, survival_gap
from PIL import Image

from talentop.errors import InvalidInput
from talentop.ipd.axes import read_image
from talentop.ipd.clicks import AtRisk, Clicks, clean_clicks
from talentop.ipd.digitise import digitise
from talentop.ipd.guyot import reconstruct
from talentop.ipd.overlay import overlay_png
from talentop.reports import ArmCurve, km_figure

#: The journal figure's axes: 0.83 x 1000 px for 36 months, 0.58 x 700 px for survival 0-1.
X_PER_MONTH = 0.83 * 1000 / X_MAX
Y_PER_UNIT = 0.58 * 700


def rebuild(digitised, table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Reconstruct every arm from its digitised curve (``names``: arm -> curve name)."""
    curves = {curve.name: curve for curve in digitised.curves}
    frames = []
    for arm, name in names.items():
        clicks = curves[name].clicks
        cleaned = clean_clicks(Clicks(clicks["time"].to_numpy(), clicks["survival"].to_numpy()))
        at_risk = AtRisk(table["time"].to_numpy(), table[arm].to_numpy())
        frames.append(reconstruct(cleaned, at_risk).ipd.assign(arm=arm))
    return pd.concat(frames, ignore_index=True)


def assert_quality_bar(data: pd.DataFrame, rebuilt: pd.DataFrame, table: pd.DataFrame,
                       digitised) -> None:  # fmt: skip
    """The issue's bar: survival within 0.02 at every at-risk time, medians within one step
    (``ipd_truth.median_within_one_step``: one event, at the image's resolution of a pixel
    in survival and a line width in time), HR within 0.05 and RMST difference (tau 30
    months, or the figure's end) within 0.5 months."""
    summary = digitised.summary()
    line_px = max(c["line_width_px"] for c in summary["curves"])
    for arm in ARMS:
        true, mine = arm_rows(data, arm), arm_rows(rebuilt, arm)
        assert survival_gap(true, mine, table["time"]) <= 0.02, arm
        true_median, median, ok = median_within_one_step(
            true, mine, noise=summary["survival_per_pixel"],
            slack=line_px * summary["time_per_pixel"],
        )  # fmt: skip
        assert ok, (arm, true_median, median)
    tau = min(30.0, float(rebuilt["time"].max()))
    true_hr, true_rmst = effects(data, ARMS[0], tau=tau)
    hr, rmst_difference = effects(rebuilt, ARMS[0], tau=tau)
    assert hr == pytest.approx(true_hr, abs=0.05)
    assert rmst_difference == pytest.approx(true_rmst, abs=0.5)


def round_trip(tmp_path, seed: int, **drawing) -> None:
    data = simulate_arms(seed)
    path = tmp_path / f"km_{seed}.{'jpg' if drawing.get('jpeg_quality') else 'png'}"
    colours = drawing.get("colours")
    table = draw_journal_figure(data, path, **drawing)
    digitised = digitise(read_image(path), x_range=(0, X_MAX), y_range=(0, 1), curves=2)
    names = {"#1f77b4": "blue", "#d62728": "red", "#0072B2": "blue", "#E69F00": "orange"}
    chosen = dict(zip(ARMS, (names[c] for c in (colours or ("#1f77b4", "#d62728"))), strict=True))
    assert sorted(c.name for c in digitised.curves) == sorted(chosen.values())
    assert_quality_bar(data, rebuild(digitised, table, chosen), table, digitised)


def test_round_trip_meets_the_quality_bar(tmp_path):
    round_trip(tmp_path, 31)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [32, 33, 34, 35])
def test_round_trip_over_seeds(tmp_path, seed):
    round_trip(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize(
    "drawing",
    [
        {"jpeg_quality": 75},
        {"full_frame": False, "legend_loc": "lower left"},
        {"colours": ("#0072B2", "#E69F00")},
    ],
    ids=["jpeg-75", "l-axes-legend-lower-left", "okabe-ito"],
)
def test_round_trip_figure_variants(tmp_path, drawing):
    round_trip(tmp_path, 36, **drawing)


def test_talentop_own_km_figure(tmp_path):
    """talentop's report figure: y axis to 1.02, curves cut at the last tick (30 months),
    dotted median guides in the curves' colours, the legend above the plot."""
    data = simulate_arms(37)
    figure = km_figure([ArmCurve(arm, arm_rows(data, arm)["time"].to_numpy(),
                                 arm_rows(data, arm)["event"].to_numpy()) for arm in ARMS],
                       name="km", title="OS", y_label="Survival", tick_step_months=6)  # fmt: skip
    rgb = np.asarray(Image.open(BytesIO(figure.figure.png)).convert("RGB"), float) / 255
    ticks = figure.at_risk.columns.to_numpy(float)
    digitised = digitise(rgb, x_range=(0, ticks[-1]), y_range=(0, 1.02))
    assert sorted(c.name for c in digitised.curves) == ["blue", "orange"]
    table = pd.DataFrame(
        {"time": ticks, **{arm: figure.at_risk.loc[arm].to_numpy() for arm in ARMS}}
    )
    rebuilt = rebuild(digitised, table, dict(zip(ARMS, ("blue", "orange"), strict=True)))
    truncated = data.assign(event=np.where(data["time"] > ticks[-1], 0, data["event"]),
                            time=np.minimum(data["time"], ticks[-1]))  # fmt: skip
    assert_quality_bar(truncated, rebuilt, table.iloc[:-1], digitised)


def test_summary_scale_and_overlay(tmp_path):
    data = simulate_arms(38)
    path = tmp_path / "km.png"
    draw_journal_figure(data, path)
    rgb = read_image(path)
    digitised = digitise(rgb, x_range=(0, X_MAX), y_range=(0, 1))
    summary = digitised.summary()
    assert summary["plot_area"]["method"] == "frame"
    assert summary["pixels_per_unit"]["x"] == pytest.approx(X_PER_MONTH, rel=0.005)
    assert summary["pixels_per_unit"]["y"] == pytest.approx(Y_PER_UNIT, rel=0.005)
    assert [c["monotonicity_repairs"] for c in summary["curves"]] == [0, 0]
    for curve in digitised.curves:
        clicks = curve.clicks
        assert clicks["time"].iloc[0] == 0 and clicks["survival"].iloc[0] == pytest.approx(1)
        assert np.all(np.diff(clicks["survival"]) <= 0) and np.all(np.diff(clicks["time"]) >= 0)
    overlay = Image.open(BytesIO(overlay_png(rgb, digitised)))
    assert overlay.size == (1000, 700)


def test_calibration_points_when_no_axes_are_drawn(tmp_path):
    """Without axes the user gives two points per axis (px,py=x,y); the curves then read
    as well as with axes."""
    data = simulate_arms(39)
    path = tmp_path / "bare.png"
    table = draw_journal_figure(data, path, hide_axes=True)
    rgb = read_image(path)
    with pytest.raises(InvalidInput, match="expected a KM figure with its axes drawn"):
        digitise(rgb, x_range=(0, X_MAX), y_range=(0, 1))
    (c0, r0), (c1, r1) = table.attrs["pixels"].values()
    points = [(c0, r0, 0.0, 0.0), (c1, r0, X_MAX, None), (c0, r1, None, 1.0)]
    digitised = digitise(rgb, x_range=None, y_range=None, calibration=points)
    assert digitised.area.method == "calibration points"
    rebuilt = rebuild(digitised, table, {ARMS[0]: "blue", ARMS[1]: "red"})
    assert_quality_bar(data, rebuilt, table, digitised)


def test_black_solid_and_dashed_curves_are_told_apart(tmp_path):
    """Two black curves, one dashed: peeled apart and named by line style."""
    data = simulate_arms(7)
    path = tmp_path / "black.png"
    table = draw_journal_figure(data, path, colours=("black", "black"), styles=("-", "--"))
    digitised = digitise(read_image(path), x_range=(0, X_MAX), y_range=(0, 1), curves=2)
    assert sorted(c.name for c in digitised.curves) == ["black_dashed", "black_solid"]
    rebuilt = rebuild(digitised, table, {ARMS[0]: "black_solid", ARMS[1]: "black_dashed"})
    assert_quality_bar(data, rebuilt, table, digitised)


def test_same_colour_same_style_crossing_is_refused(tmp_path):
    """Two solid black curves that meet: which is which after that cannot be read."""
    path = tmp_path / "black.png"
    draw_journal_figure(simulate_arms(7), path, colours=("black", "black"))
    with pytest.raises(InvalidInput, match="same line style crossing.*digitise them by hand"):
        digitise(read_image(path), x_range=(0, X_MAX), y_range=(0, 1), curves=2)


def test_curve_count_that_does_not_match(tmp_path):
    path = tmp_path / "km.png"
    draw_journal_figure(simulate_arms(40), path)
    rgb = read_image(path)
    with pytest.raises(
        InvalidInput,
        match=r"--curves=1: expected as many curves as the figure's curve colours: found 2",
    ):
        digitise(rgb, x_range=(0, X_MAX), y_range=(0, 1), curves=1)
    with pytest.raises(
        InvalidInput, match=r"--curves=3: expected at most 2: found 2 curve colours"
    ):
        digitise(rgb, x_range=(0, X_MAX), y_range=(0, 1), curves=3)


def test_images_that_are_not_km_figures(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), "white").save(blank)
    with pytest.raises(InvalidInput, match="expected a KM figure with its axes drawn"):
        digitise(read_image(blank), x_range=(0, 36), y_range=(0, 1))
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (60, 40), "white").save(tiny)
    with pytest.raises(InvalidInput, match="expected at least 100 x 100 px"):
        read_image(tiny)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(InvalidInput, match="a PNG or JPEG image that can be read"):
        read_image(text)
    with pytest.raises(InvalidInput, match="--x-range/--y-range"):
        digitise(read_image(blank), x_range=None, y_range=(0, 1))
