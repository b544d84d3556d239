"""RECIST 1.1 and mRECIST tumour response, computed exactly and explained per time point.

Sources: Eisenhauer EA et al., New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247. Lencioni R, Llovet JM.
Modified RECIST (mRECIST) assessment for hepatocellular carcinoma. Semin Liver Dis
2010;30:52-60. Input and output JSON: examples/recist/README.md (contract in design.md).
"""

from talentop.recist.engine import ENGINE_VERSION, evaluate, evaluate_both
from talentop.recist.model import RESECTED
from talentop.recist.resection import NO_EVIDENCE_OF_DISEASE
from talentop.recist.strata import response_stratum, sd_subcategory

__all__ = [
    "ENGINE_VERSION",
    "NO_EVIDENCE_OF_DISEASE",
    "RESECTED",
    "evaluate",
    "evaluate_both",
    "response_stratum",
    "sd_subcategory",
]
