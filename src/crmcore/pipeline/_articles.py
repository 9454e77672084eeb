"""Knowledge-base articles: the value, its lifecycle, revisions, and storage as events.

An :class:`Article` is a frozen value moved through :data:`ARTICLE_WORKFLOW`
with :func:`~crmcore.pipeline.advance` and revised with :func:`revise`.
Articles are stored in the event history: each save is an
:class:`~crmcore.domain.ArticleSaved` event holding the whole revision
(:meth:`Article.saved`), so every version is kept, in order, and
:func:`load_articles` reads them back as they stood at any past moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs

from crmcore._time import instant_key, require_aware
from crmcore.domain import ArticleSaved, decode_datetime  # the event: re-exported here
from crmcore.errors import ValidationError
from crmcore.pipeline._workflow import Stage, Transition, Workflow

__all__ = [
    "ARTICLE_STATUSES",
    "ARTICLE_WORKFLOW",
    "Article",
    "ArticleSaved",
    "load_articles",
    "revise",
]


ARTICLE_STATUSES: tuple[str, ...] = ("draft", "published", "archived")
"""The lifecycle of an :class:`Article`, in order."""

ARTICLE_WORKFLOW: Workflow = Workflow(
    "article",
    [
        Stage("draft", 1),
        Stage("published", 2),
        Stage("archived", 3, is_closed=True),
    ],
    [
        Transition("draft", "published"),
        Transition("published", "draft"),  # unpublish for rework
        Transition("draft", "archived"),
        Transition("published", "archived"),
    ],
    "draft",
    state_attr="status",
)
"""Articles: draft → published (and back, to rework) → archived (final).

Move an article with :func:`~crmcore.pipeline.advance`, like any entity:
``advance(article, "published", at=..., workflow=ARTICLE_WORKFLOW)``."""


def _text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{attribute.name} must be non-empty text; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _tags(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)
    for v in items:
        if not isinstance(v, str) or not v.strip():
            raise ValidationError(f"tags must be non-empty strings; got {v!r}", field="tags")
    return tuple(dict.fromkeys(items))


def _status(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ARTICLE_STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(ARTICLE_STATUSES)}; got {value!r}",
            field="status",
            value=value,
        )


def _revision(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"revision must be a whole number >= 1; got {value!r}", field="revision", value=value
        )


def _aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_aware(value, field=attribute.name)


@attrs.frozen(slots=True)
class Article:
    """A knowledge-base article (FAQ answer, how-to) for customers and agents.

    A frozen value: change it with :func:`revise` (content) or
    :func:`~crmcore.pipeline.advance` with :data:`ARTICLE_WORKFLOW`
    (status). Store it in the event history: record :meth:`saved` after
    each change and read the articles back with
    :func:`~crmcore.pipeline.load_articles`.

    Parameters
    ----------
    id : str
        Chosen by the caller.
    title, body : str
        The question and the answer (any language, any script).
    created_at : datetime
        When it was written (timezone-aware).
    tags : str or iterable of str
        Topics (``"billing"``, ``"배송"``), kept in order, duplicates dropped.
    language : str, default "en"
        Language code (``"en"``, ``"ko"``...), for filtering searches.
    status : {"draft", "published", "archived"}
        Where it is in its lifecycle; only published articles are searched.
    revision : int, default 1
        Content version, raised by :func:`revise` (not the storage
        ``version`` used for optimistic concurrency).
    updated_at : datetime, optional
        When the content last changed (default: ``created_at``).

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> a = Article("A1", "How do I get a refund?", "Open your order ...", at, tags=["billing"])
    >>> a.status, a.revision
    ('draft', 1)
    >>> Article.from_dict(a.to_dict()) == a
    True
    """

    id: str = attrs.field(validator=_text)
    title: str = attrs.field(validator=_text)
    body: str = attrs.field(validator=_text)
    created_at: dt.datetime = attrs.field(validator=_aware, eq=instant_key)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    language: str = attrs.field(default="en", validator=_text)
    status: str = attrs.field(default="draft", validator=_status)
    revision: int = attrs.field(default=1, validator=_revision)
    updated_at: dt.datetime = attrs.field(
        default=attrs.Factory(lambda self: self.created_at, takes_self=True),
        validator=_aware,
        eq=instant_key,
    )

    def __attrs_post_init__(self) -> None:
        if self.updated_at < self.created_at:
            raise ValidationError(
                f"updated_at ({self.updated_at.isoformat()}) is before created_at "
                f"({self.created_at.isoformat()})",
                field="updated_at",
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready fields (datetimes as ISO 8601 with their offset)."""
        out = attrs.asdict(self)
        out["tags"] = list(self.tags)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out

    def saved(self, *, at: dt.datetime, actor: str | None = None) -> ArticleSaved:
        """Return the event recording this revision as it stands (for ``uow.record``).

        Parameters
        ----------
        at : datetime
            When it is saved (timezone-aware, not before ``updated_at``).
        actor : str, optional
            Who saved it.

        Returns
        -------
        ArticleSaved
            The domain event; :meth:`from_event` rebuilds the article.

        Raises
        ------
        ValidationError
            A naive ``at`` or one before ``updated_at``.
        """
        require_aware(at, field="at")
        if at < self.updated_at:
            raise ValidationError(
                f"at ({at.isoformat()}) is before the article's updated_at "
                f"({self.updated_at.isoformat()})",
                field="at",
            )
        return ArticleSaved(
            self.id,
            self.title,
            self.body,
            self.created_at,
            self.tags,
            self.language,
            self.status,
            self.revision,
            self.updated_at,
            at,
            actor,
        )

    @classmethod
    def from_event(cls, event: ArticleSaved) -> Article:
        """Rebuild the article an :class:`~crmcore.domain.ArticleSaved` event recorded.

        Raises
        ------
        ValidationError
            Not an ``ArticleSaved`` event, or fields an article cannot hold.
        """
        if not isinstance(event, ArticleSaved):
            raise ValidationError(
                f"expected an ArticleSaved event; got {type(event).__name__}", field="event"
            )
        return cls(
            event.article_id,
            event.title,
            event.body,
            event.created_at,
            tags=event.tags,
            language=event.language,
            status=event.status,
            revision=event.revision,
            updated_at=event.updated_at,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Article:
        """Rebuild an article from :meth:`to_dict`.

        Raises
        ------
        ValidationError
            Missing or bad fields.
        """
        try:
            fields = dict(data)
            for name in ("created_at", "updated_at"):
                if isinstance(fields.get(name), str):
                    fields[name] = decode_datetime(fields[name], field=name)
            return cls(**fields)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"not a saved Article: {exc}") from exc


