"""Rows of the simulated Databricks system tables (system.billing.usage, system.billing.list_prices,
system.query.history): per-row classes with the simulation's bookkeeping, their DuckDB DDL, and the
snapshot of them a reader sees at `as_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pyarrow as pa

from pipeline_costs import databricks_catalog as cat

BILLING_SCHEMA = "system_billing"
QUERY_SCHEMA = "system_query"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
TS = pa.timestamp("ms", tz="UTC")
QUANTITY = pa.decimal128(38, 18)

USAGE_METADATA_FIELDS = (
    "cluster_id", "job_id", "warehouse_id", "instance_pool_id", "node_type", "job_run_id", "notebook_id",
    "dlt_pipeline_id", "endpoint_name", "endpoint_id", "dlt_update_id", "dlt_maintenance_id", "run_name",
    "job_name", "notebook_path", "app_id", "budget_policy_id",
)
IDENTITY_FIELDS = ("run_as", "owned_by", "created_by")
FEATURE_FIELDS = (("jobs_tier", pa.string()), ("sql_tier", pa.string()), ("dlt_tier", pa.string()),
                  ("is_serverless", pa.bool_()), ("is_photon", pa.bool_()), ("serving_type", pa.string()))

USAGE_SCHEMA = pa.schema([
    ("record_id", pa.string()), ("account_id", pa.string()), ("workspace_id", pa.string()),
    ("sku_name", pa.string()), ("cloud", pa.string()), ("usage_start_time", TS), ("usage_end_time", TS),
    ("usage_date", pa.date32()), ("custom_tags", pa.map_(pa.string(), pa.string())), ("usage_unit", pa.string()),
    ("usage_quantity", QUANTITY),
    ("usage_metadata", pa.struct([(name, pa.string()) for name in USAGE_METADATA_FIELDS])),
    ("identity_metadata", pa.struct([(name, pa.string()) for name in IDENTITY_FIELDS])),
    ("record_type", pa.string()), ("ingestion_date", pa.date32()), ("billing_origin_product", pa.string()),
    ("product_features", pa.struct(list(FEATURE_FIELDS))), ("usage_type", pa.string()),
])
PRICE = pa.struct([("default", QUANTITY), ("promotional", pa.struct([("default", QUANTITY)])),
                   ("effective_list", pa.struct([("default", QUANTITY)]))])
LIST_PRICES_SCHEMA = pa.schema([
    ("price_start_time", TS), ("price_end_time", TS), ("account_id", pa.string()), ("sku_name", pa.string()),
    ("cloud", pa.string()), ("currency_code", pa.string()), ("usage_unit", pa.string()), ("pricing", PRICE),
])
HISTORY_SCHEMA = pa.schema([
    ("account_id", pa.string()), ("workspace_id", pa.string()), ("statement_id", pa.string()),
    ("session_id", pa.string()), ("execution_status", pa.string()),
    ("compute", pa.struct([("type", pa.string()), ("cluster_id", pa.string()), ("warehouse_id", pa.string())])),
    ("executed_by", pa.string()), ("statement_text", pa.string()), ("statement_type", pa.string()),
    ("error_message", pa.string()), ("client_application", pa.string()),
    *((name, pa.int64()) for name in (
        "total_duration_ms", "waiting_for_compute_duration_ms", "waiting_at_capacity_duration_ms",
        "execution_duration_ms", "compilation_duration_ms", "total_task_duration_ms", "result_fetch_duration_ms")),
    ("start_time", TS), ("end_time", TS), ("update_time", TS),
    *((name, pa.int64()) for name in ("read_rows", "read_bytes", "produced_rows", "written_bytes")),
    ("from_result_cache", pa.bool_()),
    ("query_source", pa.struct([("job_info", pa.struct([
        ("job_id", pa.string()), ("job_run_id", pa.string()), ("job_task_run_id", pa.string())]))])),
    ("query_tags", pa.map_(pa.string(), pa.string())),
])

_DDL_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN", TS: "TIMESTAMPTZ",
              pa.date32(): "DATE", QUANTITY: "DECIMAL(38,18)"}


def _ddl_type(typ: pa.DataType) -> str:
    if pa.types.is_struct(typ):
        return "STRUCT(" + ", ".join(f'"{f.name}" {_ddl_type(f.type)}' for f in typ) + ")"
    if pa.types.is_map(typ):
        return f"MAP({_ddl_type(typ.key_type)}, {_ddl_type(typ.item_type)})"
    return _DDL_TYPES[typ]


def ddl(table_schema: pa.Schema) -> str:
    return ", ".join(f'"{f.name}" {_ddl_type(f.type)}' for f in table_schema)


USAGE_TABLE = f"{BILLING_SCHEMA}.usage"
LIST_PRICES_TABLE = f"{BILLING_SCHEMA}.list_prices"
HISTORY_TABLE = f"{QUERY_SCHEMA}.history"
TABLES: dict[str, pa.Schema] = {USAGE_TABLE: USAGE_SCHEMA, LIST_PRICES_TABLE: LIST_PRICES_SCHEMA,
                                HISTORY_TABLE: HISTORY_SCHEMA}


def utc_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


Instant = TypeVar("Instant", int, datetime)


def merge_spans(spans: Iterable[tuple[Instant, Instant]]) -> list[tuple[Instant, Instant]]:
    """The union of [start, end) spans: sorted, overlapping or touching spans merged."""
    merged: list[tuple[Instant, Instant]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(slots=True)
class Statement:
    """One statement of system.query.history, and the dbt context the simulation gave it."""

    statement_id: str
    workspace_id: str
    session_id: str
    compute_type: str  # WAREHOUSE | CLUSTER
    compute_id: str  # the warehouse id or the cluster id
    executed_by: str
    statement_text: str
    statement_type: str
    client_application: str
    start_ms: int
    end_ms: int
    status: str = "FINISHED"  # once finished: FINISHED | FAILED | CANCELED
    error_message: str | None = None
    compilation_ms: int | None = 0
    task_ms: int | None = 0
    fetch_ms: int | None = 0
    waiting_ms: int = 0
    read_bytes: int | None = 0
    read_rows: int | None = 0
    produced_rows: int | None = 0
    written_bytes: int | None = 0
    from_result_cache: bool = False
    job_info: tuple[str, str, str] | None = None  # job_id, job_run_id, job_task_run_id
    query_tags: dict[str, str] | None = None
    stale_running_row: bool = False  # the table also holds an older RUNNING row of it
    # bookkeeping: what the comment (else the query tags) says
    invocation_id: str | None = None
    node_id: str | None = None
    pipeline_id: str | None = None
    pipeline_run_id: str | None = None
    orchestrator: str | None = None
    source: str = "none"  # comment | query_tags | none

    @property
    def work_ms(self) -> int:
        return (self.task_ms or 0) + (self.compilation_ms or 0) + (self.fetch_ms or 0)

    @property
    def on_warehouse(self) -> bool:
        return self.compute_type == "WAREHOUSE"


@dataclass(frozen=True, slots=True)
class StatementRow:
    """A statement as one row of query.history shows it at a snapshot."""

    statement: Statement
    status: str  # RUNNING or the final status
    end_ms: int | None
    update_ms: int


@dataclass(slots=True)
class UsageRecord:
    """One row of system.billing.usage (an hour of one compute's DBUs)."""

    record_id: str
    workspace_id: str
    sku_name: str
    start_ms: int
    quantity: Decimal
    product: str
    arrival_ms: int  # when the row shows up in the table
    metadata: dict[str, str] = field(default_factory=dict)
    custom_tags: dict[str, str] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    run_as: str | None = None
    record_type: str = "ORIGINAL"
    end_ms: int = 0  # 0: start + 1 hour

    def __post_init__(self) -> None:
        if not self.end_ms:
            self.end_ms = self.start_ms + HOUR_MS

    @property
    def usage_date(self) -> date:
        return utc_date(self.start_ms)


@dataclass
class DatabricksSnapshot:
    """The Databricks tables at as_of, with the bookkeeping the ground truth is computed from."""

    statement_rows: list[StatementRow]
    records: list[UsageRecord]  # as written: an exact duplicate appears twice
    prices: list[cat.ListPrice]  # as published at as_of
    invocation_rows: list[dict[str, Any]]
    node_result_rows: list[dict[str, Any]]
    planted: list[dict[str, Any]]  # ground_truth.planted_cases rows


def usage_row(record: UsageRecord) -> dict[str, Any]:
    features = {name: record.features.get(name) for name, _ in FEATURE_FIELDS}
    return {
        "record_id": record.record_id, "account_id": cat.ACCOUNT_ID, "workspace_id": record.workspace_id,
        "sku_name": record.sku_name, "cloud": cat.CLOUD, "usage_start_time": record.start_ms,
        "usage_end_time": record.end_ms, "usage_date": record.usage_date,
        "custom_tags": list(record.custom_tags.items()), "usage_unit": cat.USAGE_UNIT,
        "usage_quantity": record.quantity,
        "usage_metadata": {name: record.metadata.get(name) for name in USAGE_METADATA_FIELDS},
        "identity_metadata": {"run_as": record.run_as, "owned_by": None, "created_by": None},
        "record_type": record.record_type, "ingestion_date": utc_date(record.arrival_ms),
        "billing_origin_product": record.product, "product_features": features, "usage_type": "COMPUTE_TIME",
    }


def price_row(price: cat.ListPrice) -> dict[str, Any]:
    return {
        "price_start_time": price.start_ms, "price_end_time": price.end_ms, "account_id": cat.ACCOUNT_ID,
        "sku_name": price.sku_name, "cloud": price.cloud, "currency_code": price.currency_code,
        "usage_unit": price.usage_unit,
        "pricing": {"default": price.default,
                    "promotional": {"default": price.promotional} if price.promotional is not None else None,
                    "effective_list": {"default": price.effective}},
    }


def history_row(row: StatementRow) -> dict[str, Any]:
    s = row.statement
    done = row.status != "RUNNING"
    duration = row.end_ms - s.start_ms if row.end_ms is not None else None
    return {
        "account_id": cat.ACCOUNT_ID, "workspace_id": s.workspace_id, "statement_id": s.statement_id,
        "session_id": s.session_id, "execution_status": row.status,
        "compute": {"type": s.compute_type, "cluster_id": s.compute_id if s.compute_type == "CLUSTER" else None,
                    "warehouse_id": s.compute_id if s.on_warehouse else None},
        "executed_by": s.executed_by, "statement_text": s.statement_text, "statement_type": s.statement_type,
        "error_message": s.error_message if done else None, "client_application": s.client_application,
        "total_duration_ms": duration,
        "waiting_for_compute_duration_ms": s.waiting_ms if done else None,
        "waiting_at_capacity_duration_ms": 0 if done else None,
        "execution_duration_ms": max(0, duration - s.waiting_ms - (s.compilation_ms or 0)) if duration is not None
        else None,
        "compilation_duration_ms": s.compilation_ms if done else None,
        "total_task_duration_ms": s.task_ms if done else None,
        "result_fetch_duration_ms": s.fetch_ms if done else None,
        "start_time": s.start_ms, "end_time": row.end_ms, "update_time": row.update_ms,
        "read_rows": s.read_rows if done else None, "read_bytes": s.read_bytes if done else None,
        "produced_rows": s.produced_rows if done else None, "written_bytes": s.written_bytes if done else None,
        "from_result_cache": s.from_result_cache if done else None,
        "query_source": {"job_info": None if s.job_info is None else dict(zip(
            ("job_id", "job_run_id", "job_task_run_id"), s.job_info, strict=True))},
        "query_tags": None if s.query_tags is None else list(s.query_tags.items()),
    }


def system_tables(snapshot: DatabricksSnapshot) -> dict[str, pa.Table]:
    """The three system tables as written (keyed by their DuckDB name)."""
    rows = {
        USAGE_TABLE: [usage_row(r) for r in snapshot.records],
        LIST_PRICES_TABLE: [price_row(p) for p in snapshot.prices],
        HISTORY_TABLE: [history_row(r) for r in snapshot.statement_rows],
    }
    return {name: pa.Table.from_pylist(rows[name], schema=table_schema) for name, table_schema in TABLES.items()}
