"""The inputs of next-best-action, checked: customers, offers, consent, per-offer values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._time import add_duration, read_dates, resolve_as_of, to_duration
from crmcore._types import FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.recommend._interactions import plain
from crmcore.recommend._offers import Constraints, Offer

__all__ = ["Spec", "consent_matrix", "contact_counts", "customer_ids", "offer_list"]


def customer_ids(customers: Any, customer_col: str) -> pd.Index:
    if not isinstance(customers, pd.DataFrame):
        raise ValidationError(
            f"customers must be a DataFrame (one row per customer); got "
            f"{type(customers).__name__}",
            field="customers",
        )
    if customer_col in customers.columns:
        ids = pd.Index(customers[customer_col])
    elif customers.index.name == customer_col:
        ids = pd.Index(customers.index)
    else:
        present = ", ".join(map(str, customers.columns)) or "none"
        raise ValidationError(
            f"customers has no column (or index) named {customer_col!r}; columns present: "
            f"{present}",
            field=customer_col,
        )
    first_bad(
        np.asarray(ids.isna(), dtype=bool),
        name=customer_col,
        problem="must not be missing",
        values=ids.to_numpy(dtype=object),
        row_name="customer",
    )
    if not ids.is_unique:
        dup = plain(ids[ids.duplicated()][0])
        raise ValidationError(
            f"customer {dup!r} appears more than once in customers; give one row per customer",
            field=customer_col,
            row=dup,
            value=dup,
        )
    out: pd.Index = ids.rename(customer_col)
    return out


def offer_list(offers: Any) -> list[Offer]:
    items = list(offers) if isinstance(offers, Sequence | tuple) else None
    if not items or not all(isinstance(o, Offer) for o in items):
        raise ValidationError("offers must be a non-empty sequence of Offer", field="offers")
    ids = [o.id for o in items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValidationError(f"offer id {dup!r} is used twice", field="offers", value=dup)
    return items


def _aligned(frame: pd.DataFrame, ids: pd.Index, customer_col: str, name: str) -> pd.DataFrame:
    """Rows of ``frame`` for ``ids`` (by its customer column or index); missing rows are NaN."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"{name} must be a DataFrame indexed by customer id; got {type(frame).__name__}",
            field=name,
        )
    if customer_col in frame.columns:
        frame = frame.set_index(customer_col)
    if not frame.index.is_unique:
        dup = plain(frame.index[frame.index.duplicated()][0])
        raise ValidationError(
            f"{name} lists customer {dup!r} twice", field=name, row=dup, value=dup
        )
    return frame.reindex(ids)


