"""Value objects for reaching people: e-mail, phone, postal address, consent."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmcore._time import instant_us
from crmcore.domain._base import (
    _attempt,
    _raise_if_rejected,
    convert_lower,
    valid_aware,
    valid_bool,
    valid_optional_text,
)
from crmcore.domain._codec import (
    dec_datetime,
    from_dict,
    meta,
    to_dict,
)
from crmcore.errors import ValidationError

__all__ = [
    "CALLING_CODES",
    "Address",
    "Consent",
    "EmailAddress",
    "PhoneNumber",
    "convert_email",
    "convert_phone",
    "current_consent",
]

# ---------------------------------------------------------------- e-mail

_FORBIDDEN_LOCAL = set('()<>[]\\,;:"@')


def _parse_email(text: Any) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"must be an e-mail address string; got {text!r}", value=text)
    value = text.strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    local, at, domain = value.rpartition("@")
    problem = None
    if not at or not local or not domain:
        problem = "needs exactly one '@' with text on both sides"
    elif any(c.isspace() or not c.isprintable() for c in value):
        problem = "must not contain spaces or control characters"
    elif len(value) > 254 or len(local) > 64:
        problem = "is too long (at most 254 characters, 64 before '@')"
    elif set(local) & _FORBIDDEN_LOCAL:
        problem = "has a character not allowed before '@'"
    elif local.startswith(".") or local.endswith(".") or ".." in local:
        problem = "has a misplaced '.' before '@'"
    else:
        labels = domain.split(".")
        if len(labels) < 2 or any(
            not label
            or len(label) > 63
            or label.startswith("-")
            or label.endswith("-")
            or not label.replace("-", "").isalnum()
            for label in labels
        ):
            problem = "has an invalid domain (needs labels of letters, digits and '-')"
    if problem is not None:
        raise ValidationError(f"e-mail address {problem}; got {text!r}", value=text)
    return f"{local}@{domain.lower()}"


def _convert_email_value(value: Any) -> str:
    return _attempt(_parse_email, value)


def _valid_email_value(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)


@attrs.frozen(kw_only=True)
class EmailAddress:
    """A syntactically valid e-mail address, normalised.

    Parameters
    ----------
    value : str
        The address.  Surrounding whitespace and a ``mailto:`` prefix are
        removed and the domain is lower-cased; the part before ``@`` is kept
        as written (it is case-sensitive by the standard).  Quoted local
        parts and addresses without a dotted domain are refused.

    Examples
    --------
    >>> EmailAddress(value="  Ann.Lee@Example.COM ")
    EmailAddress(value='Ann.Lee@example.com')
    >>> str(EmailAddress.parse("mailto:bo@shop.example"))
    'bo@shop.example'
    >>> EmailAddress(value="ann@localhost")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: value: e-mail address has an invalid domain ...
    """

    value: str = attrs.field(converter=_convert_email_value, validator=_valid_email_value)

    @classmethod
    def parse(cls, text: str) -> EmailAddress:
        """Build from text (same as ``EmailAddress(value=text)``).

        Parameters
        ----------
        text : str
            An e-mail address; surrounding spaces are removed and the domain
            lower-cased.

        Returns
        -------
        EmailAddress
            The validated address.

        Raises
        ------
        ValidationError
            If ``text`` is not a plausible e-mail address.
        """
        return cls(value=text)

    @property
    def domain(self) -> str:
        """The lower-cased part after ``@``."""
        return self.value.rpartition("@")[2]

    def __str__(self) -> str:
        return self.value

    def to_dict(self) -> str:
        """Return the address as a plain string (its JSON form).

        Returns
        -------
        str
            The normalised address.
        """
        return self.value

    @classmethod
    def from_dict(cls, data: Any) -> EmailAddress:
        """Build from a string (or ``{"value": ...}``).

        Parameters
        ----------
        data : str or mapping
            The output of :meth:`to_dict`, or ``{"value": text}``.

        Returns
        -------
        EmailAddress
            The validated address.

        Raises
        ------
        ValidationError
            If the address is invalid or the mapping has other keys.
        """
        if isinstance(data, Mapping):
            return from_dict(cls, data)
        return cls(value=data)


def convert_email(value: Any) -> EmailAddress | None:
    """Entity-field converter: accept an EmailAddress, a string or None."""
    if value is None or isinstance(value, EmailAddress):
        return value
    return _attempt(EmailAddress.parse, value)


# ---------------------------------------------------------------- phone

#: ISO 3166-1 alpha-2 country -> (ITU-T E.164 country calling code, national
#: trunk prefix or None).  A small table of common countries; numbers from
#: other countries must be given in international form (``+`` or ``00``).
CALLING_CODES: Mapping[str, tuple[str, str | None]] = {
    "AE": ("971", "0"), "AR": ("54", "0"), "AT": ("43", "0"), "AU": ("61", "0"),
    "BE": ("32", "0"), "BG": ("359", "0"), "BR": ("55", "0"), "CA": ("1", "1"),
    "CH": ("41", "0"), "CN": ("86", "0"), "CZ": ("420", None), "DE": ("49", "0"),
    "DK": ("45", None), "EE": ("372", None), "EG": ("20", "0"), "ES": ("34", None),
    "FI": ("358", "0"), "FR": ("33", "0"), "GB": ("44", "0"), "GR": ("30", None),
    "HK": ("852", None), "HR": ("385", "0"), "HU": ("36", "06"), "ID": ("62", "0"),
    "IE": ("353", "0"), "IL": ("972", "0"), "IN": ("91", "0"), "IT": ("39", None),
    "JP": ("81", "0"), "KE": ("254", "0"), "KR": ("82", "0"), "LU": ("352", None),
    "LV": ("371", None), "MX": ("52", None), "MY": ("60", "0"), "NG": ("234", "0"),
    "NL": ("31", "0"), "NO": ("47", None), "NZ": ("64", "0"), "PH": ("63", "0"),
    "PK": ("92", "0"), "PL": ("48", None), "PT": ("351", None), "RO": ("40", "0"),
    "RU": ("7", "8"), "SA": ("966", "0"), "SE": ("46", "0"), "SG": ("65", None),
    "SI": ("386", "0"), "SK": ("421", "0"), "TH": ("66", "0"), "TR": ("90", "0"),
    "TW": ("886", "0"), "UA": ("380", "0"), "US": ("1", "1"), "VN": ("84", "0"),
    "ZA": ("27", "0"),
}  # fmt: skip

_PUNCTUATION = str.maketrans("", "", " \t-.()/\u00a0")


def _check_country(value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha()):
        raise ValidationError(
            f"must be an ISO 3166-1 alpha-2 country code such as 'GB'; got {value!r}",
            value=value,
        )
    return value.upper()


def _convert_country(value: Any) -> Any:
    return None if value is None else _attempt(_check_country, value)


def _valid_country(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)


def _valid_required_country(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)
    if value is None:
        raise ValidationError(
            f"{attribute.name} is required (ISO 3166-1 alpha-2 code)", field=attribute.name
        )


def _normalise_phone(text: str, country: str | None) -> str:
    raw = text.strip().translate(_PUNCTUATION)
    international = False
    if raw.startswith("+"):
        raw, international = raw[1:], True
    elif raw.startswith("00"):
        raw, international = raw[2:], True
    if not raw.isascii() or not raw.isdigit():
        raise ValidationError(
            f"phone number may hold only digits, spaces, '-', '.', '()' and a leading '+'; "
            f"got {text!r}",
            value=text,
        )
    if international:
        if raw.startswith("0") or not 7 <= len(raw) <= 15:
            raise ValidationError(
                f"international phone number must have 7 to 15 digits after '+' and no "
                f"leading 0 (E.164); got {text!r}",
                value=text,
            )
        return "+" + raw
    if country is None or country not in CALLING_CODES:
        if not 3 <= len(raw) <= 15:
            raise ValidationError(
                f"phone number must have 3 to 15 digits; got {text!r}", value=text
            )
        return raw
    code, trunk = CALLING_CODES[country]
    if trunk is not None and raw.startswith(trunk):
        raw = raw[len(trunk) :]
    if not 4 <= len(raw) <= 15 - len(code):
        raise ValidationError(
            f"{country} phone number has {len(raw)} national digits, too few or too many "
            f"for E.164; got {text!r}",
            value=text,
        )
    return f"+{code}{raw}"


@attrs.frozen(kw_only=True)
class PhoneNumber:
    """A telephone number, in E.164 form where the country is known.

    Parameters
    ----------
    number : str
        The number as written.  Spaces, ``-``, ``.``, ``/`` and parentheses
        are removed.  A number starting with ``+`` or ``00`` is international
        and stored as ``+<digits>`` (E.164).  Otherwise, if ``country`` is in
        :data:`CALLING_CODES`, the national trunk prefix (``0`` in most of
        Europe, ``1`` in North America) is dropped and the country calling
        code added; for any other country the national digits are kept and
        :attr:`is_e164` is False.
    country : str, optional
        ISO 3166-1 alpha-2 code of the country the number belongs to.

    Examples
    --------
    >>> PhoneNumber(number="020 7946 0958", country="gb")
    PhoneNumber(number='+442079460958', country='GB')
    >>> PhoneNumber(number="(415) 555-2671", country="US").number
    '+14155552671'
    >>> PhoneNumber(number="0049 30 901820").number
    '+4930901820'
    >>> PhoneNumber(number="06 6988 1234", country="IT").number  # Italy keeps its 0
    '+390669881234'
    >>> PhoneNumber(number="555 0100").is_e164
    False
    """

    number: str = attrs.field()
    country: str | None = attrs.field(
        default=None, converter=_convert_country, validator=_valid_country
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.number, str):
            raise ValidationError(
                f"number must be a str; got {self.number!r}", field="number", value=self.number
            )
        try:
            normalised = _normalise_phone(self.number, self.country)
        except ValidationError as err:
            raise ValidationError(
                f"number: {err.message}", field="number", value=self.number
            ) from err
        object.__setattr__(self, "number", normalised)

    @classmethod
    def parse(cls, text: str, *, country: str | None = None) -> PhoneNumber:
        """Build from text, optionally with a country for national numbers.

        Parameters
        ----------
        text : str
            A phone number, in international form (``+`` or ``00``) or, with
            ``country``, in national form.
        country : str, optional
            ISO 3166-1 alpha-2 code used to read a national number (see
            :data:`CALLING_CODES`).

        Returns
        -------
        PhoneNumber
            The validated number.

        Raises
        ------
        ValidationError
            If the number cannot be read.
        """
        return cls(number=text, country=country)

    @property
    def is_e164(self) -> bool:
        """True if :attr:`number` is in international E.164 form (``+`` and digits)."""
        return self.number.startswith("+")

    def __str__(self) -> str:
        return self.number

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"number": str, "country": str | None}``.

        Returns
        -------
        dict
            The number and its country, JSON-safe.
        """
        return {"number": self.number, "country": self.country}

    @classmethod
    def from_dict(cls, data: Any) -> PhoneNumber:
        """Build from the output of :meth:`to_dict` (or a plain E.164 string).

        Parameters
        ----------
        data : mapping or str
            ``{"number": ..., "country": ...}`` or an international number.

        Returns
        -------
        PhoneNumber
            The validated number.

        Raises
        ------
        ValidationError
            If a field is missing, unknown or invalid.
        """
        if isinstance(data, Mapping):
            return from_dict(cls, data)
        return cls(number=data)


