"""Helpers shared by the report's tests (tests/test_report.py, tests/test_report_browser.py)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pipeline_costs import cli
from support import MARTS_SCHEMA, rows

MONEY_TOLERANCE = Decimal("0.000001")  # BigQuery money: exact decimals on both sides
ALLOCATED_MONEY_TOLERANCE = Decimal("0.005")  # Databricks shares are 12-decimal floats (test_integration_bigquery)
NASTY = "<img src=x onerror=alert(1)></script><b>\"&'\u2028"


def make_report(db: Path, out: Path, *args: str) -> dict[str, Any]:
    """Run the CLI in this process against a DuckDB file; the parsed report.json (numbers as Decimal)."""
    assert cli.main(["report", "--duckdb", str(db), "--out", str(out), *args]) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"), parse_float=Decimal)


def records(report: dict[str, Any], query_id: str) -> list[dict[str, Any]]:
    dataset = report["datasets"][query_id]
    return [dict(zip(dataset["columns"], row, strict=True)) for row in dataset["rows"]]


def allocated_pipelines(db: Path) -> set[str]:
    return {r["pipeline_id"] for r in rows(db, "select pipeline_id from ground_truth.pipeline_cost_history where platform <> 'bigquery'")}


def close(got: Any, want: Any, tolerance: Decimal) -> bool:
    return abs(Decimal(str(got)) - Decimal(str(want))) <= tolerance


def strings_in(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def nasty_copy(db: Path, target: Path) -> tuple[Path, str, str]:
    """A copy of the warehouse where one pipeline and one model are named like an HTML injection."""
    target.mkdir(parents=True, exist_ok=True)
    copy = target / db.name
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        pipeline = con.execute(f"""select pipeline_id from {MARTS_SCHEMA}.pipeline_cost_history
                               group by pipeline_id order by sum(total_cost) desc limit 1""").fetchall()[0][0]
        model = con.execute(f"""select node_id from {MARTS_SCHEMA}.model_costs
                            group by node_id order by sum(cost) desc limit 1""").fetchall()[0][0]
        tables = con.execute("""select c.table_name, c.column_name from information_schema.columns as c
            join information_schema.tables as t using (table_schema, table_name)
            where c.table_schema = ? and t.table_type = 'BASE TABLE'
              and c.column_name in ('pipeline_id', 'series_id', 'subject')""", [MARTS_SCHEMA]).fetchall()
        for table, column in tables:
            con.execute(f"update {MARTS_SCHEMA}.{table} set {column} = ? where {column} = ?", [NASTY + "pipeline", pipeline])
        con.execute(f"update {MARTS_SCHEMA}.stg_dbt__nodes set name = ? where node_id = ?", [NASTY + "model", model])
    return copy, NASTY + "pipeline", NASTY + "model"
