"""Lead scoring on behaviour: decayed engagement counts, and fit and engagement scores apart.

Two questions are asked of a lead, and answered separately, as marketing
automation tools do: does it *fit* (who it is: source, industry, size) and
is it *engaged* (what it does: visits, downloads, opens, clicks)? A lead
that fits but sleeps needs nurturing; an engaged lead that does not fit
needs qualifying. Mixing both into one number hides which.

Engagement is counted with exponential time decay: an event ``a`` old
counts ``2 ** (-a / half_life)``, so a visit yesterday weighs almost 1 and a
visit one half-life ago 0.5. The counts are read from the engagement frame
of :mod:`crmcore.marketing` (``customer_id``, ``type``, ``date``; the same
frame :func:`crmcore.marketing.engagement_features` reads for its windowed
counts).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from crmcore._jsonfile import read_json
from crmcore._time import NS_PER_DAY, read_dates, to_duration
from crmcore._validation import check_columns, check_scalar
from crmcore.domain import EngagementType
from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline._scoring import LeadScorer
from crmcore.pipeline._scoring_design import read_numeric

__all__ = ["ENGAGEMENT_TYPES", "FitEngagementScorer", "decayed_engagement"]

ENGAGEMENT_TYPES: tuple[str, ...] = ("web_visit", "download", "form_submit", "open", "click")
"""Event types :func:`decayed_engagement` counts by default."""

_FORMAT = "crmcore.pipeline.FitEngagementScorer"
_GRADE_LETTERS = "ABCD"


def decayed_engagement(
    events: pd.DataFrame,
    *,
    as_of: object,
    half_life: object = "30D",
    types: Sequence[str] = ENGAGEMENT_TYPES,
    customers: Sequence[Any] | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    type_col: str = "type",
) -> pd.DataFrame:
    """Engagement counts per customer (or lead) with exponential time decay.

    Parameters
    ----------
    events : DataFrame
        The engagement frame (:func:`crmcore.marketing.engagement_frame`):
        ``customer_id``, ``type``, ``date``. Types not in ``types`` are
        ignored.
    as_of : datetime or date-like
        The moment described; later events are not read (a date: the end
        of that day in the zone of ``date``).
    half_life : str or timedelta, default "30D"
        Age at which an event counts one half.
    types : sequence of str
        Engagement types to count, each a column of the result
        (:class:`crmcore.marketing.EngagementType` values).
    customers : sequence, optional
        Return exactly these ids in this order (0 where nothing happened);
        default: every id with a counted event at or before ``as_of``.
    customer_col, date_col, type_col : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed by ``customer_col`` (sorted unless ``customers`` is given):
        one float column per type, ``Σ 2 ** (-age / half_life)`` over its
        events.

    Raises
    ------
    ValidationError
        Missing columns, bad dates, an unknown type, a bad half-life.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b"],
    ...         "type": ["web_visit", "web_visit", "download"],
    ...         "date": pd.to_datetime(["2026-03-31", "2026-03-01", "2026-04-02"]),
    ...     }
    ... )
    >>> decayed_engagement(
    ...     events, as_of="2026-03-31 00:00", half_life="30D", types=["web_visit", "download"]
    ... )
                 web_visit  download
    customer_id
    a                  1.5       0.0
    """
    known = {t.value for t in EngagementType}
    chosen = [types] if isinstance(types, str) else list(types)
    for t in chosen:
        if t not in known:
            raise ValidationError(
                f"unknown engagement type {t!r}; known: {', '.join(sorted(known))}",
                field="types",
                value=t,
            )
    if not chosen:
        raise ValidationError("types must name at least one engagement type", field="types")
    length = int(to_duration(half_life, name="half_life").value)
    check_columns(events, [customer_col, date_col, type_col], name="events")
    dates = read_dates(events[date_col], name=date_col, row_name="event")
    cut = dates.cutoff(as_of).ns
    type_code = pd.Index(chosen).get_indexer(pd.Index(events[type_col].astype(object)))
    keep = (dates.ns <= cut) & (type_code >= 0)
    ids = events[customer_col].to_numpy()[keep]
    if pd.isna(ids).any():
        raise ValidationError(f"{customer_col} must not be missing", field=customer_col)
    codes, uniques = pd.factorize(ids, sort=True)
    age_days = (cut - dates.ns[keep]) / NS_PER_DAY
    weight = np.exp2(-age_days / (length / NS_PER_DAY))
    n = len(uniques)
    k = len(chosen)
    sums = np.bincount(codes * k + type_code[keep], weights=weight, minlength=n * k)
    out = pd.DataFrame(
        sums.reshape(n, k), index=pd.Index(uniques, name=customer_col), columns=chosen
    )
    if customers is not None:
        out = out.reindex(pd.Index(customers, name=customer_col), fill_value=0.0)
    return out


def _names(value: Any, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) for v in items):
        raise ValidationError(f"{name} must name at least one column; got {value!r}", field=name)
    return items


class FitEngagementScorer(BaseEstimator):  # type: ignore[misc]
    """Two lead scores kept apart: how well a lead fits, how engaged it is.

    * The **fit score** is ``100 · P(won | fit features)`` from a
      naive-Bayes :class:`LeadScorer` on categorical profile columns.
    * The **engagement score** is ``100 · P(won | engagement)`` from a
      logistic regression (:class:`LeadScorer` with ``method="sklearn"``)
      on ``log(1 + count)`` of decayed engagement counts
      (:func:`decayed_engagement`); the logarithm keeps one very active
      lead from dominating the fit.
    * The **grade** pairs them: a letter for fit (A best) and a digit for
      engagement (1 best), cut at ``grade_cuts``: ``"A1"`` fits and is
      active, ``"A4"`` fits but sleeps, ``"D1"`` is busy but off-profile.

    Parameters
    ----------
    fit_features : str or sequence of str, default ("source",)
        Categorical profile columns.
    engagement_features : str or sequence of str
        Numeric engagement columns (default: the :data:`ENGAGEMENT_TYPES`).
    alpha : float, default 1.0
        Laplace smoothing of the fit model.
    grade_cuts : sequence of three floats, default (75, 50, 25)
        Score thresholds of letters A / B / C (and digits 1 / 2 / 3).
    outcome_col : str, default "won"
        Label column read when ``fit`` gets no ``y``.

    Attributes
    ----------
    fit_model_, engagement_model_ : LeadScorer
        The two fitted models.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame(
    ...     {
    ...         "source": ["referral", "referral", "web", "web", "referral", "web"],
    ...         "web_visit": [5.0, 0.2, 4.0, 0.1, 3.0, 0.0],
    ...         "won": [1, 0, 1, 0, 1, 0],
    ...     }
    ... )
    >>> scorer = FitEngagementScorer(engagement_features=["web_visit"]).fit(leads)
    >>> scorer.scores(leads)["grade"].tolist()
    ['B1', 'B4', 'C1', 'C4', 'B2', 'C4']
    """

    def __init__(
        self,
        *,
        fit_features: str | Sequence[str] = ("source",),
        engagement_features: str | Sequence[str] = ENGAGEMENT_TYPES,
        alpha: float = 1.0,
        grade_cuts: Sequence[float] = (75.0, 50.0, 25.0),
        outcome_col: str = "won",
    ) -> None:
        self.fit_features = fit_features
        self.engagement_features = engagement_features
        self.alpha = alpha
        self.grade_cuts = grade_cuts
        self.outcome_col = outcome_col

    def _cuts(self) -> list[float]:
        cuts = [check_scalar(c, name="grade_cuts", low=0, high=100) for c in self.grade_cuts]
        if len(cuts) != 3 or not cuts[0] > cuts[1] > cuts[2]:
            raise ValidationError(
                f"grade_cuts must be three decreasing scores; got {self.grade_cuts!r}",
                field="grade_cuts",
            )
        return cuts

    def _engagement(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = _names(self.engagement_features, "engagement_features")
        check_columns(X, cols, name="leads")
        out = pd.DataFrame(index=X.index)
        for c in cols:
            values = read_numeric(X[c], c)
            if (values < 0).any():
                row = X.index[int(np.flatnonzero(values < 0)[0])]
                raise ValidationError(f"{c} must be >= 0 (a count); row {row!r}", field=c, row=row)
            out[c] = np.log1p(values)
        return out

    def fit(self, X: pd.DataFrame, y: Any = None) -> FitEngagementScorer:
        """Fit both models on closed leads.

        Parameters
        ----------
        X : DataFrame
            The fit and engagement columns (and ``outcome_col`` when ``y``
            is not given).
        y : array-like, optional
            1/True won, 0/False lost.

        Returns
        -------
        FitEngagementScorer
            ``self``.
        """
        self._cuts()
        if y is None:
            check_columns(X, [self.outcome_col], name="leads")
            y = X[self.outcome_col]
        self.fit_model_ = LeadScorer(
            features=_names(self.fit_features, "fit_features"),
            stage_col=None,
            alpha=self.alpha,
            outcome_col=self.outcome_col,
        ).fit(X, y)
        self.engagement_model_ = LeadScorer(
            features=(),
            numeric_features=_names(self.engagement_features, "engagement_features"),
            stage_col=None,
            method="sklearn",
            outcome_col=self.outcome_col,
        ).fit(self._engagement(X), y)
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "fit_model_"):
            raise NotFittedError("FitEngagementScorer is not fitted yet; call fit() first")

    def scores(self, X: pd.DataFrame) -> pd.DataFrame:
        """Fit score, engagement score and grade of each lead.

        Parameters
        ----------
        X : DataFrame
            The fit and engagement columns.

        Returns
        -------
        DataFrame
            ``X``'s index; ``fit_score`` and ``engagement_score`` (0-100)
            and ``grade`` (``"A1"`` ... ``"D4"``).
        """
        self._fitted()
        fit = 100.0 * self.fit_model_.predict_proba(X)[:, 1]
        engaged = 100.0 * self.engagement_model_.predict_proba(self._engagement(X))[:, 1]
        cuts = np.asarray(self._cuts())
        letter = np.array(list(_GRADE_LETTERS))[np.sum(fit[:, None] < cuts[None, :], axis=1)]
        digit = 1 + np.sum(engaged[:, None] < cuts[None, :], axis=1)
        grade = [f"{a}{b}" for a, b in zip(letter.tolist(), digit.tolist(), strict=True)]
        return pd.DataFrame(
            {"fit_score": fit, "engagement_score": engaged, "grade": grade}, index=X.index
        )

    def explain(self, X: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """Top factors of each score of each lead (:meth:`LeadScorer.explain`).

        Parameters
        ----------
        X : DataFrame
            The fit and engagement columns.
        top : int, default 3
            Factors per lead and score.

        Returns
        -------
        DataFrame
            ``lead``, ``score`` (``"fit"`` or ``"engagement"``), ``rank``,
            ``feature``, ``value`` (the lead's own value: the decayed count
            for engagement) and ``contribution`` (log-odds).
        """
        self._fitted()
        fit = self.fit_model_.explain(X, top=top)
        engaged = self.engagement_model_.explain(self._engagement(X), top=top)
        pos = X.index.get_indexer(pd.Index(engaged["lead"]))
        engaged["value"] = [
            X[f].iloc[p] for f, p in zip(engaged["feature"], pos, strict=True)
        ]  # the count itself, not its logarithm
        fit.insert(1, "score", "fit")
        engaged.insert(1, "score", "engagement")
        return pd.concat([fit, engaged], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready hyper-parameters and both fitted models (never pickle)."""
        self._fitted()
        return {
            "format": _FORMAT,
            "version": 1,
            "params": {
                "fit_features": _names(self.fit_features, "fit_features"),
                "engagement_features": _names(self.engagement_features, "engagement_features"),
                "alpha": float(self.alpha),
                "grade_cuts": [float(c) for c in self.grade_cuts],
                "outcome_col": self.outcome_col,
            },
            "fit_model": self.fit_model_.to_dict(),
            "engagement_model": self.engagement_model_.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> FitEngagementScorer:
        """Rebuild a scorer saved with :meth:`to_dict`.

        Raises
        ------
        ValidationError
            ``data`` is not a saved scorer.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValidationError(f"not a saved FitEngagementScorer (format {_FORMAT!r})")
        try:
            scorer = cls(**data["params"])
            scorer._cuts()
            scorer.fit_model_ = LeadScorer.from_dict(data["fit_model"])
            scorer.engagement_model_ = LeadScorer.from_dict(data["engagement_model"])
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"not a saved FitEngagementScorer: {exc!r}") from exc
        return scorer

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON (UTF-8) to ``path``."""
        pathlib.Path(path).write_text(json.dumps(self.to_dict(), allow_nan=False), "utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FitEngagementScorer:
        """Read a scorer written by :meth:`save`."""
        return cls.from_dict(read_json(path, what="FitEngagementScorer file"))
