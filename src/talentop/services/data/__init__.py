"""Clean data, provably (data management): corrections with reasons and re-derivation, edit
checks, data queries, source-data verification, locks, electronic signatures, the audit
trail for people. Each call is checked against the permission table like every service."""

from talentop.services.data.checks import EditCheckWarnings, check_patient, run_checks
from talentop.services.data.clarification import (
    answer_query,
    close_query,
    list_queries,
    query_counts,
    raise_query,
    reopen_query,
)
from talentop.services.data.corrections import CATEGORIES, correct_record
from talentop.services.data.history import export_audit, history_rows
from talentop.services.data.locks import list_locks, lock_records, unlock_records
from talentop.services.data.signatures import list_signatures, sign
from talentop.services.data.strata import stratification_errors
from talentop.services.data.verification import patient_data_status, verify_form

__all__ = [
    "CATEGORIES",
    "EditCheckWarnings",
    "answer_query",
    "check_patient",
    "close_query",
    "correct_record",
    "export_audit",
    "history_rows",
    "list_locks",
    "list_queries",
    "list_signatures",
    "lock_records",
    "patient_data_status",
    "query_counts",
    "raise_query",
    "reopen_query",
    "run_checks",
    "sign",
    "stratification_errors",
    "unlock_records",
    "verify_form",
]
