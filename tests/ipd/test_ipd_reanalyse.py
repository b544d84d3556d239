"""Re-analysis of two arms and the piecewise hazards fitted to them, against lifelines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ipd_journal import ARMS, simulate_arms
from ipd_truth import arm_rows

from talentop.errors import InvalidInput
from talentop.ipd.hazards import fit_hazards
from talentop.ipd.reanalyse import ArmData, piecewise_hazard_ratios, reanalyse, write_reanalysis
from talentop.stats import kaplan_meier, rmst


def arms(seed: int) -> tuple[ArmData, ArmData]:
    data = simulate_arms(seed)
    return tuple(
        ArmData(
            arm, arm_rows(data, arm)["time"].to_numpy(), arm_rows(data, arm)["event"].to_numpy()
        )
        for arm in ARMS
    )


def coded(a: ArmData, b: ArmData) -> pd.DataFrame:
    return pd.DataFrame({"time": np.concatenate([a.time, b.time]),
                         "event": np.concatenate([a.event, b.event]),
                         "arm": np.r_[np.ones(a.time.size), np.zeros(b.time.size)]})  # fmt: skip


def test_piecewise_hazard_ratios_match_lifelines_time_varying_cox():
    """Oracle: lifelines CoxTimeVaryingFitter on (start, stop] episodes split at 0, 6, 12
    months with one arm x interval covariate per interval. Its partial likelihood factorises
    over the intervals, so each coefficient equals the Cox fit among those at risk at the
    interval's start (what talentop fits)."""
    from lifelines import CoxTimeVaryingFitter

    data = coded(*arms(41))
    cuts = [0.0, 6.0, 12.0]
    ours = piecewise_hazard_ratios(data, cuts)
    bounds = [*cuts, math.inf]
    episodes = []
    for patient, row in enumerate(data.itertuples()):
        for k, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
            if row.time <= start:
                break
            end = min(row.time, stop)
            episode = {"id": patient, "start": start, "stop": end,
                       "event": int(row.event == 1 and row.time <= stop)}  # fmt: skip
            episode.update({f"x{j}": row.arm * (j == k) for j in range(len(cuts))})
            episodes.append(episode)
    fitter = CoxTimeVaryingFitter()
    fitter.fit(pd.DataFrame(episodes), id_col="id", start_col="start", stop_col="stop",
               event_col="event")  # fmt: skip
    lifelines_hr = np.exp(fitter.params_[[f"x{j}" for j in range(len(cuts))]].to_numpy())
    assert ours["hr"].to_numpy() == pytest.approx(lifelines_hr, rel=1e-5)
    lifelines_se = fitter.standard_errors_[[f"x{j}" for j in range(len(cuts))]].to_numpy()
    ours_se = (np.log(ours["ci_upper"]) - np.log(ours["hr"])) / 1.959964
    assert ours_se.to_numpy() == pytest.approx(lifelines_se, rel=1e-4)
    assert ours["events_a"].sum() + ours["events_b"].sum() == data["event"].sum()


def test_reanalysis_estimates_and_report(tmp_path):
    a, b = arms(42)
    result = reanalyse(a, b, taus=[12, 24], landmarks=[12], cuts=[0, 6])
    hr, low, high = result.hazard_ratio
    assert low < hr < high < 1  # the simulated HR is 0.7
    data = coded(a, b)
    direct = rmst(data["time"], data["event"], tau=24, group=data["arm"], reference=0)
    assert result.rmst_table().loc[1, "difference"] == pytest.approx(direct.difference)
    assert result.rmst_table().loc[1, "difference"] > 0  # arm A lives longer: A - B > 0
    landmark = result.landmarks.set_index("arm").loc[a.name]
    assert landmark["survival"] == pytest.approx(kaplan_meier(a.time, a.event).survival_at(12.0))
    assert result.medians()["median"].tolist() == [kaplan_meier(x.time, x.event).median
                                                  for x in (a, b)]  # fmt: skip
    payload = result.to_dict()
    assert payload["arms"] == list(ARMS) and 0 < payload["ph_test"]["p"] < 1
    index = write_reanalysis(result, tmp_path / "report", title="Re-analysis")
    html = index.read_text(encoding="utf-8")
    assert "Piecewise hazard ratio" in html and "RMST difference" in html
    assert (tmp_path / "report" / "figures" / "km.png").is_file()
    assert (tmp_path / "report" / "figures" / "piecewise_hr.png").is_file()


