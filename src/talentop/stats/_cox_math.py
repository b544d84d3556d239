"""The Cox partial likelihood with Efron or Breslow ties, vectorised over tied-time groups.

Sources: Cox (1972); Efron (JASA 1977) for ties; Therneau & Grambsch, "Modeling
Survival Data" (2000), ch. 3 (score residuals, sandwich variance) and ch. 6 (zph).

Layout: rows are sorted by stratum, then time *descending*, so a running sum from the
start of a stratum is the sum over the risk set {T >= t}. Rows sharing (stratum, time)
form a "group"; group sums come from one sparse-times-dense product per iteration.
With m tied events in a group, Efron's l-th denominator (l = 0..m-1) is
S0 - (l/m) D0, where S0 sums exp(eta) over the risk set and D0 over the tied events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass
class CoxData:
    """Sorted, centred design with its tie-group structure (built once per fit)."""

    x: np.ndarray  # (n, p) centred covariates, sorted
    event: np.ndarray  # (n,) bool, sorted
    time: np.ndarray  # (n,) sorted
    order: np.ndarray  # sorted position -> original row
    group_start: np.ndarray  # (G,) first row of each (stratum, time) group
    group_of_row: np.ndarray  # (n,) group id
    stratum_first_group: np.ndarray  # (G,) first group id of the group's stratum
    events_per_group: np.ndarray  # (G,)
    event_row_group: np.ndarray  # (E,) group of each event row (expanded for Efron)
    event_row_frac: np.ndarray  # (E,) l/m for Efron, 0 for Breslow
    stacked: np.ndarray | None  # (n, 1 + p + p(p+1)/2): 1, x, x_j x_k; None if blocked
    event_index: np.ndarray  # sorted positions of the events
    pair_j: np.ndarray
    pair_k: np.ndarray
    sum_x_events: np.ndarray
    means: np.ndarray
    risk_matrix: sparse.csr_matrix | None  # (G, n): row g sums the rows of group g
    event_matrix: sparse.csr_matrix | None  # (G, n): row g sums the events of group g


def prepare(
    x: np.ndarray, time: np.ndarray, event: np.ndarray, strata: np.ndarray, ties: str
) -> CoxData:
    """Sort once, find tied-time groups, precompute the products x_j x_k."""
    n, p = x.shape
    if strata.min() == strata.max():
        order = np.argsort(-time)  # order within tied times does not matter
    else:
        order = np.lexsort((-time, strata))
    time, event, strata = time[order], event[order], strata[order]
    new_group = np.ones(n, bool)
    new_group[1:] = (time[1:] != time[:-1]) | (strata[1:] != strata[:-1])
    group_start = np.flatnonzero(new_group)
    group_of_row = np.cumsum(new_group) - 1
    new_stratum = np.ones(len(group_start), bool)
    gs = strata[group_start]
    new_stratum[1:] = gs[1:] != gs[:-1]
    stratum_first_group = np.maximum.accumulate(
        np.where(new_stratum, np.arange(len(group_start)), 0)
    )
    events_per_group = np.bincount(group_of_row, weights=event, minlength=len(group_start))
    events_per_group = events_per_group.astype(np.int64)
    # expanded event rows: group g contributes m_g rows with l = 0..m_g-1
    event_row_group = np.repeat(np.arange(len(group_start)), events_per_group)
    if ties == "efron":
        first_row = np.concatenate([[0], np.cumsum(events_per_group)[:-1]])
        l_index = np.arange(len(event_row_group)) - first_row[event_row_group]
        event_row_frac = l_index / events_per_group[event_row_group]
    else:
        event_row_frac = np.zeros(len(event_row_group))
    pair_j, pair_k = np.triu_indices(p)
    stacked = None
    blocked = len(group_start) * BLOCKED_MIN_GROUP_SIZE <= n
    if blocked:
        # few, large tie groups: put each group's events first, then per-group BLAS
        # products need no n x p^2 array (less memory, no page faults on big allocations)
        within = np.argsort(group_of_row * 2 + (~event), kind="stable")
        order, time, event = order[within], time[within], event[within]
    # one gather of the covariates in the final order (a random gather is costly)
    x = np.take(x, order, axis=0)
    means = x.mean(axis=0)
    x -= means  # centring keeps exp(eta) in range; the partial likelihood is unchanged
    if not blocked:
        stacked = np.empty((n, 1 + p + len(pair_j)))
        stacked[:, 0] = 1.0
        stacked[:, 1 : 1 + p] = x
        columns = np.asfortranarray(x)  # column products are fast on contiguous columns
        for column, (j, k) in enumerate(zip(pair_j, pair_k, strict=True)):
            np.multiply(columns[:, j], columns[:, k], out=stacked[:, 1 + p + column])
    event_index = np.flatnonzero(event)
    return CoxData(
        x=x,
        event=event,
        time=time,
        order=order,
        group_start=group_start,
        group_of_row=group_of_row,
        stratum_first_group=stratum_first_group,
        events_per_group=events_per_group,
        event_row_group=event_row_group,
        event_row_frac=event_row_frac,
        stacked=stacked,
        event_index=event_index,
        pair_j=pair_j,
        pair_k=pair_k,
        sum_x_events=event.astype(np.float64) @ x,
        means=means,
        risk_matrix=None if stacked is None else _summing_matrix(group_start, n),
        event_matrix=None
        if stacked is None
        else _summing_matrix(
            np.concatenate([[0], np.cumsum(events_per_group)[:-1]]), n, event_index
        ),
    )


#: Mean tie-group size from which group sums are computed group by group with BLAS.
BLOCKED_MIN_GROUP_SIZE = 64


def _blocked_sums(data: CoxData, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Risk-weighted sums of 1, x, x_j x_k per group and over each group's events.

    Used when groups are large; rows of a group are contiguous with its events first.
    """
    n, p = data.x.shape
    q = 1 + p + len(data.pair_j)
    starts = data.group_start
    ends = np.append(starts[1:], n)
    sums = np.empty((len(starts), q))
    event_sums = np.zeros((len(starts), q))
    pj, pk = data.pair_j, data.pair_k
    for g, (a, b, m) in enumerate(zip(starts, ends, data.events_per_group, strict=True)):
        xs, rs = data.x[a:b], risk[a:b]
        ws = xs * rs[:, None]
        sums[g, 0] = rs.sum()
        sums[g, 1 : 1 + p] = rs @ xs  # BLAS gemv beats a strided axis-0 sum
        sums[g, 1 + p :] = (xs.T @ ws)[pj, pk]
        if m:
            event_sums[g, 0] = rs[:m].sum()
            event_sums[g, 1 : 1 + p] = rs[:m] @ xs[:m]
            event_sums[g, 1 + p :] = (xs[:m].T @ ws[:m])[pj, pk]
    return sums, event_sums


