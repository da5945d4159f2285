"""`summary`: a short cost summary of the marts in a DuckDB file (the end of `make demo`)."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

MARTS = ("query_costs", "model_costs", "pipeline_stage_costs", "pipeline_cost_history", "cost_coverage")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("summary", help="print a cost summary of the marts in a DuckDB file")
    parser.add_argument("--duckdb", type=Path, required=True, help="DuckDB file the package was built in")
    parser.add_argument("--schema", default="main_pipeline_costs", help="schema of the package's marts")
    parser.add_argument("--top", type=int, default=5, help="rows in each top-N list")
    return parser


def _money(amount: Any, currency: str) -> str:
    """Presentation only: the marts keep full precision; this rounds to cents for display."""
    return f"{currency} {Decimal(amount or 0):,.2f}"


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.sql(sql).fetchall()


def run(args: argparse.Namespace) -> int:
    if not args.duckdb.exists():
        print(f"error: {args.duckdb} does not exist; run `make demo` (or dbt build) first", file=sys.stderr)
        return 2
    with duckdb.connect(str(args.duckdb), read_only=True) as con:
        present = {row[0] for row in _fetch(con, f"""
            select table_name from information_schema.tables where table_schema = '{args.schema}'""")}
        missing = [mart for mart in MARTS if mart not in present]
        if missing:
            print(f"error: schema {args.schema} in {args.duckdb} lacks {', '.join(missing)}; "
                  "build the package first (dbt build)", file=sys.stderr)
            return 2
        print(_render(con, args))
    return 0


def _render(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> str:
    s, top = args.schema, args.top
    lines = [f"Results: {args.duckdb.resolve()} (schema {s})"]
    for mart in MARTS:
        count = _fetch(con, f"select count(*) from {s}.{mart}")[0][0]
        lines.append(f"  {s}.{mart:<24} {count:>10,} rows")

    coverage = _fetch(con, f"""
        select platform, currency, min(cost_date), max(cost_date), sum(billed_cost), sum(attributed_cost),
               sum(unattributed_not_dbt_cost), sum(unattributed_dbt_without_node_cost), sum(unattributed_unknown_cost),
               sum(unattributed_idle_cost), sum(unattributed_other_compute_cost)
        from {s}.cost_coverage group by platform, currency order by platform, currency""")
    for platform, currency, first, last, billed, attributed, not_dbt, no_node, unknown, idle, other in coverage:
        share = (Decimal(attributed) / Decimal(billed) * 100) if billed else Decimal(0)
        unattributed = (f"  unattributed: not dbt {_money(not_dbt, currency)}, dbt without node {_money(no_node, currency)}, "
                        f"unknown {_money(unknown, currency)}")
        if platform == "databricks":
            unattributed += f", idle warehouses {_money(idle, currency)}, other compute {_money(other, currency)}"
        lines += [
            "",
            (f"{platform} spend {first} .. {last}: {_money(billed, currency)} billed, "
             f"{_money(attributed, currency)} attributed to dbt models ({share:.1f}%)"),
            unattributed,
        ]

    lines += ["", f"Top {top} pipelines by cost:"]
    for pipeline, runs, total, currency in _fetch(con, f"""
            select pipeline_id, count(*), sum(total_cost), currency from {s}.pipeline_cost_history
            group by pipeline_id, currency order by sum(total_cost) desc limit {top}"""):
        lines.append(f"  {_money(total, currency):>16}  {pipeline} ({runs} runs)")

    lines += ["", f"Top {top} models by cost:"]
    for node, runs, total, currency in _fetch(con, f"""
            select node_id, count(*), sum(cost), currency from {s}.model_costs
            group by node_id, currency order by sum(cost) desc limit {top}"""):
        lines.append(f"  {_money(total, currency):>16}  {node} ({runs} runs)")

    present = {row[0] for row in _fetch(con, f"""
        select table_name from information_schema.tables where table_schema = '{s}'""")}
    lines += _reuse_lines(con, s, present)
    lines += _forecast_lines(con, s, present)
    lines += _anomaly_lines(con, s, top, present)
    lines += _recommendation_lines(con, s, min(top, 3), present)
    return "\n".join(lines)


def _forecast_lines(con: duckdb.DuckDBPyConnection, s: str, present: set[str]) -> list[str]:
    """Where total spend is heading (cost_forecast_summary), when it is built."""
    if "cost_forecast_summary" not in present:
        return []
    lines: list[str] = []
    for (origin, month_end, mtd, projected, lower, upper, trend, interval, currency, budget, crossed,
         status) in _fetch(con, f"""
            select origin_date, month_end_date, month_to_date_cost, projected_month_end_cost,
                   projected_month_end_lower_cost, projected_month_end_upper_cost, trend_per_day, interval_pct,
                   currency, monthly_budget, budget_crossed_on, status
            from {s}.cost_forecast_summary where series_type = 'total' order by currency"""):
        if status != "forecast":
            lines += ["", f"Forecast: none for total spend ({status.replace('_', ' ')})."]
            continue
        lines += ["", (f"Forecast (total spend, data to {origin}): month to date {_money(mtd, currency)}, "
                       f"projected month end ({month_end}) {_money(projected, currency)} "
                       f"({interval:g}% interval {_money(lower, currency)} .. {_money(upper, currency)}); "
                       f"trend {_money(trend, currency)} a day")]
        if budget is not None:
            lines.append(f"  monthly budget {_money(budget, currency)}: "
                         + (f"exceeded on {crossed}" if crossed else "not exceeded within the horizon"))
    return lines


def _anomaly_lines(con: duckdb.DuckDBPyConnection, s: str, top: int, present: set[str]) -> list[str]:
    """The latest anomalous pipeline runs, explained (cost_anomalies; else pipeline_cost_history's flag)."""
    if "cost_anomalies" in present:
        anomalies = _fetch(con, f"""
            select pipeline_id, pipeline_run_id, explanation from {s}.cost_anomalies
            where is_anomaly and entity_type = 'pipeline_run' order by run_started_at desc limit {top}""")
        lines = ["", f"Cost anomalies (latest {top} pipeline runs):" if anomalies else "No cost anomalies flagged."]
        return lines + [f"  {pipeline} run {run_id}: {explanation}" for pipeline, run_id, explanation in anomalies]
    anomalies = _fetch(con, f"""
        select pipeline_id, pipeline_run_id, total_cost, rolling_avg_cost, currency from {s}.pipeline_cost_history
        where is_cost_anomaly order by run_started_at desc limit {top}""")
    lines = ["", f"Cost anomalies (latest {top}):" if anomalies else "No cost anomalies flagged."]
    return lines + [f"  {pipeline} run {run_id}: {_money(total, currency)} vs rolling average {_money(average, currency)}"
                    for pipeline, run_id, total, average, currency in anomalies]


def _recommendation_lines(con: duckdb.DuckDBPyConnection, s: str, top: int, present: set[str]) -> list[str]:
    """The findings that would save the most (cost_recommendations), when it is built."""
    if "cost_recommendations" not in present:
        return []
    found = _fetch(con, f"""
        select kind, subject, estimated_monthly_saving, currency, evidence from {s}.cost_recommendations
        order by estimated_monthly_saving desc, recommendation_id limit {top}""")
    lines = ["", f"Top {top} recommendations (estimated monthly saving):" if found else "No recommendations."]
    return lines + [f"  {_money(saving, currency):>16}  {kind} {subject}: {evidence}"
                    for kind, subject, saving, currency, evidence in found]


def _reuse_lines(con: duckdb.DuckDBPyConnection, s: str, present: set[str]) -> list[str]:
    """Two lines on state-aware orchestration, when the reuse marts are built (else none)."""
    if not {"model_reuse", "sao_opportunities"} <= present:
        return []
    reused, base, runs = _fetch(con, f"""
        select sum(reused_count), sum(reused_count + built_count), count(*) from {s}.model_reuse""")[0]
    share = Decimal(reused or 0) / Decimal(base) * 100 if base else Decimal(0)
    lines = ["", f"Reuse: {reused or 0:,} of {base or 0:,} model builds reused over {runs:,} runs ({share:.1f}%)"]
    for pipeline, savings, priority, currency in _fetch(con, f"""
            select pipeline_id, estimated_monthly_savings, priority, currency from {s}.sao_opportunities
            order by estimated_monthly_savings desc, pipeline_id limit 1"""):
        lines.append(f"  top state-aware orchestration opportunity: {pipeline} ({priority}, "
                     f"{_money(savings, currency)} a month)")
    return lines
