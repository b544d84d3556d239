"""The Cox partial likelihood with Efron or Breslow ties, vectorised over tied-time groups.

Sources: Cox (1972); Efron (JASA 1977) for ties; Therneau & Grambsch, "Modeling
Survival Data" (2000), ch. 3 (score residuals, sandwich variance) and ch. 6 (zph).

Layout: rows are sorted by stratum, then time *descending*, so a running sum from the
start of a stratum is the sum over the risk set {T >= t}. Rows sharing (stratum, time)
form a "group", its events first. Per iteration the group sums of 1, x and x x' (weighted
by exp(eta)) come from per-group products of slices of the (1 + p) x n design when tie
groups are large, else from one sparse-times-dense product over precomputed x_j x_k.
With m tied events in a group, Efron's l-th denominator (l = 0..m-1) is
S0 - (l/m) D0, where S0 sums exp(eta) over the risk set and D0 over the tied events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass
class CoxData:
    """Sorted, centred design with its tie-group structure (built once per fit)."""

    z: np.ndarray  # (1 + p, n) C-contiguous: a row of ones, then the centred covariates
    x: np.ndarray  # (n, p) view of z[1:] (Fortran order), sorted
    event: np.ndarray  # (n,) bool, sorted
    time: np.ndarray  # (n,) sorted
    order: np.ndarray  # sorted position -> original row
    ties: str
    group_start: np.ndarray  # (G,) first row of each (stratum, time) group
    group_of_row: np.ndarray  # (n,) group id
    stratum_first_group: np.ndarray  # (G,) first group id of the group's stratum
    events_per_group: np.ndarray  # (G,)
    event_groups: np.ndarray  # ids of the groups with at least one event
    event_row_start: np.ndarray  # first expanded event row of each group in event_groups
    event_chunks: list[tuple[int, int]]  # [first, last) ranges of event_groups
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
    row_work: np.ndarray | None = None  # (n,) scratch for evaluate, allocated on first use
    # case weights (None when unweighted: the tuned path is then untouched)
    weights: np.ndarray | None = None  # (n,) sorted
    mean_event_weight: np.ndarray | None = None  # (G,) mean weight of a group's events
    event_weight: np.ndarray | None = None  # (G,) sum of the weights of a group's events
    total_event_weight: float = 0.0  # number of events when unweighted


#: Bit pattern of the largest finite float64 (as an unsigned integer).
_MAX_FINITE_BITS = np.array(np.finfo(np.float64).max).view(np.uint64)[()]
#: Mean tie-group size from which group sums are computed group by group with BLAS.
BLOCKED_MIN_GROUP_SIZE = 64
#: m * n * k below which OpenBLAS computes a matrix product on one thread
#: (SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4, with some margin).
_BLAS_SINGLE_THREAD_FLOPS = 200_000
#: Expanded Efron event rows handled per chunk in _tie_sums (temporaries stay in cache).
TIE_CHUNK_ROWS = 1 << 14


def prepare(
    x: np.ndarray | Sequence[np.ndarray],
    time: np.ndarray,
    event: np.ndarray,
    strata: np.ndarray,
    ties: str,
    *,
    blocked: bool | None = None,
    weights: np.ndarray | None = None,
) -> CoxData:
    """Sort once, find tied-time groups, gather and centre the covariates once.

    `x` is an (n, p) array or a sequence of p columns (no (n, p) copy is then made before
    the sort). `blocked` forces the per-group BLAS layout (True) or the sparse one
    (False); by default it is chosen from the mean tie-group size. `weights` are positive
    case weights (R coxph's, see `_weigh`).
    """
    columns = list(x.T) if isinstance(x, np.ndarray) else list(x)
    n, p = len(time), len(columns)
    time, event = np.asarray(time, np.float64), np.asarray(event, bool)
    # one sort gives time descending with each tie group's events first (a group's event
    # rows are then one slice): the key is built from the bits of the times, which for
    # finite t >= 0 order like the times (+ 0.0 turns -0.0 into 0.0)
    bits = (time + 0.0).view(np.uint64)
    key = (_MAX_FINITE_BITS - bits) << np.uint64(1)
    key |= (~event).view(np.uint8).astype(np.uint64)
    stratified = strata.min() != strata.max()
    # the default (unstable) sort is several times faster than a stable one; rows with
    # equal keys are interchangeable
    order = np.lexsort((key, strata)) if stratified else np.argsort(key)
    del bits, key
    time, event = time[order], event[order]
    new_group = np.ones(n, bool)
    np.not_equal(time[1:], time[:-1], out=new_group[1:])
    if stratified:
        strata = strata[order]
        new_group[1:] |= strata[1:] != strata[:-1]
    else:
        strata = np.zeros(n, np.int8)  # only read at the group starts below
    group_start = np.flatnonzero(new_group)
    n_groups = len(group_start)
    group_of_row = np.cumsum(new_group, dtype=np.int64)
    group_of_row -= 1
    new_stratum = np.ones(n_groups, bool)
    gs = strata[group_start]
    new_stratum[1:] = gs[1:] != gs[:-1]
    stratum_first_group = np.maximum.accumulate(np.where(new_stratum, np.arange(n_groups), 0))
    if blocked is None:
        blocked = n_groups * BLOCKED_MIN_GROUP_SIZE <= n
    events_per_group = np.add.reduceat(event, group_start, dtype=np.int64)
    event_groups = np.flatnonzero(events_per_group)
    m = events_per_group[event_groups]
    event_row_start = np.cumsum(m) - m
    # chunks of consecutive event groups with about TIE_CHUNK_ROWS expanded rows each
    chunk_of_group = event_row_start // TIE_CHUNK_ROWS
    cuts = np.flatnonzero(np.diff(chunk_of_group)) + 1
    event_chunks = (
        list(zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(m)].tolist(), strict=True))
        if len(m)
        else []
    )
    # expanded event rows: group g contributes m_g rows with l = 0..m_g-1
    event_row_group = np.repeat(event_groups, m)
    if ties == "efron":
        l_index = np.arange(len(event_row_group)) - np.repeat(event_row_start, m)
        event_row_frac = l_index / np.repeat(m, m)
    else:
        event_row_frac = np.zeros(len(event_row_group))
    # one gather per covariate into a contiguous row of z (a row gather of an (n, p)
    # array, or a Fortran one, is slower); the ones row makes 1, x, x x' one product
    z = np.empty((1 + p, n))
    z[0] = 1.0
    for j, column in enumerate(columns):
        np.take(np.asarray(column, dtype=np.float64), order, out=z[1 + j])
    means = z[1:].mean(axis=1)
    z[1:] -= means[:, None]  # centring keeps exp(eta) in range; the likelihood is unchanged
    x = z[1:].T
    pair_j, pair_k = np.triu_indices(p)
    stacked = None
    event_index = np.flatnonzero(event)
    if not blocked:
        stacked = np.empty((n, 1 + p + len(pair_j)))
        stacked[:, : 1 + p] = z.T
        for column, (j, k) in enumerate(zip(pair_j, pair_k, strict=True)):
            np.multiply(x[:, j], x[:, k], out=stacked[:, 1 + p + column])
    data = CoxData(
        z=z,
        x=x,
        event=event,
        time=time,
        order=order,
        ties=ties,
        group_start=group_start,
        group_of_row=group_of_row,
        stratum_first_group=stratum_first_group,
        events_per_group=events_per_group,
        event_groups=event_groups,
        event_row_start=event_row_start,
        event_chunks=event_chunks,
        event_row_group=event_row_group,
        event_row_frac=event_row_frac,
        stacked=stacked,
        event_index=event_index,
        pair_j=pair_j,
        pair_k=pair_k,
        sum_x_events=np.einsum("jn,n->j", z[1:], event.astype(np.float64)),
        means=means,
        risk_matrix=None if stacked is None else _summing_matrix(group_start, n),
        event_matrix=None
        if stacked is None
        else _summing_matrix(np.cumsum(events_per_group) - events_per_group, n, event_index),
        total_event_weight=float(len(event_row_group)),
    )
    if weights is not None:
        _weigh(data, np.asarray(weights, np.float64)[order])
    return data


def _weigh(data: CoxData, w: np.ndarray) -> None:
    """Case weights as R coxph (coxfit6.c): w_i multiplies exp(eta_i) in every risk-set sum
    and the i-th event's terms; Efron's m tied deaths at a time share their mean weight
    (each l-th term of the correction has weight sum(w_D) / m).
    """
    data.weights = w
    weighted_events = np.where(data.event, w, 0.0)
    data.event_weight = np.add.reduceat(weighted_events, data.group_start)
    data.mean_event_weight = data.event_weight / np.maximum(data.events_per_group, 1)
    data.total_event_weight = float(data.event_weight.sum())
    data.sum_x_events = np.einsum("jn,n->j", data.z[1:], weighted_events)


def _blocked_sums(data: CoxData, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Risk-weighted sums of 1, x, x_j x_k per group and over each group's events.

    Used when groups are large; rows of a group are contiguous with its events first.
    One (1+p) x (1+p) product per part (events, then the others) gives all three sums;
    a group's slice stays in cache between the weighting and the product.
    """
    z = data.z
    n = z.shape[1]
    starts = data.group_start
    ends = np.append(starts[1:], n)
    n_groups = len(starts)
    upper = np.triu_indices(z.shape[0])
    event_part = np.zeros((n_groups, len(upper[0])))
    rest_part = np.zeros((n_groups, len(upper[0])))
    # slices small enough that OpenBLAS runs each product on one thread: on a shared
    # machine its threads wait for each other and a fit took up to 5x longer
    step = max(512, _BLAS_SINGLE_THREAD_FLOPS // z.shape[0] ** 2)
    for g, (a, b, m) in enumerate(zip(starts, ends, data.events_per_group, strict=True)):
        for part, lo, hi in ((event_part, a, a + m), (rest_part, a + m, b)):
            if hi > lo:
                total = np.zeros((z.shape[0], z.shape[0]))
                for first in range(lo, hi, step):
                    block = z[:, first : min(first + step, hi)]
                    total += block @ (block * risk[first : first + block.shape[1]]).T
                part[g] = total[upper]
    return event_part + rest_part, event_part


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
    beta: np.ndarray
    shift: float  # max eta: risk = exp(eta - shift) stays <= 1
    s0: np.ndarray  # (G,)
    s1: np.ndarray  # (G, p)
    d1: np.ndarray  # (G, p)
    c0: np.ndarray  # (G,) sum_l 1/den
    c1: np.ndarray  # (G,) sum_l f/den
    group_info: np.ndarray | None = None  # (G, p, p) information per group

    def risk(self, data: CoxData) -> np.ndarray:
        """exp(eta - shift) per sorted row (recomputed: evaluate keeps no n-array)."""
        return np.exp(data.x @ self.beta - self.shift)


def evaluate(data: CoxData, beta: np.ndarray, *, per_group: bool = False) -> Evaluation:
    """Efron/Breslow log-likelihood, score and observed information at `beta`."""
    p = data.x.shape[1]
    # exp(eta - shift) in a per-fit scratch row: a fresh n-array per Newton step costs
    # more in first-touch page faults than the arithmetic (Evaluation.risk recomputes it)
    risk = data.row_work
    if risk is None:
        risk = data.row_work = np.empty(data.z.shape[1])
    # einsum, not matmul: OpenBLAS would thread this gemv, slower on a busy machine
    np.einsum("j,jn->n", beta, data.z[1:], out=risk)
    shift = float(risk.max())
    np.subtract(risk, shift, out=risk)
    np.exp(risk, out=risk)
    if data.weights is not None:
        risk *= data.weights
    # sum of eta over the events without a gather: the covariate sums are precomputed
    eta_events = float(data.sum_x_events @ beta)
    n_groups = len(data.group_start)
    if data.stacked is None:
        group_sums, event_sums = _blocked_sums(data, risk)
    else:
        group_sums = _group_sums(data.risk_matrix, risk, data.stacked)
        event_sums = _group_sums(data.event_matrix, risk[data.event_index], data.stacked)
    sums = _risk_cumsum(data, group_sums)
    s0, s1, s2 = sums[:, 0], sums[:, 1 : 1 + p], sums[:, 1 + p :]
    d0, d1, d2 = event_sums[:, 0], event_sums[:, 1 : 1 + p], event_sums[:, 1 + p :]
    c0, c1, c00, c01, c11, log_den = _tie_sums(data, s0, d0)
    loglik = eta_events - log_den - shift * data.total_event_weight
    score = data.sum_x_events - (s1 * c0[:, None] - d1 * c1[:, None]).sum(axis=0)
    pj, pk = data.pair_j, data.pair_k
    # sum_l (S2 - f D2)/den - a_l a_l', a_l = (S1 - f D1)/den, expanded in c-sums
    pair_terms = s2 * c0[:, None] - s1[:, pj] * s1[:, pk] * c00[:, None]
    if data.ties == "efron":  # the terms in f vanish for Breslow (f = 0)
        pair_terms += (
            (s1[:, pj] * d1[:, pk] + d1[:, pj] * s1[:, pk]) * c01[:, None]
            - d2 * c1[:, None]
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
    return Evaluation(
        loglik, score, information, beta.copy(), shift, s0, s1, d1, c0, c1, group_info
    )


def _tie_sums(data: CoxData, s0: np.ndarray, d0: np.ndarray) -> tuple:
    """Per group: sum_l of 1/den, f/den, 1/den^2, f/den^2, f^2/den^2; and sum of log den.

    den_l = S0 - f_l D0 with f_l = l/m (Efron) or 0 (Breslow), l = 0..m-1.
    """
    n_groups = len(s0)
    groups = data.event_groups
    m = data.events_per_group[groups]
    zeros = np.zeros(n_groups)
    mean_w = data.mean_event_weight
    if data.ties == "breslow":  # den = S0 for every l: closed form, no per-event rows
        if mean_w is not None:  # the group's event weight replaces its count
            m = data.event_weight[groups]
        c0, c00 = zeros.copy(), zeros.copy()
        c0[groups] = m / s0[groups]
        c00[groups] = m / s0[groups] ** 2
        return c0, zeros, c00, zeros, zeros, float(m @ np.log(s0[groups]))
    out = np.zeros((5, n_groups))
    log_den = 0.0
    # chunks of whole groups, about CHUNK event rows each, so the temporaries stay in
    # cache and are never page-faulted in afresh (that costs more than the arithmetic)
    for first, last in data.event_chunks:
        rows = slice(data.event_row_start[first], data.event_row_start[last - 1] + m[last - 1])
        g, f = data.event_row_group[rows], data.event_row_frac[rows]
        den = s0[g]
        den -= f * d0[g]
        inv = 1.0 / den
        inv2 = inv * inv
        f_inv2 = f * inv2
        terms = np.stack([inv, f * inv, inv2, f_inv2, f * f_inv2])
        local_starts = data.event_row_start[first:last] - data.event_row_start[first]
        out[:, groups[first:last]] = np.add.reduceat(terms, local_starts, axis=1)
        if mean_w is None:
            log_den += float(np.log(den).sum())
        else:
            log_den += float(mean_w[g] @ np.log(den))
    if mean_w is not None:
        out *= mean_w
    return (*out, log_den)


def schoenfeld(data: CoxData, ev: Evaluation) -> np.ndarray:
    """Schoenfeld residuals x_i - mean_l a_l for each event row (sorted order), as R."""
    m = np.maximum(data.events_per_group, 1)[:, None]
    mean_a = (ev.s1 * ev.c0[:, None] - ev.d1 * ev.c1[:, None]) / m
    return data.x[data.event] - mean_a[data.group_of_row[data.event]]


def score_residuals(data: CoxData, ev: Evaluation) -> np.ndarray:
    """Per-subject score residuals (sorted order); they sum to the score (Efron-weighted).

    U_i = d_i (x_i - abar_g(i)) - r_i sum_{groups at risk} sum_l w_il (x_i - a_l)/den_l,
    where w_il = 1 - l/m for i among the m tied events of its own group, else 1.
    With case weights the residuals are per unit weight (R's unweighted `residuals(fit,
    "score")`): the sums over l carry the group's mean event weight, abar divides by the
    group's event weight, and sum_i w_i U_i is the score.
    """
    p = data.x.shape[1]
    n_groups = len(data.group_start)
    g, f = data.event_row_group, data.event_row_frac
    s0 = ev.s0
    # recover den and a_l per event row from the group sums
    risk = ev.risk(data)  # exp(eta), unweighted
    weighted = risk if data.weights is None else risk * data.weights
    d0 = np.bincount(data.group_of_row[data.event], weighted[data.event], n_groups)
    den = s0[g] - f * d0[g]
    a = (ev.s1[g] - f[:, None] * ev.d1[g]) / den[:, None]
    share = 1.0 / den if data.weights is None else data.mean_event_weight[g] / den
    b = np.zeros((n_groups, p))  # sum_l a_l / den_l (times the mean event weight)
    c = np.zeros((n_groups, p))  # sum_l f_l a_l / den_l (likewise)
    for j in range(p):
        b[:, j] = np.bincount(g, a[:, j] * share, n_groups)
        c[:, j] = np.bincount(g, f * a[:, j] * share, n_groups)
    # running sums over groups with time <= t (ascending time = reverse of sorted order)
    cum_c0 = _reverse_cumsum_in_stratum(data, ev.c0[:, None])[:, 0]
    cum_b = _reverse_cumsum_in_stratum(data, b)
    rows = data.group_of_row
    resid = -risk[:, None] * (data.x * cum_c0[rows][:, None] - cum_b[rows])
    m = np.maximum(data.events_per_group, 1)[:, None]
    if data.weights is not None:  # c0, c1 carry the mean weight: divide by the weight sum
        m = np.where(data.event_weight > 0, data.event_weight, 1.0)[:, None]
    mean_a = (ev.s1 * ev.c0[:, None] - ev.d1 * ev.c1[:, None]) / m
    e = data.event
    er = rows[e]
    resid[e] += data.x[e] - mean_a[er]
    resid[e] += risk[e][:, None] * (data.x[e] * ev.c1[er][:, None] - c[er])
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


#: R survival's ``coxph.control(toler.chol = .Machine$double.eps^0.75)``.
TOLER_CHOL = float(np.finfo(float).eps ** 0.75)


def singular_pivots(matrix: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Which columns of a symmetric information matrix are singular, by R survival's rule
    (``cholesky2.c``, used by ``coxph``): a Cholesky pivot below ``toler`` times the largest
    positive diagonal (``toler`` itself when no diagonal is positive), or not finite, marks
    its column as singular and is skipped; ``coxph`` then reports that coefficient as NA
    ("X matrix deemed to be singular"). Returns a boolean per column. Written out (a dozen
    lines) because LAPACK's Cholesky stops at the first bad pivot instead of naming each."""
    work = np.array(matrix, dtype=float)
    n = len(work)
    diagonal = np.diag(work)
    largest = diagonal[np.isfinite(diagonal)].max(initial=0.0)
    eps = toler * largest if largest > 0 else toler
    singular = np.zeros(n, bool)
    for i in range(n):
        pivot = work[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            singular[i] = True
            continue
        below = work[i + 1 :, i] / pivot
        work[i + 1 :, i + 1 :] -= np.outer(below, below) * pivot
    return singular
