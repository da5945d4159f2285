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

    lines += _reuse_lines(con, s)

    anomalies = _fetch(con, f"""
        select pipeline_id, pipeline_run_id, total_cost, rolling_avg_cost, currency from {s}.pipeline_cost_history
        where is_cost_anomaly order by run_started_at desc limit {top}""")
    lines += ["", f"Cost anomalies (latest {top}):" if anomalies else "No cost anomalies flagged."]
    for pipeline, run_id, total, average, currency in anomalies:
        lines.append(f"  {pipeline} run {run_id}: {_money(total, currency)} vs rolling average {_money(average, currency)}")
    return "\n".join(lines)


def _reuse_lines(con: duckdb.DuckDBPyConnection, s: str) -> list[str]:
    """Two lines on state-aware orchestration, when the reuse marts are built (else none)."""
    present = {row[0] for row in _fetch(con, f"""
        select table_name from information_schema.tables where table_schema = '{s}'""")}
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
