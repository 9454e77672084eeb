"""Multi-touch attribution: heuristic rules, Markov removal effects, Shapley values."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_scalar
from crmcore.errors import ValidationError
from crmcore.marketing._markov import removal_effects, transition_counts
from crmcore.marketing._paths import Paths, build_paths, run_starts
from crmcore.marketing._shapley import coalition_values, path_masks, shapley_table
from crmcore.marketing._windows import compact

__all__ = ["MODELS", "Attribution", "attribute"]

MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position",
    "markov",
    "shapley",
)
"""The attribution models :func:`attribute` knows."""

_OTHER = "(other)"


@attrs.frozen(kw_only=True)
class Attribution:
    """The result of :func:`attribute`.

    Attributes
    ----------
    credits : DataFrame
        One row per (conversion, channel) with credit: ``conversion`` (the
        conversion's row label), ``customer_col``, ``channel``, ``credit``.
        Each conversion's credits sum to its value; a conversion without a
        touch in its look-back is credited to ``direct_label``.
    by_channel : DataFrame
        Indexed by channel (sorted by credit, largest first): ``credit``
        (total), ``conversions`` (credit shares summed: a conversion split
        0.3 / 0.7 counts 0.3 and 0.7), ``share`` (of all credit).
    model : str
        The model used.
    channel_effects : Series or None
        ``markov``: the removal effect of each channel; ``shapley``: each
        channel's Shapley value in the game over every channel; None for the
        rule-based models.
    n_conversions, n_direct, n_paths : int
        Conversions, those without a touch, and paths used (converting and
        non-converting).
    """

    credits: pd.DataFrame
    by_channel: pd.DataFrame
    model: str
    channel_effects: pd.Series | None
    n_conversions: int
    n_direct: int
    n_paths: int


def _position_weights(value: Any) -> FloatArray:
    try:
        w = np.array([check_scalar(x, name="position_weights", low=0) for x in value])
    except TypeError as exc:
        raise ValidationError(
            f"position_weights must be three numbers (first, middle, last); got {value!r}",
            field="position_weights",
        ) from exc
    if w.size != 3 or not w.sum() > 0:
        raise ValidationError(
            f"position_weights must be three non-negative numbers (first, middle, last) "
            f"with a positive sum; got {value!r}",
            field="position_weights",
        )
    out: FloatArray = w / w.sum()
    return out


def _heuristic_weights(model: str, p: Paths, half_life_ns: int, pos: FloatArray) -> FloatArray:
    """Per-touch share of its conversion's value (each path's shares sum to 1)."""
    rank, length = p.rank, p.length
    if model == "first_touch":
        return np.asarray(rank == 0, dtype=np.float64)
    if model == "last_touch":
        return np.asarray(rank == length - 1, dtype=np.float64)
    if model == "linear":
        out: FloatArray = 1.0 / length
        return out
    if model == "time_decay":
        age = (p.conv_time[p.touch_conv] - p.touch_time) / half_life_ns
        raw = np.exp2(-age)
        total = np.bincount(p.touch_conv, weights=raw, minlength=p.value.size)
        decayed: FloatArray = raw / total[p.touch_conv]
        return decayed
    # position-based: (first, middle, last) shares; with two touches the middle
    # share has no touch, so first and last split in proportion to theirs.
    first, middle, last = pos
    w = np.where(rank == 0, first, np.where(rank == length - 1, last, 0.0))
    n_mid = np.maximum(length - 2, 1)
    w = np.where((rank > 0) & (rank < length - 1), middle / n_mid, w)
    w = np.where(length == 1, 1.0, w)
    two = length == 2
    if first + last > 0:
        w = np.where(two, np.where(rank == 0, first, last) / (first + last), w)
    else:
        w = np.where(two, 0.5, w)
    return np.asarray(w, dtype=np.float64)


def _pairs(p: Paths, channel: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct (conversion, channel) pairs of the touches, and each touch's pair index."""
    k = max(int(channel.max()) + 1 if channel.size else 1, 1)
    keys, inverse = compact(p.touch_conv * k + channel, p.value.size * k)
    return keys // k, keys % k, inverse


def _share_by_effect(conv: IntArray, effect: FloatArray, n_conv: int) -> FloatArray:
    """Shares of each (conversion, channel) pair in proportion to ``effect`` (>= 0).

    A conversion whose channels all have effect 0 splits equally.
    """
    eff = np.clip(effect, 0.0, None)
    total = np.bincount(conv, weights=eff, minlength=n_conv)
    count = np.bincount(conv, minlength=n_conv).astype(np.float64)
    zero = total[conv] <= 0
    out: FloatArray = np.where(zero, 1.0 / count[conv], eff / np.where(zero, 1.0, total[conv]))
    return out


