"""`talentop design --sided 2`: symmetric two-sided bounds from the command line."""

import json

import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.design.boundaries import gs_boundaries

runner = CliRunner()

LOOKS = "0.3333333333,0.6666666667,1"


def _design(*extra: str) -> dict:
    result = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--looks", LOOKS, *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_two_sided_bounds_equal_the_library_and_gsdesign():
    """--sided 2 --alpha 0.05 (two-sided total) is gsDesign(k=3, test.type=2, alpha=0.025,
    sfu=sfLDOF), alpha being per side in gsDesign. Its upper bounds equal the library's
    gs_boundaries(sided=2) exactly, and the published one-sided gsDesign values 3.7103,
    2.5114, 1.9930 (test.type=1; the lower side barely interacts) within 1e-3."""
    data = _design("--sided", "2", "--alpha", "0.05", "--json")
    library = gs_boundaries(information=[1 / 3, 2 / 3, 1], alpha=0.05, sided=2, beta=0.2)
    upper = [row["efficacy_z"] for row in data["looks"]]
    assert upper == pytest.approx(library.efficacy_z, abs=1e-9)
    assert upper == pytest.approx([3.7103, 2.5114, 1.9930], abs=1e-3)
    assert [row["lower_z"] for row in data["looks"]] == pytest.approx([-z for z in upper])
    assert data["sided"] == 2 and data["bounds"]["sided"] == 2
    assert data["alpha"] == 0.05 and data["alpha_one_sided"] == 0.025
    assert data["looks"][-1]["cumulative_alpha"] == pytest.approx(0.05, abs=1e-6)
    for row in data["looks"]:
        assert row["harm_hr"] == pytest.approx(1 / row["efficacy_hr"])
        assert row["nominal_p"] == pytest.approx(2 * row["nominal_p_one_sided"], rel=1e-12)
    # two-sided nominal p 2 (1 - Phi(z)) at the gsDesign bounds 3.7103, 2.5114, 1.9930
    nominal = [row["nominal_p"] for row in data["looks"]]
    assert nominal == pytest.approx([0.000207, 0.01202, 0.04626], abs=1e-5)
    assert data["bounds"]["nominal_p"] == pytest.approx(nominal)
    # --sided 2 without --alpha defaults to 0.05 two-sided: the same design
    assert _design("--sided", "2", "--json")["looks"] == data["looks"]


def test_two_sided_events_use_z_alpha_over_two():
    """Schoenfeld fixed events with two-sided 0.05 equal one-sided 0.025 (z = 1.959964)."""
    two = _design("--sided", "2", "--alpha", "0.05", "--json")
    one = _design("--alpha", "0.025", "--json")
    assert two["fixed_design_events"] == pytest.approx(
        4 * (1.959964 + 0.841621) ** 2 / 0.260943, rel=1e-4
    )
    assert two["fixed_design_events"] == pytest.approx(one["fixed_design_events"], rel=1e-12)
    assert one["sided"] == 1 and one["alpha_one_sided"] == 0.025


def test_two_sided_table_title_and_columns():
    result = runner.invoke(
        app, ["design", "--hazard-ratio", "0.6", "--looks", LOOKS, "--sided", "2"]
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "two-sided alpha 0.05 (0.025 per side, symmetric)" in out
    assert "HR harm" in out and "±3.71" in out
    # the two-sided nominal p column shows 2 (1 - Phi(z)), on the cumulative alpha's scale
    assert "nominal p (2-sided)" in out and "cum. alpha (2-sided)" in out
    assert "0.04626" in out and "0.02313" not in out
    one = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--looks", LOOKS])
    assert "one-sided alpha 0.025" in " ".join(one.output.split())
    assert "0.02313" in one.output  # one-sided nominal p 1 - Phi(1.9930), unchanged


def test_bad_sided_and_two_sided_futility_exit_2():
    bad = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--sided", "3"])
    assert bad.exit_code == 2
    assert "sided=3: expected 1 (one-sided) or 2 (two-sided symmetric)" in bad.output
    futility = runner.invoke(
        app,
        [
            "design",
            "--hazard-ratio",
            "0.6",
            "--looks",
            "0.5,1",
            "--sided",
            "2",
            "--futility",
            "obf",
        ],  # fmt: skip
    )
    assert futility.exit_code == 2
    assert "futility with sided=2: expected sided=1" in futility.output
