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

from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._jsonfile import read_json
from crmcore._time import add_duration, read_dates, to_duration
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline._defaults import LEAD_WORKFLOW
from crmcore.pipeline._persist import estimator_from_dict, estimator_to_dict
from crmcore.pipeline._workflow import Workflow

__all__ = ["LeadScorer", "evaluate_time_split"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Tag of the JSON layout written by :meth:`LeadScorer.to_dict`.
_FORMAT = "crmcore.pipeline.LeadScorer"


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


def _counts(values: Any, name: str) -> I64:
    """Read saved counts as int64 (files of 0.1 wrote them as floats such as ``2.0``)."""
    arr = np.asarray(values, dtype=np.float64)
    if not (np.isfinite(arr).all() and (arr >= 0).all() and (arr == np.round(arr)).all()):
        raise ValidationError(f"{name} must hold whole counts >= 0", field=name)
    return arr.astype(np.int64)


class LeadScorer(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Score leads by their probability of converting (a scikit-learn classifier).

    Parameters
    ----------
    features : str or sequence of str, default ("source",)
        Categorical lead columns used as evidence.
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
        Feature -> value -> ``[lost, won]`` counts (ints; naive Bayes).
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
        stage_col: str | None = "stage",
        outcome_col: str = "won",
        alpha: float = 1.0,
        method: str = "naive_bayes",
        classifier: Any = None,
        workflow: Workflow = LEAD_WORKFLOW,
    ) -> None:
        self.features = features
        self.stage_col = stage_col
        self.outcome_col = outcome_col
        self.alpha = alpha
        self.method = method
        self.classifier = classifier
        self.workflow = workflow

    # ------------------------------------------------------------ helpers
    def _feature_list(self) -> list[str]:
        features = [self.features] if isinstance(self.features, str) else list(self.features)
        if not features or not all(isinstance(f, str) for f in features):
            raise ValidationError(
                f"features must name at least one column; got {self.features!r}",
                field="features",
                value=self.features,
            )
        return features

    def _check_params(self) -> None:
        self._feature_list()
        check_scalar(self.alpha, name="alpha", low=0, low_inclusive=False)
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
        return self._feature_list() + ([self.stage_col] if self.stage_col else [])

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
        self.feature_counts_: dict[str, dict[str, list[int]]] = {
            f: {} for f in self._feature_list()
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
        for f in self._feature_list():
            codes, uniques = pd.factorize(leads[f].astype(str))
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
        base = self.classifier if self.classifier is not None else LogisticRegression()
        self.model_ = clone(base).fit(self._design(leads), y)
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
        if self.stage_col:
            blocks.append(self._stage_level(leads).astype(np.float64).reshape(-1, 1))
        return np.hstack(blocks)

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
        a = float(self.alpha)
        n = self.class_count_
        logit = np.full(len(leads), np.log(n[1] + a) - np.log(n[0] + a))
        for f in self._feature_list():
            counts = self.feature_counts_[f]
            k = len(counts) + 1
            keys = list(counts)
            c = np.array([counts[v] for v in keys], dtype=float).reshape(-1, 2)
            ll = np.log(c + a) - np.log(n + a * k)
            ratio = pd.Series(ll[:, 1] - ll[:, 0], index=pd.Index(keys, dtype=object))
            unseen = float(np.log(a / (n[1] + a * k)) - np.log(a / (n[0] + a * k)))
            vals = leads[f].astype(str).map(ratio).to_numpy(dtype=float, na_value=np.nan)
            logit += np.where(np.isnan(vals), unseen, vals)
        if self.stage_col:
            level = self._stage_level(leads)
            r = self.stage_counts_[level]
            logit += (np.log(r[:, 1] + a) - np.log(n[1] + 2 * a)) - (
                np.log(r[:, 0] + a) - np.log(n[0] + 2 * a)
            )
        out: F64 = 1.0 / (1.0 + np.exp(-logit))
        return out

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
        out: dict[str, Any] = {
            "format": _FORMAT,
            "version": 2,
            "params": {
                "features": self._feature_list(),
                "stage_col": self.stage_col,
                "outcome_col": self.outcome_col,
                "alpha": float(self.alpha),
                "method": self.method,
                "classifier": None
                if self.classifier is None
                else estimator_to_dict(self.classifier, fitted=False),
            },
            "stages": list(self.stages_),
            "class_count": self.class_count_.tolist(),
        }
        if self.method == "sklearn":
            out["categories"] = {f: list(c) for f, c in self.categories_.items()}
            out["model"] = estimator_to_dict(self.model_)
        else:
            out["feature_counts"] = self.feature_counts_
            out["stage_counts"] = self.stage_counts_.tolist()
        return out

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
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise ValidationError("not a saved LeadScorer: no 'params' object", field="params")
        params = dict(data["params"])
        allowed = {"features", "stage_col", "outcome_col", "alpha", "method", "classifier"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValidationError(f"unknown LeadScorer parameters {unknown}", field="params")
        if params.get("classifier") is not None:
            params["classifier"] = estimator_from_dict(params["classifier"])
        try:
            scorer = cls(**params, workflow=workflow)
            scorer._check_params()
            scorer.classes_ = np.array([0, 1], dtype=np.int64)
            scorer.stages_ = [str(s) for s in data["stages"]]
            scorer.class_count_ = _counts(data["class_count"], "class_count").reshape(2)
            if scorer.method == "sklearn":
                scorer.categories_ = {
                    str(f): [str(v) for v in c] for f, c in data["categories"].items()
                }
                scorer.model_ = estimator_from_dict(data["model"])
            else:
                scorer.feature_counts_ = {
                    str(f): {str(k): _counts(v, f).reshape(2).tolist() for k, v in t.items()}
                    for f, t in data["feature_counts"].items()
                }
                scorer.stage_counts_ = _counts(data["stage_counts"], "stage_counts").reshape(-1, 2)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"not a saved LeadScorer: {exc!r}") from exc
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


@renamed_arguments(split_at="as_of")
def evaluate_time_split(
    scorer: LeadScorer,
    leads: pd.DataFrame,
    *,
    as_of: object,
    horizon: object = None,
    time_col: str = "created_at",
) -> float:
    """ROC AUC of ``scorer`` trained on leads up to ``as_of`` and tested on later ones.

    A clone of ``scorer`` is fitted on the leads created at or before
    ``as_of`` (history) and scores those created after it, within
    ``(as_of, as_of + horizon]`` if ``horizon`` is given; ``scorer`` itself
    is left untouched. Labels come from the scorer's ``outcome_col``.

    Parameters
    ----------
    scorer : LeadScorer
        The (possibly unfitted) scorer whose hyper-parameters are evaluated.
    leads : DataFrame
        Closed leads: the scorer's feature, stage and outcome columns and
        ``time_col``.
    as_of : datetime or date-like
        The split (``split_at`` before 0.2, deprecated). A date means the
        end of that day; aware exactly when ``time_col`` is.
    horizon : str, timedelta or DateOffset, optional
        Length of the test window after ``as_of`` (default: every later lead).
    time_col : str, default "created_at"
        Column of creation times.

    Returns
    -------
    float
        Area under the ROC curve on the later leads (:meth:`LeadScorer.score`).

    Raises
    ------
    ValidationError
        A naive/aware mismatch between ``as_of`` and ``time_col``, an empty
        side of the split, or one class only among the test leads.
    """
    check_columns(leads, [time_col], name="leads")
    dates = read_dates(leads[time_col], name=time_col, row_name="lead")
    cut = dates.cutoff(as_of).ns
    early = dates.ns <= cut
    later = ~early
    if horizon is not None:
        length = to_duration(horizon, name="horizon", calendar=True)
        later &= dates.ns <= int(add_duration(cut + 1, dates.tz, length)) - 1
    train, test = leads.loc[early], leads.loc[later]
    if len(train) == 0 or len(test) == 0:
        raise ValidationError(
            f"as_of={as_of!r} leaves no {'training' if len(train) == 0 else 'test'} leads",
            field="as_of",
        )
    fitted: LeadScorer = clone(scorer).fit(train)
    return float(fitted.score(test))
