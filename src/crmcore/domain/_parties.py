"""People and organisations: Customer, Account, Contact."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any, Self, cast

import attrs

from crmcore.domain._base import (
    EntityId,
    convert_id,
    convert_lower,
    convert_optional_id,
    convert_tags,
    valid_aware,
    valid_id,
    valid_instance,
    valid_key_text,
    valid_optional_date,
    valid_optional_id,
    valid_optional_text,
    valid_tags,
    valid_text,
)
from crmcore.domain._codec import (
    dec_datetime,
    dec_optional_date,
    dec_tuple_of,
    dec_with,
    meta,
)
from crmcore.domain._entity import Entity
from crmcore.domain._values import (
    Address,
    Consent,
    EmailAddress,
    PhoneNumber,
    convert_consents,
    convert_email,
    convert_phone,
    current_consent,
    valid_consents,
)
from crmcore.errors import ValidationError

__all__ = ["Account", "Contact", "Customer"]


class _ConsentQueries:
    """Consent look-ups and updates shared by Customer and Contact."""

    __slots__ = ()
    consents: tuple[Consent, ...]

    def current_consent(
        self, channel: str, *, as_of: _dt.datetime | None = None
    ) -> Consent | None:
        """Return the consent in force for ``channel`` (the latest one), or None.

        Parameters
        ----------
        channel : str
            Channel name, case-insensitive (``"email"``, ``"sms"`` ...).
        as_of : datetime.datetime, optional
            Ignore consents recorded after this moment.
        """
        return current_consent(self.consents, channel, as_of=as_of)

    def has_consent(self, channel: str, *, as_of: _dt.datetime | None = None) -> bool:
        """Return True if the latest consent for ``channel`` is an opt-in.

        No consent recorded means no consent (opt-in by default is not
        consent under GDPR / ePrivacy rules).
        """
        found = current_consent(self.consents, channel, as_of=as_of)
        return found is not None and found.granted

    def with_consent(self, consent: Consent) -> Self:
        """Return a copy with ``consent`` appended to the consent history.

        Raises
        ------
        ValidationError
            If ``consent`` is not a :class:`~crmcore.domain.Consent`
            (``field="consents"``).
        """
        return self.with_consents((consent,))

    def with_consents(self, consents: Iterable[Consent]) -> Self:
        """Return a copy with several consents appended, in the order given."""
        new: Self = attrs.evolve(cast("Any", self), consents=(*self.consents, *consents))
        return new


@attrs.frozen(kw_only=True)
class Customer(_ConsentQueries, Entity):
    """A person or business that buys from you.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    name : str
        Display name (non-blank; any script).
    created_at : datetime.datetime
        When the customer record was created (timezone-aware; required, never
        defaulted to "now").
    email : EmailAddress or str, optional
        A string is parsed into :class:`~crmcore.domain.EmailAddress`.
    phone : PhoneNumber or str, optional
        A string must be international (``+``...); for national numbers build
        ``PhoneNumber(number=..., country=...)``.
    address : Address, optional
        Postal address.
    account_id : str or uuid.UUID, optional
        The company account the customer belongs to (B2B).
    birth_date : datetime.date, optional
        Date of birth.
    gender : str, optional
        Gender as the customer declared it (free text, stored stripped and
        lower-case: ``"female"``, ``"male"``, ``"non-binary"``...); None when
        not declared.  A declared profile field, so segment rules and
        :func:`crmcore.identity.customer_frame` can use it.
    consents : sequence of Consent, default ()
        Marketing consent history, stored as a tuple in the order given.
    tags : iterable of str, default frozenset()
        Stored as a frozenset.

    Examples
    --------
    >>> import datetime as dt
    >>> c = Customer(
    ...     id="C-1",
    ...     name="Ada Lovelace",
    ...     email="ada@example.org",
    ...     created_at=dt.datetime(2024, 1, 5, 9, 0, tzinfo=dt.UTC),
    ...     consents=[
    ...         Consent(channel="email", granted=True, at=dt.datetime(2024, 1, 5, tzinfo=dt.UTC))
    ...     ],
    ... )
    >>> c.has_consent("email"), c.has_consent("sms")
    (True, False)
    >>> Customer.from_dict(c.to_dict()) == c
    True
    """

    name: str = attrs.field(validator=valid_text)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    email: EmailAddress | None = attrs.field(
        default=None,
        converter=convert_email,
        validator=valid_instance(EmailAddress, optional=True),
        metadata=meta(dec_with(EmailAddress.from_dict, optional=True)),
    )
    phone: PhoneNumber | None = attrs.field(
        default=None,
        converter=convert_phone,
        validator=valid_instance(PhoneNumber, optional=True),
        metadata=meta(dec_with(PhoneNumber.from_dict, optional=True)),
    )
    address: Address | None = attrs.field(
        default=None,
        validator=valid_instance(Address, optional=True),
        metadata=meta(dec_with(Address.from_dict, optional=True)),
    )
    account_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    birth_date: _dt.date | None = attrs.field(
        default=None, validator=valid_optional_date, metadata=meta(dec_optional_date)
    )
    consents: tuple[Consent, ...] = attrs.field(
        default=(),
        converter=convert_consents,
        validator=valid_consents,
        metadata=meta(dec_tuple_of(Consent.from_dict)),
    )
    tags: frozenset[str] = attrs.field(
        factory=frozenset, converter=convert_tags, validator=valid_tags
    )
    # last: the SQL column was added by a migration (schema 5), after the others
    gender: str | None = attrs.field(
        default=None, converter=convert_lower, validator=valid_optional_text
    )


@attrs.frozen(kw_only=True)
class Account(Entity):
    """A company (B2B organisation) you sell to.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    name : str
        Company name.
    created_at : datetime.datetime
        When the record was created (timezone-aware).
    industry, website : str, optional
        Free text.
    owner : str or uuid.UUID, optional
        The user responsible for the account.
    parent_id : str or uuid.UUID, optional
        Parent company account, for groups; not the account itself.
    phone : PhoneNumber or str, optional
        Phone number; a string must be international (``+``...).
    address : Address, optional
        Postal address.
    tags : iterable of str, default frozenset()
        Free labels; stored as a frozenset.

    Examples
    --------
    >>> import datetime as dt
    >>> Account(id="A-1", name="Acme Ltd", created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).name
    'Acme Ltd'
    """

    name: str = attrs.field(validator=valid_key_text)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    industry: str | None = attrs.field(default=None, validator=valid_optional_text)
    website: str | None = attrs.field(default=None, validator=valid_optional_text)
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    parent_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    phone: PhoneNumber | None = attrs.field(
        default=None,
        converter=convert_phone,
        validator=valid_instance(PhoneNumber, optional=True),
        metadata=meta(dec_with(PhoneNumber.from_dict, optional=True)),
    )
    address: Address | None = attrs.field(
        default=None,
        validator=valid_instance(Address, optional=True),
        metadata=meta(dec_with(Address.from_dict, optional=True)),
    )
    tags: frozenset[str] = attrs.field(
        factory=frozenset, converter=convert_tags, validator=valid_tags
    )

    def __attrs_post_init__(self) -> None:
        if self.parent_id is not None and self.parent_id == self.id:
            raise ValidationError(
                f"parent_id must differ from the account's own id {self.id!r}",
                field="parent_id",
                value=self.parent_id,
            )


@attrs.frozen(kw_only=True)
class Contact(_ConsentQueries, Entity):
    """A person at an :class:`Account`, with their own consent history.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    account_id : str or uuid.UUID
        The account the person works for.
    name : str
        The person's name.
    created_at : datetime.datetime
        When the record was created (timezone-aware).
    title : str, optional
        Job title.
    email : EmailAddress or str, optional
        E-mail address; a string is parsed into :class:`~crmcore.domain.EmailAddress`.
    phone : PhoneNumber or str, optional
        Phone number; a string must be international (``+``...).
    consents : sequence of Consent, default ()
        Marketing consent history (see :meth:`has_consent`).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> c = Contact(id="P-1", account_id="A-1", name="Bo Chen", created_at=t)
    >>> c.with_consent(Consent(channel="sms", granted=False, at=t)).has_consent("sms")
    False
    """

    account_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    name: str = attrs.field(validator=valid_text)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    title: str | None = attrs.field(default=None, validator=valid_optional_text)
    email: EmailAddress | None = attrs.field(
        default=None,
        converter=convert_email,
        validator=valid_instance(EmailAddress, optional=True),
        metadata=meta(dec_with(EmailAddress.from_dict, optional=True)),
    )
    phone: PhoneNumber | None = attrs.field(
        default=None,
        converter=convert_phone,
        validator=valid_instance(PhoneNumber, optional=True),
        metadata=meta(dec_with(PhoneNumber.from_dict, optional=True)),
    )
    consents: tuple[Consent, ...] = attrs.field(
        default=(),
        converter=convert_consents,
        validator=valid_consents,
        metadata=meta(dec_tuple_of(Consent.from_dict)),
    )
