"""Individual patient data from a digitised KM curve and its numbers at risk (Guyot 2012).

Written from the description in Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary
analysis of survival data: reconstructing the data from published Kaplan-Meier survival
curves. BMC Med Res Methodol 2012;12:9 (the "modified iterative KM" algorithm):

1. Clean the clicks: sorted, starting at (0, 1), non-increasing (``clicks.clean_clicks``).
   Here a click is also added at every at-risk time, carrying the curve's value there
   (linear between the clicks around it), so every interval of the at-risk table starts
   on a click and a drop between sparse clicks is not pushed past the interval's end.
2. Split the clicks into the intervals [t_i, t_i+1) of the at-risk table.
3. For each interval with a published number at its end: guess the censored count from the
   curve, c = round(n_i S(t_i+1) / S(t_i) - n_i+1); spread the c censorings evenly over the
   interval; walk the clicks computing events d_k = round(n_k (1 - S_k / S_hat)), where
   S_hat is the reconstructed KM at the last click with an event, and the number at risk
   n_k+1 = n_k - d_k - (censored in [T_k, T_k+1)); then correct c by the difference between
   the reconstructed and published number at the interval's end and repeat until they match.
4. The last interval has no number at its end: with the total number of events, choose its
   censored count so the reconstructed total matches; without it, censor at the average
   rate (per unit time) of the earlier intervals.
5. Events at their click times, censorings at their spread times, and the patients still at
   risk after the last click censored there, make the rows (time, event).

Deliberate additions (each in a comment below): iterations are capped and cycles stopped
(rounding can make c oscillate), keeping the best c; a number at an interval's end that
cannot be matched exactly is reconciled by censoring at the interval's end (too many left)
or carried as reconstructed (too few), and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput
from talentop.ipd.clicks import AtRisk, Clicks, check_at_risk

#: Corrections of the censored count tried per interval before settling on the best.
MAX_ITERATIONS = 50


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructed patients (``ipd``: time, event), with the per-interval accounting."""

    ipd: pd.DataFrame
    intervals: pd.DataFrame
    clicks: Clicks
    at_risk: AtRisk
    total_events: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Pass:
    """One walk through an interval's clicks with a given censored count."""

    n_end: int
    events: np.ndarray
    censor_times: np.ndarray
    km_last: float
    km_after: np.ndarray  # the reconstructed KM after each click


def _step_value(time: np.ndarray, survival: np.ndarray, t: float) -> float:
    """The curve's value at t: the last click at or before t (a right-continuous step)."""
    index = np.searchsorted(time, t, side="right") - 1
    return float(survival[max(index, 0)])


def _value_at(time: np.ndarray, survival: np.ndarray, t: float) -> float:
    """The curve at t: linear between the clicks around t (the last at or before t, which is
    the lower one at a drop, and the first after); on a flat run between the two corners
    of a step that is the step's value, between sparse hand clicks it does not lag."""
    left = int(np.searchsorted(time, t, side="right")) - 1
    if left < 0:
        return float(survival[0])
    if left + 1 >= time.size or time[left] == t:
        return float(survival[left])
    share = (t - time[left]) / (time[left + 1] - time[left])
    return float(survival[left] + share * (survival[left + 1] - survival[left]))


