"""From a published Kaplan-Meier figure to patient-level data, and its re-analysis.

The chain (docs/ipd.md): ``axes`` finds the plot area of a figure image and its pixel -> data
map; ``colours`` classes the ink; ``trace`` follows each curve and measures its steps (``peel``
splits curves of one colour); ``digitise`` puts these together and ``overlay`` draws the check
picture. ``clicks`` reads hand-digitised curves and numbers-at-risk tables; ``guyot`` rebuilds
patients (Guyot et al. 2012); ``accuracy`` reports how well they reproduce the curve;
``reanalyse`` runs ``talentop.stats`` on two arms and ``hazards`` fits the simulator's
piecewise-exponential hazards to them.
"""

from talentop.ipd.accuracy import Accuracy, accuracy
from talentop.ipd.clicks import AtRisk, Clicks, clean_clicks, read_at_risk, read_clicks
from talentop.ipd.digitise import Digitised, DigitisedCurve, digitise
from talentop.ipd.guyot import Reconstruction, reconstruct
from talentop.ipd.hazards import IPDCalibration, fit_hazards
from talentop.ipd.reanalyse import ArmData, Reanalysis, read_ipd, reanalyse

__all__ = [
    "Accuracy",
    "ArmData",
    "AtRisk",
    "Clicks",
    "Digitised",
    "DigitisedCurve",
    "IPDCalibration",
    "Reanalysis",
    "Reconstruction",
    "accuracy",
    "clean_clicks",
    "digitise",
    "fit_hazards",
    "read_at_risk",
    "read_clicks",
    "read_ipd",
    "reanalyse",
    "reconstruct",
]
