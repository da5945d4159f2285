"""Writes the simulated JOBS tables and the ground truth into one DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline_costs import databricks_rows, schema, table_storage

TRUTH_SCHEMA = "ground_truth"

TRUTH_DDL: dict[str, str] = {
    "query_costs": """
        platform VARCHAR, project_id VARCHAR, location VARCHAR, job_id VARCHAR, parent_job_id VARCHAR,
        is_dbt BOOLEAN, attribution VARCHAR, attribution_source VARCHAR, invocation_id VARCHAR, node_id VARCHAR,
        pipeline_id VARCHAR, pipeline_run_id VARCHAR, orchestrator VARCHAR, pricing_model VARCHAR,
        bytes_billed BIGINT, slot_ms BIGINT, cost DECIMAL(38,18), currency VARCHAR, cost_date DATE,
        has_missing_usage BOOLEAN, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ""",
    "model_costs": """
        invocation_id VARCHAR, node_id VARCHAR, platform VARCHAR, resource_type VARCHAR, pipeline_id VARCHAR,
        pipeline_run_id VARCHAR, status VARCHAR, cost DECIMAL(38,18), currency VARCHAR, query_count BIGINT,
        bytes_billed BIGINT, slot_ms BIGINT, first_started_at TIMESTAMPTZ, last_ended_at TIMESTAMPTZ,
        execution_time_s DECIMAL(38,3), has_run_result BOOLEAN, thread_id VARCHAR, compile_started_at TIMESTAMPTZ,
        execute_started_at TIMESTAMPTZ, execute_completed_at TIMESTAMPTZ, dbt_execution_time_s DOUBLE,
        rows_affected BIGINT""",
    "pipeline_stage_costs": """
        pipeline_id VARCHAR, pipeline_run_id VARCHAR, stage VARCHAR, cost DECIMAL(38,18), currency VARCHAR,
        query_count BIGINT, model_count BIGINT""",
    "pipeline_cost_history": """
        pipeline_id VARCHAR, pipeline_run_id VARCHAR, platform VARCHAR, orchestrator VARCHAR, run_started_at TIMESTAMPTZ,
        total_cost DECIMAL(38,18), currency VARCHAR, query_count BIGINT, model_count BIGINT,
        invocation_count BIGINT, previous_run_cost DECIMAL(38,18), rolling_avg_cost DECIMAL(38,18),
        is_cost_anomaly BOOLEAN""",
    "cost_coverage": """
        platform VARCHAR, cost_date DATE, product VARCHAR, currency VARCHAR, billed_cost DECIMAL(38,18),
        attributed_cost DECIMAL(38,18), unattributed_not_dbt_cost DECIMAL(38,18),
        unattributed_dbt_without_node_cost DECIMAL(38,18), unattributed_unknown_cost DECIMAL(38,18),
        unattributed_idle_cost DECIMAL(38,18), unattributed_other_compute_cost DECIMAL(38,18), query_count BIGINT,
        unpriced_usage_quantity DECIMAL(38,18)""",
    "databricks_warehouse_hours": """
        workspace_id VARCHAR, warehouse_id VARCHAR, hour_started_at TIMESTAMPTZ, billed_cost DECIMAL(38,18),
        statement_cost DECIMAL(38,18), idle_cost DECIMAL(38,18), statement_cost_separate DECIMAL(38,18),
        idle_cost_separate DECIMAL(38,18), statement_count BIGINT, currency VARCHAR""",
    "databricks_job_runs": """
        workspace_id VARCHAR, job_run_id VARCHAR, linked_by VARCHAR, invocation_count BIGINT, attribution VARCHAR,
        billed_cost DECIMAL(38,18), attributed_cost DECIMAL(38,18), currency VARCHAR""",
    "databricks_cost_lines": """
        line_type VARCHAR, workspace_id VARCHAR, compute_id VARCHAR, hour_started_at TIMESTAMPTZ, query_id VARCHAR,
        job_run_id VARCHAR, invocation_id VARCHAR, node_id VARCHAR, pipeline_id VARCHAR, pipeline_run_id VARCHAR,
        attribution VARCHAR, cost DECIMAL(38,18), currency VARCHAR, cost_date DATE, product VARCHAR""",
    "planted_cases": """
        case_name VARCHAR, project_id VARCHAR, location VARCHAR, job_id VARCHAR, note VARCHAR, present BOOLEAN,
        state VARCHAR""",
    "model_reuse": """
        invocation_id VARCHAR, pipeline_id VARCHAR, pipeline_run_id VARCHAR, command VARCHAR, job_type VARCHAR,
        target_name VARCHAR, run_started_at TIMESTAMPTZ, model_count BIGINT, success_count BIGINT,
        error_count BIGINT, partial_success_count BIGINT, skipped_count BIGINT, no_op_count BIGINT,
        reused_count BIGINT, built_count BIGINT, reuse_rate DOUBLE, reuse_goal_pct DOUBLE, meets_reuse_goal BOOLEAN,
        previous_reuse_rate DOUBLE, rolling_reuse_rate DOUBLE, reuse_trend VARCHAR""",
    "freshness_coverage": """
        invocation_id VARCHAR, package_name VARCHAR, resource_type VARCHAR, pipeline_id VARCHAR,
        target_name VARCHAR, run_started_at TIMESTAMPTZ, node_count BIGINT, freshness_config_count BIGINT,
        build_after_count BIGINT, state_config_count BIGINT, coverage_pct DOUBLE, coverage_goal_pct DOUBLE,
        meets_coverage_goal BOOLEAN, is_sao_run BOOLEAN, config_gap VARCHAR""",
    "slo_compliance": """
        node_id VARCHAR, package_name VARCHAR, name VARCHAR, last_pipeline_id VARCHAR, last_result_at TIMESTAMPTZ,
        last_status VARCHAR, build_after_count BIGINT, build_after_period VARCHAR, build_after_s BIGINT,
        last_success_at TIMESTAMPTZ, as_of TIMESTAMPTZ, age_s BIGINT, slo_status VARCHAR""",
    "sao_opportunities": """
        pipeline_id VARCHAR, run_count BIGINT, runs_per_day DOUBLE, avg_duration_s DOUBLE,
        total_cost DECIMAL(38,18), avg_run_cost DECIMAL(38,18), currency VARCHAR, reused_count BIGINT,
        built_count BIGINT, current_reuse_rate DOUBLE, reuse_goal_pct DOUBLE, impact_score DOUBLE,
        estimated_monthly_savings DECIMAL(38,18), priority VARCHAR""",
    "job_overlap": """
        target_name VARCHAR, node_id VARCHAR, job_count BIGINT, build_count BIGINT, job_ids VARCHAR,
        total_cost DECIMAL(38,18), currency VARCHAR, primary_pipeline_id VARCHAR, redundant_build_count BIGINT,
        redundant_cost DECIMAL(38,18)""",
    "reuse_savings": """
        invocation_id VARCHAR, node_id VARCHAR, pipeline_id VARCHAR, target_name VARCHAR,
        run_started_at TIMESTAMPTZ, sample_size BIGINT, estimated_cost_saved DECIMAL(38,18), currency VARCHAR,
        estimated_seconds_saved DOUBLE""",
    "generator_runs": """
        seed BIGINT, days INTEGER, end_date DATE, as_of TIMESTAMPTZ, scale DOUBLE, currency VARCHAR,
        generator_version VARCHAR, jobs_us BIGINT, jobs_eu BIGINT, query_costs_rows BIGINT,
        model_costs_rows BIGINT, pipeline_stage_costs_rows BIGINT, pipeline_cost_history_rows BIGINT,
        cost_coverage_rows BIGINT, dbt_invocations_rows BIGINT, dbt_node_results_rows BIGINT,
        databricks_history_rows BIGINT, databricks_usage_rows BIGINT, databricks_list_prices_rows BIGINT,
        databricks_warehouse_hours_rows BIGINT, databricks_job_runs_rows BIGINT, databricks_cost_lines_rows BIGINT""",
}
RUN_RESULTS_SCHEMA = "main_pipeline_costs"  # where the integration project's package models live


def jobs_table(region: str) -> str:
    return f'"region-{region}".jobs_by_project'


class DuckDBWriter:
    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path))
        self.rows: dict[str, int] = {region: 0 for region in schema.REGIONS}
        for region in schema.REGIONS:
            self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "region-{region}"')
            self.con.execute(f"CREATE OR REPLACE TABLE {jobs_table(region)} ({schema.JOBS_DDL})")

    def _insert(self, name: str, table: pa.Table) -> None:
        """Appends an Arrow table to the DuckDB table `name` (columns in the same order)."""
        self.con.register("__arrow_rows", table)
        try:
            self.con.execute(f"INSERT INTO {name} SELECT * FROM __arrow_rows")
        finally:
            self.con.unregister("__arrow_rows")

    def append_jobs(self, region: str, batch: pa.Table) -> None:
        if batch.num_rows == 0:
            return
        self._insert(jobs_table(region), batch.select(schema.JOBS_SCHEMA.names))
        self.rows[region] += batch.num_rows

    def write_table_storage(self, snapshot: table_storage.StorageSnapshot) -> None:
        """INFORMATION_SCHEMA.TABLE_STORAGE look-alikes "region-<region>".table_storage (created or replaced)."""
        for region in schema.REGIONS:
            name = table_storage.table_storage_table(region)
            self.con.execute(f"CREATE OR REPLACE TABLE {name} ({table_storage.TABLE_STORAGE_DDL})")
            rows = snapshot.arrow(region)
            if rows.num_rows:
                self._insert(name, rows)

    def write_truth(self, tables: dict[str, pa.Table]) -> None:
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {TRUTH_SCHEMA}")
        for name, table in tables.items():
            if name not in TRUTH_DDL:  # typed by its Arrow schema (decimal128, timestamp[us, UTC], ...)
                self.con.register("__arrow_rows", table)
                try:
                    self.con.execute(f"CREATE OR REPLACE TABLE {TRUTH_SCHEMA}.{name} AS SELECT * FROM __arrow_rows")
                finally:
                    self.con.unregister("__arrow_rows")
                continue
            self.con.execute(f"CREATE OR REPLACE TABLE {TRUTH_SCHEMA}.{name} ({TRUTH_DDL[name]})")
            self._insert(f"{TRUTH_SCHEMA}.{name}", table)

    def write_run_results(self, tables: dict[str, pa.Table], schema_name: str = RUN_RESULTS_SCHEMA) -> None:
        """The package-owned upload tables, as the on-run-end hooks left them (created or replaced)."""
        self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema_name}"')
        for name, table in tables.items():
            self.con.execute(f'CREATE OR REPLACE TABLE "{schema_name}".{name} ({schema.run_results_ddl(name)})')
            if table.num_rows:
                self._insert(f'"{schema_name}".{name}', table)

    def write_databricks(self, tables: dict[str, pa.Table]) -> None:
        """system_billing.usage, system_billing.list_prices, system_query.history (created or replaced)."""
        for name, table in tables.items():
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
            self.con.execute(f"CREATE OR REPLACE TABLE {name} ({databricks_rows.ddl(table.schema)})")
            self._insert(name, table)

    def drop_databricks(self) -> None:
        """Without Databricks, old system tables would describe another world: remove them."""
        for name in databricks_rows.TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def drop_truth(self) -> None:
        """Without --truth an old ground truth would describe other data: remove it."""
        self.con.execute(f"DROP SCHEMA IF EXISTS {TRUTH_SCHEMA} CASCADE")

    def close(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()
