"""Ground truth of the Databricks rules (docs/cost-rules.md section 10), from the generator's
bookkeeping: which statement belongs to which dbt run, which records a job run or a warehouse-hour
has, and the uploaded node results. Statement text and query tags are never parsed.

Record costs are exact (integers of 10^-18 of the output currency). An allocation shares a pool as
the rule says, in 8-byte floats: share = round(pool × weight / W, 12); the anchor (largest weight,
then smallest key) takes pool − Σ other shares, so every pool is shared out exactly.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pipeline_costs import pricing
from pipeline_costs.databricks_catalog import CLOUD, ListPrice
from pipeline_costs.databricks_rows import (
    HOUR_MS,
    DatabricksSnapshot,
    Statement,
    StatementRow,
    UsageRecord,
    hour_of,
    merge_spans,
    utc_date,
)

if TYPE_CHECKING:  # ground_truth imports this module
    from pipeline_costs.ground_truth import Uploaded

PRICED_STATUSES = ("FINISHED", "FAILED", "CANCELED")
ALLOCATION_DECIMALS = 12
INVOCATION_TAG = "dbt_invocation_id"  # dbt_pipeline_costs_databricks_invocation_tag
UNKNOWN_PIPELINE = "(unknown pipeline)"

Context = tuple[str, str | None, str, str, str | None]  # invocation, node, pipeline, pipeline run, orchestrator


def _allocation_units(value: float) -> int:
    """A float rounded to 12 decimals, as the decimal it prints as, in 10^-18 units."""
    exact = Decimal(repr(round(value, ALLOCATION_DECIMALS))).quantize(Decimal(1).scaleb(-ALLOCATION_DECIMALS))
    return int(exact.scaleb(pricing.SCALE))


def allocate(pool_units: int, weights: list[tuple[Hashable, float]]) -> dict[Hashable, int]:
    """Section 10.4: each key's share of the pool (W = Σ weights > 0), exactly summing to the pool."""
    total = math.fsum(weight for _, weight in weights)
    anchor = min(weights, key=lambda kw: (-kw[1], kw[0]))[0]
    pool = float(pricing.units_to_decimal(pool_units))
    shares = {key: _allocation_units(pool * weight / total) for key, weight in weights if key != anchor}
    shares[anchor] = pool_units - sum(shares.values())
    return shares


def proportion_units(units: int, numerator: int, denominator: int) -> int:
    """round(cost × numerator / denominator, 12) in floats, in 10^-18 units (the separate-idle pool)."""
    return _allocation_units(float(pricing.units_to_decimal(units)) * numerator / denominator)


def currency_ratio(output: str, currency: str) -> Fraction:
    """rate(output) / rate(currency), truncated to 10 decimals (docs/cost-rules.md 10.2)."""
    ratio = Fraction(pricing.CURRENCY_RATES[output]) / Fraction(pricing.CURRENCY_RATES[currency])
    return Fraction(math.floor(ratio * 10**10), 10**10)


@dataclass(frozen=True)
class Line:
    """One cost line (int_databricks_cost_lines)."""

    line_type: str  # statement | idle | job_run | other_compute
    workspace_id: str
    compute_id: str | None
    hour_ms: int | None
    query_id: str | None
    job_run_id: str | None
    context: Context | None
    attribution: str
    units: int
    cost_date: date
    product: str


@dataclass
class Hour:
    """A billed warehouse-hour."""

    workspace_id: str
    warehouse_id: str
    hour_ms: int
    units: int = 0
    product: str = ""
    members: list[tuple[str, float, int, int]] = field(default_factory=list)  # statement, weight, clipped span


@dataclass
class StatementCost:
    """A priced statement: its dbt context and the sum of its shares."""

    statement: Statement
    status: str
    attribution: str
    source: str
    context: Context | None
    units: int = 0
    has_missing_usage: bool = False


@dataclass
class DatabricksTruth:
    statements: list[StatementCost]  # every priced statement, on a warehouse or not
    lines: list[Line]
    hours: list[dict[str, Any]]
    job_runs: list[dict[str, Any]]
    unpriced: dict[tuple[date, str], Decimal]  # unpriced usage quantity by usage date and product
    billed: dict[tuple[date, str], int]  # every record's cost by usage date and product