def attribute(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    model: str,
    as_of: Any,
    lookback: Any = "30D",
    half_life: Any = "7D",
    position_weights: Sequence[float] = (0.4, 0.2, 0.4),
    max_channels: int = 16,
    direct_label: str = "(direct)",
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "amount",
    channel_col: str = "channel",
) -> Attribution:
    """Share each conversion's value among the channels that led to it.

    Parameters
    ----------
    touches : DataFrame
        Marketing touches: ``customer_col``, ``date_col``, ``channel_col``
        (any labels: ``"email"``, ``"paid_search"``, a campaign...). Touches
        of the engagement frame (clicks, visits) qualify as they are.
    conversions : DataFrame
        Conversions (orders, sign-ups): ``customer_col``, ``date_col``,
        ``value_col``; the row labels (unique) name them in the result.
    model : str
        ``"first_touch"``, ``"last_touch"``, ``"linear"``, ``"time_decay"``,
        ``"position"`` (rules), ``"markov"`` or ``"shapley"`` (data-driven).
    as_of : date-like
        Cut-off; touches and conversions after it are not seen.
    lookback : duration, default "30D"
        A touch counts for the customer's first conversion at or after it,
        if it lies in ``(conversion - lookback, conversion]``.
    half_life : duration, default "7D"
        ``time_decay``: a touch ``half_life`` older weighs half as much.
    position_weights : (first, middle, last), default (0.4, 0.2, 0.4)
        ``position``: shares of the first touch, all middle touches
        together, and the last touch (normalised to sum to 1). A single
        touch takes everything; two touches split first : last.
    max_channels : int, default 16
        ``shapley``: above this many channels the least-touched are pooled
        into ``"(other)"`` (exact Shapley values cost ``O(K² 2^K)``).
    direct_label : str, default "(direct)"
        Channel credited with conversions that have no touch.
    customer_col, date_col, value_col, channel_col : str
        Column names.

    Returns
    -------
    Attribution
        Per (conversion, channel) credits and the totals by channel.

    Notes
    -----
    Paths: see ``crmcore.marketing._paths`` (a touch belongs to the first
    conversion at or after it; a non-converting path is the unassigned
    touches between two conversions, within ``lookback`` of the latest).

    The rule-based models weight each touch of a path (several touches on
    one channel add up). ``markov`` shares each conversion's value among the
    distinct channels on its path in proportion to their removal effects in
    a first-order Markov chain fitted to all paths, converting or not
    (Anderl et al. 2016); ``shapley`` in proportion to their Shapley values
    in the game restricted to the path's channel set, the worth of a set
    being the conversion rate of paths with exactly that set (Shao and Li
    2011). Both redistribute per conversion, so every conversion's credits
    sum to its value, as for the rules. The exact formulas are in the
    module docstrings of ``_markov`` and ``_shapley``.

    Raises
    ------
    ValidationError
        An unknown model, missing columns or ids, non-finite values, bad
        durations or weights, conversions with a repeated row label, or
        naive and aware dates mixed.

    Examples
    --------
    >>> import pandas as pd
    >>> touches = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "a", "b"],
    ...         "date": pd.to_datetime(["2024-05-01", "2024-05-03", "2024-05-04", "2024-05-02"]),
    ...         "channel": ["search", "email", "email", "social"],
    ...     }
    ... )
    >>> conversions = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "c"],
    ...         "date": pd.to_datetime(["2024-05-05", "2024-05-02", "2024-05-06"]),
    ...         "amount": [100.0, 40.0, 10.0],
    ...     }
    ... )
    >>> result = attribute(touches, conversions, model="position", as_of="2024-05-31")
    >>> result.credits
       conversion customer_id   channel  credit
    0           0           a     email    60.0
    1           0           a    search    40.0
    2           1           b    social    40.0
    3           2           c  (direct)    10.0
    >>> result.by_channel["credit"].to_dict()
    {'email': 60.0, 'search': 40.0, 'social': 40.0, '(direct)': 10.0}
    """
    if model not in MODELS:
        raise ValidationError(
            f"model must be one of {', '.join(map(repr, MODELS))}; got {model!r}",
            field="model",
            value=model,
        )
    half_ns = int(_time.to_duration(half_life, name="half_life").value)
    pos = _position_weights(position_weights)
    max_k = int(check_scalar(max_channels, name="max_channels", low=2, high=24, integer=True))
    p = build_paths(
        touches,
        conversions,
        as_of=as_of,
        lookback=lookback,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        channel_col=channel_col,
    )
    n_conv = p.value.size
    labels = p.channels
    channel = p.touch_channel
    effects: pd.Series | None = None
    if model == "shapley" and len(labels) > max_k:
        labels, channel, null_channel = _pool(p, max_k)
        p = dataclasses.replace(p, null_channel=null_channel)
    if model in ("markov", "shapley"):
        conv, ch, _ = _pairs(p, channel)
        if model == "markov":
            effect, _base = removal_effects(transition_counts(p))
            share = _share_by_effect(conv, effect[ch], n_conv)
            effects = pd.Series(effect, index=labels, name="removal_effect")
        else:
            k = len(labels)
            conv_masks = path_masks(p.touch_conv, channel, n_conv)
            null_masks = path_masks(p.null_path, p.null_channel, p.n_null)
            has_touch = np.bincount(p.touch_conv, minlength=n_conv) > 0
            phi = shapley_table(coalition_values(conv_masks[has_touch], null_masks, k), k)
            share = _share_by_effect(conv, phi[ch, conv_masks[conv]], n_conv)
            effects = pd.Series(phi[:, (1 << k) - 1], index=labels, name="shapley_value")
        credit = share * p.value[conv]
    else:
        w = _heuristic_weights(model, p, half_ns, pos)
        conv, ch, inverse = _pairs(p, channel)
        share = np.bincount(inverse, weights=w, minlength=conv.size).astype(np.float64)
        credit = np.bincount(
            inverse, weights=w * p.value[p.touch_conv], minlength=conv.size
        ).astype(np.float64)
    # a channel with no share of a path (not first, in first-touch) gets no row
    kept = share > 0
    conv, ch, credit = conv[kept], ch[kept], credit[kept]
    return _result(p, conv, ch, credit, labels, model, effects, direct_label, customer_col)


