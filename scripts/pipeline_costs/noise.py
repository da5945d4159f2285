"""Everything that is not dbt, vectorised (numpy + pyarrow): BI, ad-hoc, scheduled queries, loads.

One `NoiseKind` describes a population of jobs; `generate_kind` draws n of them for one day.
No per-row Python: this is the bulk of the volume at high --scale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_costs import schema
from pipeline_costs.rows import PROJECT_NUMBERS, principal_of

MiB = 1024**2
GiB = 1024**3
MIN_BILLED = 10 * MiB
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

# hour-of-day (UTC) weights: US business hours busiest
BUSINESS_HOURS = np.array([3, 2, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 12, 12, 11, 10, 9, 7, 5, 4], float)
FLAT_HOURS = np.ones(24)


@dataclass(frozen=True)
class Template:
    sql: str
    referenced: tuple[tuple[str, str, str], ...]
    destination: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class NoiseKind:
    name: str
    location: str
    project_id: str
    users: tuple[str, ...]
    per_day: float  # mean jobs per day at scale 1
    id_pattern: str  # '?' -> random hex digit
    templates: tuple[Template, ...] = ()
    job_type: str = "QUERY"
    statement_type: str | None = "SELECT"
    comment: str | None = None  # 'looker'
    labels: tuple[tuple[str, str], ...] = ()
    reservation_id: str | None = None
    edition: str | None = None
    priority: str = "INTERACTIVE"
    median_bytes: float = 2 * GiB
    sigma: float = 1.5
    cache_prob: float = 0.0
    fail_prob: float = 0.0  # invalidQuery; half of them after scanning (bytes reported)
    stop_prob: float = 0.0  # stopped by the user: billable
    hidden_bytes_prob: float = 0.0  # row-level security: bytes NULL
    late_fraction: float = 0.01
    forced_late: int = 0  # rows per day with a long arrival delay, at any scale
    min_per_day: int = 1
    hours: tuple[float, ...] = tuple(BUSINESS_HOURS)
    dml: bool = False
    # Scheduled every N minutes instead of at random (count fixed, whatever --scale), lasting
    # duration_minutes: long batch jobs, so at any instant some job is still running.
    every_minutes: int | None = None
    duration_minutes: tuple[float, float] = (0.0, 0.0)

    def count(self, scale: float, rng: np.random.Generator) -> int:
        if self.every_minutes:
            return 1440 // self.every_minutes
        return max(self.min_per_day, int(rng.poisson(self.per_day * scale)))


def _ref(dataset: str, table: str, project: str = "acme-analytics") -> tuple[str, str, str]:
    return (project, dataset, table)


LOOKER_TEMPLATES = (
    Template("SELECT\n    orders.order_date AS orders_order_date,\n    COALESCE(SUM(orders.amount), 0) AS "
             "orders_total_amount\nFROM `acme-analytics.analytics.fct_orders` AS orders\nGROUP BY\n    1\n"
             "ORDER BY\n    1 DESC\nLIMIT 500", (_ref("analytics", "fct_orders"),)),
    Template("SELECT\n    customers.country AS customers_country,\n    COUNT(DISTINCT customers.id) AS "
             "customers_count\nFROM `acme-analytics.analytics.dim_customers` AS customers\nGROUP BY\n    1\n"
             "LIMIT 500", (_ref("analytics", "dim_customers"),)),
    Template("SELECT\n    revenue.month AS revenue_month,\n    SUM(revenue.net) AS revenue_net\nFROM "
             "`acme-analytics.analytics.fct_revenue` AS revenue\nWHERE revenue.month >= DATE_SUB(CURRENT_DATE(), "
             "INTERVAL 12 MONTH)\nGROUP BY\n    1\nLIMIT 500", (_ref("analytics", "fct_revenue"),)),
    Template("SELECT\n    campaigns.channel AS campaigns_channel,\n    SUM(campaigns.spend) AS campaigns_spend,\n"
             "    SUM(campaigns.conversions) AS campaigns_conversions\nFROM "
             "`acme-analytics.marketing.fct_campaign_performance` AS campaigns\nLEFT JOIN "
             "`acme-analytics.marketing.dim_channels` AS channels ON campaigns.channel = channels.channel\n"
             "GROUP BY\n    1\nLIMIT 500",
             (_ref("marketing", "fct_campaign_performance"), _ref("marketing", "dim_channels"))),
    Template("SELECT\n    attribution.touch AS attribution_touch,\n    SUM(attribution.weight) AS attribution_weight\n"
             "FROM `acme-analytics.marketing.fct_attribution` AS attribution\nGROUP BY\n    1\nLIMIT 5000",
             (_ref("marketing", "fct_attribution"),)),
)

ADHOC_TEMPLATES = (
    Template("select * from `acme-analytics.analytics.fct_orders` where order_date = current_date() limit 100",
             (_ref("analytics", "fct_orders"),)),
    Template("select customer_id, count(*) as n\nfrom `acme-analytics.raw.orders`\ngroup by 1\norder by 2 desc",
             (_ref("raw", "orders"),)),
    Template("select date(created_at) as d, count(*)\nfrom `acme-analytics.raw.sessions`\n"
             "where created_at > timestamp_sub(current_timestamp(), interval 30 day)\ngroup by 1",
             (_ref("raw", "sessions"),)),
    Template("select * from `acme-analytics.marketing.fct_attribution` where touch = 'last'",
             (_ref("marketing", "fct_attribution"),)),
    Template("select p.*, c.country\nfrom `acme-analytics.raw.payments` p\n"
             "join `acme-analytics.raw.customers` c using (customer_id)",
             (_ref("raw", "payments"), _ref("raw", "customers"))),
    Template("select count(distinct user_id) from `acme-analytics.raw.events` where event_name = 'signup'",
             (_ref("raw", "events"),)),
)

SCHEDULED_TEMPLATES = (
    Template("insert into `acme-bi.reporting.daily_kpis`\nselect current_date() as d, count(*) as orders, "
             "sum(amount) as revenue\nfrom `acme-analytics.analytics.fct_orders`\nwhere order_date = current_date() - 1",
             (_ref("analytics", "fct_orders"),), ("acme-bi", "reporting", "daily_kpis")),
    Template("create or replace table `acme-bi.reporting.weekly_channels` as\nselect channel, sum(spend) as spend\n"
             "from `acme-analytics.marketing.fct_campaign_performance`\ngroup by 1",
             (_ref("marketing", "fct_campaign_performance"),), ("acme-bi", "reporting", "weekly_channels")),
)

BATCH_TEMPLATES = (
    Template("insert into `acme-analytics.features.user_features_hourly`\nselect user_id, "
             "timestamp_trunc(event_at, hour) as hour, count(*) as events\nfrom `acme-analytics.raw.events`\n"
             "group by 1, 2", (_ref("raw", "events"),), _ref("features", "user_features_hourly")),
)

ETL_TEMPLATES = tuple(
    Template(f"MERGE `acme-analytics.raw.{t}` T USING `acme-analytics.raw_staging.{t}_batch` S\n"
             "ON T.id = S.id\nWHEN MATCHED THEN UPDATE SET T._synced_at = S._synced_at\n"
             "WHEN NOT MATCHED THEN INSERT ROW",
             (_ref("raw_staging", f"{t}_batch"), _ref("raw", t)), _ref("raw", t))
    for t in ("orders", "customers", "payments", "sessions", "events", "ad_spend")
)

LOAD_TEMPLATES = tuple(
    Template("", (), _ref("raw_staging", f"{t}_batch"))
    for t in ("orders", "customers", "payments", "sessions", "events", "ad_spend")
)

COPY_TEMPLATES = (Template("", (_ref("analytics", "fct_orders"),), _ref("backup", "fct_orders_snapshot")),)

EU_TEMPLATES = (
    Template("select country, sum(spend) from `acme-analytics.analytics_eu.fct_campaign_performance` group by 1",
             (_ref("analytics_eu", "fct_campaign_performance"),)),
    Template("select * from `acme-analytics.raw_eu.sessions` where date(created_at) = current_date()",
             (_ref("raw_eu", "sessions"),)),
)

ANALYSTS = ("dana@acme.com", "eve@acme.com", "farid@acme.com", "grace@acme.com", "hiro@acme.com")

NOISE_KINDS: tuple[NoiseKind, ...] = (
    NoiseKind(
        "looker", "us", "acme-bi", ("looker@acme-bi.iam.gserviceaccount.com",), 1400,
        "job_" + "?" * 28, LOOKER_TEMPLATES, comment="looker",
        reservation_id="admin-project:US.bi-plus", edition="ENTERPRISE_PLUS",
        median_bytes=0.5 * GiB, sigma=1.2, cache_prob=0.3, fail_prob=0.005,
    ),
    NoiseKind(
        "adhoc", "us", "acme-analytics", ANALYSTS, 500, "bquxjob_????????_???????????", ADHOC_TEMPLATES,
        median_bytes=3 * GiB, sigma=2.0, cache_prob=0.1, fail_prob=0.04, stop_prob=0.01,
        hidden_bytes_prob=0.01, forced_late=2,
    ),
    NoiseKind(
        "scheduled", "us", "acme-bi", ("scheduler@acme-bi.iam.gserviceaccount.com",), 60,
        "scheduled_query_????????-0000-????-????-????????????", SCHEDULED_TEMPLATES,
        statement_type="INSERT", labels=(("data_source_id", "scheduled_query"),),
        reservation_id="admin-project:US.legacy-flat", edition=None, priority="BATCH",
        median_bytes=8 * GiB, sigma=1.0, fail_prob=0.01, hours=tuple(FLAT_HOURS), dml=True,
    ),
    NoiseKind(
        "etl_merge", "us", "acme-analytics", ("fivetran@acme-analytics.iam.gserviceaccount.com",), 150,
        "job_" + "?" * 28, ETL_TEMPLATES, statement_type="MERGE",
        reservation_id="admin-project:US.etl-standard", edition="STANDARD",
        median_bytes=1 * GiB, sigma=1.0, hours=tuple(FLAT_HOURS), dml=True,
    ),
    NoiseKind(
        "feature_batch", "us", "acme-analytics", ("features@acme-analytics.iam.gserviceaccount.com",), 48,
        "job_" + "?" * 28, BATCH_TEMPLATES, statement_type="INSERT",
        reservation_id="admin-project:US.etl-standard", edition="STANDARD", priority="BATCH",
        median_bytes=200 * GiB, sigma=0.3, dml=True, every_minutes=30, duration_minutes=(35.0, 55.0),
    ),
    NoiseKind(
        "loads", "us", "acme-analytics", ("fivetran@acme-analytics.iam.gserviceaccount.com",), 200,
        "job_" + "?" * 28, LOAD_TEMPLATES, job_type="LOAD", statement_type=None,
        median_bytes=0.2 * GiB, hours=tuple(FLAT_HOURS),
    ),
    NoiseKind(
        "copies", "us", "acme-analytics", ("backup@acme-analytics.iam.gserviceaccount.com",), 20,
        "job_" + "?" * 28, COPY_TEMPLATES, job_type="COPY", statement_type=None, min_per_day=0,
        median_bytes=1 * GiB, hours=tuple(FLAT_HOURS),
    ),
    NoiseKind(
        "adhoc_eu", "eu", "acme-analytics", ANALYSTS, 150, "bquxjob_????????_???????????", EU_TEMPLATES,
        median_bytes=1 * GiB, sigma=1.5, cache_prob=0.1, fail_prob=0.03, stop_prob=0.01, hidden_bytes_prob=0.01,
    ),
    NoiseKind(
        "bi_eu", "eu", "acme-bi", ("looker@acme-bi.iam.gserviceaccount.com",), 100,
        "job_" + "?" * 28, EU_TEMPLATES, comment="looker",
        reservation_id="admin-project:EU.eu-reservation", edition="ENTERPRISE",
        median_bytes=0.3 * GiB, cache_prob=0.3,
    ),
)


# ---------------------------------------------------------------------------------------------
# vectorised helpers
# ---------------------------------------------------------------------------------------------


def pattern_strings(rng: np.random.Generator, n: int, pattern: str) -> pa.Array:
    """n strings shaped like `pattern`, every '?' a random lowercase hex digit."""
    template = np.frombuffer(pattern.encode(), dtype=np.uint8)
    width = len(template)
    holes = np.flatnonzero(template == ord("?"))
    matrix = np.broadcast_to(template, (n, width)).copy()
    matrix[:, holes] = _HEX[rng.integers(0, 16, size=(n, len(holes)), dtype=np.uint8)]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())).cast(
        pa.string()
    )


def _take_str(values: list[str | None], idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def _const(value: str | None, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()) if value is None else _take_str([value], np.zeros(n, dtype=np.int32))


def _table_ref_list(templates: tuple[Template, ...]) -> pa.Array:
    return pa.array(
        [[dict(zip(("project_id", "dataset_id", "table_id"), r, strict=True)) for r in t.referenced] for t in templates],
        pa.list_(schema.TABLE_REF),
    )


def _masked(arr: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), arr, pa.scalar(None, arr.type))


def arrival_delays(rng: np.random.Generator, n: int, late_fraction: float) -> np.ndarray:
    delay = np.minimum(rng.exponential(90_000, n), 600_000).astype(np.int64)
    late = rng.random(n) < late_fraction
    delay[late] = rng.integers(600_000, 12 * 3_600_000, int(late.sum()))
    return delay


def generate_kind(kind: NoiseKind, n: int, day_start_ms: int, rng: np.random.Generator) -> pa.Table:
    if kind.every_minutes:
        creation = day_start_ms + np.arange(n, dtype=np.int64) * kind.every_minutes * 60_000 + rng.integers(
            0, 90_000, n)
    else:
        hours_p = np.asarray(kind.hours, float)
        hours_p /= hours_p.sum()
        creation = (day_start_ms + rng.choice(24, n, p=hours_p).astype(np.int64) * 3_600_000
                    + rng.integers(0, 3_600_000, n))
    is_query = kind.job_type == "QUERY"
    capacity = kind.reservation_id is not None
    queue = rng.exponential(1500 if capacity else 200, n).astype(np.int64) + 5
    start = creation + queue
    scanned = (kind.median_bytes * rng.lognormal(0.0, kind.sigma, n)).astype(np.int64) + 1
    duration = (300 + scanned / 1.5e9 * 1000 * rng.uniform(0.7, 1.3, n)).astype(np.int64) + rng.integers(0, 1500, n)
    slot_ms = np.maximum(duration, (scanned / 3500 * rng.uniform(0.6, 1.4, n)).astype(np.int64))
    if kind.every_minutes:
        lo, hi = kind.duration_minutes
        duration = (rng.uniform(lo, hi, n) * 60_000).astype(np.int64)
        slot_ms = (duration * rng.uniform(5, 20, n)).astype(np.int64)

    u = rng.random(n)
    cache = u < kind.cache_prob
    failed = (u >= kind.cache_prob) & (u < kind.cache_prob + kind.fail_prob)
    stopped = (u >= kind.cache_prob + kind.fail_prob) & (u < kind.cache_prob + kind.fail_prob + kind.stop_prob)
    failed_early = failed & (rng.random(n) < 0.5)  # compile errors: nothing scanned
    processed = scanned.copy()
    processed[stopped] //= 3
    processed[failed_early] = 0
    duration[cache] = rng.integers(30, 300, int(cache.sum()))
    duration[failed_early] = rng.integers(100, 900, int(failed_early.sum()))
    slot_ms[failed_early] = 0
    processed[cache] = 0
    slot_ms[cache] = 0
    billed = np.where(processed > 0, np.maximum(-(-processed // MiB) * MiB, MIN_BILLED), 0)
    hidden = (rng.random(n) < kind.hidden_bytes_prob) & ~cache & ~failed & ~stopped
    end = start + duration

    tidx = rng.integers(0, max(1, len(kind.templates)), n)
    uidx = rng.integers(0, len(kind.users), n)
    users = _take_str(list(kind.users), uidx)

    if is_query:
        sql = _take_str([t.sql for t in kind.templates], tidx)
        if kind.comment == "looker":
            user_ids = pa.array(rng.integers(1, 400, n)).cast(pa.string())
            slugs = pattern_strings(rng, n, "?" * 32)
            query = pc.binary_join_element_wise(
                "-- Looker Query Context '{\"user_id\":", user_ids, ",\"history_slug\":\"", slugs,
                "\",\"instance_slug\":\"b1f2c3d4e5f60718293a4b5c6d7e8f90\"}'\n\n", sql, "",
            )
        else:
            query = sql
        hashes = _take_str([hashlib.sha256(t.sql.encode()).hexdigest() for t in kind.templates], tidx)
        query_info = pa.StructArray.from_arrays(
            [pa.StructArray.from_arrays([hashes], names=["normalized_literals"])], names=["query_hashes"]
        )
    else:
        query = pa.nulls(n, pa.string())
        query_info = pa.nulls(n, schema.QUERY_INFO)

    if kind.templates and kind.templates[0].destination is not None:
        dests = [t.destination for t in kind.templates]
        destination = pa.StructArray.from_arrays(
            [_take_str([d[i] for d in dests if d], tidx) for i in range(3)],
            fields=list(schema.TABLE_REF),
        )
    else:
        anon_dataset = "_" + hashlib.sha1(kind.name.encode()).hexdigest()
        destination = pa.StructArray.from_arrays(
            [_const(kind.project_id, n), _const(anon_dataset, n), pattern_strings(rng, n, "anon" + "?" * 24)],
            fields=list(schema.TABLE_REF),
        )
    referenced = _table_ref_list(kind.templates).take(pa.array(tidx)) if kind.templates else pa.nulls(
        n, pa.list_(schema.TABLE_REF))

    # 1: runtime error after scanning (bytes reported, not billable), 2: stopped, 3: compile error
    error_code = failed.astype(np.int8) + 2 * stopped.astype(np.int8) + 2 * failed_early.astype(np.int8)
    error_reason = _take_str([None, "invalidQuery", "stopped", "invalidQuery"], error_code)
    error_message = _take_str(
        [None, "division by zero: 1 / 0", "Job execution was cancelled: User requested cancellation",
         "Syntax error: Unexpected identifier at [3:1]"],
        error_code,
    )
    has_error = failed | stopped
    errors = pa.StructArray.from_arrays(
        [error_reason, pa.nulls(n, pa.string()), pa.nulls(n, pa.string()), error_message],
        fields=list(schema.ERROR_RESULT),
        mask=pa.array(~has_error),
    )
    if kind.dml:
        dml = pa.StructArray.from_arrays(
            [pa.array(rng.integers(0, 100_000, n)), pa.array(np.zeros(n, np.int64)),
             pa.array(rng.integers(0, 50_000, n))],
            fields=list(schema.DML_STATISTICS),
            mask=pa.array(failed | cache),
        )
    else:
        dml = pa.nulls(n, schema.DML_STATISTICS)

    if is_query:
        bytes_processed = _masked(pa.array(processed), ~hidden)
        bytes_billed = _masked(pa.array(billed), ~hidden)
        cache_hit = pa.array(cache)
    else:  # LOAD / COPY: no bytes billed, no cache
        bytes_processed = pa.nulls(n, pa.int64())
        bytes_billed = pa.nulls(n, pa.int64())
        cache_hit = pa.nulls(n, pa.bool_())

    label_keys = [k for k, _ in kind.labels]
    label_values = [v for _, v in kind.labels]
    per_row = len(kind.labels)
    labels = pa.ListArray.from_arrays(
        pa.array(np.arange(0, (n + 1) * per_row, per_row, dtype=np.int32) if per_row else np.zeros(n + 1, np.int32)),
        pa.StructArray.from_arrays(
            [_take_str(label_keys, np.tile(np.arange(per_row), n)),
             _take_str(label_values, np.tile(np.arange(per_row), n))],
            fields=list(schema.LABEL),
        ),
    )

    delay = arrival_delays(rng, n, kind.late_fraction)
    forced = min(kind.forced_late, n)
    delay[:forced] = rng.integers(2 * 3_600_000, 12 * 3_600_000, forced)

    def ts(values: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int64)).cast(schema.TS)

    columns: dict[str, pa.Array] = {
        "job_id": pattern_strings(rng, n, kind.id_pattern),
        "parent_job_id": pa.nulls(n, pa.string()),
        "project_id": _const(kind.project_id, n),
        "project_number": pa.array(np.full(n, PROJECT_NUMBERS[kind.project_id], dtype=np.int64)),
        "user_email": users,
        "principal_subject": _take_str([principal_of(u) for u in kind.users], uidx),
        "session_info": pa.nulls(n, schema.SESSION_INFO),
        "transaction_id": pa.nulls(n, pa.string()),
        "creation_time": ts(creation),
        "start_time": ts(start),
        "end_time": ts(end),
        "job_type": _const(kind.job_type, n),
        "statement_type": _const(kind.statement_type, n),
        "state": _const("DONE", n),
        "priority": _const(kind.priority, n),
        "query": query,
        "labels": labels,
        "destination_table": destination,
        "referenced_tables": referenced,
        "total_bytes_processed": bytes_processed,
        "total_bytes_billed": bytes_billed,
        "total_slot_ms": pa.array(slot_ms),
        "cache_hit": cache_hit,
        "reservation_id": _const(kind.reservation_id, n),
        "edition": _const(kind.edition, n),
        "error_result": errors,
        "dml_statistics": dml,
        "query_info": query_info,
        "_location": _const(kind.location, n),
        "_arrival_ms": pa.array(creation + delay),
        "_invocation_id": pa.nulls(n, pa.string()),
        "_node_id": pa.nulls(n, pa.string()),
        "_pipeline_id": pa.nulls(n, pa.string()),
        "_pipeline_run_id": pa.nulls(n, pa.string()),
        "_orchestrator": pa.nulls(n, pa.string()),
        "_source": _const("none", n),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema.FULL_SCHEMA], schema=schema.FULL_SCHEMA)
