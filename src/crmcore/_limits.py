"""Bounds of the report's and the command's numeric settings (one place for both).

Light on purpose: the command reads them to check its options before pandas loads.
"""

from __future__ import annotations

#: Largest random seed (NumPy seeds are unsigned 32-bit words here).
SEED_MAX = 2**32 - 1
#: Most parametric-bootstrap draws of a CLV interval.
MAX_DRAWS = 100_000
#: Longest CLV horizon, in months (a century).
MAX_HORIZON_MONTHS = 1200
#: Longest "next period" of expected purchases, in days (a century).
MAX_PERIOD_DAYS = 36_525.0
#: Highest monthly discount rate (below 1: a rate of 100 % a month discounts everything).
MAX_DISCOUNT_RATE = 0.99
#: Most customers of a generated sample company.
MAX_CUSTOMERS = 10_000_000
#: Largest value of a 64-bit signed integer (what SQLite and PostgreSQL bind and store).
INT64_MAX = 2**63 - 1
#: Smallest value of a 64-bit signed integer.
INT64_MIN = -(2**63)