def _pool(p: Paths, max_k: int) -> tuple[pd.Index, IntArray, IntArray]:
    """Keep the ``max_k - 1`` most-touched channels; pool the rest into ``(other)``."""
    k = len(p.channels)
    touched = np.bincount(p.touch_channel, minlength=k) + np.bincount(p.null_channel, minlength=k)
    keep = np.sort(np.argsort(-touched, kind="stable")[: max_k - 1])
    mapping = np.full(k, keep.size, dtype=np.int64)
    mapping[keep] = np.arange(keep.size)
    labels = pd.Index([*p.channels[keep].tolist(), _OTHER])
    return labels, mapping[p.touch_channel], mapping[p.null_channel]


def _result(  # noqa: PLR0917 - internal: the pieces of one result
    p: Paths,
    conv: IntArray,
    ch: IntArray,
    credit: FloatArray,
    labels: pd.Index,
    model: str,
    effects: pd.Series | None,
    direct_label: str,
    customer_col: str,
) -> Attribution:
    n_conv = p.value.size
    touched = np.zeros(n_conv, dtype=bool)
    touched[conv] = True
    direct = np.flatnonzero(~touched)
    all_conv = np.concatenate([conv, direct])
    order = np.argsort(all_conv, kind="stable")
    names = np.asarray([*labels.tolist(), direct_label], dtype=object)
    all_ch = np.concatenate([ch, np.full(direct.size, len(labels), dtype=np.int64)])
    all_credit = np.concatenate([credit, p.value[direct]])
    positions = all_conv[order]
    credits = pd.DataFrame(
        {
            "conversion": p.conversions[positions],
            customer_col: p.conv_customer[positions],
            "channel": names[all_ch[order]],
            "credit": all_credit[order],
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(
            p.value[all_conv] != 0,
            all_credit / np.where(p.value[all_conv] != 0, p.value[all_conv], 1),
            0.0,
        )
    k = names.size
    totals = np.bincount(all_ch, weights=all_credit, minlength=k)
    counts = np.bincount(all_ch, weights=fraction, minlength=k)
    present = np.bincount(all_ch, minlength=k) > 0
    grand = totals.sum()
    by_channel = pd.DataFrame(
        {
            "credit": totals[present],
            "conversions": counts[present],
            "share": totals[present] / grand if grand != 0 else np.full(present.sum(), np.nan),
        },
        index=pd.Index(names[present], name="channel"),
    ).sort_values("credit", ascending=False, kind="stable")
    n_paths = int(np.count_nonzero(run_starts(p.touch_conv))) + p.n_null
    return Attribution(
        credits=credits,
        by_channel=by_channel,
        model=model,
        channel_effects=effects,
        n_conversions=n_conv,
        n_direct=int(direct.size),
        n_paths=n_paths,
    )
