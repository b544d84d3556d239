"""Concealed stratified randomisation: one allocation per patient, one locked transaction.

Strata come from the protocol (depth of response via ``Stratum.level_for``, ECOG...; site
when ``stratify_by_site``). The scheme (permuted blocks with random sizes, or Pocock-Simon
minimisation) is ``talentop.randomization``, seeded by the randomisation key generated at
``db init``. The key lives outside the database (``talentop.store.keys``: a 0600 key file or
``TALENTOP_RANDOMISATION_KEY``); the database holds its identifier and a keyed fingerprint,
checked before every allocation, so a missing or replaced key is refused, never used. Each
allocation row names its key (``key_id``), so its audit entry binds it.

Key rotation (``talentop db rotate-key``): a stratum finishes the permuted block it is in
with the key that started it, then starts its next block on the new key, so every block
stays complete and balanced. Minimisation uses the current key from the next allocation.

Concurrency (style.md, the edc-randomization warning): after everything is read, the slot
is taken by one ``UPDATE ... SET next_slot = next_slot + 1 RETURNING``, which locks the
stratum counter row until the transaction ends (on SQLite ``BEGIN IMMEDIATE`` already holds
the write lock); the arm is computed, the allocation inserted with a unique patient and a
unique (stratum, slot) together with the patient's new state (one statement on
PostgreSQL), and everything commits together or not at all. A rollback gives the slot back.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from talentop.clinical.rules import patient_value
from talentop.errors import AllocationError, IntegrityError, InvalidInput
from talentop.services._context import (
    Context,
    enter,
    event_date,
    not_before,
    transition_ops,
)
from talentop.services._validate import RecordId, service
from talentop.services.consent_rules import consent_scope
from talentop.services.randomisation_gate import check_randomisable
from talentop.services.states import RANDOMISED
from talentop.store import direct as store_direct
from talentop.store import models as m
from talentop.store import path_queries, queries, writes

#: Counter row serialising minimisation (every allocation depends on all earlier ones).
MINIMISATION_COUNTER = "__minimisation__"

#: Test hook: called after the counter update, before the allocation row (crash tests).
_after_counter_update: Callable[[], None] | None = None


@functools.lru_cache(maxsize=8)
def _block_scheme(secret: bytes, ratio: tuple[tuple[str, int], ...], block_sizes: tuple[int, ...]):
    # Cached so block boundaries of each stratum are not regenerated on every allocation.
    from talentop.randomization import PermutedBlockScheme

    return PermutedBlockScheme(dict(ratio), list(block_sizes), secret)


def _key_secret(ctx: Context, key: Any) -> bytes:
    """The secret of a registered key, from outside the database, checked against its
    keyed fingerprint: a missing or replaced key refuses the allocation."""
    return ctx.store.keys.checked_randomisation_key(key.key_id, key.fingerprint)


def _stratum_value(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    variable: str,
    overrides: dict[str, Any],
    facts: path_queries.RandomisationFacts | None = None,
) -> Any:
    if variable in overrides:
        return overrides[variable]
    if variable == "depth_of_response_pct":
        if facts is not None:
            response = facts.response
        else:
            response = queries.latest_response(
                session, patient.id, ctx.protocol.assessment.criteria
            )
        if response is None:
            return None
        # The engine's exact fraction, not the rounded float: a stratum edge must not flip.
        exact = json.loads(response.result_json).get("depth_of_response_exact")
        return Fraction(exact) if exact is not None else response.depth_of_response_pct
    if facts is not None:
        record_json = facts.screening_record
    else:
        screening = queries.latest(session, m.Screening, patient.id, m.Screening.screened_on)
        record_json = screening.record_json if screening else None
    record = json.loads(record_json) if record_json else {}
    return patient_value(record, variable)


def stratum_levels(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    overrides: dict[str, Any] | None = None,
    facts: path_queries.RandomisationFacts | None = None,
) -> dict[str, str]:
    """The patient's level of every protocol stratum (plus site when stratified by site).
    ``facts``: the patient's latest response and screening already read by ``randomise``."""
    overrides = overrides or {}
    levels: dict[str, str] = {}
    problems = []
    for stratum in ctx.protocol.strata:
        value = _stratum_value(session, ctx, patient, stratum.variable, overrides, facts)
        if value is None:
            problems.append(
                f"{stratum.variable}=None: needed for stratum {stratum.id}; record it first"
            )
            continue
        levels[stratum.id] = stratum.level_for(value)
    if problems:
        raise InvalidInput(problems)
    if ctx.protocol.randomisation.stratify_by_site:
        levels["site"] = (
            facts.site_code
            if facts is not None
            else queries.get(session, m.Site, patient.site_id).code
        )
    return levels


def allocation_document(
    ctx: Context, patient: m.Patient, row: m.Randomisation, site_code: str
) -> dict[str, Any]:
    """The printable allocation record of ``row`` (``reads.allocation_record``)."""
    arm = ctx.protocol.arm(row.arm)
    return {
        "allocation_number": row.id,
        "patient_id": patient.id,
        "pseudo_id": patient.pseudo_id,
        "site": site_code,
        "arm": row.arm,
        "arm_name": arm.name,
        "stratum": row.stratum_key,
        "stratum_levels": json.loads(row.levels_json),
        "scheme": row.scheme,
        "randomised_on": row.randomised_on.isoformat(),
        "randomised_by": row.randomised_by,
        "randomised_at": row.randomised_at.isoformat() + "Z",
        "protocol": f"{ctx.protocol.id} v{ctx.protocol.version}",
    }


