"""find_duplicates: blocking, comparison and Fellegi–Sunter scoring in one call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_scalar
from crmcore.errors import ValidationError
from crmcore.identity._blocking import candidate_pairs
from crmcore.identity._fields import Field
from crmcore.identity._links import cannot_link_pairs
from crmcore.identity._model import MatchModel
from crmcore.identity._prepare import Prepared, compare_pairs, prepare

__all__ = ["DEFAULT_THRESHOLD", "find_duplicates", "pairs_table"]

DEFAULT_THRESHOLD = 0.5
"""Default ``threshold`` of :func:`find_duplicates`: the pair is more likely a match than not."""


def pairs_table(
    left_ids: pd.Index | np.ndarray[Any, Any],
    i: IntArray,
    right_ids: pd.Index | np.ndarray[Any, Any],
    j: IntArray,
    *,
    fields: Mapping[str, Field],
    sims: Mapping[str, np.ndarray[Any, Any]],
    levels: np.ndarray[Any, np.dtype[np.int8]],
    scored: tuple[FloatArray, FloatArray, FloatArray],
    names: tuple[str, str] = ("id_l", "id_r"),
) -> pd.DataFrame:
    """Build the pairs frame: ids, score, weight, then per field sim / level / weight."""
    prob, weight, per_field = scored
    cols: dict[str, Any] = {}
    if names[0]:
        cols[names[0]] = np.asarray(left_ids)[i]
    cols[names[1]] = np.asarray(right_ids)[j]
    cols["score"] = prob
    cols["weight"] = weight
    for f, column in enumerate(fields):
        cols[f"{column}_sim"] = np.asarray(sims[column], dtype=np.float64)
        cols[f"{column}_level"] = levels[:, f]
        cols[f"{column}_weight"] = per_field[:, f]
    return pd.DataFrame(cols)


def find_duplicates(
    records: Any,
    *,
    fields: Mapping[str, Any] | None = None,
    blocking: Any = None,
    threshold: float = DEFAULT_THRESHOLD,
    id_col: str = "id",
    labels: pd.DataFrame | None = None,
    model: MatchModel | None = None,
    max_block_size: int = 100,
    n_jobs: int = 1,
    cannot_link: Any = None,
) -> pd.DataFrame:
    """Find pairs of records that probably describe the same customer.

    Records are normalised per field kind, paired by blocking (several
    passes, so a million records never compare all pairs), compared with
    RapidFuzz similarities, and scored with a Fellegi–Sunter model whose
    m/u probabilities are estimated by EM on these very records (no labels
    needed), or from ``labels``, or taken from a fitted ``model``.

    Parameters
    ----------
    records : DataFrame or iterable of Customer
        One row per record, with ``id_col`` and every field's column;
        Customer entities are read through :func:`customers_frame`.
    fields : mapping of str to str or Field
        Column -> comparison kind: ``"name"``, ``"text"``, ``"email"``,
        ``"phone"``, ``"date"``, ``"postcode"``, ``"exact"``, ``"numeric"``,
        or a :class:`Field` with options. Not needed with ``model``.
    blocking : list of passes, optional
        Each pass a key or a list of keys that must all agree
        (``"email"``, ``"email:local"``, ``"phone:suffix"``, ``"name:prefix"``,
        ``"birth_date:year"``...); default: one pass per e-mail and phone,
        name with date and with postcode, date with postcode (see the guide).
    threshold : float, default 0.5
        Pairs scoring at least this are returned; ``0`` returns every
        candidate pair.
    id_col : str, default "id"
        Column of record ids (unique, not missing).
    labels : DataFrame, optional
        Labelled pairs (``id_l``, ``id_r``, boolean ``match``) to train m and
        u on instead of EM (see :meth:`MatchModel.fit`).
    model : MatchModel, optional
        A fitted model: its fields, blocking and probabilities are used and
        nothing is fitted.
    max_block_size : int, default 100
        Blocks larger than this are skipped in their pass.
    n_jobs : int, default 1
        Threads for RapidFuzz (``-1``: all cores).
    cannot_link : DataFrame or iterable of pairs, optional
        "Not a duplicate" decisions (``id_l``, ``id_r``; for example
        :func:`not_duplicates` of a store): these pairs are left out of the
        result (they still count when the model is fitted).

    Returns
    -------
    DataFrame
        One row per pair, highest score first: ``id_l`` and ``id_r`` (``id_l``
        sorts before ``id_r``; each pair once), ``score`` (posterior match
        probability in [0, 1]), ``weight`` (the Fellegi–Sunter match weight,
        log2 of the likelihood ratio; any real number), and for each field
        ``<field>_sim`` (similarity in [0, 1]), ``<field>_level`` (agreement
        level, ``-1`` when either value is missing) and ``<field>_weight``
        (that field's share of ``weight``: the explanation of the score).

    Raises
    ------
    ValidationError
        Missing columns (listing those present), an unknown kind or blocking
        key, missing or repeated ids, unreadable phone numbers or dates
        (naming the record), a threshold outside [0, 1].
    ImportError
        RapidFuzz is not installed (``pip install 'crmcore[identity]'``).

    Examples
    --------
    >>> import pandas as pd
    >>> records = pd.DataFrame(
    ...     {
    ...         "id": [1, 2, 3, 4],
    ...         "name": ["Ann Lee", "Lee, Ann", "Bo Chen", "Anne Leigh"],
    ...         "email": [
    ...             "ann.lee@example.org",
    ...             "Ann.Lee@Example.org",
    ...             "bo@example.org",
    ...             "ann.lee+shop@example.org",
    ...         ],
    ...     }
    ... )
    >>> pairs = find_duplicates(records, fields={"name": "name", "email": "email"})
    >>> pairs[["id_l", "id_r", "name_level", "email_level"]].sort_values(["id_l", "id_r"])
       id_l  id_r  name_level  email_level
    2     1     2           4            3
    0     1     4           2            3
    1     2     4           2            3

    The e-mail addresses are one mailbox (case and the ``+shop`` tag aside);
    "Lee, Ann" is "Ann Lee" with the words sorted (level 4 of 4: exact), and
    "Anne Leigh" is similar (level 2). With so few pairs the fitted model is
    not meaningful: on real data, see the guide.
    """
    check_scalar(threshold, name="threshold", low=0, high=1)
    if model is None:
        if fields is None:
            raise ValidationError("find_duplicates needs fields= (or a fitted model=)")
        model = MatchModel(
            fields, blocking=blocking, id_col=id_col, max_block_size=max_block_size, n_jobs=n_jobs
        )
        fitted = False
    else:
        if not isinstance(model, MatchModel):
            raise ValidationError(
                f"model must be a MatchModel; got {type(model).__name__}", field="model"
            )
        model._check_fitted()
        if fields is not None or blocking is not None or labels is not None:
            raise ValidationError(
                "with a fitted model=, leave fields, blocking and labels unset: the model "
                "carries them",
                field="model",
            )
        fitted = True
    spec_fields, passes = (model.fields_, model.passes_) if fitted else model._check_params()
    prep: Prepared = prepare(records, spec_fields, model.id_col)
    i, j, stats = candidate_pairs(
        prep.columns, spec_fields, passes, prep.rank, max_block_size=int(model.max_block_size)
    )
    sims, levels = compare_pairs(prep, i, prep, j, fields=spec_fields, n_jobs=model.n_jobs)
    if not fitted:
        model._fit_levels(
            prep, fields=spec_fields, passes=passes, levels=levels, stats=stats, labels=labels
        )
    scored = model.score_levels(levels)
    keep = np.flatnonzero(scored[0] >= threshold)
    decided = cannot_link_pairs(cannot_link)
    if decided:
        keep = keep[~_decided(prep.ids, i[keep], j[keep], decided)]
    # highest score first; ties in id order (the pairs come sorted by id rank)
    keep = keep[np.argsort(-scored[0][keep], kind="stable")]
    table = pairs_table(
        prep.ids,
        i[keep],
        prep.ids,
        j[keep],
        fields=spec_fields,
        sims={c: s[keep] for c, s in sims.items()},
        levels=levels[keep],
        scored=(scored[0][keep], scored[1][keep], scored[2][keep]),
    )
    return table.reset_index(drop=True)


def _decided(
    ids: pd.Index, i: IntArray, j: IntArray, decided: list[tuple[Any, Any]]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Mark the pairs ``(i, j)`` (positions in ``ids``) that a decision names."""
    a = ids.get_indexer(pd.Index([p[0] for p in decided], dtype=object))
    b = ids.get_indexer(pd.Index([p[1] for p in decided], dtype=object))
    known = (a >= 0) & (b >= 0)
    n = np.int64(len(ids))
    lo, hi = np.minimum(a[known], b[known]), np.maximum(a[known], b[known])
    keys = np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)
    return np.isin(keys, lo.astype(np.int64) * n + hi)
