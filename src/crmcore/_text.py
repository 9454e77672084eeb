r"""Text every store can hold: the one check where strings enter crmcore.

Two rules, shared by the domain's field validators, the store codecs (their
last line of defence for entities built around the validators), the event
log, the loyalty ledger and the filters:

* **storable** text has no NUL character (PostgreSQL refuses it) and no lone
  surrogate such as ``"\ud800"`` (no UTF-8 encoding exists for it, so SQLite,
  PostgreSQL and Arrow-backed frames all refuse it). Free text (names,
  subjects, payloads, custom values) has no length limit.
* a **key** is storable text of at most :data:`MAX_KEY_LENGTH` characters:
  identifiers, ``*_id`` references, and every text a store indexes
  (``Account.name``, ``Lead.status``, ``Opportunity.stage``, ``Ticket.status``,
  ``LoyaltyAccount.tier``, event and entity types, consumer names ...).
  PostgreSQL cannot index a B-tree entry over about 2,700 bytes; 255
  characters take at most 1,020 bytes in UTF-8, so a key always fits, also
  beside another in a composite index.

Light on purpose (no NumPy, no pandas): ``import crmcore.domain`` uses it.
"""

from __future__ import annotations

from crmcore.errors import ValidationError

__all__ = ["MAX_KEY_LENGTH", "check_key", "check_storable", "storable_problem"]

#: Most characters of an identifier, a reference or any other indexed text.
MAX_KEY_LENGTH = 255


def storable_problem(text: str) -> str | None:
    """Say why no store can hold ``text`` (None: every store can)."""
    if "\x00" in text:
        return "NUL characters cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = text[exc.start]
            return (
                f"text contains characters that are not valid Unicode (a lone surrogate "
                f"{bad!r} at position {exc.start}); decode the source with errors='replace' "
                "or remove it"
            )
    return None


def check_storable(text: str, field: str) -> str:
    r"""Return ``text`` if every store can hold it.

    Parameters
    ----------
    text : str
        The value.
    field : str
        Field name for the error (and ``ValidationError.field``).

    Returns
    -------
    str
        ``text``, unchanged.

    Raises
    ------
    ValidationError
        For a NUL character or a lone surrogate.

    Examples
    --------
    >>> check_storable("Zoë", "name")
    'Zoë'
    >>> check_storable("C-\ud800", "id")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: id: text contains characters that are not valid Unicode ...
    """
    problem = storable_problem(text)
    if problem is not None:
        raise ValidationError(f"{field}: {problem}", field=field, value=text)
    return text


def check_key(text: str, field: str) -> str:
    """Return ``text`` if it is storable and at most :data:`MAX_KEY_LENGTH` characters.

    Parameters
    ----------
    text : str
        An identifier, a reference or another indexed text.
    field : str
        Field name for the error (and ``ValidationError.field``).

    Returns
    -------
    str
        ``text``, unchanged.

    Raises
    ------
    ValidationError
        For text that is too long, or not storable (see :func:`check_storable`).

    Examples
    --------
    >>> check_key("x" * 300, "status")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: status must be at most 255 characters (it is indexed); ...
    """
    if len(text) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"{field} must be at most {MAX_KEY_LENGTH} characters (it is indexed); "
            f"got {len(text)} characters",
            field=field,
            value=text,
        )
    return check_storable(text, field)
