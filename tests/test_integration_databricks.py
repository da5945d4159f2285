"""The package's Databricks cost lines (docs/cost-rules.md section 10) after the integration build,
against the generator's ground truth: every warehouse-hour and job run adds up to its bill exactly,
and idle time is split as dbt_pipeline_costs_databricks_idle says."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from support import MARTS_SCHEMA, T2, integration_build, rows, run_dbt

LINES = f"{MARTS_SCHEMA}.int_databricks_cost_lines"
# Shares are 8-byte floats rounded to 12 decimals: engines may round the last place differently.
ALLOCATED_MONEY_TOLERANCE = Decimal("0.005")
HOUR_KEY = ("workspace_id", "compute_id", "hour_started_at")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "incremental")


def _hours(db: Path) -> dict[tuple, dict]:
    return {(h["workspace_id"], h["warehouse_id"], h["hour_started_at"]): h
            for h in rows(db, "select * from ground_truth.databricks_warehouse_hours")}


def _line_hours(db: Path) -> dict[tuple, dict]:
    """The package's warehouse lines summed per warehouse-hour."""
    return {tuple(r[k] for k in HOUR_KEY): r for r in rows(db, f"""
        select workspace_id, compute_id, hour_started_at, sum(cost) as billed_cost,
               sum(case when line_type = 'statement' then cost else 0 end) as statement_cost,
               sum(case when line_type = 'idle' then cost else 0 end) as idle_cost,
               count(distinct case when line_type = 'statement' then query_id end) as statement_count,
               min(currency) as currency
        from {LINES} where line_type in ('statement', 'idle') group by all""")}


def _close(got: Decimal, want: Decimal) -> bool:
    return abs(got - want) <= ALLOCATED_MONEY_TOLERANCE


def test_every_warehouse_hour_adds_up_to_its_bill(built: Path) -> None:
    want, got = _hours(built), _line_hours(built)
    assert want and set(got) == set(want)
    for key, hour in want.items():
        line = got[key]
        assert line["billed_cost"] == hour["billed_cost"], key  # exactly: the anchor takes the remainder
        assert _close(line["statement_cost"], hour["statement_cost"]) and _close(line["idle_cost"], hour["idle_cost"])
        assert (line["statement_count"], line["currency"]) == (hour["statement_count"], hour["currency"])
    assert any(h["idle_cost"] > 0 for h in want.values()) and any(h["statement_cost"] > 0 for h in want.values())


def test_job_runs_add_up_to_their_bill(built: Path) -> None:
    want = {(r["workspace_id"], r["job_run_id"]): r for r in rows(built, "select * from ground_truth.databricks_job_runs")}
    got = {(r["workspace_id"], r["job_run_id"]): r for r in rows(built, f"""
        select workspace_id, job_run_id, sum(cost) as billed_cost,
               sum(case when attribution = 'attributed' then cost else 0 end) as attributed_cost,
               list(distinct attribution) as attributions,
               count(distinct case when attribution = 'dbt_without_node' then invocation_id end) as invocations
        from {LINES} where line_type = 'job_run' group by all""")}
    assert want and set(got) == set(want)
    for key, run in want.items():
        line = got[key]
        assert line["billed_cost"] == run["billed_cost"], key
        assert _close(line["attributed_cost"], run["attributed_cost"])
        assert line["attributions"] == [run["attribution"]], key
        assert line["invocations"] == (1 if run["attribution"] == "dbt_without_node" else 0)
    assert {r["linked_by"] for r in want.values()} == {"custom_tag", "node_results", None}


def test_cost_lines_equal_the_truth(built: Path) -> None:
    """Statement and job-run lines one by one; idle and other compute per hour."""
    keys = {
        "statement": ("workspace_id", "compute_id", "hour_started_at", "query_id"),
        "job_run": ("workspace_id", "job_run_id", "cost_date", "product", "invocation_id", "node_id"),
        "idle": HOUR_KEY,
        "other_compute": ("workspace_id", "compute_id", "hour_started_at", "product"),
    }
    for line_type, key in keys.items():
        columns = ", ".join(key)
        sql = (f"select {columns}, sum(cost) as cost, min(attribution) as attribution, min(invocation_id) as inv, "
               f"min(node_id) as node, min(cost_date) as cost_date_, min(product) as product_ "
               f"from {{table}} where line_type = '{line_type}' group by all")
        want = {tuple(r[k] for k in key): r for r in rows(built, sql.format(table="ground_truth.databricks_cost_lines"))}
        got = {tuple(r[k] for k in key): r for r in rows(built, sql.format(table=LINES))}
        assert want and set(got) == set(want), line_type
        differ = [(k, g["cost"], want[k]["cost"]) for k, g in got.items() if not _close(g["cost"], want[k]["cost"])
                  or (g["attribution"], g["inv"], g["node"], g["cost_date_"], g["product_"]) != (
                      want[k]["attribution"], want[k]["inv"], want[k]["node"], want[k]["cost_date_"],
                      want[k]["product_"])]
        assert not differ, f"{line_type}: {len(differ)} lines differ, e.g. {differ[:3]}"


def test_separate_idle_splits_each_hour_by_its_busy_time(built: Path, tmp_path: Path) -> None:
    """Rebuilt with dbt_pipeline_costs_databricks_idle = separate (on a copy of the warehouse)."""
    copy = tmp_path / "separate.duckdb"
    shutil.copyfile(built, copy)
    variables = {"dbt_pipeline_costs_as_of": T2.isoformat(), "dbt_pipeline_costs_databricks_idle": "separate"}
    # --full-refresh: an incremental run would recompute only the lookback days
    run_dbt(["run", "--select", "int_databricks_cost_lines", "--full-refresh", "--vars", json.dumps(variables)], copy)
    want, got = _hours(copy), _line_hours(copy)
    assert set(got) == set(want)
    for key, hour in want.items():
        line = got[key]
        assert line["billed_cost"] == hour["billed_cost"], key
        assert _close(line["statement_cost"], hour["statement_cost_separate"]), key
        assert _close(line["idle_cost"], hour["idle_cost_separate"]), key
    assert any(0 < h["idle_cost_separate"] < h["billed_cost"] for h in want.values())
