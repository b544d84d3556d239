"""Time-to-event endpoints as an ADaM ADTTE dataset (pure derivation + file export).

- ``PatientTimeline``: one patient's dated facts.
- ``derive_adtte(...)``: TTF, OS, PFS (RECIST 1.1), PFSMR (mRECIST) per patient, with
  FDA 2007 Appendix 3 Table A censoring and CDISC CNSR codes (``CENSORING_CODES``).
- ``write_xpt`` (SAS transport v5), ``to_csv``.
"""

from talentop.endpoints.codes import CENSORING_CODES, EVENT, PARAMETERS, censoring_codes_table
from talentop.endpoints.derive import derive_adtte
from talentop.endpoints.export import censoring_codes_markdown, to_csv, write_xpt
from talentop.endpoints.timeline import PatientTimeline

__all__ = [
    "CENSORING_CODES",
    "EVENT",
    "PARAMETERS",
    "PatientTimeline",
    "censoring_codes_markdown",
    "censoring_codes_table",
    "derive_adtte",
    "to_csv",
    "write_xpt",
]
