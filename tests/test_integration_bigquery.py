"""The package end to end on DuckDB over generated BigQuery logs, against the generator's ground truth.

Full refresh at as-of T1, incremental at T2 (new days, late rows, jobs that finished since), then
the same window again: every mart must equal the ground truth to the cent (we check far tighter),
and the re-run must change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import MARTS_SCHEMA, PROJECT_DIR, as_decimal, generate, rows, run_dbt

DAYS = 21
SEED = 7
END = dt.datetime.now(dt.UTC).date()
T1 = dt.datetime.combine(END - dt.timedelta(days=3), dt.time(9, 30), tzinfo=dt.UTC)
T2 = dt.datetime.combine(END, dt.time(0, 0), tzinfo=dt.UTC)
MONEY_TOLERANCE = Decimal("0.000001")  # the issue asks for the cent; exact decimals do far better

# mart -> (key columns, columns compared with the ground truth table of the same name)
CONTRACTS: dict[str, tuple[list[str], list[str]]] = {
    "query_costs": (
        ["project_id", "location", "job_id"],
        ["is_dbt", "attribution", "attribution_source", "invocation_id", "node_id", "pipeline_id",
         "pipeline_run_id", "pricing_model", "bytes_billed", "slot_ms", "cost", "currency", "cost_date"],
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
        ["orchestrator", "run_started_at", "total_cost", "currency", "query_count", "model_count",
         "invocation_count", "previous_run_cost", "rolling_avg_cost", "is_cost_anomaly"],
    ),
    "cost_coverage": (
        ["platform", "cost_date"],
        ["currency", "billed_cost", "attributed_cost", "unattributed_not_dbt_cost",
         "unattributed_dbt_without_node_cost", "unattributed_unknown_cost", "query_count"],
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


def _mart_sql(mart: str) -> str:
    keys, columns = CONTRACTS[mart]
    select = ["query_id as job_id" if c == "job_id" else c for c in keys] + columns
    return f"select {', '.join(select)} from {MARTS_SCHEMA}.{mart}"


def _same(column: str, got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, Decimal) or isinstance(got, Decimal):
        tolerance = Decimal("0.001") if column.endswith("_s") else MONEY_TOLERANCE
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
    mismatches = [
        (key, column, got[key][column], want[key][column])
        for key in want for column in columns
        if not _same(column, got[key][column], want[key][column])
    ]
    assert not mismatches, f"{mart}: {len(mismatches)} values differ, e.g. {mismatches[:5]}"


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for mart in CONTRACTS:
        table = rows(db, f"select * from {MARTS_SCHEMA}.{mart}")
        result[mart] = sorted((tuple(r.values()) for r in table), key=str)
    return result


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bigquery") / "warehouse.duckdb"


def _as_of(as_of: dt.datetime) -> list[str]:
    """The SAO marts measure at the same moment the generator's truth does."""
    return ["--vars", json.dumps({"dbt_pipeline_costs_as_of": as_of.isoformat()})]


def _generate(db: Path, as_of: dt.datetime) -> None:
    generate(db, "--days", str(DAYS), "--end-date", END.isoformat(), "--seed", str(SEED),
             "--as-of", as_of.isoformat())


@pytest.fixture(scope="module")
def full_refresh(warehouse: Path) -> Path:
    _generate(warehouse, T1)
    run_dbt(["build", "--full-refresh", *_as_of(T1)], warehouse)
    results = json.loads((PROJECT_DIR / "target" / "run_results.json").read_text())["results"]
    unit_tests = [r["status"] for r in results if r["unique_id"].startswith("unit_test.dbt_pipeline_costs.")]
    assert unit_tests and set(unit_tests) == {"pass"}, f"the package's dbt unit tests did not all run and pass: {unit_tests}"
    return warehouse


@pytest.mark.parametrize("mart", list(CONTRACTS))
def test_full_refresh_equals_ground_truth(full_refresh: Path, mart: str) -> None:
    assert_mart_equals_truth(full_refresh, mart)


@pytest.fixture(scope="module")
def incremental(full_refresh: Path) -> Path:
    before = rows(full_refresh, f"select count(*) as n from {MARTS_SCHEMA}.query_costs")[0]["n"]
    _generate(full_refresh, T2)
    run_dbt(["build", *_as_of(T2)], full_refresh)
    after = rows(full_refresh, f"select count(*) as n from {MARTS_SCHEMA}.query_costs")[0]["n"]
    assert after > before, "the incremental run added no queries: the test would prove nothing"
    return full_refresh


@pytest.mark.parametrize("mart", list(CONTRACTS))
def test_incremental_equals_ground_truth(incremental: Path, mart: str) -> None:
    assert_mart_equals_truth(incremental, mart)


def test_rerun_over_the_same_window_changes_nothing(incremental: Path) -> None:
    before = snapshot(incremental)
    run_dbt(["build", *_as_of(T2)], incremental)
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
