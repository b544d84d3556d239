"""Text covariates in Cox: R's treatment contrasts (levels sorted, the first the reference,
dummies for the others), here checked against the same model fitted on hand-made 0/1
columns by statsmodels PHReg (test oracle) and by talentop itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.duration.hazard_regression import PHReg

from talentop.errors import InvalidInput
from talentop.stats import cox


@pytest.fixture(scope="module")
def lung_text(lung):
    ecog = lung["ph.ecog"].map(lambda v: np.nan if pd.isna(v) else f"ECOG {int(v)}")
    return lung.assign(sex_text=lung.sex.map({1: "male", 2: "female"}), ecog=ecog)


def test_text_covariate_equals_hand_made_dummies(lung_text):
    fit = cox(lung_text, duration="time", event="status", covariates=["age", "sex_text", "ecog"])
    assert list(fit.coef.index) == [
        "age", "sex_text=male", "ecog=ECOG 1", "ecog=ECOG 2", "ecog=ECOG 3",
    ]  # fmt: skip
    assert fit.references == {"sex_text": "female", "ecog": "ECOG 0"}
    complete = lung_text.dropna(subset=["ph.ecog"])
    dummies = pd.DataFrame(
        {
            "age": complete.age,
            "male": (complete.sex == 1).astype(float),
            **{f"e{k}": (complete["ph.ecog"] == k).astype(float) for k in (1, 2, 3)},
        }
    )
    oracle = PHReg(complete.time, dummies, complete.status, ties="efron").fit()
    assert_allclose(fit.coef.to_numpy(), oracle.params, rtol=1e-8)
    assert_allclose(fit.se.to_numpy(), oracle.bse, rtol=1e-6)
    assert fit.n_missing == 1 and fit.tests.loc["likelihood_ratio", "df"] == 5
    assert "sex_text: reference level 'female'" in str(fit)


def test_named_reference_level(lung_text):
    default = cox(lung_text, duration="time", event="status", covariates=["sex_text"])
    male = cox(
        lung_text, duration="time", event="status", covariates=["sex_text"],
        reference={"sex_text": "male"},
    )  # fmt: skip
    assert list(male.coef.index) == ["sex_text=female"]
    assert male.coef.iloc[0] == pytest.approx(-default.coef.iloc[0], rel=1e-10)
    assert male.loglik == pytest.approx(default.loglik, rel=1e-12)
    with pytest.raises(InvalidInput, match=r"reference: sex_text='other' is not a level"):
        cox(lung_text, duration="time", event="status", covariates=["sex_text"],
            reference={"sex_text": "other"})  # fmt: skip
    with pytest.raises(InvalidInput, match="'age' holds numbers, not text levels"):
        cox(lung_text, duration="time", event="status", covariates=["age"],
            reference={"age": 60})  # fmt: skip


def test_prediction_codes_new_rows_the_same_way(lung_text):
    fit = cox(lung_text, duration="time", event="status", covariates=["age", "sex_text"])
    numeric = cox(lung_text.assign(male=(lung_text.sex == 1).astype(float)),
                  duration="time", event="status", covariates=["age", "male"])  # fmt: skip
    rows = lung_text.head(4)
    assert_allclose(
        fit.predict_survival(rows, times=[100, 300]).to_numpy(),
        numeric.predict_survival(
            rows.assign(male=(rows.sex == 1).astype(float)), times=[100, 300]
        ).to_numpy(),  # fmt: skip
        rtol=1e-10,
    )
    with pytest.raises(InvalidInput, match=r"sex_text: level\(s\) not seen in the fit"):
        fit.predict_survival(rows.assign(sex_text="unknown"))
