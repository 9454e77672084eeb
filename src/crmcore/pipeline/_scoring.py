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
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from crmcore._time import require_aware
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline._defaults import LEAD_WORKFLOW
from crmcore.pipeline._workflow import Workflow

__all__ = ["LeadScorer", "evaluate_time_split"]

F64 = npt.NDArray[np.float64]


class LeadScorer(BaseEstimator):  # type: ignore[misc]
    """Score leads by their probability of converting.

    Parameters
    ----------
    features : sequence of str, default ("source",)
        Categorical lead columns used as evidence.
    stage_col : str or None, default "stage"
        Column with the furthest stage each lead reached (for lost leads:
        where they were lost from); ``None`` to ignore stages.
    outcome_col : str, default "won"
        Training label: 1/True won, 0/False lost.
    alpha : float, default 1.0
        Laplace smoothing (> 0).
    method : {"naive_bayes", "sklearn"}
        The frequency-table scorer, or ``classifier`` on one-hot features.
    classifier : sklearn classifier, optional
        Used with ``method="sklearn"``; default logistic regression.
    workflow : Workflow, default LEAD_WORKFLOW
        Gives the order of the open stages.

    Attributes
    ----------
    class_count_ : ndarray of shape (2,)
        Lost and won lead counts.
    feature_counts_ : dict
        Feature -> value -> ``[lost, won]`` counts.
    stage_counts_ : ndarray of shape (n_open_stages, 2)
        Leads that reached at least each open stage, lost and won.
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
    >>> scorer = LeadScorer().fit(train)
    >>> p = scorer.score(pd.DataFrame({"source": ["referral", "web"], "stage": ["new", "new"]}))
    >>> bool(p[0] > p[1])
    True
    """

    def __init__(
        self,
        *,
        features: Sequence[str] = ("source",),
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
    def _check_params(self) -> None:
        check_scalar(self.alpha, name="alpha", low=0, low_inclusive=False)
        if self.method not in ("naive_bayes", "sklearn"):
            raise ValidationError(
                f"method must be 'naive_bayes' or 'sklearn'; got {self.method!r}",
                field="method",
                value=self.method,
            )

    def _columns(self) -> list[str]:
        return list(self.features) + ([self.stage_col] if self.stage_col else [])

    def _stage_level(self, leads: pd.DataFrame) -> npt.NDArray[np.int64]:
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

    def _outcome(self, leads: pd.DataFrame) -> npt.NDArray[np.int64]:
        y = leads[self.outcome_col].to_numpy()
        ok = np.isin(y, [0, 1]) & ~pd.isna(y)
        if not ok.all():
            pos = int(np.flatnonzero(~ok)[0])
            raise ValidationError(
                f"{self.outcome_col} must be 1 (won) or 0 (lost); got {y[pos]!r} for row "
                f"{leads.index[pos]!r}",
                field=self.outcome_col,
                row=leads.index[pos],
                value=y[pos],
            )
        return y.astype(np.int64)

    # ------------------------------------------------------------ fitting
    def fit(self, leads: pd.DataFrame, y: Any = None) -> LeadScorer:
        """Fit on closed leads (won or lost).

        Parameters
        ----------
        leads : DataFrame
            Feature columns, the stage column and the outcome column.
        y : ignored
            Present for scikit-learn compatibility; the outcome is read from
            ``outcome_col``.

        Returns
        -------
        LeadScorer
            ``self``, fitted.
        """
        self._check_params()
        check_columns(leads, [*self._columns(), self.outcome_col], name="leads")
        self.stages_ = [s.name for s in self.workflow.open_stages()]
        self.class_count_ = np.zeros(2)
        self.feature_counts_: dict[str, dict[str, list[float]]] = {f: {} for f in self.features}
        self.stage_counts_ = np.zeros((len(self.stages_), 2))
        if self.method == "sklearn":
            self._fit_sklearn(leads)
            return self
        return self._add(leads)

    def update(self, leads: pd.DataFrame) -> LeadScorer:
        """Add newly won or lost leads to the counts (naive Bayes only).

        Naive Bayes keeps only counts, so ``fit(a).update(b)`` gives the same
        scorer as ``fit(pd.concat([a, b]))``.

        Parameters
        ----------
        leads : DataFrame
            Newly closed leads, with the feature columns, the stage column
            and the outcome column (as for :meth:`fit`).

        Returns
        -------
        LeadScorer
            ``self``, with the new leads counted.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With ``method="sklearn"``, a missing column, or a bad outcome or
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
        [1.0, 2.0]
        """
        self._fitted()
        if self.method != "naive_bayes":
            raise ValidationError("update is only available for method='naive_bayes'")
        check_columns(leads, [*self._columns(), self.outcome_col], name="leads")
        return self._add(leads)

    def _add(self, leads: pd.DataFrame) -> LeadScorer:
        y = self._outcome(leads)
        self.class_count_ = self.class_count_ + np.bincount(y, minlength=2)
        for f in self.features:
            codes, uniques = pd.factorize(leads[f].astype(str))
            table = np.zeros((len(uniques), 2))
            np.add.at(table, (codes, y), 1.0)
            counts = self.feature_counts_[f]
            for value, (lost, won) in zip(uniques, table.tolist(), strict=True):
                cur = counts.get(str(value), [0.0, 0.0])
                counts[str(value)] = [cur[0] + lost, cur[1] + won]
        if self.stage_col:
            level = self._stage_level(leads)
            level = np.where(y == 1, len(self.stages_) - 1, level)
            hist = np.zeros((len(self.stages_), 2))
            np.add.at(hist, (level, y), 1.0)
            # reached at least stage s = leads whose level >= s
            self.stage_counts_ = self.stage_counts_ + hist[::-1].cumsum(axis=0)[::-1]
        return self

    def _fit_sklearn(self, leads: pd.DataFrame) -> None:
        y = self._outcome(leads)
        enc = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), list(self.features))]
            + ([("stage", "passthrough", ["_level"])] if self.stage_col else [])
        )
        clf = self.classifier if self.classifier is not None else LogisticRegression()
        self.model_ = make_pipeline(enc, clf).fit(self._design(leads), y)
        self.class_count_ = np.bincount(y, minlength=2).astype(float)

    def _design(self, leads: pd.DataFrame) -> pd.DataFrame:
        x = leads[list(self.features)].astype(str)
        if self.stage_col:
            x = x.assign(_level=self._stage_level(leads))
        return x

    def _fitted(self) -> None:
        if not hasattr(self, "class_count_"):
            raise NotFittedError("LeadScorer is not fitted yet; call fit() first")

    # ------------------------------------------------------------ scoring
    def score(self, leads: pd.DataFrame) -> F64:
        """Probability that each lead is won.

        Parameters
        ----------
        leads : DataFrame
            Feature columns and (if used) the stage column.

        Returns
        -------
        ndarray of float64
            One probability per row, in [0, 1].
        """
        self._fitted()
        check_columns(leads, self._columns(), name="leads")
        if self.method == "sklearn":
            proba: F64 = self.model_.predict_proba(self._design(leads))[:, 1]
            return proba
        a = float(self.alpha)
        n = self.class_count_
        logit = np.full(len(leads), np.log(n[1] + a) - np.log(n[0] + a))
        for f in self.features:
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
        """JSON-ready parameters and counts (naive Bayes only).

        Returns
        -------
        dict
            ``params``, ``stages``, ``class_count``, ``feature_counts`` and
            ``stage_counts``; read back with :meth:`from_dict`.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            With ``method="sklearn"`` (a fitted classifier is not JSON).
        """
        self._fitted()
        if self.method != "naive_bayes":
            raise ValidationError("only the naive-Bayes scorer serialises to JSON")
        return {
            "params": {
                "features": list(self.features),
                "stage_col": self.stage_col,
                "outcome_col": self.outcome_col,
                "alpha": float(self.alpha),
            },
            "stages": list(self.stages_),
            "class_count": self.class_count_.tolist(),
            "feature_counts": self.feature_counts_,
            "stage_counts": self.stage_counts_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, workflow: Workflow = LEAD_WORKFLOW) -> LeadScorer:
        """Rebuild a scorer saved with :meth:`to_dict` (``json.loads`` of it works too).

        Parameters
        ----------
        data : dict
            The output of :meth:`to_dict`.
        workflow : Workflow, default LEAD_WORKFLOW
            The workflow the scorer was fitted with (workflows hold guard
            functions, so they are not serialised).

        Returns
        -------
        LeadScorer
            A fitted scorer.

        Raises
        ------
        ValidationError
            If the saved stages are not the open stages of ``workflow``.
        """
        scorer = cls(**data["params"], workflow=workflow)
        scorer.stages_ = list(data["stages"])
        if scorer.stages_ != [s.name for s in workflow.open_stages()]:
            raise ValidationError("saved stages do not match the workflow", field="stages")
        scorer.class_count_ = np.asarray(data["class_count"], dtype=float)
        scorer.feature_counts_ = {
            f: {k: [float(x) for x in v] for k, v in t.items()}
            for f, t in data["feature_counts"].items()
        }
        scorer.stage_counts_ = np.asarray(data["stage_counts"], dtype=float).reshape(-1, 2)
        return scorer

    def to_json(self) -> str:
        """Serialise with :func:`json.dumps` of :meth:`to_dict`.

        Returns
        -------
        str
            JSON text.
        """
        return json.dumps(self.to_dict())

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
            With ``method="sklearn"`` (only naive Bayes serialises).

        Examples
        --------
        >>> import pandas as pd, pathlib, tempfile
        >>> train = pd.DataFrame(
        ...     {"source": ["web", "referral"], "stage": ["new", "new"], "won": [0, 1]}
        ... )
        >>> scorer = LeadScorer().fit(train)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "scorer.json"
        ...     scorer.save(path)
        ...     again = LeadScorer.load(path)
        >>> again.class_count_.tolist() == scorer.class_count_.tolist()
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
        """
        data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data, workflow=workflow)


def evaluate_time_split(
    scorer: LeadScorer,
    leads: pd.DataFrame,
    *,
    split_at: dt.datetime,
    time_col: str = "created_at",
) -> float:
    """ROC AUC of ``scorer`` trained before ``split_at`` and tested after it.

    A clone of ``scorer`` is fitted on leads created before ``split_at`` and
    scores the others (``scorer`` itself is left untouched).

    Parameters
    ----------
    scorer : LeadScorer
        The (possibly unfitted) scorer whose hyper-parameters are evaluated.
    leads : DataFrame
        Closed leads: the scorer's feature, stage and outcome columns and
        ``time_col``.
    split_at : datetime
        Timezone-aware moment: leads created before it train, the others
        test (naive ``time_col`` values are read as UTC).
    time_col : str, default "created_at"
        Column of creation times.

    Returns
    -------
    float
        Area under the ROC curve on the later leads.

    Raises
    ------
    ValidationError
        If ``split_at`` is naive, either side of the split is empty, or the
        test side has one class.
    """
    require_aware(split_at, field="split_at")
    check_columns(leads, [time_col], name="leads")
    t = pd.to_datetime(leads[time_col], utc=True)
    early = (t < pd.Timestamp(split_at)).to_numpy()
    train, test = leads.loc[early], leads.loc[~early]
    if len(train) == 0 or len(test) == 0:
        raise ValidationError("split_at leaves no training or no test leads", field="split_at")
    y = test[scorer.outcome_col].to_numpy()
    if len(np.unique(y)) < 2:
        raise ValidationError("the test period has only one outcome; AUC is undefined")
    fitted = clone(scorer).fit(train)
    return float(roc_auc_score(y, fitted.score(test)))
