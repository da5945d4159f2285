"""The package end to end on DuckDB over generated BigQuery (and Databricks) logs, against the
generator's ground truth.

Full refresh at as-of T1, incremental at T2 (new days, late rows, jobs that finished since), then
the same window again: every mart must equal the ground truth to the cent (we check far tighter where
no Databricks allocation is involved), and the re-run must change nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import MARTS_SCHEMA, T1, T2, as_decimal, as_of_vars, integration_build, rows, run_dbt

MONEY_TOLERANCE = Decimal("0.000001")  # the issue asks for the cent; exact decimals do far better
# Databricks money is shared out in 8-byte floats rounded to 12 decimals, which engines may round
# differently in the last place; sums of such shares are compared to the cent's half.
ALLOCATED_MONEY_TOLERANCE = Decimal("0.005")

# mart -> (key columns, columns compared with the ground truth table of the same name)
CONTRACTS: dict[str, tuple[list[str], list[str]]] = {
    "query_costs": (
        ["platform", "project_id", "location", "job_id"],
        ["is_dbt", "attribution", "attribution_source", "invocation_id", "node_id", "pipeline_id",
         "pipeline_run_id", "pricing_model", "bytes_billed", "slot_ms", "cost", "currency", "cost_date",
         "has_missing_usage"],
    ),
    "model_costs": (
        ["invocation_id", "node_id"],
        ["platform", "status", "cost", "currency", "query_count", "bytes_billed", "slot_ms", "execution_time_s", "pipeline_id",
         "has_run_result", "thread_id", "execute_started_at", "execute_completed_at", "dbt_execution_time_s",
         "rows_affected"],
    ),
    "pipeline_stage_costs": (
        ["pipeline_id", "pipeline_run_id", "stage"],
        ["cost", "currency", "query_count", "model_count"],
    ),
    "pipeline_cost_history": (
        ["pipeline_id", "pipeline_run_id"],
        ["platform", "orchestrator", "run_started_at", "total_cost", "currency", "query_count", "model_count",
         "invocation_count", "previous_run_cost", "rolling_avg_cost", "is_cost_anomaly"],
    ),
    "cost_coverage": (
        ["platform", "cost_date", "product"],
        ["currency", "billed_cost", "attributed_cost", "unattributed_not_dbt_cost",
         "unattributed_dbt_without_node_cost", "unattributed_unknown_cost", "unattributed_idle_cost",
         "unattributed_other_compute_cost", "query_count", "unpriced_usage_quantity"],
    ),
    # reuse, freshness and SAO marts (docs/cost-rules.md section 9), measured at the generator's as-of
    "model_reuse": (
        ["invocation_id"],
        ["pipeline_id", "model_count", "success_count", "error_count", "skipped_count", "reused_count",
         "built_count", "reuse_rate", "meets_reuse_goal", "previous_reuse_rate", "rolling_reuse_rate", "reuse_trend"],
    ),
    "freshness_coverage": (
        ["invocation_id", "package_name", "resource_type"],
        ["node_count", "freshness_config_count", "build_after_count", "state_config_count", "coverage_pct",
         "meets_coverage_goal", "is_sao_run", "config_gap"],
    ),
    "slo_compliance": (
        ["node_id"],
        ["build_after_s", "last_success_at", "age_s", "slo_status"],
    ),
    "sao_opportunities": (
        ["pipeline_id"],
        ["run_count", "runs_per_day", "avg_duration_s", "total_cost", "avg_run_cost", "currency", "reused_count",
         "built_count", "current_reuse_rate", "impact_score", "estimated_monthly_savings", "priority"],
    ),
    "job_overlap": (
        ["target_name", "node_id"],
        ["job_count", "build_count", "job_ids", "total_cost", "primary_pipeline_id", "redundant_build_count",
         "redundant_cost"],
    ),
    "reuse_savings": (
        ["invocation_id", "node_id"],
        ["sample_size", "estimated_cost_saved", "estimated_seconds_saved"],
    ),
}
FLOAT_RELATIVE_TOLERANCE = 1e-9  # rates and scores are floats; their truth is exact


# Per mart: the keys of the rows whose money involves a Databricks allocation (looser tolerance).
_DATABRICKS_PIPELINES = """select pipeline_id from ground_truth.pipeline_cost_history where platform <> 'bigquery'"""
_DATABRICKS_TARGETS = """select coalesce(target_name, '(unknown target)') from main_pipeline_costs.dbt_invocations
    where adapter_type = 'databricks'"""
ALLOCATED_ROWS: dict[str, str] = {
    "query_costs": "select {keys} from ground_truth.query_costs where platform = 'databricks'",
    "model_costs": "select {keys} from ground_truth.model_costs where platform = 'databricks'",
    "pipeline_stage_costs": f"select {{keys}} from ground_truth.pipeline_stage_costs where pipeline_id in ({_DATABRICKS_PIPELINES})",
    "pipeline_cost_history": f"select {{keys}} from ground_truth.pipeline_cost_history where pipeline_id in ({_DATABRICKS_PIPELINES})",
    "cost_coverage": "select {keys} from ground_truth.cost_coverage where platform = 'databricks'",
    "sao_opportunities": f"select {{keys}} from ground_truth.sao_opportunities where pipeline_id in ({_DATABRICKS_PIPELINES})",
    "job_overlap": f"select {{keys}} from ground_truth.job_overlap where target_name in ({_DATABRICKS_TARGETS})",
    "reuse_savings": f"select {{keys}} from ground_truth.reuse_savings where coalesce(target_name, '(unknown target)') in ({_DATABRICKS_TARGETS})",
}


def _mart_sql(mart: str) -> str:
    keys, columns = CONTRACTS[mart]
    select = ["query_id as job_id" if c == "job_id" else c for c in keys] + columns
    return f"select {', '.join(select)} from {MARTS_SCHEMA}.{mart}"


def _same(column: str, got: Any, want: Any, money_tolerance: Decimal = MONEY_TOLERANCE) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, Decimal) or isinstance(got, Decimal):
        tolerance = Decimal("0.001") if column.endswith("_s") else money_tolerance
        return abs(as_decimal(got) - as_decimal(want)) <= tolerance  # type: ignore[operator]
    if isinstance(want, float) or isinstance(got, float):
        return abs(float(got) - float(want)) <= FLOAT_RELATIVE_TOLERANCE * max(1.0, abs(float(want)))
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return got == want
    return got == want


def assert_mart_equals_truth(db: Path, mart: str) -> None:
    keys, columns = CONTRACTS[mart]
    got = {tuple(r[k] for k in keys): r for r in rows(db, _mart_sql(mart))}
    want = {tuple(r[k] for k in keys): r for r in rows(db, f"select {', '.join(keys + columns)} from ground_truth.{mart}")}
    assert want, f"ground_truth.{mart} is empty: the generator wrote nothing to compare"
    missing = sorted(set(want) - set(got), key=str)[:5]
    extra = sorted(set(got) - set(want), key=str)[:5]
    assert not missing and not extra, f"{mart}: rows missing {missing} / unexpected {extra}"
    allocated = {tuple(r.values()) for r in rows(db, ALLOCATED_ROWS[mart].format(keys=", ".join(keys)))} \
        if mart in ALLOCATED_ROWS else set()
    mismatches = [
        (key, column, got[key][column], want[key][column])
        for key in want for column in columns
        if not _same(column, got[key][column], want[key][column],
                     ALLOCATED_MONEY_TOLERANCE if key in allocated else MONEY_TOLERANCE)
    ]
    assert not mismatches, f"{mart}: {len(mismatches)} values differ, e.g. {mismatches[:5]}"


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for mart in CONTRACTS:
        table = rows(db, f"select * from {MARTS_SCHEMA}.{mart}")
        result[mart] = sorted((tuple(r.values()) for r in table), key=str)
    return result


@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


@pytest.mark.parametrize("mart", list(CONTRACTS))
def test_full_refresh_equals_ground_truth(full_refresh: Path, mart: str) -> None:
    assert_mart_equals_truth(full_refresh, mart)


@pytest.fixture(scope="module")
def incremental(full_refresh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "incremental")


@pytest.mark.parametrize("mart", list(CONTRACTS))
def test_incremental_equals_ground_truth(incremental: Path, mart: str) -> None:
    assert_mart_equals_truth(incremental, mart)


def test_rerun_over_the_same_window_changes_nothing(incremental: Path) -> None:
    before = snapshot(incremental)
    run_dbt(["build", *as_of_vars(T2)], incremental)
    assert snapshot(incremental) == before


def test_incremental_picked_up_late_rows_and_finished_jobs(incremental: Path) -> None:
    """Jobs that were RUNNING or not yet visible at T1 but created before T1 are priced after T2."""
    late = rows(incremental, f"""
        select count(*) as n
        from {MARTS_SCHEMA}.query_costs as q
        join ground_truth.query_costs as t on q.query_id = t.job_id and q.project_id = t.project_id
        where q.created_at < timestamptz '{T1.isoformat()}' and q.ended_at > timestamptz '{T1.isoformat()}'
    """)[0]["n"]
    assert late > 0