def consent_matrix(
    consent: Any, ids: pd.Index, channels: list[str], customer_col: str, users: Mapping[str, Any]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    frame = _aligned(consent, ids, customer_col, "consent")
    out = np.zeros((len(ids), len(channels)), dtype=bool)
    for j, ch in enumerate(channels):
        if ch not in frame.columns:
            present = ", ".join(map(str, frame.columns)) or "none"
            raise ValidationError(
                f"consent has no column for channel {ch!r} (used by offer(s) "
                f"{', '.join(map(repr, users[ch]))}); columns present: {present}. Add one: True "
                "where consent is in force at as_of, False or missing where not",
                field=ch,
            )
        col = frame[ch]
        known = col.notna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(col.dtype):
            out[known, j] = col[known].to_numpy(dtype=bool)
            continue
        vals = col[known].to_numpy(dtype=object)
        if pd.api.types.is_numeric_dtype(col.dtype):
            ok = np.isin(vals.astype(np.float64), (0.0, 1.0))
        else:
            ok = np.array(
                [
                    isinstance(v, bool | np.bool_) or (isinstance(v, int | float) and v in (0, 1))
                    for v in vals
                ],
                dtype=bool,
            )
        if not ok.all():
            bad = plain(vals[~ok][0])
            raise ValidationError(
                f"consent[{ch!r}] must hold True/False (or 1/0, missing = no consent); got "
                f"{bad!r}",
                field=ch,
                value=bad,
            )
        out[known, j] = vals.astype(bool)
    return out


class Spec:
    """Per-offer values (probabilities or values) for any rows of the customer frame.

    The source is a frame (customers × offer ids), a mapping offer id →
    number / column name / callable, a customer column name, a callable, or
    a number; ``fallback`` gives the offer's own spec (``Offer.value``).
    Columns are evaluated one offer at a time and for any subset of rows,
    so that no customers × offers matrix of inputs is ever held.
    """

    def __init__(
        self,
        source: Any,
        customers: pd.DataFrame,
        ids: pd.Index,
        *,
        name: str,
        customer_col: str,
        fallback: Callable[[Offer], Any] | None = None,
    ) -> None:
        self.source = source
        self.customers = customers
        self.ids = ids
        self.name = name
        self.fallback = fallback
        self.frame: pd.DataFrame | None = None
        self.rows: IntArray | None = None
        if isinstance(source, pd.DataFrame):
            frame = source.set_index(customer_col) if customer_col in source.columns else source
            if not frame.index.is_unique:
                dup = plain(frame.index[frame.index.duplicated()][0])
                raise ValidationError(
                    f"{name} lists customer {dup!r} twice", field=name, row=dup, value=dup
                )
            self.frame = frame
            self.rows = np.asarray(frame.index.get_indexer(ids), dtype=np.int64)

    def _spec(self, offer: Offer) -> Any:
        name, source = self.name, self.source
        if self.frame is not None:
            if offer.id not in self.frame.columns:
                raise ValidationError(
                    f"{name} has no column for offer {offer.id!r}", field=name, value=offer.id
                )
            return _FrameColumn(offer.id)
        if isinstance(source, Mapping):
            if offer.id not in source:
                raise ValidationError(
                    f"{name} has no entry for offer {offer.id!r}", field=name, value=offer.id
                )
            return source[offer.id]
        if source is None and self.fallback is not None:
            return self.fallback(offer)
        return source

    def column(self, offer: Offer, positions: IntArray | None = None) -> FloatArray:
        """Values of ``offer`` for the customers at ``positions`` (all when None).

        Raises
        ------
        ValidationError
            No spec for the offer, a column the customer frame lacks, a
            customer missing from a frame, or values that are not finite
            numbers (or of the wrong length).
        """
        spec = self._spec(offer)
        name = self.name
        n = len(self.ids) if positions is None else positions.size
        index = self.ids if positions is None else self.ids.take(positions)
        if spec is None:
            raise ValidationError(
                f"no {name} for offer {offer.id!r}: give Offer(value=...) or "
                f"next_best_action({name}=...)",
                field=name,
                value=offer.id,
            )
        if isinstance(spec, _FrameColumn):
            assert self.frame is not None
            assert self.rows is not None
            rows = self.rows if positions is None else self.rows[positions]
            if (rows < 0).any():
                bad = plain(index[rows < 0][0])
                raise ValidationError(
                    f"{name} has no row for customer {bad!r}", field=name, row=bad, value=bad
                )
            spec = self.frame[spec.key].to_numpy()[rows]
        elif isinstance(spec, str):
            if spec not in self.customers.columns:
                present = ", ".join(map(str, self.customers.columns)) or "none"
                raise ValidationError(
                    f"{name} of offer {offer.id!r} names column {spec!r}, which customers "
                    f"lacks; columns present: {present}",
                    field=spec,
                )
            col = self.customers[spec].to_numpy()
            spec = col if positions is None else col[positions]
        elif callable(spec):
            rows_frame = self.customers if positions is None else self.customers.iloc[positions]
            spec = spec(rows_frame, offer) if name == "response_model" else spec(rows_frame)
        if np.ndim(spec) == 0:
            spec = np.full(n, spec)
        values = as_float_array(
            spec, name=f"{name}[{offer.id!r}]", index=index, row_name="customer"
        )
        if values.shape != (n,):
            raise ValidationError(
                f"{name} of offer {offer.id!r} gives {values.shape[0]} values for {n} customers",
                field=name,
            )
        return values


@attrs.frozen
class _FrameColumn:
    key: Any


def contact_counts(
    contacts: Any,
    ids: pd.Index,
    constraints: Constraints,
    *,
    as_of: Any,
    customer_col: str,
    channel_col: str,
    date_col: str,
) -> list[IntArray]:
    """Contacts per customer in each cap's window ``(as_of - window, as_of]``."""
    if contacts is None or as_of is None:
        raise ValidationError(
            "frequency caps need contacts= (past contacts: customer, channel, date; an empty "
            "frame if none) and as_of=",
            field="contacts" if contacts is None else "as_of",
        )
    check_columns(contacts, [customer_col, channel_col, date_col], name="contacts")
    dates = read_dates(contacts[date_col], name=date_col, index=contacts.index)
    cutoff = dates.cutoff(as_of) if len(contacts) else resolve_as_of(as_of, tz=None)
    pos = ids.get_indexer(pd.Index(contacts[customer_col]))
    chan = contacts[channel_col].to_numpy(dtype=object)
    counts = []
    for cap in constraints.frequency_caps:
        start = add_duration(cutoff.ns, dates.tz, to_duration(cap.window, name="window"), sign=-1)
        inside = (dates.ns > start) & (dates.ns <= cutoff.ns) & (pos >= 0)
        if cap.channel is not None:
            inside &= chan == cap.channel
        counts.append(np.bincount(pos[inside], minlength=len(ids)).astype(np.int64))
    return counts
