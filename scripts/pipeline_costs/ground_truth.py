"""Ground truth from the generator's own bookkeeping (docs/cost-rules.md, implemented independently).

Inputs are the batches exactly as written (after the as_of snapshot) plus their bookkeeping columns:
which invocation / node / pipeline the simulation gave each job; the run results the uploads left
(sections 7-8); and the Databricks snapshot (section 10, databricks_truth). Comments and labels are
never read.
Money is exact: integer quantities are summed per group, priced with integer weights over a common
denominator, and rounded once (half away from zero) to 18 decimal places. Databricks statements and
job-run lines join the same roll-ups with their cost already in 10^-18 units (q_units).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import lcm

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_costs import databricks_truth, pricing, schema
from pipeline_costs.databricks_rows import DatabricksSnapshot
from pipeline_costs.dbt_runs import Planted
from pipeline_costs.pipelines import Finding
from pipeline_costs.project import stage_of
from pipeline_costs.table_storage import StorageSnapshot

MONEY = pa.decimal128(38, 18)
SECONDS = pa.decimal128(38, 3)
TS = pa.timestamp("ms", tz="UTC")
TS_US = pa.timestamp("us", tz="UTC")
# BigQuery's quantities (on-demand bytes, slot-ms per edition), then money already exact: a Databricks
# statement's or job-run line's cost in 10^-18 units of the output currency (Python ints).
QUANTITIES = ("q_on_demand", "q_standard", "q_enterprise", "q_enterprise_plus", "q_units")
EDITIONS = ("STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS")
UNKNOWN_PIPELINE = "(unknown pipeline)"
ROLLING_RUNS = 7
ANOMALY_MIN_RUNS = 3
ANOMALY_THRESHOLD_PCT = 50

_KEEP = (
    "project_id", "_location", "job_id", "parent_job_id", "job_type", "statement_type", "state", "cache_hit",
    "reservation_id", "edition", "total_bytes_billed", "total_slot_ms", "start_time", "end_time",
    "_invocation_id", "_node_id", "_pipeline_id", "_pipeline_run_id", "_orchestrator", "_source",
    # profiler_truth: what JOBS says beyond the price (docs/cost-rules.md sections 14-15)
    "user_email", "creation_time", "total_bytes_processed", "destination_table", "referenced_tables",
)


@dataclass(frozen=True)
class Prices:
    """cost = (sum_i weight_i * quantity_i) / denominator + q_units / 10^18, in the output currency, exactly."""

    weights: tuple[int, ...]  # on-demand bytes, then slot-ms of STANDARD, ENTERPRISE, ENTERPRISE_PLUS
    denominator: int

    @classmethod
    def for_currency(cls, currency: str) -> Prices:
        rate = pricing.CURRENCY_RATES[currency]
        unit = [pricing.on_demand_usd(1)] + [pricing.capacity_usd(1, e) for e in EDITIONS]
        unit = [u * rate for u in unit]
        denominator = lcm(*(u.denominator for u in unit))
        return cls(tuple(int(u * denominator) for u in unit), denominator)

    def units(self, q: Sequence[int]) -> int:
        """Cost of the summed quantities, in 10^-18 units, rounded half up (BigQuery's are >= 0)."""
        *quantities, exact = q
        numerator = sum(w * int(x) for w, x in zip(self.weights, quantities, strict=True))
        return (2 * numerator * 10**pricing.SCALE + self.denominator) // (2 * self.denominator) + int(exact)

    def fraction(self, q: Sequence[int]) -> Fraction:
        *quantities, exact = q
        numerator = sum(w * int(x) for w, x in zip(self.weights, quantities, strict=True))
        return Fraction(numerator, self.denominator) + Fraction(int(exact), 10**pricing.SCALE)


def _dec(units: int) -> Decimal:
    return pricing.units_to_decimal(units)


class TruthCollector:
    """Keeps the columns the truth needs from every written batch."""

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []

    def add(self, batch: pa.Table) -> None:
        table = batch.select(list(_KEEP))
        reason = pc.struct_field(batch["error_result"], "reason")
        self.parts.append(table.append_column("error_reason", reason))

    def table(self) -> pa.Table:
        if not self.parts:
            fields = [schema.FULL_SCHEMA.field(name) for name in _KEEP]
            return pa.schema([*fields, pa.field("error_reason", pa.string())]).empty_table()
        return pa.concat_tables(self.parts)


def _np(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


Context = tuple[str, str | None, str, str, str | None]  # invocation, node, pipeline, pipeline run, orchestrator


def _latest_first(value: object) -> tuple[bool, object]:
    """Sort key, descending: a value before NULL, later before earlier."""
    return (value is not None, value if value is not None else 0)


@dataclass
class Uploaded:
    """Run results as staging keeps them (section 7): one row per invocation, one per (invocation,
    node), and which job id each node result reported (section 8)."""

    invocations: dict[str, dict] = field(default_factory=dict)
    results: dict[tuple[str, str], dict] = field(default_factory=dict)
    by_job: dict[str, tuple[str | None, Context]] = field(default_factory=dict)

    @classmethod
    def from_tables(cls, invocations: pa.Table | None, node_results: pa.Table | None) -> Uploaded:
        uploaded = cls()
        for row in (invocations.to_pylist() if invocations is not None else []):
            kept = uploaded.invocations.get(row["invocation_id"])
            if kept is None or (_latest_first(row["run_ended_at"]), row["node_result_count"]) > (
                    _latest_first(kept["run_ended_at"]), kept["node_result_count"]):
                uploaded.invocations[row["invocation_id"]] = row
        for row in (node_results.to_pylist() if node_results is not None else []):
            key = (row["invocation_id"], row["node_id"])
            kept = uploaded.results.get(key)
            # the latest execute_completed_at wins (NULL last); then the smallest status
            if kept is None:
                uploaded.results[key] = row
                continue
            mine, theirs = _latest_first(row["execute_completed_at"]), _latest_first(kept["execute_completed_at"])
            if mine > theirs or (mine == theirs and (row["status"] or "") < (kept["status"] or "")):
                uploaded.results[key] = row
        # One result per reported job id: the latest execute_completed_at, then the smallest
        # (invocation_id, node_id), should an id ever repeat.
        chosen: dict[str, dict] = {}
        for row in sorted((r for r in uploaded.results.values() if r["adapter_job_id"] is not None),
                          key=lambda r: (r["invocation_id"], r["node_id"])):
            kept = chosen.get(row["adapter_job_id"])
            if kept is None or _latest_first(row["execute_completed_at"]) > _latest_first(kept["execute_completed_at"]):
                chosen[row["adapter_job_id"]] = row
        for job_id, row in chosen.items():
            uploaded.by_job[job_id] = (row["adapter_project_id"], uploaded.context(row))
        return uploaded

    def invocation_context(self, invocation_id: str) -> tuple[str, str, str | None]:
        """(pipeline_id, pipeline_run_id, orchestrator) of an invocation from its uploaded row."""
        inv = self.invocations.get(invocation_id)
        if inv is None:
            return UNKNOWN_PIPELINE, invocation_id, None
        return (inv["pipeline_id"] or UNKNOWN_PIPELINE, inv["pipeline_run_id"] or invocation_id,
                inv["orchestrator"])

    def context(self, result: dict) -> Context:
        return (result["invocation_id"], result["node_id"], *self.invocation_context(result["invocation_id"]))

    def match(self, project_id: str, job_id: str) -> Context | None:
        found = self.by_job.get(job_id)
        if found is None or (found[0] is not None and found[0] != project_id):
            return None
        return found[1]


_CONTEXT_COLUMNS = ("_invocation_id", "_node_id", "_pipeline_id", "_pipeline_run_id", "_orchestrator")


def _eligible(source: object, node_id: object) -> bool:
    """Section 8: only a job whose comment gave no node is matched to an adapter_response."""
    return not (source == "comment" and node_id is not None)


def _matched_parents(raw: pa.Table, uploaded: Uploaded) -> dict[tuple[str, str, str], Context]:
    """SCRIPT parents in the logs that a node result reported: their children inherit the context."""
    if not uploaded.by_job:
        return {}
    ids = pa.array(list(uploaded.by_job), pa.string())
    mask = pc.and_(pc.equal(raw["statement_type"].fill_null(""), "SCRIPT"), pc.is_in(raw["job_id"], value_set=ids))
    parents = raw.filter(mask).select(["project_id", "_location", "job_id", "_source", "_node_id"]).to_pylist()
    found: dict[tuple[str, str, str], Context] = {}
    for row in parents:
        context = uploaded.match(row["project_id"], row["job_id"])
        if context is not None and _eligible(row["_source"], row["_node_id"]):
            found[(row["project_id"], row["_location"], row["job_id"])] = context
    return found


def priced_jobs(raw: pa.Table, uploaded: Uploaded | None = None) -> pd.DataFrame:
    """One row per priced job (DONE, de-duplicated, not a SCRIPT parent) with its attribution."""
    uploaded = uploaded or Uploaded()
    keys = pc.binary_join_element_wise(raw["project_id"], raw["_location"], raw["job_id"], "\x1f")
    first = ~pd.Series(_np(keys)).duplicated().to_numpy()
    raw = raw.filter(pa.array(first))
    keys = keys.filter(pa.array(first))
    state = _np(raw["state"])
    statement = _np(raw["statement_type"].fill_null(""))
    priced = (state == "DONE") & (statement != "SCRIPT")
    parents = _matched_parents(raw, uploaded)
    t = raw.filter(pa.array(priced))

    parent = t["parent_job_id"]
    has_parent = _np(parent.is_valid())
    parent_keys = pc.binary_join_element_wise(t["project_id"], t["_location"], parent.fill_null(""), "\x1f")
    key_set = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    parent_present = _np(pc.is_in(parent_keys, value_set=key_set))
    unknown = has_parent & ~parent_present

    # What the comment / labels gave, then the second attribution path (section 8) on top.
    context = {name: _np(t[name]).astype(object) for name in _CONTEXT_COLUMNS}
    own_source = _np(t["_source"]).astype(object)
    if uploaded.by_job:
        ids = pa.array(list(uploaded.by_job), pa.string())
        project_ids, job_ids = _np(t["project_id"]), _np(t["job_id"])
        for i in np.flatnonzero(_np(pc.is_in(t["job_id"], value_set=ids)) & ~has_parent):
            matched = uploaded.match(project_ids[i], job_ids[i])
            if matched is not None and _eligible(own_source[i], context["_node_id"][i]):
                for name, value in zip(_CONTEXT_COLUMNS, matched, strict=True):
                    context[name][i] = value
                own_source[i] = "adapter_response"
    if parents:
        locations, parent_ids = _np(t["_location"]), _np(parent).astype(object)
        project_ids = _np(t["project_id"])
        wanted = pa.array(sorted({k[2] for k in parents}), pa.string())
        for i in np.flatnonzero(_np(pc.is_in(parent, value_set=wanted))):
            matched = parents.get((project_ids[i], locations[i], parent_ids[i]))
            if matched is not None:
                for name, value in zip(_CONTEXT_COLUMNS, matched, strict=True):
                    context[name][i] = value
                own_source[i] = "script_parent"

    has_inv = pd.notna(context["_invocation_id"]) & ~unknown
    has_node = pd.notna(context["_node_id"]) & has_inv
    attribution = np.where(unknown, "unknown", np.where(~has_inv, "not_dbt",
                                                         np.where(has_node, "attributed", "dbt_without_node")))
    source = np.where(has_inv, own_source, "none")

    def ctx(name: str) -> np.ndarray:
        values = context[name]
        values[~has_inv] = None
        return values

    # A dbt query without pipeline context (e.g. a project with its own query comment) still
    # belongs to a run: pipeline "(unknown pipeline)", run = its invocation, as query_comment()
    # falls back (the marts' documented contract; docs/cost-rules.md does not say).
    invocation_ids = ctx("_invocation_id")
    pipeline_ids = ctx("_pipeline_id")
    pipeline_run_ids = ctx("_pipeline_run_id")
    no_pipeline = has_inv & pd.isna(pipeline_ids)
    pipeline_ids[no_pipeline] = UNKNOWN_PIPELINE
    no_run = has_inv & pd.isna(pipeline_run_ids)
    pipeline_run_ids[no_run] = invocation_ids[no_run]

    capacity = _np(t["reservation_id"].is_valid())
    cache = _np(t["cache_hit"].fill_null(False))
    reason = t["error_reason"]
    billable = _np(reason.is_null()) | (_np(reason.fill_null("")) == "stopped")
    billed = _np(t["total_bytes_billed"].fill_null(0)).astype(np.int64)
    slots = _np(t["total_slot_ms"].fill_null(0)).astype(np.int64)
    edition = _np(t["edition"].fill_null(pricing.DEFAULT_EDITION))
    frame = pd.DataFrame({
        "project_id": _np(t["project_id"]),
        "location": _np(t["_location"]),
        "job_id": _np(t["job_id"]),
        "parent_job_id": _np(parent).astype(object),
        "is_dbt": has_inv,
        "attribution": attribution,
        "attribution_source": source,
        "invocation_id": invocation_ids,
        "node_id": ctx("_node_id"),
        "pipeline_id": pipeline_ids,
        "pipeline_run_id": pipeline_run_ids,
        "orchestrator": ctx("_orchestrator"),
        "pricing_model": np.where(capacity, "capacity", "on_demand"),
        "bytes_billed": pd.array(t["total_bytes_billed"].to_pylist(), dtype="Int64"),
        "slot_ms": pd.array(t["total_slot_ms"].to_pylist(), dtype="Int64"),
        "error_reason": _np(reason).astype(object),
        "start_ms": _np(pc.cast(t["start_time"], pa.int64())),
        "end_ms": _np(pc.cast(t["end_time"], pa.int64())),
        "q_on_demand": np.where(~capacity & billable & ~cache, billed, 0),
        **{
            f"q_{e.lower()}": np.where(capacity & ~cache & (edition == e), slots, 0)
            for e in EDITIONS
        },
        "q_units": pd.Series(0, index=range(t.num_rows), dtype=object),
    })
    ends = pd.to_datetime(frame["end_ms"], unit="ms", utc=True)
    frame["cost_date"] = ends.dt.tz_convert(pricing.BILLING_TIMEZONE).dt.date
    frame["platform"] = "bigquery"
    frame["product"] = frame["pricing_model"]
    frame["is_query"] = True
    # a QUERY job whose priced quantity is hidden (NULL) costs 0 and says so
    missing = np.where(capacity, _np(t["total_slot_ms"].is_null()), billable & _np(t["total_bytes_billed"].is_null()))
    frame["has_missing_usage"] = (_np(t["job_type"].fill_null("")) == "QUERY") & ~cache & missing
    return frame


def _group_units(frame: pd.DataFrame, by: list[str], prices: Prices) -> pd.DataFrame:
    sums = frame.groupby(by, sort=True, dropna=False)[list(QUANTITIES)].sum()
    sums["units"] = [prices.units(q) for q in sums[list(QUANTITIES)].itertuples(index=False)]
    return sums


def query_costs(items: pd.DataFrame, prices: Prices, currency: str) -> pa.Table:
    """BigQuery jobs and Databricks statements (not the job-run lines)."""
    jobs = items[items["is_query"]]
    units = [prices.units(q) for q in jobs[list(QUANTITIES)].itertuples(index=False)]
    return pa.table({
        "platform": pa.array(jobs["platform"], pa.string()),
        "project_id": pa.array(jobs["project_id"], pa.string()),
        "location": pa.array(jobs["location"], pa.string()),
        "job_id": pa.array(jobs["job_id"], pa.string()),
        "parent_job_id": pa.array(jobs["parent_job_id"], pa.string()),
        "is_dbt": pa.array(jobs["is_dbt"], pa.bool_()),
        "attribution": pa.array(jobs["attribution"], pa.string()),
        "attribution_source": pa.array(jobs["attribution_source"], pa.string()),
        "invocation_id": pa.array(jobs["invocation_id"], pa.string()),
        "node_id": pa.array(jobs["node_id"], pa.string()),
        "pipeline_id": pa.array(jobs["pipeline_id"], pa.string()),
        "pipeline_run_id": pa.array(jobs["pipeline_run_id"], pa.string()),
        "orchestrator": pa.array(jobs["orchestrator"], pa.string()),
        "pricing_model": pa.array(jobs["pricing_model"], pa.string()),
        "bytes_billed": pa.array(jobs["bytes_billed"], pa.int64()),
        "slot_ms": pa.array(jobs["slot_ms"], pa.int64()),
        "cost": pa.array([_dec(u) for u in units], MONEY),
        "currency": pa.array([currency] * len(jobs), pa.string()),
        "cost_date": pa.array(jobs["cost_date"], pa.date32()),
        "has_missing_usage": pa.array(jobs["has_missing_usage"], pa.bool_()),
        "started_at": pa.array(jobs["start_ms"].to_numpy(np.int64)).cast(TS),
        "ended_at": pa.array(jobs["end_ms"].to_numpy(np.int64)).cast(TS),
    })


Quantities = tuple[int, ...]


def _resource_type(node_id: str) -> str:
    """A node id starts with its resource type (`model.pkg.name`; a sanitised label `model_pkg_name`)."""
    return node_id.split(".", 1)[0] if "." in node_id else node_id.split("_", 1)[0]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(value: object) -> int | None:
    """A run results timestamp (datetime, or epoch microseconds) as epoch microseconds, exactly."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value - _EPOCH) // timedelta(microseconds=1)
    return int(value)  # type: ignore[call-overload]


def _job_status(reason: object) -> str:
    """Of a node's last-ending query: BigQuery's error other than stopped, Databricks' failed."""
    return "success" if pd.isna(reason) or reason in ("stopped", "canceled") else "error"  # type: ignore[arg-type]


def _query_stats(queries: pd.DataFrame, by: list[str]) -> dict[tuple[str, str], dict]:
    """Per (invocation, node): its priced queries' count, span, status and bytes / slot-ms."""
    ordered = queries.sort_values(["end_ms", "job_id"], kind="stable")
    grouped = ordered.groupby(by, sort=True)
    agg = pd.DataFrame({"first": grouped["start_ms"].min(), "last": grouped["end_ms"].max(), "count": grouped.size(),
                        "reason": grouped["error_reason"].last(skipna=False)})  # of the last-ending query
    stats: dict[tuple[str, str], dict] = {
        key: {"first": int(first), "last": int(last), "count": int(size), "status": _job_status(reason)}
        for key, (first, last, size, reason) in zip(agg.index, agg.itertuples(index=False), strict=True)}
    for column in ("bytes_billed", "slot_ms"):  # NULL when every query's is NULL
        for key, value in grouped[column].sum(min_count=1).items():
            stats[key][column] = None if pd.isna(value) else int(value)
    return stats


def model_costs(items: pd.DataFrame, uploaded: Uploaded, prices: Prices,
                currency: str) -> tuple[pa.Table, dict[tuple[str, str], Quantities]]:
    """Every (invocation, node) with a priced attributed query or job-run line, or a node result (sections
    6, 8 and 10.7). Also returns each pair's summed quantities (its exact cost) for section 9."""
    attributed = items[items["attribution"] == "attributed"]
    by = ["invocation_id", "node_id"]
    sums = _group_units(attributed, by, prices)
    grouped = attributed.groupby(by, sort=True)
    costed = {key: {"q": tuple(int(x) for x in q), "units": int(units), "pipeline": (pipeline, run),
                    "platform": platform}
              for key, q, units, pipeline, run, platform in zip(
                  sums.index, sums[list(QUANTITIES)].itertuples(index=False), sums["units"],
                  grouped["pipeline_id"].min(), grouped["pipeline_run_id"].min(), grouped["platform"].min(),
                  strict=True)}
    stats = _query_stats(attributed[attributed["is_query"]], by)

    columns: dict[str, list] = {name: [] for name in (
        "invocation_id", "node_id", "platform", "resource_type", "pipeline_id", "pipeline_run_id", "status", "cost",
        "currency", "query_count", "bytes_billed", "slot_ms", "first_started_at", "last_ended_at",
        "execution_time_s", "has_run_result", "thread_id", "compile_started_at", "execute_started_at",
        "execute_completed_at", "dbt_execution_time_s", "rows_affected")}
    quantities: dict[tuple[str, str], Quantities] = {}
    for key in sorted(set(costed) | set(uploaded.results)):
        cost = costed.get(key)
        job = stats.get(key)
        result = uploaded.results.get(key)
        invocation_id, node_id = key
        pipeline = cost["pipeline"] if cost else uploaded.invocation_context(invocation_id)[:2]
        quantities[key] = cost["q"] if cost else (0,) * len(QUANTITIES)
        row = {
            "invocation_id": invocation_id,
            "node_id": node_id,
            # a row without cost: the platform its invocation ran on (NULL without the invocation row)
            "platform": cost["platform"] if cost else (uploaded.invocations.get(invocation_id) or {}).get(
                "adapter_type"),
            "resource_type": _resource_type(node_id) if cost else result["resource_type"],  # type: ignore[index]
            "pipeline_id": pipeline[0],
            "pipeline_run_id": pipeline[1],
            "status": result["status"] if result else job["status"],  # type: ignore[index]
            "cost": _dec(cost["units"] if cost else 0),
            "currency": currency,
            "query_count": job["count"] if job else 0,
            "bytes_billed": job["bytes_billed"] if job else 0,
            "slot_ms": job["slot_ms"] if job else 0,
            "first_started_at": job["first"] if job else None,
            "last_ended_at": job["last"] if job else None,
            "execution_time_s": Decimal(job["last"] - job["first"]).scaleb(-3) if job else None,
            "has_run_result": result is not None,
            "thread_id": result["thread_id"] if result else None,
            "compile_started_at": _us(result["compile_started_at"]) if result else None,
            "execute_started_at": _us(result["execute_started_at"]) if result else None,
            "execute_completed_at": _us(result["execute_completed_at"]) if result else None,
            "dbt_execution_time_s": result["execution_time_s"] if result else None,
            "rows_affected": result["rows_affected"] if result else None,
        }
        for name, value in row.items():
            columns[name].append(value)
    table = pa.table({
        "invocation_id": pa.array(columns["invocation_id"], pa.string()),
        "node_id": pa.array(columns["node_id"], pa.string()),
        "platform": pa.array(columns["platform"], pa.string()),
        "resource_type": pa.array(columns["resource_type"], pa.string()),
        "pipeline_id": pa.array(columns["pipeline_id"], pa.string()),
        "pipeline_run_id": pa.array(columns["pipeline_run_id"], pa.string()),
        "status": pa.array(columns["status"], pa.string()),
        "cost": pa.array(columns["cost"], MONEY),
        "currency": pa.array(columns["currency"], pa.string()),
        "query_count": pa.array(columns["query_count"], pa.int64()),
        "bytes_billed": pa.array(columns["bytes_billed"], pa.int64()),
        "slot_ms": pa.array(columns["slot_ms"], pa.int64()),
        "first_started_at": pa.array(columns["first_started_at"], pa.int64()).cast(TS),
        "last_ended_at": pa.array(columns["last_ended_at"], pa.int64()).cast(TS),
        "execution_time_s": pa.array(columns["execution_time_s"], SECONDS),
        "has_run_result": pa.array(columns["has_run_result"], pa.bool_()),
        "thread_id": pa.array(columns["thread_id"], pa.string()),
        "compile_started_at": pa.array(columns["compile_started_at"], pa.int64()).cast(TS_US),
        "execute_started_at": pa.array(columns["execute_started_at"], pa.int64()).cast(TS_US),
        "execute_completed_at": pa.array(columns["execute_completed_at"], pa.int64()).cast(TS_US),
        "dbt_execution_time_s": pa.array(columns["dbt_execution_time_s"], pa.float64()),
        "rows_affected": pa.array(columns["rows_affected"], pa.int64()),
    })
    return table, quantities


def _dbt_runs(items: pd.DataFrame) -> pd.DataFrame:
    """Queries and job-run lines of pipeline runs: everything with a dbt invocation (each has a run)."""
    return items[items["is_dbt"]].copy()


def _stages(dbt: pd.DataFrame, uploaded: Uploaded) -> list[str]:
    """Stage by folder: the node's result in that invocation, else the current graph (section 8)."""
    stages = []
    for invocation_id, node_id in zip(dbt["invocation_id"], dbt["node_id"], strict=True):
        result = uploaded.results.get((invocation_id, node_id)) if isinstance(node_id, str) else None
        stages.append(result["folder"] if result is not None else stage_of(node_id if isinstance(node_id, str)
                                                                             else None))
    return stages


def pipeline_stage_costs(items: pd.DataFrame, uploaded: Uploaded, prices: Prices, currency: str) -> pa.Table:
    dbt = _dbt_runs(items)
    dbt["stage"] = _stages(dbt, uploaded)
    by = ["pipeline_id", "pipeline_run_id", "stage"]
    sums = _group_units(dbt, by, prices)
    grouped = dbt.groupby(by, sort=True)
    return pa.table({
        "pipeline_id": pa.array(sums.index.get_level_values(0), pa.string()),
        "pipeline_run_id": pa.array(sums.index.get_level_values(1), pa.string()),
        "stage": pa.array(sums.index.get_level_values(2), pa.string()),
        "cost": pa.array([_dec(u) for u in sums["units"]], MONEY),
        "currency": pa.array([currency] * len(sums), pa.string()),
        "query_count": pa.array(grouped["is_query"].sum().to_numpy(), pa.int64()),
        "model_count": pa.array(grouped["node_id"].nunique().to_numpy(), pa.int64()),
    })


def _platform(platforms: pd.Series) -> str:
    distinct = platforms.unique()
    return str(distinct[0]) if len(distinct) == 1 else "multiple"


def pipeline_cost_history(items: pd.DataFrame, prices: Prices, currency: str) -> pa.Table:
    """Per pipeline run: its queries and job-run lines; only queries count and start it."""
    dbt = _dbt_runs(items)
    by = ["pipeline_id", "pipeline_run_id"]
    sums = _group_units(dbt, by, prices)
    grouped = dbt.groupby(by, sort=True)
    runs = pd.DataFrame({
        "units": sums["units"],
        "platform": grouped["platform"].agg(_platform),
        "orchestrator": grouped["orchestrator"].agg(lambda v: min(v.dropna(), default=None)),
        "run_started_ms": dbt[dbt["is_query"]].groupby(by, sort=True)["start_ms"].min(),
        "query_count": grouped["is_query"].sum(),
        "model_count": grouped["node_id"].nunique(),
        "invocation_count": grouped["invocation_id"].nunique(),
    }).reset_index()
    assert runs["run_started_ms"].notna().all(), "a pipeline run without a query has no start"
    runs = runs.sort_values(["pipeline_id", "run_started_ms", "pipeline_run_id"], kind="stable")
    previous: list[int | None] = []
    rolling: list[int] = []
    anomaly: list[bool] = []
    for _, units in runs.groupby("pipeline_id", sort=False)["units"]:
        history: list[int] = []
        for u in units:
            u = int(u)
            window = history[-(ROLLING_RUNS - 1):] + [u]
            rolling.append((2 * sum(window) + len(window)) // (2 * len(window)))
            prior = history[-ROLLING_RUNS:]
            previous.append(history[-1] if history else None)
            anomaly.append(
                len(prior) >= ANOMALY_MIN_RUNS
                and u * len(prior) * 100 > sum(prior) * (100 + ANOMALY_THRESHOLD_PCT)
            )
            history.append(u)
    return pa.table({
        "pipeline_id": pa.array(runs["pipeline_id"], pa.string()),
        "pipeline_run_id": pa.array(runs["pipeline_run_id"], pa.string()),
        "platform": pa.array(runs["platform"], pa.string()),
        "orchestrator": pa.array(runs["orchestrator"], pa.string()),
        "run_started_at": pa.array(runs["run_started_ms"].to_numpy(np.int64)).cast(TS),
        "total_cost": pa.array([_dec(int(u)) for u in runs["units"]], MONEY),
        "currency": pa.array([currency] * len(runs), pa.string()),
        "query_count": pa.array(runs["query_count"].to_numpy(), pa.int64()),
        "model_count": pa.array(runs["model_count"].to_numpy(), pa.int64()),
        "invocation_count": pa.array(runs["invocation_count"].to_numpy(), pa.int64()),
        "previous_run_cost": pa.array([None if u is None else _dec(u) for u in previous], MONEY),
        "rolling_avg_cost": pa.array([_dec(u) for u in rolling], MONEY),
        "is_cost_anomaly": pa.array(anomaly, pa.bool_()),
    })


COVERAGE_PARTS = {
    "attributed": "attributed_cost",
    "not_dbt": "unattributed_not_dbt_cost",
    "dbt_without_node": "unattributed_dbt_without_node_cost",
    "unknown": "unattributed_unknown_cost",
    "idle": "unattributed_idle_cost",
    "other_compute": "unattributed_other_compute_cost",
}


def _bigquery_coverage(jobs: pd.DataFrame, prices: Prices) -> list[dict]:
    """Per cost date and pricing model: each part exact then rounded once; billed = their sum."""
    sums = _group_units(jobs, ["cost_date", "product", "attribution"], prices)["units"]
    counts = jobs.groupby(["cost_date", "product"]).size()
    rows = []
    for (day, product), count in counts.items():
        parts = {col: int(sums.get((day, product, attribution), 0)) for attribution, col in COVERAGE_PARTS.items()}
        rows.append({"platform": "bigquery", "cost_date": day, "product": product, "billed": sum(parts.values()),
                     **parts, "query_count": int(count), "unpriced": Decimal(0)})
    return rows


def _databricks_coverage(truth: databricks_truth.DatabricksTruth) -> list[dict]:
    """Per usage date and product: the records' cost, shared out by the lines (exactly)."""
    parts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COVERAGE_PARTS.values(), 0))
    statements: dict[tuple[date, str], set[str]] = defaultdict(set)
    for line in truth.lines:
        key = (line.cost_date, line.product)
        parts[key][COVERAGE_PARTS[line.attribution]] += line.units
        if line.line_type == "statement":
            statements[key].add(line.query_id)  # type: ignore[arg-type]
    rows = []
    for key, billed in sorted(truth.billed.items()):
        assert sum(parts[key].values()) == billed, f"Databricks cost not conserved on {key}"
        rows.append({"platform": "databricks", "cost_date": key[0], "product": key[1], "billed": billed,
                     **parts[key], "query_count": len(statements[key]),
                     "unpriced": truth.unpriced.get(key, Decimal(0))})
    return rows


def cost_coverage(jobs: pd.DataFrame, truth: databricks_truth.DatabricksTruth | None, currency: str,
                  prices: Prices) -> pa.Table:
    """platform x cost date x product: billed = attributed + every unattributed part, exactly."""
    rows = _bigquery_coverage(jobs, prices) + (_databricks_coverage(truth) if truth is not None else [])
    rows.sort(key=lambda r: (r["platform"], r["cost_date"], r["product"]))
    return pa.table({
        "platform": pa.array([r["platform"] for r in rows], pa.string()),
        "cost_date": pa.array([r["cost_date"] for r in rows], pa.date32()),
        "product": pa.array([r["product"] for r in rows], pa.string()),
        "currency": pa.array([currency] * len(rows), pa.string()),
        "billed_cost": pa.array([_dec(r["billed"]) for r in rows], MONEY),
        **{col: pa.array([_dec(r[col]) for r in rows], MONEY) for col in COVERAGE_PARTS.values()},
        "query_count": pa.array([r["query_count"] for r in rows], pa.int64()),
        "unpriced_usage_quantity": pa.array([r["unpriced"] for r in rows], MONEY),
    })


def planted_cases(planted: list[Planted], raw: pa.Table, databricks: list[dict] | None = None) -> pa.Table:
    """BigQuery's planted jobs with their state in JOBS; Databricks' rows come ready."""
    states: dict[tuple[str, str, str], str] = {}
    wanted = {(p.project_id, p.location, p.job_id) for p in planted}
    if raw is not None and wanted:
        job_ids = pa.array(sorted({p.job_id for p in planted}), pa.string())
        hits = raw.filter(pc.is_in(raw["job_id"], value_set=job_ids))
        for row in hits.select(["project_id", "_location", "job_id", "state"]).to_pylist():
            states[(row["project_id"], row["_location"], row["job_id"])] = row["state"]
    seen: set[tuple[str, str, str, str]] = set()
    rows = []
    for p in planted:
        key = (p.case, p.project_id, p.location, p.job_id)
        if key in seen:
            continue
        seen.add(key)
        state = states.get((p.project_id, p.location, p.job_id))
        rows.append({"case_name": p.case, "project_id": p.project_id, "location": p.location, "job_id": p.job_id,
                     "note": p.note or None, "present": state is not None, "state": state})
    schema = pa.schema([("case_name", pa.string()), ("project_id", pa.string()), ("location", pa.string()),
                        ("job_id", pa.string()), ("note", pa.string()), ("present", pa.bool_()),
                        ("state", pa.string())])
    return pa.Table.from_pylist(rows + (databricks or []), schema=schema)


def planted_findings(findings: Sequence[Finding]) -> pa.Table:
    """The scenarios planted for issue 5's marts (pipelines.World.findings)."""
    def at(us: int | None) -> datetime | None:
        return None if us is None else datetime.fromtimestamp(us / 1_000_000, tz=UTC)

    schema = pa.schema([("finding", pa.string()), ("pipeline_id", pa.string()), ("pipeline_run_id", pa.string()),
                        ("node_id", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
                        ("factor", pa.float64()), ("note", pa.string())])
    return pa.Table.from_pylist([{
        "finding": f.finding, "pipeline_id": f.pipeline_id, "pipeline_run_id": f.pipeline_run_id,
        "node_id": f.node_id, "started_at": at(f.started_us), "factor": f.factor, "note": f.note or None,
    } for f in findings], schema=schema)


def compute(raw: pa.Table, planted: list[Planted], currency: str, run_results: dict[str, pa.Table] | None = None,
            as_of: datetime | None = None, databricks: DatabricksSnapshot | None = None,
            findings: Sequence[Finding] = (), storage: StorageSnapshot | None = None) -> dict[str, pa.Table]:
    from pipeline_costs import databricks_tables, reuse_truth  # on top of model_costs / the Databricks truth

    prices = Prices.for_currency(currency)
    run_results = run_results or {}
    uploaded = Uploaded.from_tables(run_results.get("dbt_invocations"), run_results.get("dbt_node_results"))
    jobs = priced_jobs(raw, uploaded)
    truth = databricks_truth.compute(databricks, uploaded, currency) if databricks is not None else None
    items = jobs if truth is None else databricks_tables.with_databricks(jobs, truth)
    models, quantities = model_costs(items, uploaded, prices, currency)
    tables = {
        "query_costs": query_costs(items, prices, currency),
        "model_costs": models,
        "pipeline_stage_costs": pipeline_stage_costs(items, uploaded, prices, currency),
        "pipeline_cost_history": pipeline_cost_history(items, prices, currency),
        "cost_coverage": cost_coverage(jobs, truth, currency, prices),
        "planted_cases": planted_cases(planted, raw, databricks.planted if databricks is not None else None),
        "planted_findings": planted_findings(findings),
    }
    if truth is not None:
        tables.update(databricks_tables.tables(truth, currency))
    if as_of is not None:
        tables.update(reuse_truth.compute(items, uploaded, quantities, prices, currency, as_of))
    from pipeline_costs import anomaly_truth  # on top of pipeline_cost_history / model_costs / query_costs
    tables.update(anomaly_truth.compute(tables["pipeline_cost_history"], tables["model_costs"], tables["query_costs"]))
    from pipeline_costs import storage_truth  # TABLE_STORAGE look-alike (docs/cost-rules.md section 11)
    tables.update(storage_truth.compute(storage, currency) if storage is not None else {})
    from pipeline_costs import forecast_truth  # daily_spend, on top of cost_coverage / pipeline_cost_history
    tables.update(forecast_truth.compute(tables, as_of, currency))
    from pipeline_costs import profiler_truth  # on top of the model, query, reuse and storage truth
    tables.update(profiler_truth.compute(raw, items, uploaded, truth, storage, tables, prices, currency, as_of))
    return tables
