"""Time zones as text, so that a stored datetime comes back in its own zone.

SQL stores the instant (UTC) in one column and the zone in a companion
``<field>_tz`` text column: the IANA key for :class:`zoneinfo.ZoneInfo`
(``"Europe/Paris"``), ``"Z"`` for :data:`datetime.UTC`, else the fixed UTC
offset (``"+05:45"``).  Reading converts the instant back into that zone.

Keeping the zone matters beyond display: Python compares an aware datetime
whose wall time is ambiguous (a DST fold) as *unequal* to any datetime in
another zone, even at the same instant, so a store returning UTC would break
``store.get(x.id) == x`` for such values.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

__all__ = ["from_iso", "to_iso", "tz_from_text", "tz_text"]

_MICRO = dt.timedelta(microseconds=1)


def _offset_text(offset: dt.timedelta) -> str:
    micros = offset // _MICRO
    sign = "-" if micros < 0 else "+"
    micros = abs(micros)
    seconds, us = divmod(micros, 1_000_000)
    minutes, s = divmod(seconds, 60)
    h, m = divmod(minutes, 60)
    text = f"{sign}{h:02d}:{m:02d}"
    if s or us:
        text += f":{s:02d}"
    if us:
        text += f".{us:06d}"
    return text


def tz_text(value: dt.datetime) -> str:
    """Return the text form of an aware datetime's zone."""
    tz = value.tzinfo
    if tz is dt.UTC:
        return "Z"
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    offset = value.utcoffset()
    assert offset is not None
    return _offset_text(offset)


@functools.lru_cache(maxsize=512)
def tz_from_text(text: str) -> dt.tzinfo:
    """Rebuild a zone from :func:`tz_text` output."""
    if text == "Z":
        return dt.UTC
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        hms, _, frac = text[1:].partition(".")
        parts = [int(p) for p in hms.split(":")] + [0]
        h, m, s = parts[0], parts[1], parts[2] if len(parts) > 3 else 0
        us = int(frac) if frac else 0
        delta = dt.timedelta(hours=h, minutes=m, seconds=s, microseconds=us)
        return dt.timezone(sign * delta)
    return ZoneInfo(text)


def to_iso(value: dt.datetime) -> str:
    """ISO 8601 text with offset, plus ``[Zone/Key]`` for IANA zones (RFC 9557)."""
    text = value.isoformat()
    if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
        text += f"[{value.tzinfo.key}]"
    return text


def from_iso(text: str) -> dt.datetime:
    """Parse :func:`to_iso` output back into the same zone."""
    zone = None
    if text.endswith("]") and "[" in text:
        text, _, rest = text.partition("[")
        zone = rest[:-1]
    parsed = dt.datetime.fromisoformat(text)
    return parsed if zone is None else parsed.astimezone(ZoneInfo(zone))
