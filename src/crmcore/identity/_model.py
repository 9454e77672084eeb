"""MatchModel: fields, blocking and the fitted Fellegi–Sunter probabilities."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd

from crmcore._jsonfile import read_json
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_random_state, check_scalar
from crmcore.errors import NotFittedError, ValidationError
from crmcore.identity._blocking import BlockingStats, candidate_pairs, parse_blocking
from crmcore.identity._fellegi_sunter import (
    compress,
    fit_em,
    fit_labelled,
    level_frequencies,
    posterior,
)
from crmcore.identity._fields import Field, fields_from_dict, fields_to_dict, parse_fields
from crmcore.identity._kinds import KINDS
from crmcore.identity._prepare import Prepared, compare_pairs, positions_of, prepare

__all__ = ["MatchModel"]

_FORMAT = "crmcore.identity.MatchModel/1"


class MatchModel:
    """Which fields to compare, how to block, and Fellegi–Sunter m/u probabilities.

    Fit it once on your records (EM, no labels needed) and reuse it:
    :func:`find_duplicates` and :class:`MatchIndex` take it as ``model=``.

    Parameters
    ----------
    fields : mapping of str to str or Field
        Column -> comparison kind (``"name"``, ``"text"``, ``"email"``,
        ``"phone"``, ``"date"``, ``"postcode"``, ``"exact"``, ``"numeric"``)
        or a :class:`Field` with options.
    blocking : list of passes, optional
        Each pass a key or list of keys (``"email"``, ``"name:prefix"``,
        ``["name:prefix", "birth_date"]``); default: see the guide.
    id_col : str, default "id"
        Column of record ids (unique).
    max_block_size : int, default 100
        Blocks with more records are skipped in that pass.
    max_iter : int, default 200
        EM iterations at most.
    tol : float, default 1e-7
        Relative change of the log-likelihood at which EM stops.
    n_random_pairs : int, default 20000
        Random record pairs used to start ``u`` (they are almost all
        non-matches).
    random_state : int, Generator or None, default 0
        Seed for the random pairs.
    n_jobs : int, default 1
        Threads RapidFuzz may use (``-1``: all cores).

    Attributes
    ----------
    fields_ : dict of str to Field
    passes_ : tuple
        The blocking passes used.
    levels_ : dict of str to tuple of str
        Names of each field's agreement levels, lowest first.
    m_, u_ : dict of str to ndarray
        P(level | match) and P(level | non-match) per field.
    prior_ : float
        Share of matches among the candidate pairs (λ).
    n_iter_ : int
    converged_ : bool
    log_likelihood_ : float
        Of the candidate pairs' comparison vectors (0 when trained on labels
        with λ fixed by EM alone it is that EM's value).
    blocking_stats_ : BlockingStats
    """

    def __init__(
        self,
        fields: Mapping[str, Any],
        *,
        blocking: Any = None,
        id_col: str = "id",
        max_block_size: int = 100,
        max_iter: int = 200,
        tol: float = 1e-7,
        n_random_pairs: int = 20_000,
        random_state: Any = 0,
        n_jobs: int = 1,
    ) -> None:
        self.fields = fields
        self.blocking = blocking
        self.id_col = id_col
        self.max_block_size = max_block_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_random_pairs = n_random_pairs
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------ set-up

    def _check_params(self) -> tuple[dict[str, Field], tuple[Any, ...]]:
        fields = parse_fields(self.fields)
        passes = parse_blocking(self.blocking, fields)
        check_scalar(self.max_block_size, name="max_block_size", low=2, integer=True)
        check_scalar(self.max_iter, name="max_iter", low=1, integer=True)
        check_scalar(self.tol, name="tol", low=0, low_inclusive=False)
        check_scalar(self.n_random_pairs, name="n_random_pairs", low=1, integer=True)
        if not isinstance(self.id_col, str):
            raise ValidationError(f"id_col must be a column name; got {self.id_col!r}")
        return fields, passes

    def _n_levels(self) -> list[int]:
        return [KINDS[s.kind].n_levels(s) for s in self.fields_.values()]

    # ------------------------------------------------------------ fitting

    def fit(self, records: Any, *, labels: pd.DataFrame | None = None) -> Self:
        """Estimate m, u and λ on ``records`` (EM), or from labelled pairs.

        Parameters
        ----------
        records : DataFrame or iterable of Customer
            The records to deduplicate, with ``id_col`` and every field.
        labels : DataFrame, optional
            Labelled pairs: ``id_l``, ``id_r`` and a boolean ``match``. Then
            m and u are the (smoothed) level frequencies among the labelled
            matches and non-matches, and EM estimates λ only.

        Returns
        -------
        MatchModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            Missing columns, unknown kinds or blocking keys, repeated ids,
            unreadable values, or labels naming unknown records.
        """
        fields, passes = self._check_params()
        prep = prepare(records, fields, self.id_col)
        i, j, stats = candidate_pairs(
            prep.columns, fields, passes, prep.rank, max_block_size=int(self.max_block_size)
        )
        _sims, levels = compare_pairs(prep, i, prep, j, fields=fields, n_jobs=self.n_jobs)
        return self._fit_levels(
            prep, fields=fields, passes=passes, levels=levels, stats=stats, labels=labels
        )

    def _fit_levels(
        self,
        prep: Prepared,
        *,
        fields: dict[str, Field],
        passes: tuple[Any, ...],
        levels: np.ndarray[Any, np.dtype[np.int8]],
        stats: BlockingStats,
        labels: pd.DataFrame | None,
    ) -> Self:
        self.fields_ = fields
        self.passes_ = passes
        n_levels = self._n_levels()
        u_random = self._random_u(prep, n_levels)
        fix = None
        if labels is not None:
            li, lj, is_match = _label_positions(prep, labels)
            _s, lab_levels = compare_pairs(prep, li, prep, lj, fields=fields, n_jobs=self.n_jobs)
            fix = fit_labelled(lab_levels, is_match, n_levels, u_random)
        if levels.shape[0] == 0:
            m, u = fix if fix is not None else (
                [np.full(k, 1.0 / k) for k in n_levels], u_random
            )  # fmt: skip
            # nothing to fit without candidate pairs: m uniform, u from random pairs
            self._store(m, u, prior=0.5, n_iter=0, converged=True, ll=0.0)
        else:
            result = fit_em(
                compress(levels, n_levels),
                n_levels,
                u_start=u_random,
                fix_mu=fix,
                max_iter=int(self.max_iter),
                tol=float(self.tol),
            )
            self._store(
                result.m,
                result.u,
                prior=result.prior,
                n_iter=result.n_iter,
                converged=result.converged,
                ll=result.log_likelihood,
            )
        self.blocking_stats_ = stats
        return self

    def _store(
        self,
        m: list[FloatArray],
        u: list[FloatArray],
        *,
        prior: float,
        n_iter: int,
        converged: bool,
        ll: float,
    ) -> None:
        names = list(self.fields_)
        self.m_ = dict(zip(names, m, strict=True))
        self.u_ = dict(zip(names, u, strict=True))
        self.prior_ = float(prior)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self.log_likelihood_ = float(ll)
        self.levels_ = {c: KINDS[s.kind].levels(s) for c, s in self.fields_.items()}

    def _random_u(self, prep: Prepared, n_levels: list[int]) -> list[FloatArray]:
        n = prep.rank.size
        if n < 2:
            return [np.full(k, 1.0 / k) for k in n_levels]
        rng = check_random_state(self.random_state)
        size = int(min(self.n_random_pairs, n * (n - 1) // 2))
        # drawn as positions in id order, so the rows' order changes nothing
        by_rank = np.empty(n, dtype=np.int64)
        by_rank[prep.rank] = np.arange(n)
        i = rng.integers(0, n, size)
        j = rng.integers(0, n - 1, size)
        i, j = by_rank[i], by_rank[j + (j >= i)]
        _s, levels = compare_pairs(prep, i, prep, j, fields=self.fields_, n_jobs=self.n_jobs)
        return level_frequencies(levels, n_levels, prior=1.0)

    # ------------------------------------------------------------ scoring

    def _check_fitted(self) -> None:
        if not hasattr(self, "m_"):
            raise NotFittedError(
                "this MatchModel is not fitted yet: call fit(records) or pass it to "
                "find_duplicates after fitting"
            )

    def score_levels(
        self, levels: np.ndarray[Any, np.dtype[np.int8]]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Match probability, total weight and per-field weights (log2) of level rows."""
        self._check_fitted()
        m = list(self.m_.values())
        u = list(self.u_.values())
        pat = compress(levels, self._n_levels())
        prob, weight = posterior(pat.levels, m, u, self.prior_)
        per_field = np.zeros(levels.shape, dtype=np.float64)
        for f, (mf, uf) in enumerate(zip(m, u, strict=True)):
            g = levels[:, f].astype(np.int64)
            table = np.log2(mf) - np.log2(uf)
            per_field[:, f] = np.where(g >= 0, table[np.maximum(g, 0)], 0.0)
        return prob[pat.inverse], weight[pat.inverse], per_field

    # ------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Return parameters and fitted probabilities as JSON-safe data."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "params": {
                "fields": fields_to_dict(self.fields_),
                "blocking": [[f"{c}:{v}" for c, v in p] for p in self.passes_],
                "id_col": self.id_col,
                "max_block_size": int(self.max_block_size),
                "max_iter": int(self.max_iter),
                "tol": float(self.tol),
                "n_random_pairs": int(self.n_random_pairs),
                "n_jobs": int(self.n_jobs),
            },
            "m": {c: v.tolist() for c, v in self.m_.items()},
            "u": {c: v.tolist() for c, v in self.u_.items()},
            "prior": self.prior_,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
            "log_likelihood": self.log_likelihood_,
        }

    @classmethod
    def from_dict(cls, data: Any) -> MatchModel:
        """Rebuild a fitted model from :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            Not a MatchModel's data, or probabilities of the wrong shape.
        """
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise ValidationError(
                f"not a MatchModel's data (expected format {_FORMAT!r})", field="format"
            )
        params = dict(data["params"])
        params["fields"] = fields_from_dict(params["fields"])
        model = cls(**params)
        model.fields_, model.passes_ = model._check_params()
        m = [np.asarray(data["m"][c], dtype=np.float64) for c in model.fields_]
        u = [np.asarray(data["u"][c], dtype=np.float64) for c in model.fields_]
        for c, k, mf, uf in zip(model.fields_, model._n_levels(), m, u, strict=True):
            if mf.shape != (k,) or uf.shape != (k,):
                raise ValidationError(f"m and u of {c} must have {k} levels", field=c)
        model._store(
            m,
            u,
            prior=float(data["prior"]),
            n_iter=int(data["n_iter"]),
            converged=bool(data["converged"]),
            ll=float(data["log_likelihood"]),
        )
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MatchModel:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(read_json(path, what="MatchModel file"))

    def __repr__(self) -> str:
        state = "fitted" if hasattr(self, "m_") else "not fitted"
        return f"MatchModel(fields={list(parse_fields(self.fields))}, {state})"


def _label_positions(
    prep: Prepared, labels: pd.DataFrame
) -> tuple[IntArray, IntArray, np.ndarray[Any, np.dtype[np.bool_]]]:
    if not isinstance(labels, pd.DataFrame):
        raise ValidationError("labels must be a DataFrame with id_l, id_r, match", field="labels")
    missing = [c for c in ("id_l", "id_r", "match") if c not in labels.columns]
    if missing:
        raise ValidationError(
            f"labels is missing column(s) {', '.join(map(repr, missing))}; columns present: "
            f"{', '.join(map(str, labels.columns))}",
            field=missing[0],
        )
    match = labels["match"]
    if match.isna().any() or not all(isinstance(v, bool | np.bool_) for v in match):
        raise ValidationError("labels['match'] must be True or False on every row", field="match")
    i = positions_of(prep, labels["id_l"], field="labels")
    j = positions_of(prep, labels["id_r"], field="labels")
    return i, j, match.to_numpy(dtype=bool)
