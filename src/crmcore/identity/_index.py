"""Save-time duplicate check: an index of existing records and ``match_new``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmcore._types import IntArray
from crmcore._validation import check_scalar
from crmcore.domain import Customer
from crmcore.errors import ValidationError
from crmcore.identity._blocking import KeyCache, combine_codes, pass_keys
from crmcore.identity._kinds import KINDS
from crmcore.identity._match import pairs_table
from crmcore.identity._model import MatchModel
from crmcore.identity._prepare import Prepared, compare_pairs, customers_frame, prepare

__all__ = ["MatchIndex", "MatchResult"]

Decision = Literal["allow", "alert", "block"]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What :meth:`MatchIndex.match_new` found.

    Attributes
    ----------
    decision : {"allow", "alert", "block"}
        ``"block"`` when the best candidate scores at least the index's
        ``block`` threshold, ``"alert"`` when at least ``alert``, else
        ``"allow"``.
    candidates : DataFrame
        Existing records scoring at least ``alert``, best first: ``id``,
        ``score``, ``weight`` and per field ``<field>_sim``,
        ``<field>_level``, ``<field>_weight``.
    """

    decision: Decision
    candidates: pd.DataFrame


@dataclass(frozen=True, slots=True)
class _PassIndex:
    keys: np.ndarray[Any, np.dtype[np.uint64]]  # sorted
    positions: IntArray


