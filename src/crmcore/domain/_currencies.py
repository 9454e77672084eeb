"""The active ISO 4217 alphabetic currency codes and their minor units.

Data: ISO 4217 "list one" (current currency and funds codes) as published
on 2026-01-01 -- 178 codes.  Codes withdrawn before that date (list three:
e.g. ``HRK`` 2023, ``SLL`` 2024, ``ANG`` and ``CUC`` 2025, ``BGN`` 2026) are
not accepted; a store holding amounts in one of them must convert them first.

Decisions
---------
* Fund codes (``BOV``, ``CHE``, ``CHW``, ``CLF``, ``COU``, ``MXV``, ``USN``,
  ``UYI``, ``UYW``) and the supranational units (``XAF``, ``XOF``, ``XPF``,
  ``XCD``, ``XCG``, ``XAD``) are ordinary currencies with a minor unit.
* The X-codes without a minor unit ("N.A." in the standard) are accepted
  too, because they are valid ISO 4217 codes a CRM may meet: the precious
  metals (``XAU`` gold, ``XAG`` silver, ``XPT`` platinum, ``XPD``
  palladium, priced per troy ounce), the IMF Special Drawing Right
  ``XDR``, ``XSU`` (Sucre), ``XUA`` (ADB unit of account), the bond-market
  units ``XBA``-``XBD``, ``XTS`` (reserved for testing) and ``XXX`` ("no
  currency involved").  Their minor unit is ``None`` here: rounding such an
  amount to "its minor unit" has no meaning, so
  :attr:`~crmcore.domain.Money.minor_units` refuses them rather than
  guessing two decimals.

Update this table when ISO publishes an amendment that adds or withdraws a
code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["ISO_4217_CODES", "ISO_4217_MINOR_UNITS"]

# Grouped by the number of minor-unit digits in ISO 4217 list one.
_BY_MINOR_UNITS: Final[dict[int | None, str]] = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: """
        AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN
        BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP
        ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR
        IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT
        MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP
        PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
        SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD
        XCD XCG YER ZAR ZMW ZWG
    """,
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
    None: "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX",
}

#: Minor-unit digits of every active ISO 4217 code (``None``: not applicable).
ISO_4217_MINOR_UNITS: Final[Mapping[str, int | None]] = MappingProxyType(
    {code: digits for digits, codes in _BY_MINOR_UNITS.items() for code in codes.split()}
)

#: Every active ISO 4217 alphabetic code (list one, 2026-01-01).
ISO_4217_CODES: Final[frozenset[str]] = frozenset(ISO_4217_MINOR_UNITS)
