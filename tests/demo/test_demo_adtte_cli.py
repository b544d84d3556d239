"""`talentop km` on the demo's own adtte.csv (issue 18's reproduction on the real file)."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from talentop.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.db]
runner = CliRunner()


def test_km_reads_the_demo_adtte_os_deaths_not_reversed_censorings(small_demo):
    path = small_demo.report.parent / "adtte.csv"
    adtte = pd.read_csv(path)
    deaths = int(((adtte.PARAMCD == "OS") & (adtte.CNSR == 0)).sum())
    assert deaths == small_demo.figures["os_events"]
    wrong = runner.invoke(app, ["km", str(path), "--time", "AVAL", "--event", "CNSR"])
    assert wrong.exit_code == 2 and "--censor" in " ".join(wrong.output.split())
    right = runner.invoke(
        app, ["km", str(path), "--time", "AVAL", "--censor", "CNSR", "--param", "OS", "--json"]
    )
    assert right.exit_code == 0, right.output
    (summary,) = json.loads(right.stdout)["summary"]
    assert summary["events"] == deaths and summary["n"] == int((adtte.PARAMCD == "OS").sum())