def _summing_matrix(
    starts: np.ndarray, n: int, rows: np.ndarray | None = None
) -> sparse.csr_matrix:
    """CSR (groups x n) with one entry per used row; its data are reset to the weights.

    `rows` (default: all) are the row positions summed, contiguous per group.
    """
    rows = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
    indptr = np.append(starts, len(rows)).astype(np.int64)
    return sparse.csr_matrix((np.ones(len(rows)), rows, indptr), shape=(len(starts), n))


def _group_sums(matrix: sparse.csr_matrix, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-group sums of weights * rows: the prebuilt CSR structure with new data."""
    # setting .data in place skips scipy's O(n) format checks on every iteration
    matrix.data[:] = weights
    return matrix @ rows


def _risk_cumsum(data: CoxData, per_group: np.ndarray) -> np.ndarray:
    """Sum over the risk set: running sum over groups within each stratum."""
    running = np.cumsum(per_group, axis=0)
    before = np.where(
        (data.stratum_first_group > 0)[:, None],
        running[np.maximum(data.stratum_first_group - 1, 0)],
        0.0,
    )
    return running - before


@dataclass
class Evaluation:
    """Log partial likelihood, score and information at one beta (+ per-group parts)."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    risk: np.ndarray  # exp(eta - shift), sorted rows
    s0: np.ndarray  # (G,)
    s1: np.ndarray  # (G, p)
    d1: np.ndarray  # (G, p)
    c0: np.ndarray  # (G,) sum_l 1/den
    c1: np.ndarray  # (G,) sum_l f/den
    group_info: np.ndarray | None = None  # (G, p, p) information per group


def evaluate(data: CoxData, beta: np.ndarray, *, per_group: bool = False) -> Evaluation:
    """Efron/Breslow log-likelihood, score and observed information at `beta`."""
    n, p = data.x.shape
    eta = data.x @ beta
    shift = eta.max()
    risk = np.exp(eta - shift)
    eta_events = float(eta[data.event_index].sum())
    n_groups = len(data.group_start)
    if data.stacked is None:
        group_sums, event_sums = _blocked_sums(data, risk)
    else:
        group_sums = _group_sums(data.risk_matrix, risk, data.stacked)
        event_sums = _group_sums(data.event_matrix, risk[data.event_index], data.stacked)
    sums = _risk_cumsum(data, group_sums)
    s0, s1, s2 = sums[:, 0], sums[:, 1 : 1 + p], sums[:, 1 + p :]
    d0, d1, d2 = event_sums[:, 0], event_sums[:, 1 : 1 + p], event_sums[:, 1 + p :]
    g, f = data.event_row_group, data.event_row_frac
    den = s0[g] - f * d0[g]
    inv = 1.0 / den
    inv2 = inv * inv
    c0 = np.bincount(g, inv, n_groups)
    c1 = np.bincount(g, f * inv, n_groups)
    c00 = np.bincount(g, inv2, n_groups)
    c01 = np.bincount(g, f * inv2, n_groups)
    c11 = np.bincount(g, f * f * inv2, n_groups)
    loglik = eta_events - float(np.log(den).sum()) - shift * len(g)
    score = data.sum_x_events - (s1 * c0[:, None] - d1 * c1[:, None]).sum(axis=0)
    pj, pk = data.pair_j, data.pair_k
    # sum_l (S2 - f D2)/den - a_l a_l', a_l = (S1 - f D1)/den, expanded in c-sums
    pair_terms = (
        s2 * c0[:, None]
        - d2 * c1[:, None]
        - s1[:, pj] * s1[:, pk] * c00[:, None]
        + (s1[:, pj] * d1[:, pk] + d1[:, pj] * s1[:, pk]) * c01[:, None]
        - d1[:, pj] * d1[:, pk] * c11[:, None]
    )
    information = np.zeros((p, p))
    information[pj, pk] = pair_terms.sum(axis=0)
    information[pk, pj] = information[pj, pk]
    group_info = None
    if per_group:
        group_info = np.zeros((n_groups, p, p))
        group_info[:, pj, pk] = pair_terms
        group_info[:, pk, pj] = pair_terms
    return Evaluation(loglik, score, information, risk, s0, s1, d1, c0, c1, group_info)


def schoenfeld(data: CoxData, ev: Evaluation) -> np.ndarray:
    """Schoenfeld residuals x_i - mean_l a_l for each event row (sorted order), as R."""
    m = np.maximum(data.events_per_group, 1)[:, None]
    mean_a = (ev.s1 * ev.c0[:, None] - ev.d1 * ev.c1[:, None]) / m
    return data.x[data.event] - mean_a[data.group_of_row[data.event]]


def score_residuals(data: CoxData, ev: Evaluation) -> np.ndarray:
    """Per-subject score residuals (sorted order); they sum to the score (Efron-weighted).

    U_i = d_i (x_i - abar_g(i)) - r_i sum_{groups at risk} sum_l w_il (x_i - a_l)/den_l,
    where w_il = 1 - l/m for i among the m tied events of its own group, else 1.
    """
    p = data.x.shape[1]
    n_groups = len(data.group_start)
    g, f = data.event_row_group, data.event_row_frac
    s0 = ev.s0
    # recover den and a_l per event row from the group sums
    d0 = np.bincount(data.group_of_row[data.event], ev.risk[data.event], n_groups)
    den = s0[g] - f * d0[g]
    a = (ev.s1[g] - f[:, None] * ev.d1[g]) / den[:, None]
    b = np.zeros((n_groups, p))  # sum_l a_l / den_l
    c = np.zeros((n_groups, p))  # sum_l f_l a_l / den_l
    for j in range(p):
        b[:, j] = np.bincount(g, a[:, j] / den, n_groups)
        c[:, j] = np.bincount(g, f * a[:, j] / den, n_groups)
    # running sums over groups with time <= t (ascending time = reverse of sorted order)
    cum_c0 = _reverse_cumsum_in_stratum(data, ev.c0[:, None])[:, 0]
    cum_b = _reverse_cumsum_in_stratum(data, b)
    rows = data.group_of_row
    resid = -ev.risk[:, None] * (data.x * cum_c0[rows][:, None] - cum_b[rows])
    m = np.maximum(data.events_per_group, 1)[:, None]
    mean_a = (ev.s1 * ev.c0[:, None] - ev.d1 * ev.c1[:, None]) / m
    e = data.event
    er = rows[e]
    resid[e] += data.x[e] - mean_a[er]
    resid[e] += ev.risk[e][:, None] * (data.x[e] * ev.c1[er][:, None] - c[er])
    return resid


def _reverse_cumsum_in_stratum(data: CoxData, per_group: np.ndarray) -> np.ndarray:
    """Sum over groups of the same stratum with time <= this group's time."""
    total = _risk_cumsum(data, per_group)  # groups with time >= t (inclusive)
    n_groups = len(data.group_start)
    last = np.empty(n_groups, np.int64)
    # last group of each stratum: one before the next stratum's first group
    firsts = np.unique(data.stratum_first_group)
    ends = np.append(firsts[1:], n_groups) - 1
    last[:] = ends[np.searchsorted(firsts, data.stratum_first_group)]
    stratum_total = total[last]  # running sum at the end of the stratum
    # sum over t' <= t = stratum total - sum over t' > t = total_end - (total_at_t - own)
    return stratum_total - total + per_group