def _with_at_risk_clicks(clicks: Clicks, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add a click at every at-risk time not already clicked, at the curve's value there."""
    time, survival = clicks.time, clicks.survival
    missing = [t for t in times if not np.any(np.isclose(time, t, rtol=0, atol=1e-12))]
    if not missing:
        return time, survival
    added = np.array([_value_at(time, survival, t) for t in missing])
    all_time = np.concatenate([time, missing])
    all_survival = np.concatenate([survival, added])
    order = np.lexsort((-all_survival, all_time))
    return all_time[order], all_survival[order]


def _walk(
    survival: np.ndarray,
    times: np.ndarray,
    t_end: float,
    n_start: int,
    censored: int,
    km_last: float,
) -> _Pass:
    """Events at each click of one interval given ``censored`` spread evenly over it."""
    t_start = times[0]
    spread = np.arange(1, censored + 1) / (censored + 1)
    censor_times = t_start + (t_end - t_start) * spread
    bounds = np.append(times, t_end)
    # censorings in [T_k, T_k+1): each falls after the events at T_k
    per_click = np.searchsorted(censor_times, bounds[1:], "left") - np.searchsorted(
        censor_times, bounds[:-1], "left"
    )
    first = np.searchsorted(censor_times, bounds[:-1], "left").tolist()
    # the walk is sequential (each click's events depend on the one before): plain Python
    # floats and ints here, numpy scalars would cost more than the arithmetic
    level, per_click, spread_times = survival.tolist(), per_click.tolist(), censor_times.tolist()
    events = [0] * len(level)
    km_after = [0.0] * len(level)
    used: list[float] = []
    at_risk = n_start
    for k, value in enumerate(level):
        if km_last > 0 and at_risk > 0:
            d = min(max(round(at_risk * (1 - value / km_last)), 0), at_risk)  # half to even
            if d > 0:
                km_last *= 1 - d / at_risk
                events[k] = d
        # nobody is left to censor once everyone has had the event or been censored
        take = min(per_click[k], at_risk - events[k])
        used.extend(spread_times[first[k] : first[k] + take])
        at_risk -= events[k] + take
        km_after[k] = km_last
    return _Pass(int(at_risk), np.array(events), np.asarray(used), km_last, np.array(km_after))


def _fit_interval(survival, times, t_end, n_start, n_end, km_last) -> tuple[_Pass, int]:
    """Guyot's iteration: adjust the censored count until the number at the end matches."""
    s_start, s_end = survival[0], _step_value(times, survival, t_end)
    guess = n_start * s_end / s_start - n_end if s_start > 0 else 0.0
    censored = int(np.clip(np.rint(guess), 0, max(n_start - n_end, 0)))
    best, seen = None, set()
    for _ in range(MAX_ITERATIONS):
        result = _walk(survival, times, t_end, n_start, censored, km_last)
        seen.add(censored)
        diff = result.n_end - n_end
        if best is None or abs(diff) < abs(best.n_end - n_end):
            best = result
        if diff == 0:
            break
        following = int(np.clip(censored + diff, 0, n_start))
        # rounding can make the correction cycle: stop at a count already tried
        if following in seen:
            break
        censored = following
    return best, best.n_end - n_end


def _last_interval(survival, times, t_end, n_start, km_last, events_before, total_events,
                   censor_rate) -> _Pass:  # fmt: skip
    """The final interval: match the total events if given, else censor at the past rate."""
    if total_events is None:
        guess = int(min(np.rint(censor_rate * (t_end - times[0])), n_start))
        # deliberate addition: no more censoring than the curve allows (a curve that drops
        # to 0 at its end needs someone left at risk to die): the most censoring, up to
        # the guess, that follows the clicks as closely as any (within 0.01)
        walks = [_walk(survival, times, t_end, n_start, c, km_last) for c in range(guess + 1)]
        errors = [float(np.max(np.abs(w.km_after - survival))) for w in walks]
        best = min(errors)
        return next(w for w, e in zip(walks[::-1], errors[::-1], strict=True) if e <= best + 0.01)
    target = total_events - events_before

    def events(c: int) -> _Pass:
        return _walk(survival, times, t_end, n_start, c, km_last)

    # events fall as censoring rises: bisect for the least c with events <= target
    low, high = 0, n_start
    while low < high:
        middle = (low + high) // 2
        if int(events(middle).events.sum()) <= target:
            high = middle
        else:
            low = middle + 1
    candidates = {max(low - 1, 0), low}
    choice = min(candidates, key=lambda c: (abs(int(events(c).events.sum()) - target), c))
    return events(choice)


def reconstruct(
    clicks: Clicks, at_risk: AtRisk, *, total_events: int | None = None
) -> Reconstruction:
    """Reconstruct (time, event) rows from cleaned clicks and a numbers-at-risk row."""
    checked, notes = check_at_risk(at_risk, float(clicks.time[-1]))
    n0 = int(checked.n_risk[0])
    if total_events is not None and not 0 <= total_events <= n0:
        raise InvalidInput.field("--events", total_events, f"a whole number from 0 to {n0}")
    time, survival = _with_at_risk_clicks(clicks, checked.time)
    if checked.time[-1] > clicks.time[-1]:
        notes.append(
            f"the curve ends at {clicks.time[-1]:g}, just before the last at-risk time "
            f"{checked.time[-1]:g}: extended flat to it"
        )
    t_risk, n_risk = checked.time, checked.n_risk
    m = len(t_risk)
    lower = np.searchsorted(time, t_risk, side="left")
    upper = np.append(lower[1:] - 1, len(time) - 1)
    event_rows: list[tuple[float, int]] = []
    censor_rows: list[float] = []
    rows = []
    km_last, n_start, censored_total = 1.0, n0, 0
    for i in range(m):
        clicks_t = time[lower[i] : upper[i] + 1]
        clicks_s = survival[lower[i] : upper[i] + 1]
        last = i == m - 1
        t_end = float(t_risk[i + 1]) if not last else float(time[-1])
        if not last:
            result, mismatch = _fit_interval(clicks_s, clicks_t, t_end, n_start,
                                                       int(n_risk[i + 1]), km_last)  # fmt: skip
        else:
            span = float(t_risk[-1] - t_risk[0])
            rate = censored_total / span if span > 0 else 0.0
            before = sum(e for _, e in event_rows)
            result = _last_interval(clicks_s, clicks_t, t_end, n_start, km_last,
                                              before, total_events, rate)  # fmt: skip
            mismatch = 0
        for t, d in zip(clicks_t, result.events, strict=True):
            if d:
                event_rows.append((float(t), int(d)))
        censor_rows.extend(result.censor_times.tolist())
        extra = 0
        if mismatch > 0:
            # the counts could not be matched exactly: the surplus is censored at the end
            extra = mismatch
            censor_rows.extend([float(np.nextafter(t_end, -np.inf))] * extra)
        if last and result.n_end > 0:
            censor_rows.extend([float(t_end)] * result.n_end)  # still at risk at the end
        n_next = result.n_end - extra
        rows.append(
            {
                "start": float(t_risk[i]),
                "end": t_end,
                "n_risk_published": int(n_risk[i]),
                "n_risk_used": int(n_start),
                "events": int(result.events.sum()),
                "censored": int(result.censor_times.size + extra),
                "n_end_published": None if last else int(n_risk[i + 1]),
                "n_end_reconstructed": int(n_next) if not last else int(result.n_end),
            }
        )
        if mismatch:
            notes.append(
                f"interval {t_risk[i]:g}-{t_end:g}: {result.n_end} left at its end vs "
                f"{n_risk[i + 1]} published; "
                + ("the surplus censored at the end" if mismatch > 0 else "carried as is")
            )
        censored_total += result.censor_times.size + extra
        km_last = result.km_last
        n_start = max(n_next, 0)
    event_times = np.repeat([t for t, _ in event_rows], [d for _, d in event_rows])
    ipd = pd.DataFrame(
        {
            "time": np.concatenate([event_times, np.asarray(censor_rows, float)]),
            "event": np.concatenate(
                [np.ones(event_times.size, int), np.zeros(len(censor_rows), int)]
            ),
        }
    ).sort_values(["time", "event"], ascending=[True, False], ignore_index=True)
    if total_events is not None and int(ipd["event"].sum()) != total_events:
        notes.append(
            f"total events {int(ipd['event'].sum())} reconstructed vs {total_events} given "
            "(the closest the last interval allows)"
        )
    return Reconstruction(ipd, pd.DataFrame(rows), clicks, checked, total_events, notes)