class MatchIndex:
    """Blocking keys of existing records, built once, for checks at entry.

    Build with :meth:`build`; then :meth:`match_new` compares one new record
    with the indexed records that share a blocking key with it (the same
    passes, keys and block-size cap as :func:`find_duplicates`) and scores
    them with the model, in about a millisecond against a million records.
    The index holds per pass a sorted array of 64-bit key hashes and record
    positions (12 bytes per record and pass) plus the normalised field
    values.

    Examples
    --------
    >>> from crmcore.identity import Field, MatchModel, make_duplicates
    >>> existing = make_duplicates(300, random_state=0).records
    >>> fields = {
    ...     "name": "name",
    ...     "email": "email",
    ...     "phone": Field("phone", country_col="country"),
    ...     "birth_date": "date",
    ... }
    >>> model = MatchModel(fields).fit(existing)
    >>> index = MatchIndex.build(existing, model)
    >>> new = existing.iloc[0].to_dict()
    >>> new.update(id=None, name=new["name"].upper(), email=None)  # same person, typed again
    >>> result = index.match_new(new)
    >>> result.decision, result.candidates["id"].tolist()
    ('block', ['R0000000'])
    """

    def __init__(
        self,
        model: MatchModel,
        prepared: Prepared,
        passes: tuple[_PassIndex, ...],
        keys: KeyCache,
        *,
        alert: float,
        block: float,
    ) -> None:
        self.model = model
        self._prepared = prepared
        self._passes = passes
        self._keys = keys
        self._ids = prepared.ids.to_numpy(dtype=object)
        self.alert = alert
        self.block = block

    @classmethod
    def build(
        cls,
        records: Any,
        model: MatchModel,
        *,
        alert: float = 0.5,
        block: float = 0.95,
    ) -> MatchIndex:
        """Index ``records`` for :meth:`match_new` with a fitted ``model``.

        Parameters
        ----------
        records : DataFrame or iterable of Customer
            Existing records (``model.id_col`` and every field).
        model : MatchModel
            A fitted model (its fields, blocking passes and probabilities).
        alert, block : float, default 0.5 and 0.95
            Score thresholds of the ``"alert"`` and ``"block"`` decisions
            (``alert <= block``).

        Raises
        ------
        ValidationError
            Thresholds outside [0, 1] or in the wrong order, or anything
            :func:`find_duplicates` refuses in ``records``.
        NotFittedError
            ``model`` is not fitted.
        """
        if not isinstance(model, MatchModel):
            raise ValidationError(f"model must be a MatchModel; got {type(model).__name__}")
        model._check_fitted()
        check_scalar(alert, name="alert", low=0, high=1)
        check_scalar(block, name="block", low=0, high=1)
        if alert > block:
            raise ValidationError(
                f"alert ({alert}) must not exceed block ({block})", field="alert", value=alert
            )
        prep = prepare(records, model.fields_, model.id_col)
        built = []
        cache: KeyCache = {}
        for keys in model.passes_:
            h, has = pass_keys(prep.columns, model.fields_, keys, cache)
            pos = np.flatnonzero(has)
            order = np.argsort(h[pos], kind="stable")
            built.append(_PassIndex(h[pos][order], pos[order].astype(np.int64)))
        for known in cache.values():  # build each key table's hash index now, not on a query
            known.keys.get_indexer(known.keys[:1])
        return cls(model, prep, tuple(built), cache, alert=float(alert), block=float(block))

    def __len__(self) -> int:
        return len(self._prepared.ids)

    def _query(self, record: Any) -> Prepared:
        model = self.model
        if isinstance(record, Customer):
            row: dict[Any, Any] = customers_frame([record]).iloc[0].to_dict()
        elif isinstance(record, pd.Series):
            row = record.to_dict()
        elif isinstance(record, Mapping):
            row = dict(record)
        else:
            raise ValidationError(
                f"record must be a mapping, a Series or a Customer; got {type(record).__name__}",
                field="record",
            )
        new_id = row.get(model.id_col)
        if new_id is None or (isinstance(new_id, float) and np.isnan(new_id)):
            new_id = "<new>"
        row["__id__"] = new_id
        # a field the new record leaves out counts as missing
        columns = {
            c: KINDS[spec.kind].one(row.get(c), spec, row, c) for c, spec in model.fields_.items()
        }
        return Prepared(pd.Index([new_id]), np.zeros(1, dtype=np.int64), columns)

    def candidates_of(self, query: Prepared) -> IntArray:
        """Positions of indexed records sharing a key with the one-record ``query``."""
        found: list[IntArray] = []
        cap = int(self.model.max_block_size)
        codes: dict[tuple[str, str], IntArray] = {}
        for (column, variant), known in self._keys.items():
            kind = KINDS[self.model.fields_[column].kind]
            code = kind.query_key(query.columns[column], variant, known.keys)
            codes[column, variant] = np.array([code], dtype=np.int64)
        for keys, idx in zip(self.model.passes_, self._passes, strict=True):
            h, has = combine_codes([codes[k] for k in keys])
            if not has[0]:
                continue
            lo = int(np.searchsorted(idx.keys, h[0], side="left"))
            hi = int(np.searchsorted(idx.keys, h[0], side="right"))
            # the same cap as find_duplicates: the block with the new record included
            if hi - lo > 0 and hi - lo + 1 <= cap:
                found.append(idx.positions[lo:hi])
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(found))

    def match_new(self, record: Any) -> MatchResult:
        """Check one record about to be saved against the indexed records.

        Parameters
        ----------
        record : mapping, Series or Customer
            The new record's fields (missing ones count as missing values;
            the id is optional).

        Returns
        -------
        MatchResult
            The decision and the candidates scoring at least ``alert``.

        Raises
        ------
        ValidationError
            An unreadable phone number or date in ``record``.
        """
        query = self._query(record)
        cand = self.candidates_of(query)
        zeros = np.zeros(cand.size, dtype=np.int64)
        fields = self.model.fields_
        sims, levels = compare_pairs(query, zeros, self._prepared, cand, fields=fields)
        scored = self.model.score_levels(levels)
        keep = np.flatnonzero(scored[0] >= self.alert)
        keep = keep[np.argsort(-scored[0][keep], kind="stable")]
        table = pairs_table(
            query.ids,
            zeros[keep],
            self._ids,
            cand[keep],
            fields=fields,
            sims={c: s[keep] for c, s in sims.items()},
            levels=levels[keep],
            scored=(scored[0][keep], scored[1][keep], scored[2][keep]),
            names=("", "id"),
        )
        best = float(table["score"].iloc[0]) if len(table) else 0.0
        decision: Decision = (
            "block" if best >= self.block else ("alert" if best >= self.alert else "allow")
        )
        return MatchResult(decision, table.reset_index(drop=True))
