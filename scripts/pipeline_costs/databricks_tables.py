"""The Databricks truth as ground_truth tables, and as rows beside BigQuery's priced jobs so the
shared marts (model_costs, the pipeline marts, the reuse marts) roll both platforms up alike."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pipeline_costs.databricks_rows import utc_date
from pipeline_costs.databricks_truth import DatabricksTruth, Line, StatementCost
from pipeline_costs.ground_truth import MONEY, QUANTITIES, TS, _dec

_CONTEXT = ("invocation_id", "node_id", "pipeline_id", "pipeline_run_id", "orchestrator")
_NO_CONTEXT = (None,) * len(_CONTEXT)


def _statement_item(cost: StatementCost) -> dict:
    s = cost.statement
    return {
        "project_id": s.workspace_id, "location": s.compute_id, "job_id": s.statement_id, "parent_job_id": None,
        "is_dbt": cost.context is not None, "attribution": cost.attribution, "attribution_source": cost.source,
        **dict(zip(_CONTEXT, cost.context or _NO_CONTEXT, strict=True)),
        "pricing_model": "warehouse_share" if s.on_warehouse else "not_priced", "bytes_billed": None,
        "slot_ms": None, "error_reason": None if cost.status == "FINISHED" else cost.status.lower(),
        "start_ms": s.start_ms, "end_ms": s.end_ms, "q_units": cost.units, "cost_date": utc_date(s.end_ms),
        "platform": "databricks", "product": None, "is_query": True, "has_missing_usage": cost.has_missing_usage,
    }


def _job_run_item(line: Line) -> dict:
    return {
        "project_id": line.workspace_id, "location": None, "job_id": line.job_run_id, "parent_job_id": None,
        "is_dbt": True, "attribution": line.attribution, "attribution_source": "job_run",
        **dict(zip(_CONTEXT, line.context or _NO_CONTEXT, strict=True)),
        "pricing_model": "job_run", "bytes_billed": None, "slot_ms": None, "error_reason": None, "start_ms": None,
        "end_ms": None, "q_units": line.units, "cost_date": line.cost_date, "platform": "databricks",
        "product": line.product, "is_query": False, "has_missing_usage": False,
    }


def with_databricks(jobs: pd.DataFrame, truth: DatabricksTruth) -> pd.DataFrame:
    """BigQuery's priced jobs, Databricks' statements, and the job-run lines of dbt runs (not queries)."""
    rows = [_statement_item(cost) for cost in truth.statements]
    rows += [_job_run_item(line) for line in truth.lines if line.line_type == "job_run" and line.context is not None]
    databricks = pd.DataFrame(rows, columns=list(jobs.columns))
    for name in QUANTITIES[:-1]:
        databricks[name] = 0
    databricks["q_units"] = databricks["q_units"].astype(object)
    items = pd.concat([jobs, databricks], ignore_index=True)
    for name in ("start_ms", "end_ms", "bytes_billed", "slot_ms"):
        items[name] = items[name].astype("Int64")
    for name in ("is_dbt", "is_query", "has_missing_usage"):
        items[name] = items[name].astype(bool)
    return items


def _ts(values: list[int | None]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(TS)


def _money(values: list[int]) -> pa.Array:
    return pa.array([_dec(v) for v in values], MONEY)


def warehouse_hours(truth: DatabricksTruth, currency: str) -> pa.Table:
    rows = truth.hours
    return pa.table({
        "workspace_id": pa.array([r["workspace_id"] for r in rows], pa.string()),
        "warehouse_id": pa.array([r["warehouse_id"] for r in rows], pa.string()),
        "hour_started_at": _ts([r["hour_started_at"] for r in rows]),
        **{name: _money([r[name] for r in rows]) for name in (
            "billed_cost", "statement_cost", "idle_cost", "statement_cost_separate", "idle_cost_separate")},
        "statement_count": pa.array([r["statement_count"] for r in rows], pa.int64()),
        "currency": pa.array([currency] * len(rows), pa.string()),
    })


def job_runs(truth: DatabricksTruth, currency: str) -> pa.Table:
    rows = truth.job_runs
    return pa.table({
        "workspace_id": pa.array([r["workspace_id"] for r in rows], pa.string()),
        "job_run_id": pa.array([r["job_run_id"] for r in rows], pa.string()),
        "linked_by": pa.array([r["linked_by"] for r in rows], pa.string()),
        "invocation_count": pa.array([r["invocation_count"] for r in rows], pa.int64()),
        "attribution": pa.array([r["attribution"] for r in rows], pa.string()),
        "billed_cost": _money([r["billed_cost"] for r in rows]),
        "attributed_cost": _money([r["attributed_cost"] for r in rows]),
        "currency": pa.array([currency] * len(rows), pa.string()),
    })


def cost_lines(truth: DatabricksTruth, currency: str) -> pa.Table:
    lines = truth.lines
    contexts = [line.context or _NO_CONTEXT for line in lines]
    return pa.table({
        "line_type": pa.array([line.line_type for line in lines], pa.string()),
        "workspace_id": pa.array([line.workspace_id for line in lines], pa.string()),
        "compute_id": pa.array([line.compute_id for line in lines], pa.string()),
        "hour_started_at": _ts([line.hour_ms for line in lines]),
        "query_id": pa.array([line.query_id for line in lines], pa.string()),
        "job_run_id": pa.array([line.job_run_id for line in lines], pa.string()),
        **{name: pa.array([c[i] for c in contexts], pa.string()) for i, name in enumerate(_CONTEXT[:4])},
        "attribution": pa.array([line.attribution for line in lines], pa.string()),
        "cost": _money([line.units for line in lines]),
        "currency": pa.array([currency] * len(lines), pa.string()),
        "cost_date": pa.array([line.cost_date for line in lines], pa.date32()),
        "product": pa.array([line.product for line in lines], pa.string()),
    })


def tables(truth: DatabricksTruth, currency: str) -> dict[str, pa.Table]:
    return {
        "databricks_warehouse_hours": warehouse_hours(truth, currency),
        "databricks_job_runs": job_runs(truth, currency),
        "databricks_cost_lines": cost_lines(truth, currency),
    }
