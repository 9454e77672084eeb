"""Knowledge base: articles with a lifecycle, TF-IDF search in any script, deflection.

Search ranks published articles by the cosine similarity of TF-IDF vectors
of *character* n-grams taken inside word boundaries (scikit-learn's
``analyzer="char_wb"``, 2 to 4 characters by default; Manning, Raghavan &
Schütze 2008, *Introduction to Information Retrieval*, §6.3 for the weights
and the cosine, §3.2.2 for n-gram indexes). Character n-grams need no word
segmentation or stemming, so Korean (written in syllable blocks, with
particles glued to nouns: 배송이, 배송을) and English are matched by the
same index: "배송" shares its n-grams with every inflected form. Text is
NFKC-normalised and lower-cased first; the title counts ``title_weight``
times.

The index is a sparse matrix kept with documents as columns, so a query
touches only the postings of its own n-grams. It is *not* saved: building
it from the articles is quick next to loading a vocabulary of every n-gram
and a matrix of tens of millions of entries from JSON, and it always
matches the articles stored. Store the articles (:meth:`Article.saved`,
:func:`~crmcore.pipeline.load_articles`) and rebuild.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from crmcore._stats import check_confidence, wilson_interval, z_value
from crmcore._time import read_dates, resolve_as_of, to_duration
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import ValidationError
from crmcore.pipeline._articles import ARTICLE_STATUSES, Article

__all__ = ["KnowledgeBase", "deflection"]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class KnowledgeBase:
    """Search published articles (TF-IDF over character n-grams; see the module notes).

    Parameters
    ----------
    articles : iterable of Article
        Every article; for each id the latest revision among those with a
        status in ``statuses`` is indexed.
    statuses : sequence of str, default ("published",)
        Which articles are searchable (agents may search drafts too).
    ngram_range : tuple of int, default (2, 4)
        Shortest and longest character n-gram.
    title_weight : int, default 2
        How many times the title counts against the body (tags count once).
    max_df : float, default 1.0
        Drop n-grams found in more than this share of articles (faster
        queries on very large bases; 1.0 keeps all).

    Raises
    ------
    ValidationError
        No searchable article, or a bad parameter.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> kb = KnowledgeBase(
    ...     [
    ...         Article(
    ...             "A1",
    ...             "Refund for a damaged parcel",
    ...             "Send us a photo ...",
    ...             at,
    ...             status="published",
    ...         ),
    ...         Article(
    ...             "A2",
    ...             "배송 조회 방법",
    ...             "주문 내역에서 배송 상태를 확인하세요",
    ...             at,
    ...             language="ko",
    ...             status="published",
    ...         ),
    ...         Article(
    ...             "A3", "Reset your password", "Use the login page ...", at, status="published"
    ...         ),
    ...     ]
    ... )
    >>> kb.search("배송이 안 와요", k=1)["id"].tolist()
    ['A2']
    >>> kb.search("parcel arrived damaged", k=1)["id"].tolist()
    ['A1']
    """

    def __init__(
        self,
        articles: Iterable[Article],
        *,
        statuses: Sequence[str] = ("published",),
        ngram_range: tuple[int, int] = (2, 4),
        title_weight: int = 2,
        max_df: float = 1.0,
    ) -> None:
        wanted = set(statuses)
        for s in wanted:
            if s not in ARTICLE_STATUSES:
                raise ValidationError(
                    f"statuses must name {', '.join(ARTICLE_STATUSES)}; got {s!r}",
                    field="statuses",
                )
        weight = int(check_scalar(title_weight, name="title_weight", low=0, integer=True))
        latest: dict[str, Article] = {}
        for a in articles:
            if not isinstance(a, Article):
                raise ValidationError(f"articles must be Article values; got {a!r}")
            if a.status in wanted and (a.id not in latest or a.revision > latest[a.id].revision):
                latest[a.id] = a
        if not latest:
            raise ValidationError(
                f"no article has a status in {sorted(wanted)}: nothing to search",
                field="articles",
            )
        self.articles: tuple[Article, ...] = tuple(latest.values())
        texts = [
            _normalise(" ".join([a.title] * weight + list(a.tags) + [a.body]))
            for a in self.articles
        ]
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=ngram_range,
            sublinear_tf=True,
            dtype=np.float32,
            max_df=check_scalar(max_df, name="max_df", low=0, high=1, low_inclusive=False),
        )
        matrix = self._vectorizer.fit_transform(texts)
        # documents as columns: a query reads only the rows of its own n-grams
        self._postings = matrix.T.tocsr()
        self._ids = np.array([a.id for a in self.articles], dtype=object)
        self._languages = np.array([a.language for a in self.articles], dtype=object)

    def __len__(self) -> int:
        return len(self.articles)

    def scores(self, query: str) -> np.ndarray:
        """Return the cosine similarity of ``query`` with every article (``articles`` order)."""
        if not isinstance(query, str):
            raise ValidationError(f"query must be text; got {query!r}", field="query")
        vec = self._vectorizer.transform([_normalise(query)])
        return np.asarray((vec @ self._postings).toarray(), dtype=np.float64).ravel()

    def search(self, query: str, k: int = 5, *, language: str | None = None) -> pd.DataFrame:
        """Return the ``k`` articles most similar to ``query``.

        Parameters
        ----------
        query : str
            Free text in any language.
        k : int, default 5
            How many to return (fewer if fewer match at all).
        language : str, optional
            Only articles in this language.

        Returns
        -------
        DataFrame
            ``id``, ``title``, ``language``, ``score`` (cosine similarity in
            [0, 1]), best first (ties by id); articles sharing no n-gram with
            the query are left out.
        """
        top = int(check_scalar(k, name="k", low=1, integer=True))
        s = self.scores(query)
        if language is not None:
            s = np.where(self._languages == language, s, 0.0)
        hits = np.flatnonzero(s > 0)
        if hits.size > top:
            # the k-th best score, then every hit at least as good, ordered exactly
            kth = np.partition(s[hits], hits.size - top)[hits.size - top]
            hits = hits[s[hits] >= kth]
        order = np.lexsort((self._ids[hits].astype(str), -s[hits]))[:top]
        chosen = hits[order]
        return pd.DataFrame(
            {
                "id": self._ids[chosen],
                "title": [self.articles[i].title for i in chosen],
                "language": self._languages[chosen],
                "score": s[chosen],
            }
        )

    def suggest_articles(
        self, ticket: Any, k: int = 3, *, language: str | None = None
    ) -> pd.DataFrame:
        """Suggest articles that may answer a ticket (a search on its subject and description).

        Parameters
        ----------
        ticket : Ticket, mapping or Series
            Anything with ``subject`` (and optionally ``description``).
        k : int, default 3
            How many to suggest.
        language : str, optional
            Only articles in this language.

        Returns
        -------
        DataFrame
            As :meth:`search`.
        """
        get = ticket.get if isinstance(ticket, Mapping | pd.Series) else None
        subject = get("subject") if get else getattr(ticket, "subject", None)
        description = get("description") if get else getattr(ticket, "description", None)
        parts = [p for p in (subject, description) if isinstance(p, str) and p.strip()]
        if not parts:
            raise ValidationError(
                "the ticket has no subject or description to search with", field="subject"
            )
        return self.search(" ".join(parts), k, language=language)


def deflection(
    views: pd.DataFrame,
    tickets: pd.DataFrame,
    *,
    as_of: object,
    window: object = "3D",
    by: str | Sequence[str] | None = "article_id",
    confidence: float = 0.95,
    customer_col: str = "customer_id",
    date_col: str = "date",
    created_col: str = "created_at",
) -> pd.DataFrame:
    """Self-service deflection: article views not followed by a ticket from the same customer.

    A view at ``v`` is *deflected* when its customer raised no ticket in
    ``(v, v + window]``; only views whose whole window lies at or before
    ``as_of`` are judged (later ones are still undecided). The deflected
    views estimate the tickets avoided; the rate carries a Wilson (1927)
    interval.

    Parameters
    ----------
    views : DataFrame
        Article views: ``customer_id``, ``date`` and the ``by`` columns.
    tickets : DataFrame
        Tickets: ``customer_id``, ``created_at``.
    as_of : datetime or date-like
        The cut-off (a date: the end of that day in the zone of the views).
    window : str or timedelta, default "3D"
        How long after a view a ticket still counts as not deflected.
    by : str or sequence of str, default "article_id"
        Grouping columns of ``views``; ``None`` for one ``total`` row.
    confidence : float, default 0.95
        Level of the interval.
    customer_col, date_col, created_col : str
        Column names.

    Returns
    -------
    DataFrame
        One row per group: ``views`` (judged), ``followed_by_ticket``,
        ``deflected`` (tickets avoided), ``deflection_rate``, ``ci_low``,
        ``ci_high``, and ``undecided`` (views too recent to judge).

    Raises
    ------
    ValidationError
        Missing columns, bad dates, naive and aware dates mixed, a bad
        window or confidence.

    Examples
    --------
    >>> import pandas as pd
    >>> views = pd.DataFrame(
    ...     {
    ...         "customer_id": ["c1", "c2", "c3"],
    ...         "article_id": ["A1", "A1", "A2"],
    ...         "date": pd.to_datetime(["2026-03-01 10:00"] * 3),
    ...     }
    ... )
    >>> tickets = pd.DataFrame(
    ...     {"customer_id": ["c2"], "created_at": pd.to_datetime(["2026-03-02 09:00"])}
    ... )
    >>> deflection(views, tickets, as_of="2026-03-10")[["views", "deflected", "deflection_rate"]]
                views  deflected  deflection_rate
    article_id
    A1              2          1              0.5
    A2              1          1              1.0
    """
    conf = check_confidence(confidence)
    length = int(to_duration(window, name="window").value)
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    check_columns(views, [customer_col, date_col, *keys], name="views")
    check_columns(tickets, [customer_col, created_col], name="tickets")
    seen = read_dates(views[date_col], name=date_col, row_name="view")
    raised = read_dates(tickets[created_col], name=created_col, row_name="ticket")
    if seen.aware != raised.aware:
        raise ValidationError(
            f"views[{date_col!r}] and tickets[{created_col!r}] must both be naive or both "
            "timezone-aware",
            field=created_col,
        )
    cut = resolve_as_of(as_of, tz=seen.tz).ns
    v_ns, t_ns = seen.ns, raised.ns
    happened = v_ns <= cut
    judged = happened & (v_ns + length <= cut)
    # One sortable key per (customer, moment): customers as shared codes, moments as
    # their rank among all view and ticket times (instants do not fit beside a code).
    codes, _ = pd.factorize(
        pd.concat([views[customer_col], tickets[customer_col]], ignore_index=True)
    )
    v_cust = np.asarray(codes[: len(views)], dtype=np.int64)
    t_keep = t_ns <= cut
    t_cust = np.asarray(codes[len(views) :], dtype=np.int64)[t_keep]
    t_at = t_ns[t_keep]
    times, rank = np.unique(np.concatenate([v_ns, t_at]), return_inverse=True)
    width = np.int64(times.size + 1)
    v_key = v_cust * width + rank[: v_ns.size]
    t_key = t_cust * width + rank[v_ns.size :]
    order = np.argsort(t_key, kind="stable")
    t_key, t_cust, t_at = t_key[order], t_cust[order], t_at[order]
    # the customer's first ticket strictly after the view
    nxt = np.searchsorted(t_key, v_key, side="right")
    has = nxt < t_key.size
    at_next = np.minimum(nxt, max(t_key.size - 1, 0))
    followed = (
        has & (t_cust[at_next] == v_cust) & (t_at[at_next] <= v_ns + length)
        if t_key.size
        else np.zeros(v_ns.size, dtype=bool)
    )
    parts = pd.DataFrame(
        {
            "views": judged.astype(np.int64),
            "followed_by_ticket": (judged & followed).astype(np.int64),
            "undecided": (happened & ~judged).astype(np.int64),
        }
    )
    # groups of the views seen by as_of only: a later view names nothing yet
    parts = parts.loc[happened]
    if keys:
        g = parts.groupby([views[k].to_numpy()[happened] for k in keys], sort=True, dropna=False)
        out = g.sum()
    else:
        g = parts.groupby(np.zeros(len(parts), dtype=np.int64))
        out = g.sum().reindex([0], fill_value=0)
    out["deflected"] = out["views"] - out["followed_by_ticket"]
    n = out["views"].to_numpy(dtype=np.float64)
    d = out["deflected"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["deflection_rate"] = d / n
    lo_ci, hi_ci = wilson_interval(d, n, z_value(conf))
    out["ci_low"] = np.where(n > 0, lo_ci, np.nan)
    out["ci_high"] = np.where(n > 0, hi_ci, np.nan)
    out = out[
        [
            "views",
            "followed_by_ticket",
            "deflected",
            "deflection_rate",
            "ci_low",
            "ci_high",
            "undecided",
        ]
    ]
    if keys:
        out.index.names = keys
    else:
        out.index = pd.Index(["total"])
    return out