def test_an_arm_without_events_still_gets_km_log_rank_and_rmst(tmp_path):
    """A reconstructed arm with no events (all censored): the Cox HR diverges (monotone
    likelihood), so it is "not estimable" with the reason, and so is the PH test; the
    Kaplan-Meier, log-rank and RMST still stand. Before, the whole re-analysis stopped on
    the Cox model's ConvergenceError. Log-rank oracle: lifelines ``logrank_test``."""
    from lifelines.statistics import logrank_test

    a = ArmData("A", np.array([1.0, 2, 3, 4, 5, 6, 8, 10]), np.array([1, 0, 1, 0, 1, 0, 1, 0]))
    b = ArmData("B", np.array([1.0, 2, 3, 4, 5, 6, 8, 10]), np.zeros(8, int))
    result = reanalyse(a, b, taus=[10], landmarks=[5], cuts=[0, 4])
    assert result.cox is None and result.ph is None
    assert "perfectly separates events" in result.cox_reason
    assert all(math.isnan(x) for x in result.hazard_ratio)
    peer = logrank_test(a.time, b.time, a.event, b.event)
    assert result.logrank.statistic == pytest.approx(peer.test_statistic, rel=1e-10)
    assert result.logrank.p_value == pytest.approx(peer.p_value, rel=1e-10)
    data = coded(a, b)
    direct = rmst(data["time"], data["event"], tau=10, group=data["arm"], reference=0)
    assert result.rmst_table().loc[0, "difference"] == pytest.approx(direct.difference)
    payload = result.to_dict()
    assert payload["cox"]["hr"] is None and "separates" in payload["cox"]["reason"]
    assert payload["ph_test"] is None
    html = write_reanalysis(result, tmp_path / "report", title="Re-analysis").read_text()
    assert "not estimable (covariate &#39;arm&#39; perfectly separates events" in html
    assert "not assessable (no hazard ratio)" in html
    assert "<td>NR (NR–NR)</td>" in html  # arm B's median: not reached, not "not estimable"
    assert "not estimable (not reached)" not in html


def test_reanalyse_cli_without_events_in_one_arm(tmp_path):
    """The command prints the reasons and writes strict JSON (no NaN)."""
    import json

    from typer.testing import CliRunner

    from talentop.cli import app

    times = "\n".join(f"{t},{e}" for t, e in [(1, 1), (2, 0), (3, 1), (4, 0), (5, 1), (8, 0)])
    (tmp_path / "a.csv").write_text("time,event\n" + times + "\n")
    (tmp_path / "b.csv").write_text("time,event\n1,0\n2,0\n3,0\n4,0\n6,0\n9,0\n")
    args = ["reanalyse", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out"]
    table = CliRunner().invoke(app, [*args, str(tmp_path / "r1")], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "HR a vs b: not estimable (covariate 'arm' perfectly separates" in table.output
    assert "PH test P = not assessable" in table.output
    assert "NR-NR" not in table.output.split("Piecewise")[1]  # an HR is not "not reached"

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    out = CliRunner().invoke(app, [*args, str(tmp_path / "r2"), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output, parse_constant=refuse)
    assert payload["cox"]["hr"] is None and payload["logrank"]["p"] < 0.2


def test_reanalysis_refuses_times_beyond_follow_up():
    a, b = arms(43)
    with pytest.raises(InvalidInput) as error:
        reanalyse(a, b, taus=[120], landmarks=[-1], cuts=[3, 6])
    problems = " ".join(error.value.problems)
    assert "tau=120" in problems and "landmark=-1" in problems
    assert "expected distinct cut times starting at 0" in problems


def test_piecewise_exponential_fit_matches_lifelines():
    """Oracle: lifelines PiecewiseExponentialFitter (numerical maximum likelihood) on the
    same breakpoints; talentop's closed form is events / time at risk per piece."""
    from lifelines import PiecewiseExponentialFitter

    a, b = arms(44)
    fit = fit_hazards([a, b], [0, 3, 9, 15])
    for arm, fitted in zip((a, b), fit.arms, strict=True):
        peer = PiecewiseExponentialFitter(breakpoints=[3, 9, 15]).fit(arm.time, arm.event)
        lifelines_rates = 1 / peer.summary["coef"].to_numpy()
        ours = np.array([rate for _, rate in fitted.pieces])
        assert ours == pytest.approx(lifelines_rates, rel=1e-4)
        assert sum(fitted.events) == int(arm.event.sum())


def test_piecewise_fit_recovers_known_hazards_and_reports_its_fit():
    """Exponential arms (HR 0.7, control median 12): every piece's hazard is near the true
    one (within 4 standard errors, sqrt(d) / exposure), the model median near the KM median."""
    a, b = arms(45)
    fit = fit_hazards([a, b], [0, 6, 12])
    control = math.log(2) / 12
    for arm, truth in zip(fit.arms, (0.7 * control, control), strict=True):
        for (_, rate), events, exposure in zip(arm.pieces, arm.events, arm.exposure, strict=True):
            assert abs(rate - truth) <= 4 * math.sqrt(events) / exposure
        # the KM tail (few at risk) wanders; the pointwise band is the fair yardstick
        assert arm.max_abs_difference < 0.1 and arm.inside_band > 0.9
        assert arm.model_median == pytest.approx(arm.km_median, rel=0.15)
    table = fit.hazard_table()
    assert table["hazard_ratio"].between(0.4, 1.1).all()
    assert fit.to_dict()["arms"][0]["hazards"][0] == [0.0, fit.arms[0].pieces[0][1]]


def test_piecewise_fit_needs_events_in_the_last_piece():
    a, b = arms(46)
    with pytest.raises(InvalidInput, match="no events after 40"):
        fit_hazards([a, b], [0, 40])
    with pytest.raises(InvalidInput, match="--pieces"):
        fit_hazards([a, b], [1, 2])