def _audit_counter(
    session: Any,
    ctx: Context,
    counter_key: str,
    taken: queries.TakenSlot,
    key_id: str | None,
    start: int,
) -> None:
    """Audit the counter as the slot left it (created, then moved on one slot; its key
    columns set when the stratum starts a block on another key, written here, rare)."""
    before = {
        "stratum_key": counter_key,
        "next_slot": taken.slot,
        "key_id": taken.key_id,
        "key_start_slot": taken.key_start_slot,
    }
    if taken.created:
        writes.audit_applied(session, ctx.actor, m.StratumCounter, None, before)
    if (key_id, start) != (taken.key_id, taken.key_start_slot):
        queries.set_counter_key(session, counter_key, key_id, start)
    after = {**before, "next_slot": taken.slot + 1, "key_id": key_id, "key_start_slot": start}
    writes.audit_applied(session, ctx.actor, m.StratumCounter, before, after)


@service
def randomise(
    ctx: Context,
    patient_id: RecordId,
    randomised_on: dt.date | str,
    *,
    stratum_values: dict[str, Any] | None = None,
    record: bool = False,
) -> dict[str, Any]:
    """Allocate a patient the protocol's gate lets through (``randomisation_gate``):
    ``assessed`` (after induction: MDT-resectable PR/SD) or ``screened`` (at entry)
    -> ``randomised``.

    ``stratum_values`` may give current values (e.g. ``{"ecog": 0}`` measured today);
    otherwise depth of response comes from the latest assessment and the rest from the
    screening record. Returns ``{"arm", "stratum", "randomisation_id"}`` (and with
    ``record``, ``"allocation"``: the allocation record ``allocation_record`` prints, built
    from the rows just written); the arm exists nowhere before this call commits.
    """
    from talentop.randomization import MinimisationScheme, stratum_key

    on = event_date(ctx, "randomised_on", randomised_on)
    rules = ctx.protocol.randomisation
    criteria = ctx.protocol.assessment.criteria
    reads = path_queries.randomisation_reads(patient_id, criteria, consent_scope("randomise"))
    with ctx.store.unit_of_work() as session:
        # The consent gate and everything checked (one statement: the gate's response and
        # MDT review included) are read right after the patient's lock, sent with it in one
        # round trip on PostgreSQL; the stratum counter is locked last, so its lock is held
        # only for the writes that follow.
        with store_direct.reads_ahead(session, reads):
            patient = enter(session, ctx, "randomise", patient_id)
            facts = path_queries.randomisation_facts(session, patient.id, criteria)
        floor, what = check_randomisable(session, ctx, patient, facts)  # the protocol's gate
        not_before("randomised_on", on, floor, what)
        if facts.randomised:
            raise AllocationError(
                f"patient {patient_id} is already randomised; exactly one allocation per patient"
            )
        levels = stratum_levels(session, ctx, patient, stratum_values, facts)
        key = stratum_key(levels)
        current = facts.current_key
        if current is None:
            raise AllocationError("no randomisation key: run `talentop db init` first")
        current_secret = _key_secret(ctx, current)
        # Everything above only read; the counter is locked from here to the commit, which
        # follows two statements later: the slot taken (its UPDATE locks the row), then the
        # allocation, the state-history row and the patient's new state as one statement
        # (PostgreSQL), then the audit entries with the commit.
        if rules.scheme == "permuted_block":
            taken = queries.take_stratum_slot(session, key, current.key_id)
            slot = taken.slot
            ratio, sizes = tuple(rules.ratio.items()), tuple(rules.block_sizes)
            key_id, start = taken.key_id or current.key_id, taken.key_start_slot or 0
            if key_id == current.key_id:
                scheme = _block_scheme(current_secret, ratio, sizes)
            else:
                by_id = {k.key_id: k for k in queries.randomisation_keys(session)}
                if key_id not in by_id:
                    raise IntegrityError(
                        f"stratum {key} is on randomisation key {key_id}, which the database "
                        "does not know: run talentop audit verify"
                    )
                scheme = _block_scheme(_key_secret(ctx, by_id[key_id]), ratio, sizes)
                if scheme.block_for(key, slot - start)[1] == 0:
                    # The old key's block is complete: the stratum moves to the current key.
                    key_id, start = current.key_id, slot
                    scheme = _block_scheme(current_secret, ratio, sizes)
            arm = scheme.arm_for(key, slot - start)
            counter_key = key
        else:
            counter_key = MINIMISATION_COUNTER
            taken = queries.take_stratum_slot(session, counter_key, current.key_id)
            slot = taken.slot
            key_id, start = current.key_id, taken.key_start_slot or 0
            existing = [
                {**json.loads(r.levels_json), "arm": r.arm} for r in queries.randomisations(session)
            ]
            scheme = MinimisationScheme(
                dict(rules.ratio), sorted(levels), rules.minimisation_p, current_secret
            )
            arm = scheme.assign(existing, levels, slot)
        _audit_counter(session, ctx, counter_key, taken, key_id, start)
        if _after_counter_update is not None:
            _after_counter_update()
        allocation = m.Randomisation(
            patient_id=patient.id,
            site_id=patient.site_id,
            scheme=rules.scheme,
            stratum_key=key,
            levels_json=json.dumps(levels, sort_keys=True),
            slot=slot,
            arm=arm,
            randomised_on=on,
            randomised_by=ctx.actor,
            key_id=key_id,
        )
        steps = transition_ops(
            session,
            ctx,
            patient,
            RANDOMISED,
            on_date=on,
            reason=f"arm {arm}",
            previous=facts.last_step,
            arm=arm,
        )
        writes.write_together(session, ctx.actor, [("insert", allocation), *steps])
        out = {"randomisation_id": allocation.id, "arm": arm, "stratum": key}
        if record:
            out["allocation"] = allocation_document(ctx, patient, allocation, facts.site_code)
        return out
