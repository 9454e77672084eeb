"""Predictive lead scoring: a naive-Bayes frequency-table scorer (or any classifier).

The naive-Bayes scorer keeps, for won and lost leads, how often each value of
each categorical field occurred, and how many reached each open stage (a won
lead counts for every stage, a lost one for the stages up to the one it
reached). A lead's score is the posterior probability of winning,

    P(won | x) ∝ n_won · Π_f (c_won,f(x_f) + α) / (n_won + α (K_f + 1))
                       · (r_won(s) + α) / (n_won + 2α),

with Laplace smoothing ``α`` so that an unseen value never zeroes the product
(``K_f`` distinct values seen, one extra slot for unseen values) and
``r(s)`` the number of leads that reached at least stage ``s``. Counts are
sufficient statistics, so :meth:`LeadScorer.update` adds newly won or lost
leads without refitting (Manning, Raghavan & Schütze 2008, *Introduction to
Information Retrieval*, §13.2, eq. 13.7 for the smoothed estimates).

Numeric features (``numeric_features=``) are read as numbers: binned at
the training quantiles for naive Bayes, standardised for
``method="sklearn"`` (:mod:`crmcore.pipeline._scoring_design`). A score is a
sum of log-odds terms, one per feature (and the stage) plus a baseline;
:meth:`LeadScorer.contributions` returns them and :meth:`LeadScorer.explain`
the largest per lead.

:class:`LeadScorer` follows the scikit-learn estimator contract: ``fit(X,
y=None)`` uses the labels it is given (the ``outcome_col`` column only when
``y`` is None), ``predict_proba`` gives class probabilities, ``score`` is a
metric (ROC AUC) and ``clone`` works. It saves to JSON without pickle: naive
Bayes as its counts, ``method="sklearn"`` as the one-hot categories plus the
classifier's parameters and fitted arrays (:mod:`crmcore.pipeline._persist`).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from crmcore._deprecation import warn_renamed
from crmcore._jsonfile import read_json
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline._defaults import LEAD_WORKFLOW
from crmcore.pipeline._scoring_design import (
    bin_labels,
    bin_text,
    linear_terms,
    quantile_edges,
    read_numeric,
    stage_terms,
    top_factors,
    value_terms,
)
from crmcore.pipeline._scoring_io import read_saved, saved_state
from crmcore.pipeline._workflow import Workflow

__all__ = ["LeadScorer"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _labels(values: Any, *, name: str, index: pd.Index) -> I64:
    """Won (1 / True) or lost (0 / False) labels, checked before any cast."""
    y = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if y.ndim != 1 or y.size != len(index):
        raise ValidationError(
            f"{name} must hold one label per lead ({len(index)}); got shape {y.shape}",
            field=name,
        )
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    ok = np.array([not isinstance(v, str) and v in (0, 1) for v in y.tolist()], dtype=bool)
    if not ok.all():
        pos = int(np.flatnonzero(~ok)[0])
        raise ValidationError(
            f"{name} must be 1/True (won) or 0/False (lost); got {y[pos]!r} for row "
            f"{index[pos]!r}",
            field=name,
            row=index[pos],
            value=y[pos],
        )
    return np.asarray([int(v) for v in y.tolist()], dtype=np.int64)


class LeadScorer(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Score leads by their probability of converting (a scikit-learn classifier).

    Parameters
    ----------
    features : str or sequence of str, default ("source",)
        Categorical lead columns used as evidence (values read as text).
    numeric_features : str or sequence of str, default ()
        Numeric lead columns (visits, downloads, decayed engagement counts,
        company size), read as numbers: binned at the training quantiles for
        naive Bayes, standardised for ``method="sklearn"``. Missing values
        are a bin of their own / the training mean.
    n_bins : int, default 5
        Most quantile bins per numeric feature (naive Bayes).
    stage_col : str or None, default "stage"
        Column with the furthest stage each lead reached (for lost leads:
        where they were lost from); ``None`` to ignore stages.
    outcome_col : str, default "won"
        Where :meth:`fit`, :meth:`update` and :meth:`score` read the labels
        (1/True won, 0/False lost) when they are not given ``y``.
    alpha : float, default 1.0
        Laplace smoothing (> 0) of the naive-Bayes counts.
    method : {"naive_bayes", "sklearn"}
        The frequency-table scorer, or ``classifier`` on one-hot features
        (one column per category seen in training; unseen ones are all zero)
        and the stage's position.
    classifier : scikit-learn classifier, optional
        Used with ``method="sklearn"``; default ``LogisticRegression()``.
        Saving needs a classifier whose fitted state is numeric arrays
        (linear models such as the default): others are refused by
        :meth:`to_dict` and :meth:`save`.
    workflow : Workflow, default LEAD_WORKFLOW
        Gives the order of the open stages.

    Hyper-parameters are stored unchanged and checked by :meth:`fit`, so
    ``clone``, ``get_params`` and ``set_params`` work as in scikit-learn.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: lost, won (the columns of :meth:`predict_proba`).
    class_count_ : ndarray of int64, shape (2,)
        Lost and won lead counts.
    feature_counts_ : dict
        Feature -> value (a bin label for numeric features) -> ``[lost, won]``
        counts (ints; naive Bayes).
    bin_edges_ : dict
        Numeric feature -> interior cut points of its bins (naive Bayes).
    numeric_center_, numeric_scale_ : dict
        Numeric feature -> training mean and standard deviation
        (``method="sklearn"``).
    stage_counts_ : ndarray of int64, shape (n_open_stages, 2)
        Leads that reached at least each open stage, lost and won (naive Bayes).
    categories_ : dict
        Feature -> categories of the one-hot design (``method="sklearn"``).
    model_ : classifier
        The fitted classifier (``method="sklearn"``).
    stages_ : list of str
        Open stages in sequence order.

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame(
    ...     {
    ...         "source": ["web", "web", "referral", "referral", "web"],
    ...         "stage": ["qualified", "new", "qualified", "contacted", "contacted"],
    ...         "won": [1, 0, 1, 1, 0],
    ...     }
    ... )
    >>> scorer = LeadScorer().fit(train)  # labels from the "won" column
    >>> new = pd.DataFrame({"source": ["referral", "web"], "stage": ["new", "new"]})
    >>> p = scorer.predict_proba(new)[:, 1]
    >>> bool(p[0] > p[1])
    True
    >>> X, y = train.drop(columns="won"), train["won"]
    >>> round(LeadScorer().fit(X, y).score(X, y), 3)  # ROC AUC
    1.0
    """

    def __init__(
        self,
        *,
        features: str | Sequence[str] = ("source",),
        numeric_features: str | Sequence[str] = (),
        n_bins: int = 5,
        stage_col: str | None = "stage",
        outcome_col: str = "won",
        alpha: float = 1.0,
        method: str = "naive_bayes",
        classifier: Any = None,
        workflow: Workflow = LEAD_WORKFLOW,
    ) -> None:
        self.features = features
        self.numeric_features = numeric_features
        self.n_bins = n_bins
        self.stage_col = stage_col
        self.outcome_col = outcome_col
        self.alpha = alpha
        self.method = method
        self.classifier = classifier
        self.workflow = workflow

    # ------------------------------------------------------------ helpers
    def _feature_list(self) -> list[str]:
        features = [self.features] if isinstance(self.features, str) else list(self.features)
        if not all(isinstance(f, str) for f in features) or not (features or self._numeric_list()):
            raise ValidationError(
                f"features must name at least one column (or give numeric_features); got "
                f"{self.features!r}",
                field="features",
                value=self.features,
            )
        return features

    def _numeric_list(self) -> list[str]:
        value = self.numeric_features
        numeric = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(f, str) for f in numeric):
            raise ValidationError(
                f"numeric_features must name columns; got {value!r}",
                field="numeric_features",
                value=value,
            )
        return numeric

    def _all_features(self) -> list[str]:
        return self._feature_list() + self._numeric_list()

    def _values(self, leads: pd.DataFrame, f: str) -> pd.Series:
        """Return the text a naive-Bayes table is keyed by: the value, or a numeric bin."""
        if f in self._numeric_list():
            edges = self.bin_edges_[f]
            return pd.Series(bin_labels(read_numeric(leads[f], f), edges), index=leads.index)
        return leads[f].astype(str)

    def _check_params(self) -> None:
        features = self._feature_list()
        numeric = self._numeric_list()
        twice = sorted(set(features) & set(numeric))
        if twice:
            raise ValidationError(
                f"{twice} named in both features and numeric_features", field="numeric_features"
            )
        check_scalar(self.alpha, name="alpha", low=0, low_inclusive=False)
        check_scalar(self.n_bins, name="n_bins", low=2, integer=True)
        if self.method not in ("naive_bayes", "sklearn"):
            raise ValidationError(
                f"method must be 'naive_bayes' or 'sklearn'; got {self.method!r}",
                field="method",
                value=self.method,
            )
        if self.stage_col is not None and not isinstance(self.stage_col, str):
            raise ValidationError(
                f"stage_col must be a column name or None; got {self.stage_col!r}",
                field="stage_col",
            )
        if not isinstance(self.workflow, Workflow):
            raise ValidationError("workflow must be a Workflow", field="workflow")

    def _columns(self) -> list[str]:
        return self._all_features() + ([self.stage_col] if self.stage_col else [])

    def _stage_level(self, leads: pd.DataFrame) -> I64:
        """Index of each lead's stage among the open stages (won: last)."""
        wf = self.workflow
        opens = [s.name for s in wf.open_stages()]
        col = leads[str(self.stage_col)].astype(object)
        won_stages = {s.name for s in wf.stages if s.is_won}
        mapped = col.map(
            lambda v: len(opens) - 1 if v in won_stages else (opens.index(v) if v in opens else -1)
        ).to_numpy(dtype=np.int64)
        if (mapped < 0).any():
            pos = int(np.flatnonzero(mapped < 0)[0])
            raise ValidationError(
                f"{self.stage_col} {col.iloc[pos]!r} (row {leads.index[pos]!r}) is not an open "
                f"or won stage of workflow {wf.name!r}; open stages: {', '.join(opens)}",
                field=str(self.stage_col),
                row=leads.index[pos],
                value=col.iloc[pos],
            )
        return mapped

    def _y(self, leads: pd.DataFrame, y: Any, *, what: str) -> I64:
        """Return the labels: ``y`` when given, else the ``outcome_col`` column."""
        if y is not None:
            return _labels(y, name="y", index=leads.index)
        if self.outcome_col not in leads.columns:
            raise ValidationError(
                f"{what} needs labels: give y, or a {self.outcome_col!r} column "
                f"(outcome_col); columns present: {', '.join(map(str, leads.columns))}",
                field="y",
            )
        return _labels(leads[self.outcome_col], name=self.outcome_col, index=leads.index)

    # ------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None) -> LeadScorer:
        """Fit on closed leads (won or lost).

        Parameters
        ----------
        X : DataFrame
            The feature columns and (if used) the stage column.
        y : array-like of shape (n_leads,), optional
            Labels: 1/True won, 0/False lost. When omitted they are read from
            the ``outcome_col`` column of ``X``.

        Returns
        -------
        LeadScorer
            ``self``, fitted.

        Raises
        ------
        ValidationError
            A bad hyper-parameter, a missing column, a label other than
            0/1, or an unknown stage.
        """
        self._check_params()
        check_columns(X, self._columns(), name="leads")
        labels = self._y(X, y, what="fit")
        self.classes_ = np.array([0, 1], dtype=np.int64)
        self.stages_ = [s.name for s in self.workflow.open_stages()]
        self.class_count_ = np.zeros(2, dtype=np.int64)
        if self.method == "sklearn":
            self._fit_sklearn(X, labels)
            return self
        self.bin_edges_ = {
            f: quantile_edges(read_numeric(X[f], f), int(self.n_bins))
            for f in self._numeric_list()
        }
        self.feature_counts_: dict[str, dict[str, list[int]]] = {
            f: {} for f in self._all_features()
        }
        self.stage_counts_ = np.zeros((len(self.stages_), 2), dtype=np.int64)
        return self._add(X, labels)

    def update(self, X: pd.DataFrame, y: Any = None) -> LeadScorer:
        """Add newly won or lost leads to the counts (naive Bayes only).

        Naive Bayes keeps only counts, so ``fit(a).update(b)`` gives the same
        scorer as ``fit(pd.concat([a, b]))``.

        Parameters
        ----------
        X : DataFrame
            Newly closed leads, with the feature columns and the stage column.
        y : array-like, optional
            Their labels (default: the ``outcome_col`` column of ``X``).

        Returns
        -------
        LeadScorer
            ``self``, with the new leads counted.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With ``method="sklearn"``, a missing column, or a bad label or
            stage value.

        Examples
        --------
        >>> import pandas as pd
        >>> first = pd.DataFrame(
        ...     {"source": ["web", "referral"], "stage": ["new", "new"], "won": [0, 1]}
        ... )
        >>> later = pd.DataFrame({"source": ["web"], "stage": ["qualified"], "won": [1]})
        >>> scorer = LeadScorer().fit(first).update(later)
        >>> scorer.class_count_.tolist()
        [1, 2]
        """
        self._fitted()
        if self.method != "naive_bayes":
            raise ValidationError("update is only available for method='naive_bayes'")
        check_columns(X, self._columns(), name="leads")
        return self._add(X, self._y(X, y, what="update"))

    def _add(self, leads: pd.DataFrame, y: I64) -> LeadScorer:
        self.class_count_ = self.class_count_ + np.bincount(y, minlength=2)
        for f in self._all_features():
            codes, uniques = pd.factorize(self._values(leads, f))
            table = np.zeros((len(uniques), 2), dtype=np.int64)
            np.add.at(table, (codes, y), 1)
            counts = self.feature_counts_[f]
            for value, (lost, won) in zip(uniques, table.tolist(), strict=True):
                cur = counts.get(str(value), [0, 0])
                counts[str(value)] = [cur[0] + lost, cur[1] + won]
        if self.stage_col:
            level = self._stage_level(leads)
            level = np.where(y == 1, len(self.stages_) - 1, level)
            hist = np.zeros((len(self.stages_), 2), dtype=np.int64)
            np.add.at(hist, (level, y), 1)
            # reached at least stage s = leads whose level >= s
            self.stage_counts_ = self.stage_counts_ + hist[::-1].cumsum(axis=0)[::-1]
        return self

    def _fit_sklearn(self, leads: pd.DataFrame, y: I64) -> None:
        self.categories_ = {
            f: sorted(pd.unique(leads[f].astype(str)).tolist()) for f in self._feature_list()
        }
        self.numeric_center_: dict[str, float] = {}
        self.numeric_scale_: dict[str, float] = {}
        for f in self._numeric_list():
            x = read_numeric(leads[f], f)
            known = x[~np.isnan(x)]
            center = float(known.mean()) if known.size else 0.0
            scale = float(known.std()) if known.size else 0.0
            self.numeric_center_[f] = center
            self.numeric_scale_[f] = scale if scale > 0 else 1.0
        design = self._design(leads)
        self.design_mean_: list[float] | None = [float(v) for v in design.mean(axis=0)]
        base = self.classifier if self.classifier is not None else LogisticRegression()
        self.model_ = clone(base).fit(design, y)
        self.class_count_ = np.bincount(y, minlength=2).astype(np.int64)

    def _design(self, leads: pd.DataFrame) -> F64:
        """One-hot columns of the training categories (unseen: all zero), then the stage."""
        n = len(leads)
        blocks = []
        for f, cats in self.categories_.items():
            codes = pd.Index(cats).get_indexer(pd.Index(leads[f].astype(str)))
            block = np.zeros((n, len(cats)))
            seen = np.flatnonzero(codes >= 0)
            block[seen, codes[seen]] = 1.0
            blocks.append(block)
        for f in self._numeric_list():
            z = (read_numeric(leads[f], f) - self.numeric_center_[f]) / self.numeric_scale_[f]
            blocks.append(np.nan_to_num(z, nan=0.0).reshape(-1, 1))  # missing: the mean
        if self.stage_col:
            blocks.append(self._stage_level(leads).astype(np.float64).reshape(-1, 1))
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    def _fitted(self) -> None:
        if not hasattr(self, "class_count_"):
            raise NotFittedError("LeadScorer is not fitted yet; call fit() first")

    # ------------------------------------------------------------ queries
    def predict_proba(self, X: pd.DataFrame) -> F64:
        """Class probabilities of each lead: ``[P(lost), P(won)]`` per row.

        Parameters
        ----------
        X : DataFrame
            The feature columns and (if used) the stage column.

        Returns
        -------
        ndarray of shape (n_leads, 2)
            Columns in the order of ``classes_`` (lost, won); rows sum to 1.
        """
        won = self._won_probability(X)
        return np.column_stack([1.0 - won, won])

    def predict(self, X: pd.DataFrame) -> I64:
        """Predicted outcome of each lead: 1 (won) where ``P(won) > 0.5``, else 0."""
        return (self._won_probability(X) > 0.5).astype(np.int64)

    def score(self, X: pd.DataFrame, y: Any = None) -> Any:
        """ROC AUC of the won probabilities against the true labels.

        A metric, as scikit-learn expects of ``score`` (higher is better;
        0.5 is chance). Probabilities come from :meth:`predict_proba`.

        Before 0.2, ``score(X)`` returned the probabilities of winning; for
        one release, a call without labels (no ``y`` and no ``outcome_col``
        column) still does, with a ``DeprecationWarning``: use
        ``predict_proba(X)[:, 1]``.

        Parameters
        ----------
        X : DataFrame
            The feature columns and (if used) the stage column.
        y : array-like, optional
            True labels (default: the ``outcome_col`` column of ``X``).

        Returns
        -------
        float
            Area under the ROC curve, in [0, 1].

        Raises
        ------
        ValidationError
            Only one class among the labels.
        """
        self._fitted()
        if y is None and self.outcome_col not in X.columns:
            warn_renamed(
                "LeadScorer.score()",
                "score(X) without labels (the probabilities of winning)",
                "predict_proba(X)[:, 1]; score(X, y) is the ROC AUC",
            )
            return self._won_probability(X)
        labels = self._y(X, y, what="score")
        if np.unique(labels).size < 2:
            raise ValidationError(
                "ROC AUC needs both won and lost leads; the labels hold one class", field="y"
            )
        return float(roc_auc_score(labels, self._won_probability(X)))

    def _won_probability(self, leads: pd.DataFrame) -> F64:
        self._fitted()
        check_columns(leads, self._columns(), name="leads")
        if self.method == "sklearn":
            col = int(np.flatnonzero(np.asarray(self.model_.classes_) == 1)[0])
            proba: F64 = np.asarray(self.model_.predict_proba(self._design(leads))[:, col])
            return proba
        logit = self.contributions(leads).to_numpy().sum(axis=1)
        out: F64 = 1.0 / (1.0 + np.exp(-logit))
        return out

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each lead's score as a sum of log-odds terms: a baseline plus one per feature.

        Naive Bayes: the baseline is the prior log-odds ``log((n_won + α) /
        (n_lost + α))`` and each feature's term is its value's log
        likelihood ratio (the stage likewise). ``method="sklearn"`` with a
        linear classifier: the baseline is the log-odds of the average
        training lead, and each feature's term is ``Σ coef · (x - mean)``
        over its design columns. Either way the row sums to
        ``log(P(won) / P(lost))``.

        Parameters
        ----------
        X : DataFrame
            The feature columns and (if used) the stage column.

        Returns
        -------
        DataFrame
            One row per lead (``X``'s index): ``baseline``, then one column
            per feature (categorical, then numeric) and the stage column.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With ``method="sklearn"`` and a classifier without ``coef_``
            (not a linear model), or a scorer saved without its design means.
        """
        self._fitted()
        check_columns(X, self._columns(), name="leads")
        if self.method == "sklearn":
            return self._linear_contributions(X)
        a, n = float(self.alpha), self.class_count_
        parts: dict[str, Any] = {"baseline": np.full(len(X), np.log(n[1] + a) - np.log(n[0] + a))}
        for f in self._all_features():
            parts[f] = value_terms(self._values(X, f), self.feature_counts_[f], n, a)
        if self.stage_col:
            parts[self.stage_col] = stage_terms(self.stage_counts_[self._stage_level(X)], n, a)
        return pd.DataFrame(parts, index=X.index)

    def _linear_contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        coef = getattr(self.model_, "coef_", None)
        if coef is None or np.asarray(coef).shape[0] != 1:
            raise ValidationError(
                "contributions need a linear binary classifier (coef_ of one row), such as "
                f"the default LogisticRegression; got {type(self.model_).__name__}",
                field="classifier",
            )
        if getattr(self, "design_mean_", None) is None:
            raise ValidationError(
                "this scorer was saved without its design means (crmcore 0.2 or earlier): "
                "refit it to get contributions",
                field="design_mean",
            )
        sign = 1.0 if int(np.asarray(self.model_.classes_)[1]) == 1 else -1.0
        widths = [(f, len(c)) for f, c in self.categories_.items()]
        widths += [(f, 1) for f in self._numeric_list()]
        widths += [(self.stage_col, 1)] if self.stage_col else []
        return linear_terms(
            self._design(X),
            np.asarray(self.design_mean_, dtype=np.float64),
            sign * np.asarray(coef, dtype=np.float64)[0],
            sign * float(np.asarray(self.model_.intercept_)[0]),
            widths,
            X.index,
        )

    def explain(self, X: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """Return the features that moved each lead's score most, with their values.

        Parameters
        ----------
        X : DataFrame
            The feature columns and (if used) the stage column.
        top : int, default 3
            How many factors per lead, largest absolute contribution first.

        Returns
        -------
        DataFrame
            ``lead`` (``X``'s index label), ``rank`` (1 = largest),
            ``feature``, ``value`` (the lead's value; a numeric feature's bin
            range for naive Bayes) and ``contribution`` (log-odds; positive
            raises the score), ``top`` rows per lead.

        Examples
        --------
        >>> import pandas as pd
        >>> train = pd.DataFrame(
        ...     {
        ...         "source": ["web", "web", "referral", "referral"],
        ...         "visits": [0, 1, 6, 9],
        ...         "won": [0, 0, 1, 1],
        ...     }
        ... )
        >>> scorer = LeadScorer(numeric_features=["visits"], stage_col=None, n_bins=2).fit(train)
        >>> scorer.explain(train.iloc[[2]], top=2)[["feature", "value", "contribution"]].round(2)
          feature     value  contribution
        0  source  referral           1.1
        1  visits    >= 3.5           1.1
        """
        k = int(check_scalar(top, name="top", low=1, integer=True))
        parts = self.contributions(X).drop(columns="baseline")
        shown = {c: X[c].to_numpy(dtype=object) for c in parts.columns}
        if self.method != "sklearn":  # numeric features show their bin's range
            for f in self._numeric_list():
                labels = self._values(X, f).to_numpy(dtype=object)
                shown[f] = np.array(
                    [bin_text(v, self.bin_edges_[f]) for v in labels], dtype=object
                )
        return top_factors(parts, shown, k)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready hyper-parameters and fitted state (never pickle).

        Naive Bayes stores its counts; ``method="sklearn"`` stores the
        one-hot categories and the classifier as its class name, parameters
        and fitted arrays (``coef_``, ``intercept_``, ``classes_``...).

        Returns
        -------
        dict
            Read back with :meth:`from_dict`; ``json.dumps`` of it is the
            file :meth:`save` writes.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With a classifier whose fitted state is not numeric arrays (a
            random forest or a boosted model): it cannot be stored without
            pickle.
        """
        self._fitted()
        return saved_state(self, self._feature_list(), self._numeric_list())

    @classmethod
    def from_dict(cls, data: Any, *, workflow: Workflow = LEAD_WORKFLOW) -> LeadScorer:
        """Rebuild a scorer saved with :meth:`to_dict` (``json.loads`` of it works too).

        Parameters
        ----------
        data : dict
            The output of :meth:`to_dict` (files of crmcore 0.1, naive Bayes
            only, are read too).
        workflow : Workflow, default LEAD_WORKFLOW
            The workflow the scorer was fitted with (workflows hold guard
            functions, so they are not serialised).

        Returns
        -------
        LeadScorer
            A fitted scorer that predicts exactly what the saved one did.

        Raises
        ------
        ValidationError
            If ``data`` is not a saved scorer, or its stages are not the
            open stages of ``workflow``.
        """
        params, state = read_saved(data)
        try:
            scorer = cls(**params, workflow=workflow)
        except TypeError as exc:
            raise ValidationError(f"not a saved LeadScorer: {exc}", field="params") from exc
        scorer._check_params()
        for name, value in state.items():
            setattr(scorer, name, value)
        if scorer.stages_ != [s.name for s in workflow.open_stages()]:
            raise ValidationError("saved stages do not match the workflow", field="stages")
        return scorer

    def to_json(self) -> str:
        """Serialise with :func:`json.dumps` of :meth:`to_dict`.

        Returns
        -------
        str
            JSON text.
        """
        return json.dumps(self.to_dict(), allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON to ``path`` (UTF-8).

        Parameters
        ----------
        path : str or os.PathLike
            File to write; an existing file is replaced.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With a classifier that cannot be stored without pickle (see
            :meth:`to_dict`).

        Examples
        --------
        >>> import pandas as pd, pathlib, tempfile
        >>> train = pd.DataFrame(
        ...     {"source": ["web", "referral"], "stage": ["new", "new"], "won": [0, 1]}
        ... )
        >>> scorer = LeadScorer(method="sklearn").fit(train)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "scorer.json"
        ...     scorer.save(path)
        ...     again = LeadScorer.load(path)
        >>> bool((again.predict_proba(train) == scorer.predict_proba(train)).all())
        True
        """
        pathlib.Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, workflow: Workflow = LEAD_WORKFLOW
    ) -> LeadScorer:
        """Read a scorer written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            File written by :meth:`save`.
        workflow : Workflow, default LEAD_WORKFLOW
            The workflow the scorer was fitted with.

        Returns
        -------
        LeadScorer
            A fitted scorer.

        Raises
        ------
        ValidationError
            The file is not JSON text, or not a saved scorer.
        """
        data = read_json(path, what="LeadScorer file")
        return cls.from_dict(data, workflow=workflow)
