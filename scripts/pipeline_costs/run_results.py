"""The rows the package's on-run-end hook (upload_run_results) appends for one finished invocation:
one to dbt_invocations, one per node result to dbt_node_results (docs/cost-rules.md section 7;
columns: schema.RUN_RESULTS_COLUMNS, the mirror of macros/upload/run_results_columns.sql).

Per node Python: results are far fewer than jobs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pyarrow as pa

from pipeline_costs import comment as qc
from pipeline_costs import schema
from pipeline_costs.databricks_runs import DatabricksRunner
from pipeline_costs.dbt_runs import DbtRunner, InvocationRunner, NodeResult
from pipeline_costs.project import Node

DBT_VERSION = "1.11.16"
PACKAGE_VERSION = "0.5.0"  # the package's dbt_project.yml version
MESSAGE_MAX_CHARS = 4096  # dbt_pipeline_costs_upload_message_max_chars

Row = dict[str, Any]
Runner = TypeVar("Runner", bound=DbtRunner)

_NODE_CONFIG: dict[str, Row] = {}


def _json(value: object) -> str:
    """As the hook writes JSON (Jinja's tojson: keys sorted)."""
    return json.dumps(value, sort_keys=True)


def _node_config(node: Node) -> Row:
    """The node's project fields of a result row (cached: the same for every result of the node)."""
    cached = _NODE_CONFIG.get(node.unique_id)
    if cached is None:
        tags = node.sorted_tags
        freshness = node.freshness_config
        state = node.state_config
        build_after = node.build_after
        cached = _NODE_CONFIG[node.unique_id] = {
            "node_id": node.unique_id,
            "resource_type": node.resource_type,
            "package_name": node.package,
            "name": node.name,
            "original_file_path": node.original_file_path,
            "folder": node.folder,
            "materialized": node.materialized,
            "tags": _json(tags),
            "first_tag": tags[0] if tags else None,
            "freshness_config": None if freshness is None else _json(freshness),
            "build_after_count": build_after[0] if build_after else None,
            "build_after_period": build_after[1] if build_after else None,
            "build_after_updates_on": build_after[2] if build_after else None,
            "state_config": None if state is None else _json(state),
            "has_freshness_config": node.has_freshness_config,
        }
    return cached


def _us(ms: int | None) -> int | None:
    return None if ms is None else ms * 1000


def _result_fields(invocation_id: str, result: NodeResult) -> Row:
    """A node result's columns but its adapter_response ones."""
    message = result.message
    truncated = message is not None and len(message) > MESSAGE_MAX_CHARS
    compile_ms = result.compile_ms or (None, None)
    execute_ms = result.execute_ms or (None, None)
    return {
        "invocation_id": invocation_id,
        **_node_config(result.node),
        "status": result.status,
        "thread_id": f"Thread-{result.thread + 1} (worker)",
        "compile_started_at": _us(compile_ms[0]),
        "compile_completed_at": _us(compile_ms[1]),
        "execute_started_at": _us(execute_ms[0]),
        "execute_completed_at": _us(execute_ms[1]),
        "execution_time_s": result.execution_time_s,
        "rows_affected": result.rows_affected,
        "adapter_code": result.adapter_code,
        "message": message[:MESSAGE_MAX_CHARS] if truncated else message,  # type: ignore[index]
        "message_truncated": truncated,
        "failures": result.failures,
    }


def bigquery_node_row(runner: InvocationRunner, result: NodeResult) -> Row:
    """dbt-bigquery's adapter_response: the job of the node's main statement (none for a seed's load)."""
    job = result.main_job
    reported = job is not None and result.report_job_id
    return {
        **_result_fields(runner.inv.invocation_id, result),
        "bytes_processed": job.bytes_processed if reported else None,  # type: ignore[union-attr]
        "bytes_billed": job.bytes_billed if reported else None,  # type: ignore[union-attr]
        "slot_ms": job.slot_ms if reported else None,  # type: ignore[union-attr]
        "adapter_job_id": job.job_id if reported else None,  # type: ignore[union-attr]
        "adapter_query_id": None,  # BigQuery reports a job id, not a query id
        "adapter_job_run_id": None,  # a Databricks job run (dbt-databricks inside a Jobs dbt task)
        "adapter_project_id": job.project_id if reported else None,  # type: ignore[union-attr]
        "adapter_location": job.location.upper() if reported else None,  # type: ignore[union-attr]
    }


def databricks_node_row(runner: DatabricksRunner, result: NodeResult) -> Row:
    """dbt-databricks' adapter_response: the statement id of the node's main statement, and the job
    run when it runs inside a Databricks Jobs dbt task (>= 1.12.1); no bytes, no project."""
    inv = runner.inv
    return {
        **_result_fields(inv.invocation_id, result),
        **dict.fromkeys(("bytes_processed", "bytes_billed", "slot_ms", "adapter_job_id", "adapter_project_id",
                         "adapter_location")),
        "adapter_query_id": runner.reported.get(result.node.unique_id),
        "adapter_job_run_id": inv.job_run.job_run_id if inv.job_run is not None and inv.reports_job_run else None,
    }


def invocation_rows(runner: Runner, node_row: Callable[[Runner, NodeResult], Row],
                    adapter_type: str) -> tuple[Row, list[Row]]:
    """(dbt_invocations row, dbt_node_results rows) of an invocation whose upload succeeded; node_row
    gives a result's row with the adapter's adapter_response."""
    inv, ctx = runner.inv, runner.ctx
    assert runner.run_ended_ms is not None
    nodes = [node_row(runner, result) for result in runner.results]
    ended_us = runner.run_ended_ms * 1000
    invocation = {
        "invocation_id": inv.invocation_id,
        "project_name": inv.dbt_project,
        "command": inv.command,
        "target_name": inv.target,
        "adapter_type": adapter_type,
        "dbt_version": DBT_VERSION,
        "package_version": PACKAGE_VERSION,
        "run_started_at": inv.run_started_us,
        "run_ended_at": ended_us,
        "elapsed_s": (ended_us - inv.run_started_us) / 1_000_000,
        "is_full_refresh": inv.is_full_refresh,
        "selectors": None if inv.selectors is None else _json({"select": list(inv.selectors)}),
        "orchestrator": ctx.get("orchestrator"),
        "pipeline_id": ctx.get("pipeline_id"),
        "pipeline_run_id": ctx.get("pipeline_run_id"),
        "pipeline_task_id": ctx.get("pipeline_task_id"),
        "run_reason": ctx.get("run_reason"),
        "job_type": qc.job_type(inv.env),
        "node_result_count": len(nodes),
    }
    return invocation, nodes


def to_table(table: str, rows: Sequence[Row]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=schema.run_results_schema(table))