def _parse_international(text: Any) -> PhoneNumber:
    phone = PhoneNumber(number=text)
    if not phone.is_e164:
        raise ValidationError(
            f"a phone number given as text must be international ('+' or '00' and the "
            f"country code); for a national number pass "
            f"PhoneNumber(number=..., country=...); got {text!r}",
            value=text,
        )
    return phone


def convert_phone(value: Any) -> PhoneNumber | None:
    """Entity-field converter: accept a PhoneNumber, an international string or None."""
    if value is None or isinstance(value, PhoneNumber):
        return value
    return _attempt(_parse_international, value)


# ---------------------------------------------------------------- address


@attrs.frozen(kw_only=True)
class Address:
    """A postal address.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-2 code (case-insensitive, stored upper-case).
    line1, line2, city, postal_code, region : str, optional
        Free text; ``None`` when unknown.  Blank strings are refused (use
        ``None``), so that "unknown" has one spelling.

    Examples
    --------
    >>> Address(line1="1 Main St", city="Springfield", postal_code="12345", country="us")
    Address(country='US', line1='1 Main St', line2=None, city='Springfield', postal_code='12345', region=None)
    """  # noqa: E501

    country: str = attrs.field(converter=_convert_country, validator=_valid_required_country)
    line1: str | None = attrs.field(default=None, validator=valid_optional_text)
    line2: str | None = attrs.field(default=None, validator=valid_optional_text)
    city: str | None = attrs.field(default=None, validator=valid_optional_text)
    postal_code: str | None = attrs.field(default=None, validator=valid_optional_text)
    region: str | None = attrs.field(default=None, validator=valid_optional_text)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-safe dict.

        Returns
        -------
        dict
            One key per field; :meth:`from_dict` reads it back.
        """
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Address:
        """Build from the output of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`.

        Returns
        -------
        Address or Consent
            The rebuilt value.

        Raises
        ------
        ValidationError
            If a field is missing, unknown or invalid.
        """
        return from_dict(cls, data)


# ---------------------------------------------------------------- consent


def _valid_channel(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (
        isinstance(value, str) and value and value.replace("_", "").replace("-", "").isalnum()
    ):
        raise ValidationError(
            f"{attribute.name} must be a channel name such as 'email', 'sms', 'phone' or "
            f"'post' (letters, digits, '_', '-'); got {value!r}",
            field=attribute.name,
            value=value,
        )


@attrs.frozen(kw_only=True)
class Consent:
    """A marketing opt-in or opt-out for one channel, at one moment.

    A person's consent history is a tuple of these; the latest one per
    channel is in force (see :func:`current_consent`).

    Parameters
    ----------
    channel : str
        Channel name, e.g. ``"email"``, ``"sms"``, ``"phone"``, ``"post"``;
        stored lower-case.
    granted : bool
        True for an opt-in, False for an opt-out (withdrawal).
    at : datetime.datetime
        When it was given or withdrawn (timezone-aware).
    source : str, optional
        Where it was captured (``"web form"``, ``"call centre"``): audit trail.

    Examples
    --------
    >>> import datetime as dt
    >>> Consent(channel="Email", granted=True, at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    Consent(channel='email', granted=True, at=datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc), source=None)
    """  # noqa: E501

    channel: str = attrs.field(converter=convert_lower, validator=_valid_channel)
    granted: bool = attrs.field(validator=valid_bool)
    at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    source: str | None = attrs.field(default=None, validator=valid_optional_text)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-safe dict (``at`` as ISO 8601 text).

        Returns
        -------
        dict
            One key per field; :meth:`from_dict` reads it back.
        """
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Consent:
        """Build from the output of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`.

        Returns
        -------
        Address or Consent
            The rebuilt value.

        Raises
        ------
        ValidationError
            If a field is missing, unknown or invalid.
        """
        return from_dict(cls, data)


def current_consent(
    consents: Iterable[Consent], channel: str, *, as_of: _dt.datetime | None = None
) -> Consent | None:
    """Return the consent in force for ``channel``: the latest one (by ``at``).

    Parameters
    ----------
    consents : iterable of Consent
        A consent history (any order).
    channel : str
        The channel (case-insensitive).
    as_of : datetime.datetime, optional
        Ignore consents given after this moment (timezone-aware).  All are
        considered when omitted.

    Returns
    -------
    Consent or None
        The latest consent for the channel; on equal timestamps, the one
        recorded last.  None if the channel was never asked.
    """
    # Instants, not wall clocks: two consents in one zone at a DST fall-back
    # compare by their fold-aware UTC moment.
    cut = None if as_of is None else instant_us(as_of, name="as_of")
    wanted = channel.strip().lower()
    best: Consent | None = None
    best_at = 0
    for consent in consents:
        at = instant_us(consent.at, name="consent.at")
        if consent.channel != wanted or (cut is not None and at > cut):
            continue
        if best is None or at >= best_at:
            best, best_at = consent, at
    return best


def convert_consents(value: Any) -> Any:
    """Entity-field converter: a consent history as a tuple (mappings decoded)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def valid_consents(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a tuple of Consent."""
    if not isinstance(value, tuple):
        raise ValidationError(
            f"{attribute.name} must be a sequence of Consent; got {value!r}",
            field=attribute.name,
            value=value,
        )
    for item in value:
        if not isinstance(item, Consent):
            raise ValidationError(
                f"{attribute.name} must hold only Consent objects; got {item!r}",
                field=attribute.name,
                value=item,
            )
