"""Balances, expiring points and tiers of many ledgers at once, vectorised.

The per-account FIFO-with-expiry bookkeeping of :class:`PointsLedger` has
a closed form in cumulative sums, which is what makes 10 million entries
tractable without a Python loop over accounts:

* Let ``E_i`` be the points earned up to and including lot ``i`` and
  ``A(t)`` the points debited (redeemed or clawed back) strictly before
  ``t``. Debits and expiries both burn the oldest points, and lots expire
  in the order they were earned, so the cumulative outflow just after
  lot ``i`` expires at ``tau_i`` is ``max(E_i, outflow just before)``.
  Hence the points expired up to lot ``i`` are the running maximum
  ``X_i = max(0, max_{j <= i} (E_j - A(tau_j)))``.
* The net position is ``N = E - A - X``: the balance is ``max(N, 0)`` and
  the debt ``max(-N, 0)``.
* A lot still holds points iff ``E_j > A + X``; the first such lot gives the
  next expiry, and the points expiring then are ``E_m - (A + X)`` with
  ``m`` the last lot sharing that expiry instant.
* Tier qualification is a sum of interval indicators (a purchase counts
  from its entry until its window ends or it is refunded), evaluated with
  one sort and a cumulative sum per tier.

All moments are instants (int64 nanoseconds, UTC) read by
:func:`crmcore._time.read_instants`; calendar periods (expiry, tier windows,
reviews) are those of the programme's zone (:attr:`Program.tz`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import (
    NAT,
    from_instant_us,
    period_starts,
    read_instants,
    resolve_as_of,
    timestamps,
    to_zone,
)
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.loyalty._entries import ENTRY_KINDS
from crmcore.loyalty._program import Program

__all__ = ["ledger_balances"]

_NEVER = np.iinfo(np.int64).max
_EARN, _REDEEM, _CLAWBACK = 0, 1, 2


def _refuse(
    bad: BoolArray,
    *,
    name: str,
    problem: str,
    values: Callable[[], np.ndarray[Any, Any]],
    index: pd.Index | None = None,
) -> None:
    """Like ``first_bad``, but builds the (possibly costly) values only on failure."""
    if bad.any():
        first_bad(bad, name=name, problem=problem, values=values(), index=index)


def _instants(col: pd.Series, name: str, *, allow_missing: bool) -> IntArray:
    """UTC nanoseconds of an aware column (missing: ``_NEVER`` where allowed)."""
    ns = read_instants(col, name=name, allow_missing=allow_missing).ns
    return np.where(ns == NAT, _NEVER, ns) if allow_missing else ns


def _int_column(entries: pd.DataFrame, name: str) -> IntArray:
    """Return an integer column as int64, refusing any other dtype before converting.

    A float or text column is refused rather than cast: ``astype(int64)`` would
    turn ``12.5`` into 12, ``NaN`` into -9223372036854775808 and ``"7"`` into 7.
    """
    values = np.asarray(entries[name])
    if values.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must be an integer column; got dtype {values.dtype}", field=name
        )
    return values.astype(np.int64, copy=False)


def _kind_codes(col: pd.Series) -> IntArray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        raw = np.asarray(col.cat.codes, dtype=np.int64)
        uniques = pd.Index(col.cat.categories)
    else:
        codes, uniq = pd.factorize(col)
        raw = np.asarray(codes, dtype=np.int64)
        uniques = pd.Index(uniq)
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
    for i, u in enumerate(uniques):
        if u in ENTRY_KINDS:
            lookup[i] = ENTRY_KINDS.index(u)
    out = lookup[raw]  # raw == -1 (missing) maps to the trailing -1
    _refuse(
        out < 0,
        name="kind",
        problem=f"must be one of {ENTRY_KINDS}",
        values=lambda: col.to_numpy(dtype=object),
        index=col.index,
    )
    return out


def _segments(acct: IntArray) -> tuple[IntArray, IntArray]:
    """Start positions and account code of each run of equal codes (sorted input)."""
    if acct.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.flatnonzero(acct[1:] != acct[:-1]) + 1]).astype(np.int64)
    return starts, acct[starts]


def _segment_index(acct: IntArray) -> tuple[IntArray, IntArray]:
    """Start row of every account run, and the run number of every row (sorted input)."""
    if acct.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    is_first = np.empty(acct.size, dtype=bool)
    is_first[0] = True
    np.not_equal(acct[1:], acct[:-1], out=is_first[1:])
    return np.flatnonzero(is_first), np.cumsum(is_first, dtype=np.int64) - 1


def _grouped_cumsum(values: IntArray, starts: IntArray, seg_of: IntArray) -> IntArray:
    """Cumulative sum restarting at every account run (see :func:`_segment_index`)."""
    cs = np.cumsum(values)
    if cs.size == 0:
        return cs
    before = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0)
    return cs - before[seg_of]


def _grouped_cummax(values: IntArray, acct: IntArray) -> IntArray:
    """Return the running maximum, restarting at every change of ``acct`` (values >= 0)."""
    if values.size == 0:
        return values
    span = int(values.max()) + 1
    n_acct = int(acct.max()) + 1
    if n_acct * span < 2**62:
        shifted = values + acct * span
        return np.maximum.accumulate(shifted) - acct * span
    series = pd.Series(values)
    return np.asarray(series.groupby(acct, sort=False).cummax(), dtype=np.int64)


def _reduce_by(ufunc: np.ufunc, acct: IntArray, values: IntArray, n: int) -> IntArray:
    """Reduce ``values`` per account code (``acct`` sorted); 0 for absent accounts."""
    out = np.zeros(n, dtype=np.int64)
    if acct.size:
        starts, codes = _segments(acct)
        out[codes] = ufunc.reduceat(values, starts)
    return out


def _sum_by(acct: IntArray, values: IntArray, n: int) -> IntArray:
    return _reduce_by(np.add, acct, values, n)


def _account_order(acct: IntArray, seq: IntArray) -> IntArray:
    """Permutation sorting rows by (account, sequence).

    One sort of a combined int64 key when it fits (about 3x faster than a
    two-key lexsort on 10M rows); duplicates are reported later anyway.
    """
    if acct.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(seq.min()), int(seq.max())
    span = hi - lo + 1
    if (int(acct.max()) + 1) * span < 2**62:
        return np.argsort(acct * span + (seq - lo))
    return np.lexsort((seq, acct))


def _check_signs(kind: IntArray, points: IntArray, index: pd.Index) -> None:
    bad = ((kind == _EARN) & (points < 0)) | ((kind == _REDEEM) & (points >= 0))
    bad |= (kind == _CLAWBACK) & (points > 0)
    first_bad(
        bad,
        name="points",
        problem="must be >= 0 for earn, < 0 for redeem and <= 0 for clawback",
        values=points,
        index=index,
    )


def _zone(program: Program | None, tz: Any) -> Any:
    if program is None:
        return to_zone(tz)
    if tz is not None and to_zone(tz) != program.tz:
        raise ValidationError(
            f"tz={tz!r} differs from the programme's zone {program.tz!s}: periods follow "
            "program.tz; leave tz out",
            field="tz",
            value=tz,
        )
    return program.tz


def _moment(ns: int) -> tuple[_dt.datetime, int]:
    """Return an instant given in UTC nanoseconds as a datetime and as epoch microseconds."""
    us = ns // 1000
    return from_instant_us(us, _dt.UTC), us


def _period_of_ns(program: Program, ns: int) -> int:
    """Programme period holding the instant ``ns`` (UTC nanoseconds)."""
    at, us = _moment(ns)
    return program.period_of(at, us=us)


def _period_start_ns(program: Program, index: int) -> int:
    return program.period_start_us(index) * 1000


def _review_period(program: Program, as_of_ns: int) -> int:
    """Index of the period starting at the last review at or before ``as_of_ns``."""
    at, us = _moment(as_of_ns)
    return program.review_period(at, us=us)


def ledger_balances(
    entries: pd.DataFrame,
    *,
    as_of: object,
    program: Program | None = None,
    tz: Any = None,
) -> pd.DataFrame:
    """Balances, debt, totals, next expiry and tier of many ledgers at once.

    Computes, for every account in an entries table (the format of
    :meth:`PointsLedger.to_frame`, concatenated over accounts), exactly what
    :meth:`PointsLedger.summary` returns at ``as_of``, without a loop over
    accounts (see the module notes for the closed form).

    Parameters
    ----------
    entries : DataFrame
        Columns ``account_id``, ``sequence``, ``kind`` (``"earn"``,
        ``"redeem"``, ``"clawback"``), ``at`` (tz-aware), ``points``
        (signed int), and optionally ``expires_at`` (tz-aware, ``NaT`` =
        never; absent = nothing expires). With a ``program`` that has tiers,
        also ``event_id``, ``order_id`` (refunds) and, for spend tiers,
        ``spend_minor``. Rows may come in any order; entries after ``as_of``
        are ignored.
    as_of : datetime or date-like
        The snapshot: a timezone-aware instant, or a date (the end of that
        day on the programme's calendar). Entries at or before it count.
    program : Program, optional
        Needed only for tiers (thresholds, windows and review calendar, in
        the programme's zone ``program.tz``).
    tz : str or tzinfo, optional
        The calendar a date-only ``as_of`` is read in when there is no
        programme (default UTC); with a programme it must be omitted or
        equal ``program.tz``.

    Returns
    -------
    DataFrame
        Indexed by ``account_id`` (order of first appearance; accounts
        whose entries all come after ``as_of`` are not listed), with
        ``balance``, ``debt``, ``earned``, ``redeemed``, ``expired``,
        ``clawed_back``, ``expiring_points`` (int64), ``next_expiry``
        (UTC; ``NaT`` when nothing is due to expire) and, with a
        programme with tiers, ``tier`` (ordered categorical).

    Raises
    ------
    ValidationError
        On missing columns, unknown kinds, wrongly signed points, naive or
        missing timestamps, entries out of time order within an account
        (compared as instants), lots that would expire out of order, or a
        naive ``as_of``.

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> at = pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-03"]).tz_localize("UTC")
    >>> entries = pd.DataFrame(
    ...     {
    ...         "account_id": ["a", "a", "b"],
    ...         "sequence": [0, 1, 0],
    ...         "kind": ["earn", "redeem", "earn"],
    ...         "at": at,
    ...         "points": [120, -100, 40],
    ...     }
    ... )
    >>> out = ledger_balances(entries, as_of=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    >>> out[["balance", "earned", "redeemed"]]
                balance  earned  redeemed
    account_id
    a                20     120       100
    b                40      40         0
    """
    zone = _zone(program, tz)
    as_of_ns = resolve_as_of(as_of, tz=zone).ns
    need = ["account_id", "sequence", "kind", "at", "points"]
    tiers = program.tiers if program is not None else ()
    if tiers:
        need += ["event_id", "order_id"]
        if any(t.spend is not None for t in tiers):
            need.append("spend_minor")
    check_columns(entries, need, name="entries")

    acct_codes, acct_uniques = pd.factorize(entries["account_id"])
    acct_all = np.asarray(acct_codes, dtype=np.int64)
    _refuse(
        acct_all < 0,
        name="account_id",
        problem="must not be missing",
        values=lambda: entries["account_id"].to_numpy(dtype=object),
        index=entries.index,
    )
    n_acct = len(acct_uniques)
    at_all = _instants(entries["at"], "at", allow_missing=False)
    keep = at_all <= as_of_ns
    seq_all = _int_column(entries, "sequence")
    kind_all = _kind_codes(entries["kind"])
    points_all = _int_column(entries, "points")
    _check_signs(kind_all, points_all, entries.index)
    exp_all = (
        _instants(entries["expires_at"], "expires_at", allow_missing=True)
        if "expires_at" in entries.columns
        else np.full(len(entries), _NEVER, dtype=np.int64)
    )

    rows = np.flatnonzero(keep)
    acct, seq = acct_all[rows], seq_all[rows]
    sorted_already = bool(
        np.all((np.diff(acct) > 0) | ((np.diff(acct) == 0) & (np.diff(seq) > 0)))
    )
    if not sorted_already:
        rows = rows[_account_order(acct, seq)]
        acct, seq = acct_all[rows], seq_all[rows]
    at = at_all[rows]
    kind = kind_all[rows]
    points = points_all[rows]
    same = acct[1:] == acct[:-1]
    _refuse(
        np.concatenate([[False], same & (seq[1:] == seq[:-1])]),
        name="sequence",
        problem="must be unique within an account",
        values=lambda: seq,
        index=entries.index[rows],
    )
    _refuse(
        np.concatenate([[False], same & (at[1:] < at[:-1])]),
        name="at",
        problem="must not decrease along an account's sequence",
        values=lambda: entries["at"].to_numpy(dtype=object)[rows],
        index=entries.index[rows],
    )

    is_earn = kind == _EARN
    earn_pts = np.where(is_earn, points, 0)
    debit = np.where(is_earn, 0, -points)
    seg_starts, seg_of = _segment_index(acct)
    e_cum = _grouped_cumsum(earn_pts, seg_starts, seg_of)
    a_cum = _grouped_cumsum(debit, seg_starts, seg_of)
    earned = _sum_by(acct, earn_pts, n_acct)
    redeemed = _sum_by(acct, np.where(kind == _REDEEM, -points, 0), n_acct)
    clawed = _sum_by(acct, np.where(kind == _CLAWBACK, -points, 0), n_acct)

    # ---- expiry: running maximum over the lots expired by as_of
    lot_rows = np.flatnonzero(is_earn)
    lot_acct = acct[lot_rows]
    lot_exp = exp_all[rows[lot_rows]]
    same_lot = lot_acct[1:] == lot_acct[:-1]
    _refuse(
        np.concatenate([[False], same_lot & (lot_exp[1:] < lot_exp[:-1])]),
        name="expires_at",
        problem="must not decrease along an account's lots (FIFO expiry)",
        values=lambda: entries["expires_at"].to_numpy(dtype=object)[rows][lot_rows],
        index=entries.index[rows[lot_rows]],
    )
    expired_mask = lot_exp <= as_of_ns
    exp_lots = lot_rows[expired_mask]
    expired: IntArray = np.zeros(n_acct, dtype=np.int64)
    redeem_rows = np.flatnonzero(kind == _REDEEM)
    expired_by_redeem = np.zeros(redeem_rows.size, dtype=np.int64)
    if exp_lots.size:
        taus = lot_exp[expired_mask]
        tau_unique = np.unique(taus)
        width = len(tau_unique) + 1
        # rows keyed by (account, number of expiry instants <= at): a lot with
        # expiry tau is due before a row iff its key is smaller than the row's
        row_key = acct * width + np.searchsorted(tau_unique, at, side="right")
        q_key = acct[exp_lots] * width + np.searchsorted(tau_unique, taus, side="left")
        pos = np.searchsorted(row_key, q_key, side="right") - 1
        lot_a = np.where(
            (pos >= 0) & (acct[np.maximum(pos, 0)] == acct[exp_lots]),
            a_cum[np.maximum(pos, 0)],
            0,
        )
        gap = np.maximum(e_cum[exp_lots] - lot_a, 0)
        x_run = _grouped_cummax(gap, acct[exp_lots])
        expired = _reduce_by(np.maximum, acct[exp_lots], x_run, n_acct)
        if redeem_rows.size:
            last = np.searchsorted(q_key, row_key[redeem_rows], side="left") - 1
            ok = (last >= 0) & (acct[exp_lots][np.maximum(last, 0)] == acct[redeem_rows])
            expired_by_redeem = np.where(ok, x_run[np.maximum(last, 0)], 0)
    # a redemption may never take the net position below zero
    _refuse(
        e_cum[redeem_rows] - a_cum[redeem_rows] - expired_by_redeem < 0,
        name="points",
        problem="must not redeem more than the balance at that time",
        values=lambda: points[redeem_rows],
        index=entries.index[rows[redeem_rows]],
    )

    net = earned - redeemed - clawed - expired
    balance = np.maximum(net, 0)
    debt = np.maximum(-net, 0)

    # ---- next expiry: first lot still holding points
    next_exp = np.full(n_acct, _NEVER, dtype=np.int64)
    expiring = np.zeros(n_acct, dtype=np.int64)
    live = lot_rows[~expired_mask]
    if live.size:
        live_acct = acct[live]
        outflow = (redeemed + clawed + expired)[live_acct]
        holds = e_cum[live] > outflow
        prev_same = np.concatenate([[False], live_acct[1:] == live_acct[:-1]])
        prev_holds = np.concatenate([[False], holds[:-1]])
        first = holds & ~(prev_same & prev_holds)
        live_exp = lot_exp[~expired_mask]
        run_change = np.concatenate(
            [(live_acct[1:] != live_acct[:-1]) | (live_exp[1:] != live_exp[:-1]), [True]]
        )
        run_end = np.flatnonzero(run_change)
        f = np.flatnonzero(first & (live_exp != _NEVER))
        end_of_f = run_end[np.searchsorted(run_end, f, side="left")]
        next_exp[live_acct[f]] = live_exp[f]
        expiring[live_acct[f]] = e_cum[live[end_of_f]] - outflow[f]

    data: dict[str, Any] = {
        "balance": balance,
        "debt": debt,
        "earned": earned,
        "redeemed": redeemed,
        "expired": expired,
        "clawed_back": clawed,
        "expiring_points": expiring,
        "next_expiry": timestamps(np.where(next_exp == _NEVER, NAT, next_exp), "UTC"),
    }
    if program is not None and tiers:
        # Purchases before (last review - longest window) cannot count at the
        # review or after it: leave their rows out of the tier computation.
        review = _review_period(program, as_of_ns)
        cut = _period_start_ns(program, review - max(t.window for t in tiers))
        recent = np.flatnonzero(at >= cut)
        tier_idx = _tiers(
            entries,
            rows=rows[recent],
            acct=acct[recent],
            at=at[recent],
            kind=kind[recent],
            points=points[recent],
            n_acct=n_acct,
            as_of_ns=as_of_ns,
            program=program,
        )
        data["tier"] = pd.Categorical.from_codes(
            tier_idx, categories=pd.Index(list(program.tier_names())), ordered=True
        )
    index = pd.Index(acct_uniques, name="account_id")
    out = pd.DataFrame(data, index=index)
    # an account whose every entry is after as_of did not exist then
    existed = np.bincount(acct, minlength=n_acct) > 0
    return out if existed.all() else out.loc[existed]


def _tiers(
    entries: pd.DataFrame,
    *,
    rows: IntArray,
    acct: IntArray,
    at: IntArray,
    kind: IntArray,
    points: IntArray,
    n_acct: int,
    as_of_ns: int,
    program: Program,
) -> IntArray:
    """Tier index per account at ``as_of`` (see the module notes)."""
    review_ns = _period_start_ns(program, _review_period(program, as_of_ns))
    n = len(rows)
    earn = np.flatnonzero(kind == _EARN)
    if n == 0 or earn.size == 0:
        return np.zeros(n_acct, dtype=np.int64)
    spend = (
        _int_column(entries, "spend_minor")[rows[earn]]
        if "spend_minor" in entries.columns
        else np.zeros(earn.size, dtype=np.int64)
    )
    # refund row of each earn row, matched by (account, order id)
    refund_pos = np.full(earn.size, _NEVER, dtype=np.int64)
    claw = np.flatnonzero(kind == _CLAWBACK)
    if claw.size:
        event_ids = pd.Series(entries["event_id"].to_numpy()[rows[earn]])
        order_ids = entries["order_id"].to_numpy()[rows[claw]]
        cand = np.flatnonzero(event_ids.isin(order_ids).to_numpy())
        left = pd.DataFrame({"a": acct[earn[cand]], "o": event_ids.to_numpy()[cand], "i": cand})
        right = pd.DataFrame({"a": acct[claw], "o": order_ids, "r": claw})
        matched = left.merge(right, on=["a", "o"], how="inner")
        refund_pos[matched["i"].to_numpy(dtype=np.int64)] = matched["r"].to_numpy(dtype=np.int64)
    refund_at = np.where(refund_pos != _NEVER, at[np.minimum(refund_pos, n - 1)], _NEVER)

    # period index of every row, via the (few) period boundaries in range
    p_lo = _period_of_ns(program, int(at.min()))
    p_hi = _period_of_ns(program, int(at.max()))
    max_window = max(t.window for t in program.tiers)
    bounds = period_starts(np.arange(p_lo, p_hi + max_window + 2), program.freq, program.tz)
    p_row = p_lo + np.searchsorted(bounds, at, side="right") - 1
    p = p_row[earn]
    at_earn = at[earn]
    acct_earn = acct[earn]
    values = [points[earn] if tier.points is not None else spend for tier in program.tiers]
    thresholds = program.tier_thresholds()

    # review: a purchase counts just before the review if it started before
    # and its window (or refund) ends at or after it
    q_review = np.zeros(n_acct, dtype=np.int64)
    for k, tier in enumerate(program.tiers[1:], start=1):
        end_time = np.minimum(bounds[p - p_lo + tier.window], refund_at)
        active: BoolArray = (at_earn < review_ns) & (end_time >= review_ns)
        metric = _sum_by(acct_earn[active], values[k][active], n_acct)
        q_review = np.where(metric >= thresholds[k], k, q_review)

    # purchases since the review: upgrade if qualified right after any of them
    # (work in the positions of the rows of accounts that have such purchases)
    evals_mask = at_earn >= review_ns
    if not evals_mask.any():
        return q_review
    # only accounts with a purchase since the review can be upgraded
    has_eval = np.zeros(n_acct, dtype=bool)
    has_eval[acct_earn[evals_mask]] = True
    keep = has_eval[acct]
    if keep.all():
        sub_rows = np.arange(n, dtype=np.int64)
        kept_earn = np.ones(earn.size, dtype=bool)
        e_pos = earn
        r_pos = refund_pos
        acct_s = acct
    else:
        sub_rows = np.flatnonzero(keep)
        new_pos = np.cumsum(keep, dtype=np.int64) - 1
        kept_earn = keep[earn]
        e_pos = new_pos[earn[kept_earn]]
        r_pos = refund_pos[kept_earn]
        r_pos = np.where(r_pos != _NEVER, new_pos[np.minimum(r_pos, n - 1)], _NEVER)
        acct_s = acct[sub_rows]
    m = sub_rows.size
    starts_s, seg_of_s = _segment_index(acct_s)
    seg_next = np.append(starts_s[1:], m)
    next_start = seg_next[seg_of_s[e_pos]]
    p_e = p[kept_earn]
    ev = np.flatnonzero(evals_mask[kept_earn])  # indices into the kept earn rows
    ev_pos = e_pos[ev]
    ev_base = starts_s[seg_of_s[ev_pos]] - 1
    width = p_hi - p_lo + max_window + 1
    row_key = acct_s * width + (p_row[sub_rows] - p_lo)
    q_base = acct_s[e_pos] * width + (p_e - p_lo)
    q_event = np.zeros(ev.size, dtype=np.int64)
    for k, tier in enumerate(program.tiers[1:], start=1):
        value = values[k][kept_earn]
        # first row of the account in or after the period where the window
        # ends, or the refund row, whichever comes first (m: never, in range)
        end_pos = np.searchsorted(row_key, q_base + tier.window, side="left")
        end_pos = np.minimum(end_pos, r_pos)
        end_pos = np.where(end_pos >= next_start, m, end_pos)
        starts_cum = np.zeros(m, dtype=np.int64)
        starts_cum[e_pos] = value
        ends_cum = np.zeros(m + 1, dtype=np.int64)
        np.add.at(ends_cum, end_pos, value)
        running = np.cumsum(starts_cum) - np.cumsum(ends_cum[:m])
        base = np.where(ev_base >= 0, running[np.maximum(ev_base, 0)], 0)
        q_event = np.where(running[ev_pos] - base >= thresholds[k], k, q_event)
    upgraded = _reduce_by(np.maximum, acct_s[ev_pos], q_event, n_acct)
    return np.maximum(q_review, upgraded)