class Results:
    """What the staged node results say about Databricks statements and job runs."""

    def __init__(self, uploaded: Uploaded) -> None:
        self.uploaded = uploaded
        by_query: dict[str, dict] = {}
        self.by_job_run: dict[str, set[str]] = defaultdict(set)
        for row in sorted(uploaded.results.values(), key=lambda r: (r["invocation_id"], r["node_id"])):
            query_id = row["adapter_query_id"]
            kept = by_query.get(query_id) if query_id is not None else None
            if query_id is not None and (kept is None or _completed(row) > _completed(kept)):
                by_query[query_id] = row
            if row["adapter_job_run_id"] is not None:
                self.by_job_run[row["adapter_job_run_id"]].add(row["invocation_id"])
        self.by_query = by_query

    def match(self, statement_id: str) -> Context | None:
        row = self.by_query.get(statement_id)
        return None if row is None else self.uploaded.context(row)

    def executed(self, invocations: Iterable[str]) -> list[dict]:
        """The node results of these invocations that took time (execution_time_s > 0)."""
        wanted = set(invocations)
        return sorted((r for r in self.uploaded.results.values()
                       if r["invocation_id"] in wanted and (r["execution_time_s"] or 0) > 0),
                      key=lambda r: (r["invocation_id"], r["node_id"]))

    def invocation_context(self, invocation_id: str) -> Context:
        return (invocation_id, None, *self.uploaded.invocation_context(invocation_id))


def _completed(row: dict) -> tuple[bool, object]:
    value = row["execute_completed_at"]
    return (value is not None, value if value is not None else 0)


# ---------------------------------------------------------------------------------------------
# 10.1-10.2 records
# ---------------------------------------------------------------------------------------------


def _distinct(records: list[UsageRecord]) -> list[UsageRecord]:
    seen: dict[str, UsageRecord] = {}
    for record in records:
        seen.setdefault(record.record_id, record)
    return list(seen.values())


def _price(record: UsageRecord, prices: list[ListPrice]) -> ListPrice | None:
    valid = [p for p in prices if p.sku_name == record.sku_name and p.cloud == CLOUD and p.usage_unit == "DBU"
             and p.start_ms <= record.start_ms and (p.end_ms is None or record.start_ms < p.end_ms)]
    return max(valid, key=lambda p: p.start_ms) if valid else None


def record_units(record: UsageRecord, prices: list[ListPrice], currency: str) -> int | None:
    """The record's cost in 10^-18 units of `currency`; None when it has no price."""
    price = _price(record, prices)
    if price is None:
        return None
    unit = price.effective if price.effective is not None else price.default
    # quantity × price is taken to 18 decimals before the currency factor, as the SQL does
    in_price_currency = Fraction(pricing.round_units(Fraction(record.quantity) * Fraction(unit)), 10**pricing.SCALE)
    return pricing.round_units(in_price_currency * currency_ratio(currency, price.currency_code))


# ---------------------------------------------------------------------------------------------
# 10.3 statements
# ---------------------------------------------------------------------------------------------


def _latest(rows: list[StatementRow]) -> list[StatementRow]:
    """One row per statement: the latest update_time, then end_time."""
    kept: dict[str, StatementRow] = {}
    for row in rows:
        current = kept.get(row.statement.statement_id)
        if current is None or (row.update_ms, row.end_ms or -1) > (current.update_ms, current.end_ms or -1):
            kept[row.statement.statement_id] = row
    return list(kept.values())


def _own_context(s: Statement) -> Context | None:
    if s.invocation_id is None:
        return None
    return (s.invocation_id, s.node_id, s.pipeline_id or UNKNOWN_PIPELINE, s.pipeline_run_id or s.invocation_id,
            s.orchestrator)


def classify(s: Statement, status: str, results: Results) -> StatementCost:
    """The first source naming a node wins (comment, query tags, a node result's query id); else the
    first naming an invocation gives a dbt_without_node statement; else not_dbt."""
    own = _own_context(s)
    if own is not None and own[1] is not None:
        return StatementCost(s, status, "attributed", s.source, own)
    matched = results.match(s.statement_id)
    if matched is not None:
        return StatementCost(s, status, "attributed", "adapter_response", matched)
    if own is not None:
        return StatementCost(s, status, "dbt_without_node", s.source, own)
    return StatementCost(s, status, "not_dbt", "none", None)


