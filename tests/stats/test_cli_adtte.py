"""The stats commands read the project's own ADTTE correctly (issue 18): CNSR is a
censoring flag (CDISC: 0 = event, a positive code = censored), PARAMCD picks the endpoint.

Reproduction: `talentop km adtte.csv --time AVAL --event CNSR` read every parameter at once
with the meaning of CNSR reversed (78 "deaths" instead of 34 on the demo's ADTTE)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.stats import cox, kaplan_meier, logrank

runner = CliRunner()


@pytest.fixture
def adtte(tmp_path):
    """Two parameters per patient, CNSR codes 0 (event), 1, 2, 3 (censoring reasons)."""
    rng = np.random.default_rng(18)
    n = 80
    arm = np.repeat(["A", "B"], n // 2)
    rows = []
    for paramcd, scale in (("OS", 20.0), ("TTF", 9.0)):
        aval = np.round(rng.exponential(scale, n), 2)
        cnsr = np.where(rng.uniform(size=n) < 0.4, rng.integers(1, 4, n), 0)
        for i in range(n):
            rows.append({"USUBJID": f"P{i:03d}", "ARM": arm[i], "PARAMCD": paramcd,
                         "AVAL": aval[i], "CNSR": int(cnsr[i]),
                         "SEX": "female" if i % 3 else "male"})  # fmt: skip
    frame = pd.DataFrame(rows)
    path = tmp_path / "adtte.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result, " ".join(result.output.split())


def test_event_cnsr_is_refused_with_the_right_option(adtte):
    path, _ = adtte
    result, message = _run("km", path, "--time", "AVAL", "--event", "CNSR", "--param", "OS")
    assert result.exit_code == 2
    assert "CNSR is the CDISC censoring flag" in message and "Use --censor CNSR" in message


def test_several_parameters_need_param(adtte):
    path, _ = adtte
    result, message = _run("km", path, "--time", "AVAL", "--censor", "CNSR")
    assert result.exit_code == 2
    assert "PARAMCD holds 2 parameters (OS, TTF); expected --param" in message
    result, message = _run("km", path, "--time", "AVAL", "--censor", "CNSR", "--param", "PFS")
    assert result.exit_code == 2 and "--param='PFS': not in" in message and "OS, TTF" in message


def test_km_censor_param_equals_the_library_on_the_os_rows(adtte):
    path, frame = adtte
    result, _ = _run("km", path, "--time", "aval", "--censor", "cnsr", "--param", "os",
                     "--group", "arm", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    os_rows = frame[frame.PARAMCD == "OS"]
    for row in payload["summary"]:
        block = os_rows[os_rows.ARM == row["group"]]
        km = kaplan_meier(block.AVAL, (block.CNSR == 0).astype(int))
        assert row["events"] == int((block.CNSR == 0).sum()) == km.events
        assert row["median"] == pytest.approx(km.median, rel=1e-12)
    assert payload["input"]["columns"] == {"--time": "AVAL", "--censor": "CNSR", "--group": "ARM"}
    assert payload["input"]["rows_used"] == 80


def test_logrank_and_cox_with_censor_and_a_text_covariate(adtte):
    path, frame = adtte
    ttf = frame[frame.PARAMCD == "TTF"].assign(event=lambda f: (f.CNSR == 0).astype(int))
    result, _ = _run("logrank", path, "--time", "AVAL", "--censor", "CNSR", "--param", "TTF",
                     "--group", "ARM", "--json")  # fmt: skip
    assert result.exit_code == 0
    expected = logrank(ttf.AVAL, ttf.event, ttf.ARM)
    assert json.loads(result.stdout)["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    result, _ = _run("cox", path, "--time", "AVAL", "--censor", "CNSR", "--param", "TTF",
                     "-x", "ARM", "-x", "SEX", "--reference", "SEX=male", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    fit = cox(ttf, duration="AVAL", event="event", covariates=["ARM", "SEX"],
              reference={"SEX": "male"})  # fmt: skip
    assert payload["coef"] == pytest.approx(fit.coef.to_dict(), rel=1e-12)
    assert set(payload["coef"]) == {"ARM=B", "SEX=female"}
    assert payload["references"] == {"ARM": "A", "SEX": "male"}


def test_missing_values_are_left_out_the_same_way_by_every_command(tmp_path):
    """R's na.omit in km, logrank and cox alike; the rows left out are listed by number."""
    frame = pd.DataFrame({
        "time": [5, 8, None, 12, 3, 9, 14, 2, 7, 11],
        "event": [1, 0, 1, 1, None, 1, 0, 1, 1, 0],
        "arm": ["A", "B", "A", "B", "A", "B", "A", None, "A", "B"],
        "age": [60, 55, 70, 65, 50, 58, 62, 61, 49, 66],
    })  # fmt: skip
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)
    complete = frame.dropna()
    for args in (
        ["km", "--group", "arm"],
        ["logrank", "--group", "arm"],
        ["cox", "-x", "arm", "-x", "age"],
    ):
        result, _ = _run(args[0], path, "--time", "time", "--event", "event", *args[1:], "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)["input"]
        assert report["rows_used"] == len(complete) == 7
        assert [d["row"] for d in report["dropped_rows"]] == [3, 5, 8]
        assert report["dropped_rows"][0]["missing"] == ["time"]
        human, text = _run(args[0], path, "--time", "time", "--event", "event", *args[1:])
        assert (
            "3 row(s) left out for a missing value: row 3 (time); row 5 (event); row 8 (arm)"
            in text
        )
