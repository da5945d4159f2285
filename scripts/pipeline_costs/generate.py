"""`generate`: simulate BigQuery JOBS and Databricks system tables for N days into DuckDB, with the
ground truth."""

from __future__ import annotations

import argparse
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from pipeline_costs import __version__, databricks_rows, pricing
from pipeline_costs.bigquery_generator import BigQueryGenerator, GeneratorConfig
from pipeline_costs.databricks_generator import DatabricksGenerator
from pipeline_costs.databricks_rows import DatabricksSnapshot
from pipeline_costs.duckdb_writer import RUN_RESULTS_SCHEMA, DuckDBWriter
from pipeline_costs.ground_truth import TruthCollector, compute
from pipeline_costs.table_storage import TableStorageCollector


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive_scale(value: str) -> float:
    scale = float(value)
    if scale <= 0:
        raise argparse.ArgumentTypeError("--scale must be > 0")
    return scale


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "generate",
        help="simulate BigQuery JOBS_BY_PROJECT and Databricks system tables (+ ground truth) into a DuckDB file",
        description=(
            "Seeded synthetic BigQuery INFORMATION_SCHEMA.JOBS_BY_PROJECT for dbt pipelines and noise, "
            'written to DuckDB tables "region-us".jobs_by_project and "region-eu".jobs_by_project, and '
            "Databricks system.billing.usage, system.billing.list_prices and system.query.history (tables "
            "system_billing.usage, system_billing.list_prices, system_query.history), "
            "with the expected costs in schema ground_truth."
        ),
    )
    parser.add_argument("--days", type=int, default=14, help="days simulated (default 14)")
    parser.add_argument(
        "--end-date", type=_date, default=None,
        help="first day NOT simulated, YYYY-MM-DD (default: today UTC); data covers [end-date - days, end-date)",
    )
    parser.add_argument(
        "--as-of", type=_timestamp, default=None,
        help="snapshot time (ISO timestamp, UTC if no offset; default: end-date 00:00 UTC): rows not yet "
        "arrived are absent, jobs not yet finished are RUNNING",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--scale", type=_positive_scale, default=1.0,
                        help="volume multiplier; 1.0 is about 3,000 jobs/day (default 1.0)")
    parser.add_argument("--currency", choices=sorted(pricing.CURRENCY_RATES), default="USD",
                        help="currency of the ground truth's costs (default USD)")
    parser.add_argument("--duckdb", type=Path, default=Path("pipeline_costs.duckdb"),
                        help="output DuckDB file (default pipeline_costs.duckdb)")
    parser.add_argument("--truth", action=argparse.BooleanOptionalAction, default=True,
                        help="write the ground_truth schema (default: yes)")
    parser.add_argument("--databricks", action=argparse.BooleanOptionalAction, default=True,
                        help="also simulate Databricks (system tables, dbt runs, truth; default: yes)")
    parser.add_argument("--run-results-schema", default=RUN_RESULTS_SCHEMA,
                        help="schema of the run results tables dbt_invocations and dbt_node_results the "
                        f"package's on-run-end upload would have left (created or replaced; default {RUN_RESULTS_SCHEMA})")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise SystemExit("--days must be >= 1")
    config = GeneratorConfig(
        end_date=args.end_date or datetime.now(UTC).date(),
        days=args.days,
        seed=args.seed,
        scale=args.scale,
        as_of=args.as_of,
        currency=args.currency,
    )
    started = time.monotonic()
    generator = BigQueryGenerator(config)
    databricks = DatabricksGenerator(config, generator.world).snapshot() if args.databricks else None
    collector = TruthCollector() if args.truth else None
    storage = TableStorageCollector()  # what the jobs wrote: the TABLE_STORAGE look-alike
    writer = DuckDBWriter(args.duckdb)
    try:
        # DuckDB inserts (GIL released) overlap with generating the next batch; one worker keeps order.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: deque[Future[None]] = deque()
            for region, batch in generator.batches():
                pending.append(pool.submit(writer.append_jobs, region, batch))
                storage.add(batch)
                if collector is not None:
                    collector.add(batch)
                while len(pending) > 2:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        results = generator.run_results(databricks)
        snapshot = storage.snapshot(config.seed, config.as_of_ms, results["dbt_node_results"])
        writer.write_table_storage(snapshot)
        writer.write_run_results(results, args.run_results_schema)
        if databricks is not None:
            writer.write_databricks(databricks_rows.system_tables(databricks))
        else:
            writer.drop_databricks()
        truth_rows: dict[str, int] = {}
        if collector is not None:
            raw = collector.table()
            tables = compute(raw, generator.planted, config.currency, results, config.as_of_time, databricks,
                             findings=generator.world.findings, storage=snapshot)
            tables["generator_runs"] = _generator_runs(config, writer.rows, tables, results, databricks)
            writer.write_truth(tables)
            truth_rows = {name: t.num_rows for name, t in tables.items()}
        else:
            writer.drop_truth()
    finally:
        writer.close()
    elapsed = time.monotonic() - started
    truth = (
        f"ground truth: {len(truth_rows)} tables in schema ground_truth ("
        + ", ".join(f"{name} {rows:,}" for name, rows in truth_rows.items()) + ")"
        if truth_rows else "ground truth: not written (--no-truth)"
    )
    print(
        f"Generated {config.days} days of synthetic BigQuery jobs"
        f"{' and Databricks system tables' if databricks is not None else ''} "
        f"({config.start_date} to {config.end_date}, exclusive; seed {config.seed}, scale {config.scale:g}, "
        f"as of {config.as_of_time.isoformat()}, {generator.invocation_count:,} BigQuery dbt invocations) into "
        f"{args.duckdb}: \"region-us\".jobs_by_project {writer.rows['us']:,} rows, "
        f"\"region-eu\".jobs_by_project {writer.rows['eu']:,} rows{_databricks_summary(databricks)}; "
        "run results in schema "
        f"{args.run_results_schema}: dbt_invocations {results['dbt_invocations'].num_rows:,} rows, "
        f"dbt_node_results {results['dbt_node_results'].num_rows:,} rows; {truth}; {elapsed:.1f}s."
    )
    return 0


