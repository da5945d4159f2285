"""Prices and exact money arithmetic (docs/cost-rules.md section 3; defaults = dbt_project.yml vars)."""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

ON_DEMAND_PRICE_PER_TIB = Fraction(625, 100)  # USD per TiB billed
TIB = 2**40
SLOT_HOUR_PRICES: dict[str, Fraction] = {  # USD per slot-hour, by edition
    "STANDARD": Fraction(4, 100),
    "ENTERPRISE": Fraction(6, 100),
    "ENTERPRISE_PLUS": Fraction(10, 100),
}
DEFAULT_EDITION = "ENTERPRISE"
MS_PER_HOUR = 3_600_000
CURRENCY_RATES: dict[str, Fraction] = {  # units of currency per 1 USD
    "USD": Fraction(1),
    "EUR": Fraction(86, 100),
    "GBP": Fraction(76, 100),
    "CAD": Fraction(140, 100),
    "AUD": Fraction(153, 100),
}
BILLING_TIMEZONE = "America/Los_Angeles"
SCALE = 18  # decimal places kept (DECIMAL(38,18))

_DECIMAL_CONTEXT = Context(prec=60)


def on_demand_usd(bytes_billed: int) -> Fraction:
    return ON_DEMAND_PRICE_PER_TIB * bytes_billed / TIB


def capacity_usd(slot_ms: int, edition: str | None) -> Fraction:
    return SLOT_HOUR_PRICES[edition or DEFAULT_EDITION] * slot_ms / MS_PER_HOUR


def round_units(value: Fraction) -> int:
    """value rounded half away from zero to SCALE decimal places, as an integer of 10^-SCALE units."""
    scaled = value * 10**SCALE
    sign = -1 if scaled < 0 else 1
    scaled = abs(scaled)
    return sign * ((2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator))


def units_to_decimal(units: int, scale: int = SCALE) -> Decimal:
    return Decimal(units).scaleb(-scale, context=_DECIMAL_CONTEXT)


def to_decimal(value: Fraction) -> Decimal:
    return units_to_decimal(round_units(value))
