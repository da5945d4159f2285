"""Column layout of the simulated INFORMATION_SCHEMA.JOBS_BY_PROJECT tables.

Every generated batch is an Arrow table with the JOBS columns followed by bookkeeping columns
(prefixed `_`) that only the generator knows: when the row becomes visible and which dbt context
the simulation gave the job. Bookkeeping never reaches the JOBS tables.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
TABLE_REF = pa.struct([("project_id", pa.string()), ("dataset_id", pa.string()), ("table_id", pa.string())])
LABEL = pa.struct([("key", pa.string()), ("value", pa.string())])
ERROR_RESULT = pa.struct(
    [("reason", pa.string()), ("location", pa.string()), ("debug_info", pa.string()), ("message", pa.string())]
)
DML_STATISTICS = pa.struct(
    [("inserted_row_count", pa.int64()), ("deleted_row_count", pa.int64()), ("updated_row_count", pa.int64())]
)
QUERY_INFO = pa.struct([("query_hashes", pa.struct([("normalized_literals", pa.string())]))])
SESSION_INFO = pa.struct([("session_id", pa.string())])

JOBS_SCHEMA = pa.schema(
    [
        ("job_id", pa.string()),
        ("parent_job_id", pa.string()),
        ("project_id", pa.string()),
        ("project_number", pa.int64()),
        ("user_email", pa.string()),
        ("principal_subject", pa.string()),
        ("session_info", SESSION_INFO),
        ("transaction_id", pa.string()),
        ("creation_time", TS),
        ("start_time", TS),
        ("end_time", TS),
        ("job_type", pa.string()),
        ("statement_type", pa.string()),
        ("state", pa.string()),
        ("priority", pa.string()),
        ("query", pa.string()),
        ("labels", pa.list_(LABEL)),
        ("destination_table", TABLE_REF),
        ("referenced_tables", pa.list_(TABLE_REF)),
        ("total_bytes_processed", pa.int64()),
        ("total_bytes_billed", pa.int64()),
        ("total_slot_ms", pa.int64()),
        ("cache_hit", pa.bool_()),
        ("reservation_id", pa.string()),
        ("edition", pa.string()),
        ("error_result", ERROR_RESULT),
        ("dml_statistics", DML_STATISTICS),
        ("query_info", QUERY_INFO),
    ]
)

# Bookkeeping: the simulation's own truth about each job.
BOOK_SCHEMA = pa.schema(
    [
        ("_location", pa.string()),
        ("_arrival_ms", pa.int64()),  # epoch ms at which the row becomes visible in JOBS
        ("_invocation_id", pa.string()),
        ("_node_id", pa.string()),
        ("_pipeline_id", pa.string()),
        ("_pipeline_run_id", pa.string()),
        ("_orchestrator", pa.string()),
        ("_source", pa.string()),  # comment | label | script_parent | none
    ]
)

FULL_SCHEMA = pa.schema(list(JOBS_SCHEMA) + list(BOOK_SCHEMA))

# Columns nulled while a job is still running (the stats are only known at the end).
RUNNING_NULL_COLUMNS = (
    "end_time",
    "total_bytes_processed",
    "total_bytes_billed",
    "total_slot_ms",
    "cache_hit",
    "error_result",
    "dml_statistics",
)

JOBS_DDL = """
    job_id VARCHAR,
    parent_job_id VARCHAR,
    project_id VARCHAR,
    project_number BIGINT,
    user_email VARCHAR,
    principal_subject VARCHAR,
    session_info STRUCT(session_id VARCHAR),
    transaction_id VARCHAR,
    creation_time TIMESTAMPTZ,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    job_type VARCHAR,
    statement_type VARCHAR,
    state VARCHAR,
    priority VARCHAR,
    query VARCHAR,
    labels STRUCT(key VARCHAR, value VARCHAR)[],
    destination_table STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR),
    referenced_tables STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)[],
    total_bytes_processed BIGINT,
    total_bytes_billed BIGINT,
    total_slot_ms BIGINT,
    cache_hit BOOLEAN,
    reservation_id VARCHAR,
    edition VARCHAR,
    error_result STRUCT(reason VARCHAR, location VARCHAR, debug_info VARCHAR, message VARCHAR),
    dml_statistics STRUCT(inserted_row_count BIGINT, deleted_row_count BIGINT, updated_row_count BIGINT),
    query_info STRUCT(query_hashes STRUCT(normalized_literals VARCHAR))
"""

REGIONS = ("us", "eu")


# ---------------------------------------------------------------------------------------------
# Run results: what the package's on-run-end upload (upload_run_results) leaves behind.
# Mirror of run_results_columns() in macros/upload/run_results_columns.sql (a test compares them).
# ---------------------------------------------------------------------------------------------

RUN_RESULTS_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "dbt_invocations": [
        ("invocation_id", "string"),
        ("project_name", "string"),
        ("command", "string"),
        ("target_name", "string"),
        ("adapter_type", "string"),
        ("dbt_version", "string"),
        ("package_version", "string"),
        ("run_started_at", "timestamp"),
        ("run_ended_at", "timestamp"),
        ("elapsed_s", "float"),
        ("is_full_refresh", "boolean"),
        ("selectors", "string"),
        ("orchestrator", "string"),
        ("pipeline_id", "string"),
        ("pipeline_run_id", "string"),
        ("pipeline_task_id", "string"),
        ("run_reason", "string"),
        ("job_type", "string"),
        ("node_result_count", "integer"),
    ],
    "dbt_node_results": [
        ("invocation_id", "string"),
        ("node_id", "string"),
        ("resource_type", "string"),
        ("package_name", "string"),
        ("name", "string"),
        ("original_file_path", "string"),
        ("folder", "string"),
        ("materialized", "string"),
        ("tags", "string"),
        ("first_tag", "string"),
        ("status", "string"),
        ("thread_id", "string"),
        ("compile_started_at", "timestamp"),
        ("compile_completed_at", "timestamp"),
        ("execute_started_at", "timestamp"),
        ("execute_completed_at", "timestamp"),
        ("execution_time_s", "float"),
        ("rows_affected", "integer"),
        ("bytes_processed", "integer"),
        ("bytes_billed", "integer"),
        ("slot_ms", "integer"),
        ("adapter_job_id", "string"),
        ("adapter_query_id", "string"),
        ("adapter_job_run_id", "string"),
        ("adapter_project_id", "string"),
        ("adapter_location", "string"),
        ("adapter_code", "string"),
        ("message", "string"),
        ("message_truncated", "boolean"),
        ("failures", "integer"),
        ("freshness_config", "string"),
        ("build_after_count", "integer"),
        ("build_after_period", "string"),
        ("build_after_updates_on", "string"),
        ("state_config", "string"),
        ("has_freshness_config", "boolean"),
    ],
}

RUN_RESULTS_TS = pa.timestamp("us", tz="UTC")
_KIND_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(), "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
    "timestamp": RUN_RESULTS_TS,
}
_KIND_DUCKDB: dict[str, str] = {
    "string": "VARCHAR", "integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ",
}


def run_results_schema(table: str) -> pa.Schema:
    return pa.schema([(name, _KIND_ARROW[kind]) for name, kind in RUN_RESULTS_COLUMNS[table]])


def run_results_ddl(table: str) -> str:
    return ", ".join(f"{name} {_KIND_DUCKDB[kind]}" for name, kind in RUN_RESULTS_COLUMNS[table])
