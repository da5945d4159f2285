"""Ground truth of daily_spend (docs/cost-rules.md section 12), from the ground truth's own
cost_coverage and pipeline_cost_history: the total billed per cost date, each pipeline's run
costs by the UTC date the run started, dense (0 on a day without spend) from the series' first day
to the last complete day before as_of. Money is summed exactly in 10^-18 units.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipeline_costs import pricing
from pipeline_costs.ground_truth import MONEY, _dec


def last_complete_day(as_of: datetime, bigquery: bool = True) -> date:
    """The day before as_of's calendar date; with BigQuery, the earlier of its UTC and billing-zone dates."""
    moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    day = moment.astimezone(UTC).date()
    if bigquery:
        day = min(day, moment.astimezone(ZoneInfo(pricing.BILLING_TIMEZONE)).date())
    return day - timedelta(days=1)


def _units(value: Decimal) -> int:
    """value in 10^-18 units, exactly (no decimal context rounding)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int) and exponent >= -18, value
    units = int("".join(map(str, digits)) or "0") * 10 ** (exponent + 18)
    return -units if sign else units


def daily_spend(coverage: pa.Table, runs: pa.Table, last_day: date, currency: str) -> pa.Table:
    spend: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in coverage.select(["cost_date", "billed_cost"]).to_pylist():
        spend[("total", "total")][row["cost_date"]] += _units(row["billed_cost"])
    for row in runs.select(["pipeline_id", "run_started_at", "total_cost"]).to_pylist():
        started = row["run_started_at"].astimezone(UTC).date()
        spend[("pipeline", row["pipeline_id"])][started] += _units(row["total_cost"])
    out: dict[str, list] = {"series_type": [], "series_id": [], "spend_date": [], "cost": [], "currency": []}
    for (series_type, series_id), days in sorted(spend.items()):
        first = min((d for d in days if d <= last_day), default=None)
        if first is None:
            continue
        for offset in range((last_day - first).days + 1):
            day = first + timedelta(days=offset)
            out["series_type"].append(series_type)
            out["series_id"].append(series_id)
            out["spend_date"].append(day)
            out["cost"].append(_dec(days.get(day, 0)))
            out["currency"].append(currency)
    return pa.table({
        "series_type": pa.array(out["series_type"], pa.string()),
        "series_id": pa.array(out["series_id"], pa.string()),
        "spend_date": pa.array(out["spend_date"], pa.date32()),
        "cost": pa.array(out["cost"], MONEY),
        "currency": pa.array(out["currency"], pa.string()),
    })


def compute(tables: dict[str, pa.Table], as_of: datetime | None, currency: str) -> dict[str, pa.Table]:
    """{'daily_spend': ...} when the generator has an as_of (the marts' as-of moment), else nothing."""
    if as_of is None:
        return {}
    return {"daily_spend": daily_spend(tables["cost_coverage"], tables["pipeline_cost_history"],
                                       last_complete_day(as_of), currency)}