# ---------------------------------------------------------------------------------------------
# 10.4 warehouse-hours
# ---------------------------------------------------------------------------------------------


def _overlaps(s: Statement, end_ms: int) -> list[tuple[int, float, int, int]]:
    """(hour, weight, clipped start, clipped end) of every hour the statement overlaps."""
    duration = end_ms - s.start_ms
    if duration == 0:
        return [(hour_of(s.start_ms), float(s.work_ms), s.start_ms, s.start_ms)]
    out = []
    for hour in range(hour_of(s.start_ms), end_ms, HOUR_MS):
        start, end = max(s.start_ms, hour), min(end_ms, hour + HOUR_MS)
        if end > start:
            out.append((hour, s.work_ms * (end - start) / duration, start, end))
    return out


def _hour_lines(hour: Hour, costs: dict[str, StatementCost], usage_date: date) -> tuple[list[Line], dict[str, Any]]:
    """A line per statement overlapping the billed hour (0 when W = 0) and its idle line (0 when the
    statements take the whole hour)."""
    weights: list[tuple[Hashable, float]] = [(statement_id, weight) for statement_id, weight, _, _ in hour.members]
    total = math.fsum(w for _, w in weights)
    busy = sum(end - start for start, end in merge_spans((start, end) for _, _, start, end in hour.members))
    shares = allocate(hour.units, weights) if total > 0 else dict.fromkeys((k for k, _ in weights), 0)
    lines = []
    for statement_id, units in shares.items():
        cost = costs[str(statement_id)]
        cost.units += units
        lines.append(Line("statement", hour.workspace_id, hour.warehouse_id, hour.hour_ms, str(statement_id), None,
                          cost.context, cost.attribution, units, usage_date, hour.product))
    pool = hour.units if total > 0 else 0
    lines.append(Line("idle", hour.workspace_id, hour.warehouse_id, hour.hour_ms, None, None, None, "idle",
                      hour.units - pool, usage_date, hour.product))
    separate = proportion_units(hour.units, busy, HOUR_MS) if total > 0 else 0
    return lines, {"workspace_id": hour.workspace_id, "warehouse_id": hour.warehouse_id,
                   "hour_started_at": hour.hour_ms, "billed_cost": hour.units, "statement_cost": pool,
                   "idle_cost": hour.units - pool, "statement_cost_separate": separate,
                   "idle_cost_separate": hour.units - separate, "statement_count": len(weights)}


# ---------------------------------------------------------------------------------------------
# 10.5 job runs, 10.6 other compute
# ---------------------------------------------------------------------------------------------


def _job_run_lines(records: list[tuple[UsageRecord, int]], results: Results) -> tuple[list[Line], list[dict]]:
    groups: dict[tuple[str, str], dict[tuple[date, str], int]] = defaultdict(lambda: defaultdict(int))
    tags: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record, units in records:
        key = (record.workspace_id, record.metadata["job_run_id"])
        groups[key][(record.usage_date, record.product)] += units
        if INVOCATION_TAG in record.custom_tags:
            tags[key].add(record.custom_tags[INVOCATION_TAG])
    lines: list[Line] = []
    runs: list[dict] = []
    for (workspace_id, run_id), run_groups in sorted(groups.items()):
        tagged = tags[(workspace_id, run_id)]
        linked = {min(tagged)} if tagged else results.by_job_run.get(run_id, set())
        linked_by = "custom_tag" if tagged else "node_results" if linked else None
        executed = results.executed(linked)
        run_lines = []
        for (usage_date, product), units in sorted(run_groups.items()):
            if executed:
                shares = allocate(units, [((r["invocation_id"], r["node_id"]), float(r["execution_time_s"]))
                                          for r in executed])
                by_key = {(r["invocation_id"], r["node_id"]): r for r in executed}
                run_lines += [Line("job_run", workspace_id, None, None, None, run_id,
                                   results.uploaded.context(by_key[key]), "attributed", share, usage_date, product)
                              for key, share in sorted(shares.items())]
            elif linked:
                run_lines.append(Line("job_run", workspace_id, None, None, None, run_id,
                                      results.invocation_context(min(linked)), "dbt_without_node", units,
                                      usage_date, product))
            else:
                run_lines.append(Line("job_run", workspace_id, None, None, None, run_id, None, "not_dbt", units,
                                      usage_date, product))
        lines += run_lines
        runs.append({
            "workspace_id": workspace_id, "job_run_id": run_id, "linked_by": linked_by,
            "invocation_count": len(linked), "attribution": run_lines[0].attribution,
            "billed_cost": sum(line.units for line in run_lines),
            "attributed_cost": sum(line.units for line in run_lines if line.attribution == "attributed"),
        })
    return lines, runs


