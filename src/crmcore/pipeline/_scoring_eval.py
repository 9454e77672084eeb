"""Honest evaluation of a lead scorer: train on the past, test on later leads."""

from __future__ import annotations

import pandas as pd
from sklearn.base import clone

from crmcore._deprecation import renamed_arguments
from crmcore._time import add_duration, read_dates, to_duration
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.pipeline._scoring import LeadScorer

__all__ = ["evaluate_time_split"]


@renamed_arguments(split_at="as_of", time_col="created_col")
def evaluate_time_split(
    scorer: LeadScorer,
    leads: pd.DataFrame,
    *,
    as_of: object,
    horizon: object = None,
    created_col: str = "created_at",
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
        ``created_col``.
    as_of : datetime or date-like
        The split (``split_at`` before 0.2, deprecated). A date means the
        end of that day; aware exactly when ``created_col`` is.
    horizon : str, timedelta or DateOffset, optional
        Length of the test window after ``as_of`` (default: every later lead).
    created_col : str, default "created_at"
        Column of creation times, as in :func:`forecast` and :func:`sla_report`
        (``time_col`` before 0.2, deprecated).

    Returns
    -------
    float
        Area under the ROC curve on the later leads (:meth:`LeadScorer.score`).

    Raises
    ------
    ValidationError
        A naive/aware mismatch between ``as_of`` and ``created_col``, an empty
        side of the split, or one class only among the test leads.
    """
    check_columns(leads, [created_col], name="leads")
    dates = read_dates(leads[created_col], name=created_col, row_name="lead")
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
