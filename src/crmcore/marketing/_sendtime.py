"""Send time: each customer's engagement propensity over the 168 hours of the week.

**Model.** A customer's engagement events (opens and clicks by default) fall
into the hours of the week (0 = Monday 00:00-01:00, 167 = Sunday 23:00-24:00,
on the wall clock of ``tz``) with probabilities ``theta_c``. The prior is a
Dirichlet centred on the population profile ``p`` (every customer's events
pooled, with one pseudo-event per hour so that no hour has probability 0)
with strength ``alpha``:

    theta_c ~ Dirichlet(alpha * p),   counts_c | theta_c ~ Multinomial(n_c, theta_c)

so the posterior mean is ``(n_ch + alpha p_h) / (n_c + alpha)``: a customer
with few events gets nearly the population profile, one with many their own.
``alpha`` is fitted by maximising the Dirichlet-multinomial marginal
likelihood of all customers' counts (empirical Bayes; Minka, "Estimating a
Dirichlet distribution", 2000/2012, with the mean fixed at ``p``):

    log L(alpha) = sum_c [ lgamma(alpha) - lgamma(n_c + alpha)
                           + sum_h lgamma(n_ch + alpha p_h) - lgamma(alpha p_h) ]

Only the distinct values of ``n_c`` and of ``(n_ch, h)`` enter, with their
counts as weights, so the fit costs the same for 10 million events as for a
thousand. Customers with a single event carry no information on ``alpha``;
when nobody has two, ``alpha`` sits at its upper bound (everyone gets the
population profile).

**Machine opens.** An open within ``machine_open_delay`` of the customer's
latest delivery says when the message arrived, not when the customer reads
mail: such opens are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from scipy import optimize, sparse, special

from crmcore import _time
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import ValidationError
from crmcore.marketing._frame import TYPE_CODE, id_codes, read_events, row_ids, type_mask
from crmcore.marketing._funnel import fast_opens

__all__ = ["HOURS", "SendTimeProfile", "best_send_time", "send_time_backtest", "send_time_profile"]

HOURS = 168
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# 1970-01-01 was a Thursday: 72 hours after the Monday that starts its week
_EPOCH_HOUR_OF_WEEK = 72
_ALPHA_BOUNDS = (1e-2, 1e6)


def hour_label(hour_of_week: IntArray) -> np.ndarray[Any, Any]:
    """``"Tue 19:00"`` for each hour of the week."""
    days = np.asarray(_DAYS, dtype=object)[hour_of_week // 24]
    hours = np.char.zfill((hour_of_week % 24).astype(str), 2)
    return np.asarray(days + " " + hours.astype(object) + ":00", dtype=object)


@attrs.frozen(kw_only=True)
class SendTimeProfile:
    """Per-customer hour-of-week propensities (the result of :func:`send_time_profile`).

    Attributes
    ----------
    customers : Index
        Customers with at least one engagement event, sorted.
    counts : scipy.sparse.csr_matrix
        Events per customer (row) and hour of the week (column).
    population : ndarray of shape (168,)
        The population profile ``p`` (sums to 1).
    prior_strength : float
        The fitted (or given) Dirichlet strength ``alpha``, in pseudo-events.
    tz : tzinfo or None
        The wall clock of the hours (``None``: the naive data's own).
    """

    customers: pd.Index
    counts: sparse.csr_matrix
    population: FloatArray
    prior_strength: float
    tz: Any

    @property
    def n_events(self) -> pd.Series:
        """Events per customer."""
        return pd.Series(
            np.asarray(self.counts.sum(axis=1)).ravel().astype(np.int64),
            index=self.customers,
            name="n_events",
        )

    def _rows(self, customers: Any) -> tuple[pd.Index, IntArray]:
        if customers is None:
            return self.customers, np.arange(len(self.customers), dtype=np.int64)
        wanted = pd.Index(customers, name=self.customers.name)
        return wanted, np.asarray(self.customers.get_indexer(wanted), dtype=np.int64)

    def propensity(self, customers: Any = None) -> pd.DataFrame:
        """Posterior mean probability of each hour of the week.

        Parameters
        ----------
        customers : sequence, optional
            Customers to return (default all); unknown customers get the
            population profile. The result is dense: 168 floats per customer.

        Returns
        -------
        DataFrame
            One row per customer, columns 0..167 (``hour_of_week``); rows sum to 1.
        """
        index, rows = self._rows(customers)
        known = rows >= 0
        dense = np.tile(self.population, (index.size, 1))
        if known.any():
            sub = self.counts[rows[known]].toarray().astype(np.float64)
            alpha = self.prior_strength
            n = sub.sum(axis=1, keepdims=True)
            dense[known] = (sub + alpha * self.population) / (n + alpha)
        return pd.DataFrame(dense, index=index, columns=pd.RangeIndex(HOURS, name="hour_of_week"))

    def best_hour(self, customers: Any = None, *, allowed: Any = None) -> pd.Series:
        """Each customer's most likely hour of the week (among ``allowed``).

        Computed from the sparse counts: the posterior mean is largest either
        at one of the customer's own hours or at the population's best hour,
        so no dense 168-column table is built.

        Parameters
        ----------
        customers : sequence, optional
            Customers (default all); unknown ones get the population's best hour.
        allowed : sequence of int, optional
            Hours of the week that may be chosen (e.g. no nights).

        Returns
        -------
        Series of int
        """
        mask = _allowed(allowed)
        index, rows = self._rows(customers)
        alpha = self.prior_strength
        prior = np.where(mask, alpha * self.population, -np.inf)
        fallback = int(np.argmax(prior))
        out = np.full(index.size, fallback, dtype=np.int64)
        known = rows >= 0
        if known.any():
            sub = self.counts[rows[known]].tocsr()
            sub.sort_indices()
            cols = sub.indices
            score = sub.data.astype(np.float64) + prior[cols]
            starts = sub.indptr[:-1]
            has = np.diff(sub.indptr) > 0
            best = np.full(sub.shape[0], fallback, dtype=np.int64)
            if cols.size:
                seg_max = np.maximum.reduceat(score, starts[has])
                # first column reaching the segment maximum (lowest hour on ties)
                row_of = np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))
                top = score >= seg_max[np.cumsum(has)[row_of] - 1]
                first = np.full(sub.shape[0], HOURS, dtype=np.int64)
                np.minimum.at(first, row_of[top], cols[top])
                beats = seg_max > prior[fallback]
                ties = seg_max == prior[fallback]
                pick = np.where(
                    beats, first[has], np.where(ties, np.minimum(first[has], fallback), fallback)
                )
                best[has] = pick
            out[known] = best
        return pd.Series(out, index=index, name="hour_of_week")


def _allowed(allowed: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    mask = np.ones(HOURS, dtype=bool)
    if allowed is None:
        return mask
    hours = np.asarray(list(allowed))
    if hours.size == 0 or hours.dtype.kind not in "iu" or hours.min() < 0 or hours.max() >= HOURS:
        raise ValidationError(
            f"allowed must be hours of the week, integers in 0..167; got {allowed!r}",
            field="allowed",
        )
    mask[:] = False
    mask[hours] = True
    return mask


def _hour_of_week(ns: IntArray, tz: Any, data_tz: Any) -> IntArray:
    zone = data_tz if tz is None else tz
    wall = _time.wall_ns(ns, zone) if zone is not None else ns
    return np.asarray((wall // _time.NS_PER_HOUR + _EPOCH_HOUR_OF_WEEK) % HOURS, dtype=np.int64)


def _log_marginal(  # noqa: PLR0917 - the compressed sufficient statistics
    alpha: float,
    p: FloatArray,
    n_c: IntArray,
    w_c: FloatArray,
    k: IntArray,
    h: IntArray,
    w_kh: FloatArray,
) -> float:
    ap = alpha * p
    per_customer = special.gammaln(alpha) - special.gammaln(n_c + alpha)
    per_cell = special.gammaln(k + ap[h]) - special.gammaln(ap[h])
    return float(w_c @ per_customer + w_kh @ per_cell)


def _fit_strength(counts: sparse.csr_matrix, p: FloatArray) -> float:
    totals = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    if not (totals > 1).any():
        return _ALPHA_BOUNDS[1]
    n_c, w_c = np.unique(totals, return_counts=True)
    coo = counts.tocoo()
    cell = coo.data.astype(np.int64) * HOURS + coo.col
    cells, w_kh = np.unique(cell, return_counts=True)
    k, h = cells // HOURS, cells % HOURS
    res = optimize.minimize_scalar(
        lambda log_a: (
            -_log_marginal(
                float(np.exp(log_a)), p, n_c, w_c.astype(float), k, h, w_kh.astype(float)
            )
        ),
        bounds=tuple(np.log(_ALPHA_BOUNDS)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


def _engagement(
    events: pd.DataFrame,
    *,
    as_of: Any,
    types: Sequence[str],
    machine_open_delay: Any,
    customer_col: str,
    date_col: str,
    type_col: str,
) -> tuple[pd.Series, IntArray, Any, Any]:
    """Return the customer ids and times of the engagement events used (no machine opens)."""
    wanted = [str(t).strip().lower() for t in ([types] if isinstance(types, str) else types)]
    bad = [t for t in wanted if t not in TYPE_CODE]
    if not wanted or bad:
        raise ValidationError(
            f"types must name engagement types ({', '.join(TYPE_CODE)}); got {types!r}",
            field="types",
        )
    check_columns(events, [customer_col], name="events")
    log = read_events(
        events, as_of=as_of, date_col=date_col, type_col=type_col, channel_col=None, id_col=None
    )
    use = type_mask(log.type, wanted)
    ids = log.frame[customer_col]
    row_ids(ids.iloc[np.flatnonzero(use)], name=customer_col, frame_index=log.frame.index[use])
    delay = int(_time.to_duration(machine_open_delay, name="machine_open_delay").value)
    use &= ~fast_opens(log.type, log.times, ids, delay)
    rows = np.flatnonzero(use)
    return ids.iloc[rows], log.times[rows], log.tz, log.cutoff


def send_time_profile(
    events: pd.DataFrame,
    *,
    as_of: Any,
    tz: Any = None,
    types: Sequence[str] = ("open", "click"),
    prior_strength: float | None = None,
    machine_open_delay: Any = "10s",
    customer_col: str = "customer_id",
    date_col: str = "date",
    type_col: str = "type",
) -> SendTimeProfile:
    """Each customer's propensity to engage in each hour of the week, shrunk to the population.

    Parameters
    ----------
    events : DataFrame
        The engagement frame (:func:`engagement_frame`).
    as_of : date-like
        Cut-off: later events are not seen.
    tz : str or tzinfo, optional
        The wall clock of the hours (the customers' zone). Default: the
        date column's own zone (or the naive wall clock); a zone for naive
        dates is refused.
    types : sequence of str, default ("open", "click")
        Engagement types that show when a customer reads.
    prior_strength : float, optional
        Dirichlet strength ``alpha`` (pseudo-events); default fitted by
        marginal likelihood (module docstring).
    machine_open_delay : duration, default "10s"
        Opens this soon after a delivery are left out.
    customer_col, date_col, type_col : str
        Column names.

    Returns
    -------
    SendTimeProfile
        Sparse counts, the population profile and ``alpha``;
        :meth:`~SendTimeProfile.propensity` and :func:`best_send_time` read it.

    Raises
    ------
    ValidationError
        Missing columns, unknown types, a zone given for naive dates, no
        engagement event on or before ``as_of``, a non-positive
        ``prior_strength``.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "a", "b"],
    ...         "type": ["open", "open", "click", "open"],
    ...         "date": pd.to_datetime(
    ...             [
    ...                 "2024-05-06 19:10",
    ...                 "2024-05-13 19:40",
    ...                 "2024-05-13 19:41",
    ...                 "2024-05-07 08:05",
    ...             ]
    ...         ),
    ...     }
    ... )
    >>> profile = send_time_profile(events, as_of="2024-05-31")
    >>> best_send_time(profile)["label"].to_dict()
    {'a': 'Mon 19:00', 'b': 'Tue 08:00'}
    """
    ids, times, data_tz, _ = _engagement(
        events,
        as_of=as_of,
        types=types,
        machine_open_delay=machine_open_delay,
        customer_col=customer_col,
        date_col=date_col,
        type_col=type_col,
    )
    zone = None
    if tz is not None:
        if data_tz is None:
            raise ValidationError(
                "tz was given but the dates are naive (wall-clock times in no stated zone): "
                "leave tz out to use their own wall clock, or localise them first",
                field="tz",
            )
        zone = _time.to_zone(tz)
    if times.size == 0:
        raise ValidationError(
            f"no engagement event of types {list(types)} on or before as_of", field=type_col
        )
    codes, uniques = id_codes(ids)
    how = _hour_of_week(times, zone, data_tz)
    n = len(uniques)
    cells, counts = np.unique(codes * HOURS + how, return_counts=True)
    matrix = sparse.csr_matrix(
        (counts.astype(np.int64), (cells // HOURS, cells % HOURS)), shape=(n, HOURS)
    )
    per_hour = np.bincount(how, minlength=HOURS).astype(np.float64)
    population = (per_hour + 1.0) / (per_hour.sum() + HOURS)
    if prior_strength is None:
        alpha = _fit_strength(matrix, population)
    else:
        alpha = check_scalar(prior_strength, name="prior_strength", low=0, low_inclusive=False)
    return SendTimeProfile(
        customers=pd.Index(uniques, name=customer_col),
        counts=matrix,
        population=population,
        prior_strength=alpha,
        tz=zone if zone is not None else data_tz,
    )


def best_send_time(
    profile: SendTimeProfile, customers: Any = None, *, allowed: Any = None
) -> pd.DataFrame:
    """Choose the best hour of the week to send to each customer.

    Parameters
    ----------
    profile : SendTimeProfile
        From :func:`send_time_profile`.
    customers : sequence, optional
        Customers (default: every profiled one); customers without history
        get the population's best hour.
    allowed : sequence of int, optional
        Hours of the week that may be chosen (0 = Monday 00:00).

    Returns
    -------
    DataFrame
        Indexed by customer: ``hour_of_week``, ``weekday`` (0 = Monday),
        ``hour``, ``label`` (``"Tue 19:00"``), ``propensity`` (posterior
        probability of that hour) and ``n_events``.
    """
    best = profile.best_hour(customers, allowed=allowed)
    how = best.to_numpy()
    index, rows = profile._rows(customers)
    known = rows >= 0
    alpha = profile.prior_strength
    n_events = np.zeros(index.size, dtype=np.int64)
    own = np.zeros(index.size)
    if known.any():
        sub = profile.counts[rows[known]]
        n_events[known] = np.asarray(sub.sum(axis=1)).ravel()
        own[known] = np.asarray(sub[np.arange(sub.shape[0]), how[known]]).ravel()
    prob = (own + alpha * profile.population[how]) / (n_events + alpha)
    return pd.DataFrame(
        {
            "hour_of_week": how,
            "weekday": how // 24,
            "hour": how % 24,
            "label": hour_label(how),
            "propensity": prob,
            "n_events": n_events,
        },
        index=index,
    )


def send_time_backtest(
    events: pd.DataFrame,
    *,
    as_of: Any,
    horizon: Any,
    tz: Any = None,
    types: Sequence[str] = ("open", "click"),
    machine_open_delay: Any = "10s",
    customer_col: str = "customer_id",
    date_col: str = "date",
    type_col: str = "type",
) -> pd.DataFrame:
    """Score personal send times against the population's best hour on held-out events.

    Profiles are fitted on the events up to ``as_of``; the held-out events
    are those in ``(as_of, as_of + horizon]``, of customers seen before.

    Returns
    -------
    DataFrame
        Rows ``personal`` and ``population``; columns ``events`` (held out),
        ``customers``, ``hit_rate`` (share of held-out events in the
        predicted best hour), ``hit_rate_3h`` (within one hour either side)
        and ``log_score`` (mean log predictive probability of the held-out
        events' hours: higher is better).
    """
    profile = send_time_profile(
        events,
        as_of=as_of,
        tz=tz,
        types=types,
        machine_open_delay=machine_open_delay,
        customer_col=customer_col,
        date_col=date_col,
        type_col=type_col,
    )
    check_columns(events, [date_col], name="events")
    dates = _time.read_dates(events[date_col], name=date_col, row_name="event")
    start = dates.cutoff(as_of).ns
    end = _time.add_duration(start, dates.tz, _time.to_duration(horizon, name="horizon"))
    ids, times, data_tz, _ = _engagement(
        events,
        as_of=_time.timestamps(np.array([end], dtype=np.int64), dates.tz)[0],
        types=types,
        machine_open_delay=machine_open_delay,
        customer_col=customer_col,
        date_col=date_col,
        type_col=type_col,
    )
    later = times > start
    ids, times = ids.iloc[np.flatnonzero(later)], times[later]
    rows = profile.customers.get_indexer(pd.Index(ids))
    seen = rows >= 0
    rows, times = rows[seen], times[seen]
    if rows.size == 0:
        raise ValidationError(
            "no held-out event of a profiled customer in (as_of, as_of + horizon]",
            field="horizon",
        )
    how = _hour_of_week(times, profile.tz, data_tz)
    alpha = profile.prior_strength
    best_personal = profile.best_hour(profile.customers[np.unique(rows)])
    personal = best_personal.reindex(profile.customers[rows]).to_numpy()
    population_best = int(np.argmax(profile.population))
    counts = profile.counts
    own = np.asarray(counts[rows, how]).ravel()
    n_c = np.asarray(counts.sum(axis=1)).ravel()[rows]
    p_personal = (own + alpha * profile.population[how]) / (n_c + alpha)
    p_population = profile.population[how]

    def near(pred: Any) -> Any:
        gap = np.abs(how - pred) % HOURS
        return np.minimum(gap, HOURS - gap) <= 1

    table = {
        "personal": (how == personal, near(personal), np.log(p_personal)),
        "population": (how == population_best, near(population_best), np.log(p_population)),
    }
    return pd.DataFrame(
        {
            "events": [rows.size] * 2,
            "customers": [np.unique(rows).size] * 2,
            "hit_rate": [float(v[0].mean()) for v in table.values()],
            "hit_rate_3h": [float(v[1].mean()) for v in table.values()],
            "log_score": [float(v[2].mean()) for v in table.values()],
        },
        index=pd.Index(list(table), name="send_time"),
    )