def revise(
    article: Article,
    *,
    at: dt.datetime,
    title: str | None = None,
    body: str | None = None,
    tags: Iterable[str] | None = None,
    language: str | None = None,
) -> Article:
    """Return the next revision of ``article``: the new content, as a draft.

    The revision number goes up by one and ``updated_at`` becomes ``at``.
    The new revision is a draft until published; a knowledge base built
    from both keeps serving the published one.

    Raises
    ------
    ValidationError
        An archived article, a naive ``at`` or one before ``updated_at``,
        or bad content.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> a = Article("A1", "Refunds", "Old text", at, status="published")
    >>> b = revise(a, body="New text", at=at + dt.timedelta(days=1))
    >>> b.revision, b.status, b.body
    (2, 'draft', 'New text')
    """
    require_aware(at, field="at")
    if article.status == "archived":
        raise ValidationError(
            f"article {article.id!r} is archived; archived articles are not revised",
            field="status",
        )
    if at < article.updated_at:
        raise ValidationError(
            f"at ({at.isoformat()}) is before the article's updated_at "
            f"({article.updated_at.isoformat()})",
            field="at",
        )
    changes: dict[str, Any] = {
        "revision": article.revision + 1,
        "status": "draft",
        "updated_at": at,
    }
    content = {"title": title, "body": body, "tags": tags, "language": language}
    changes.update({name: value for name, value in content.items() if value is not None})
    return attrs.evolve(article, **changes)


class _EventSource(Protocol):
    """What :func:`load_articles` reads: ``store.events`` (its ``stream``)."""

    def stream(
        self, *, type: Any = None, until: Any = None, tz: Any = None, batch_size: int = ...
    ) -> Iterator[list[Any]]: ...


def load_articles(events: _EventSource, *, as_of: Any = None, tz: Any = None) -> list[Article]:
    """Read every revision of every article back from the event history.

    Each revision comes back as it was last saved (by ``at``; the later
    position on a tie) at or before ``as_of``: a published revision 1 and
    its draft revision 2 both come back, so a :class:`KnowledgeBase` built
    from them keeps serving revision 1.

    Parameters
    ----------
    events : EventStore
        ``store.events`` of any store (anything with its ``stream``).
    as_of : datetime or date-like, optional
        Read nothing saved after it (a date: the end of that day in ``tz``).
        Default: everything.
    tz : str or tzinfo, optional
        Zone of a date-only ``as_of`` (default UTC).

    Returns
    -------
    list of Article
        In the order each revision was first saved.

    Raises
    ------
    ValidationError
        A stored ``knowledge.article_saved`` event that no longer fits
        :class:`~crmcore.domain.ArticleSaved` (read back as a generic
        event), or one an article cannot hold.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.storage import InMemoryStore
    >>> at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> store = InMemoryStore()
    >>> a = Article("A1", "Refunds", "Open the order.", at, status="published")
    >>> b = revise(a, body="Open the order, choose Refund.", at=at + dt.timedelta(days=1))
    >>> _ = store.events.append(a.saved(at=at), b.saved(at=b.updated_at))
    >>> [(x.revision, x.status) for x in load_articles(store.events)]
    [(1, 'published'), (2, 'draft')]
    >>> [x.revision for x in load_articles(store.events, as_of=at)]
    [1]
    """
    latest: dict[tuple[str, int], tuple[Any, ArticleSaved]] = {}
    for batch in events.stream(type=ArticleSaved.TYPE, until=as_of, tz=tz):
        for stored in batch:
            event = stored.event
            if not isinstance(event, ArticleSaved):
                raise ValidationError(
                    f"stored event {event.id!r} (position {stored.position}) has type "
                    f"{event.type!r} but does not fit ArticleSaved; read it with "
                    "store.events.get and repair its payload",
                    field="payload",
                )
            key = (event.article_id, event.revision)
            moment = instant_key(event.at)
            held = latest.get(key)
            if held is None or moment >= held[0]:  # position order: a tie goes to the later
                latest[key] = (moment, event)
    return [Article.from_event(event) for _, event in latest.values()]