def _databricks_summary(snapshot: DatabricksSnapshot | None) -> str:
    if snapshot is None:
        return ""
    return (f", {databricks_rows.HISTORY_TABLE} {len(snapshot.statement_rows):,} rows, "
            f"{databricks_rows.USAGE_TABLE} {len(snapshot.records):,} rows, "
            f"{databricks_rows.LIST_PRICES_TABLE} {len(snapshot.prices):,} rows")


def _generator_runs(config: GeneratorConfig, rows: dict[str, int], tables: dict[str, pa.Table],
                    results: dict[str, pa.Table], databricks: DatabricksSnapshot | None) -> pa.Table:
    return pa.Table.from_pylist([{
        "seed": config.seed,
        "days": config.days,
        "end_date": config.end_date,
        "as_of": config.as_of_time,
        "scale": config.scale,
        "currency": config.currency,
        "generator_version": __version__,
        "jobs_us": rows["us"],
        "jobs_eu": rows["eu"],
        **{f"{name}_rows": tables[name].num_rows for name in (
            "query_costs", "model_costs", "pipeline_stage_costs", "pipeline_cost_history", "cost_coverage")},
        **{f"{name}_rows": table.num_rows for name, table in results.items()},
        "databricks_history_rows": len(databricks.statement_rows) if databricks else None,
        "databricks_usage_rows": len(databricks.records) if databricks else None,
        "databricks_list_prices_rows": len(databricks.prices) if databricks else None,
        **{f"{name}_rows": tables[name].num_rows if name in tables else None for name in (
            "databricks_warehouse_hours", "databricks_job_runs", "databricks_cost_lines")},
    }])