def _compute_id(record: UsageRecord) -> str | None:
    for name in ("cluster_id", "dlt_pipeline_id", "notebook_id", "endpoint_id"):
        if name in record.metadata:
            return record.metadata[name]
    return None


# ---------------------------------------------------------------------------------------------
# all of it
# ---------------------------------------------------------------------------------------------


@dataclass
class PricedRecords:
    """Every distinct record priced, sorted by what it bills: warehouse-hours, job runs, the rest."""

    hours: dict[tuple[str, str, int], Hour] = field(default_factory=dict)
    job_records: list[tuple[UsageRecord, int]] = field(default_factory=list)
    other_lines: list[Line] = field(default_factory=list)
    billed: dict[tuple[date, str], int] = field(default_factory=lambda: defaultdict(int))
    unpriced: dict[tuple[date, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def price_records(snapshot: DatabricksSnapshot, currency: str) -> PricedRecords:
    priced = PricedRecords()
    for record in _distinct(snapshot.records):
        key = (record.usage_date, record.product)
        units = record_units(record, snapshot.prices, currency)
        if units is None:
            priced.unpriced[key] += record.quantity
            units = 0
        priced.billed[key] += units
        warehouse = record.metadata.get("warehouse_id")
        if warehouse is not None:
            hour_ms = hour_of(record.start_ms)
            hour = priced.hours.setdefault((record.workspace_id, warehouse, hour_ms),
                                           Hour(record.workspace_id, warehouse, hour_ms))
            hour.units += units
            hour.product = record.product
        elif "job_run_id" in record.metadata:
            priced.job_records.append((record, units))
        else:
            priced.other_lines.append(Line("other_compute", record.workspace_id, _compute_id(record), record.start_ms,
                                           None, None, None, "other_compute", units, record.usage_date,
                                           record.product))
    return priced


def statement_costs(rows: list[StatementRow], results: Results,
                    hours: dict[tuple[str, str, int], Hour]) -> dict[str, StatementCost]:
    """Each priced statement classified, and placed in the billed warehouse-hours it overlaps."""
    costs: dict[str, StatementCost] = {}
    for row in _latest(rows):
        if row.status not in PRICED_STATUSES:
            continue
        s = row.statement
        cost = costs[s.statement_id] = classify(s, row.status, results)
        if not s.on_warehouse:
            continue
        assert row.end_ms is not None
        for hour_ms, weight, start, end in _overlaps(s, row.end_ms):
            hour = hours.get((s.workspace_id, s.compute_id, hour_ms))
            if hour is None:
                cost.has_missing_usage = True  # billing for that hour has not arrived
            else:
                hour.members.append((s.statement_id, weight, start, end))
    return costs


def compute(snapshot: DatabricksSnapshot, uploaded: Uploaded, currency: str) -> DatabricksTruth:
    results = Results(uploaded)
    priced = price_records(snapshot, currency)
    costs = statement_costs(snapshot.statement_rows, results, priced.hours)
    lines = list(priced.other_lines)
    hour_rows = []
    for key in sorted(priced.hours):
        hour = priced.hours[key]
        hour_lines, row = _hour_lines(hour, costs, utc_date(hour.hour_ms))
        lines += hour_lines
        hour_rows.append(row)
    run_lines, runs = _job_run_lines(priced.job_records, results)
    return DatabricksTruth(list(costs.values()), lines + run_lines, hour_rows, runs, dict(priced.unpriced),
                           dict(priced.billed))
