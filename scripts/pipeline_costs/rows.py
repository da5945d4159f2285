"""Per-row jobs (dbt invocations and the few hand-made noise cases) and their Arrow conversion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline_costs import schema

PROJECT_NUMBERS: dict[str, int] = {"acme-analytics": 482019384756, "acme-bi": 771203948561}

TableRef = tuple[str, str, str]


def principal_of(user_email: str) -> str:
    kind = "serviceAccount" if user_email.endswith(".gserviceaccount.com") else "user"
    return f"{kind}:{user_email}"


@dataclass(slots=True)
class Job:
    job_id: str
    project_id: str
    location: str
    user_email: str
    creation_ms: int
    start_ms: int
    end_ms: int
    arrival_ms: int
    job_type: str = "QUERY"
    statement_type: str | None = "SELECT"
    priority: str = "INTERACTIVE"
    query: str | None = None
    labels: Sequence[tuple[str, str]] = ()
    destination: TableRef | None = None
    referenced: Sequence[TableRef] = ()
    bytes_processed: int | None = 0
    bytes_billed: int | None = 0
    slot_ms: int | None = 0
    cache_hit: bool | None = False
    reservation_id: str | None = None
    edition: str | None = None
    error_reason: str | None = None
    error_message: str | None = None
    dml: tuple[int, int, int] | None = None
    query_hash: str | None = None
    parent_job_id: str | None = None
    # bookkeeping (the simulation's truth)
    invocation_id: str | None = None
    node_id: str | None = None
    pipeline_id: str | None = None
    pipeline_run_id: str | None = None
    orchestrator: str | None = None
    source: str = "none"


def _ts(values: list[int]) -> pa.Array:
    return pa.array(np.asarray(values, dtype="int64"), pa.int64()).cast(schema.TS)


def _table_refs(refs: list[TableRef | None]) -> pa.Array:
    return pa.array(
        [None if r is None else {"project_id": r[0], "dataset_id": r[1], "table_id": r[2]} for r in refs],
        schema.TABLE_REF,
    )


def jobs_to_table(jobs: Sequence[Job]) -> pa.Table:
    """Columns in schema.FULL_SCHEMA order; every job in state DONE (the snapshot decides later)."""
    n = len(jobs)
    label_offsets = np.zeros(n + 1, dtype=np.int32)
    keys: list[str] = []
    values: list[str] = []
    for i, job in enumerate(jobs):
        for key, value in job.labels:
            keys.append(key)
            values.append(value)
        label_offsets[i + 1] = len(keys)
    labels = pa.ListArray.from_arrays(
        pa.array(label_offsets, pa.int32()),
        pa.StructArray.from_arrays([pa.array(keys, pa.string()), pa.array(values, pa.string())], fields=list(schema.LABEL)),
    )
    ref_offsets = np.zeros(n + 1, dtype=np.int32)
    refs: list[TableRef | None] = []
    for i, job in enumerate(jobs):
        refs.extend(job.referenced)
        ref_offsets[i + 1] = len(refs)
    referenced = pa.ListArray.from_arrays(pa.array(ref_offsets, pa.int32()), _table_refs(refs))
    errors = pa.array(
        [
            None if j.error_reason is None else {"reason": j.error_reason, "message": j.error_message}
            for j in jobs
        ],
        schema.ERROR_RESULT,
    )
    dml = pa.array(
        [
            None if j.dml is None else dict(zip(schema.DML_STATISTICS.names, j.dml, strict=True))
            for j in jobs
        ],
        schema.DML_STATISTICS,
    )
    query_info = pa.array(
        [{"query_hashes": {"normalized_literals": j.query_hash}} if j.query_hash else None for j in jobs],
        schema.QUERY_INFO,
    )

    def col(name: str, typ: pa.DataType) -> pa.Array:
        return pa.array([getattr(j, name) for j in jobs], typ)

    columns: dict[str, pa.Array] = {
        "job_id": col("job_id", pa.string()),
        "parent_job_id": col("parent_job_id", pa.string()),
        "project_id": col("project_id", pa.string()),
        "project_number": pa.array([PROJECT_NUMBERS[j.project_id] for j in jobs], pa.int64()),
        "user_email": col("user_email", pa.string()),
        "principal_subject": pa.array([principal_of(j.user_email) for j in jobs], pa.string()),
        "session_info": pa.nulls(n, schema.SESSION_INFO),
        "transaction_id": pa.nulls(n, pa.string()),
        "creation_time": _ts([j.creation_ms for j in jobs]),
        "start_time": _ts([j.start_ms for j in jobs]),
        "end_time": _ts([j.end_ms for j in jobs]),
        "job_type": col("job_type", pa.string()),
        "statement_type": col("statement_type", pa.string()),
        "state": pa.array(["DONE"] * n, pa.string()),
        "priority": col("priority", pa.string()),
        "query": col("query", pa.string()),
        "labels": labels,
        "destination_table": _table_refs([j.destination for j in jobs]),
        "referenced_tables": referenced,
        "total_bytes_processed": col("bytes_processed", pa.int64()),
        "total_bytes_billed": col("bytes_billed", pa.int64()),
        "total_slot_ms": col("slot_ms", pa.int64()),
        "cache_hit": col("cache_hit", pa.bool_()),
        "reservation_id": col("reservation_id", pa.string()),
        "edition": col("edition", pa.string()),
        "error_result": errors,
        "dml_statistics": dml,
        "query_info": query_info,
        "_location": col("location", pa.string()),
        "_arrival_ms": col("arrival_ms", pa.int64()),
        "_invocation_id": col("invocation_id", pa.string()),
        "_node_id": col("node_id", pa.string()),
        "_pipeline_id": col("pipeline_id", pa.string()),
        "_pipeline_run_id": col("pipeline_run_id", pa.string()),
        "_orchestrator": col("orchestrator", pa.string()),
        "_source": col("source", pa.string()),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema.FULL_SCHEMA], schema=schema.FULL_SCHEMA)
