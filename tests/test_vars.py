"""Configuration errors stop the build with a message naming the var; currency conversion is exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from support import MARTS_SCHEMA, generate, rows, run_dbt

BAD_VARS = [
    ("{dbt_pipeline_costs_bigquery_on_demand_price_per_tib: '6,25'}",
     "dbt_pipeline_costs_bigquery_on_demand_price_per_tib must be a non-negative plain decimal"),
    ("{dbt_pipeline_costs_bigquery_on_demand_price_per_tib: 1.0e-05}", "must be a non-negative plain decimal"),
    ("{dbt_pipeline_costs_currency: JPY}", "has no rate for it"),
    ("{dbt_pipeline_costs_bigquery_default_edition: PLATINUM}", "is not a key of dbt_pipeline_costs_bigquery_slot_hour_prices"),
    ("{dbt_pipeline_costs_stage_by: owner}", "dbt_pipeline_costs_stage_by must be one of folder, tag, resource_type"),
    ("{dbt_pipeline_costs_as_of: 'last tuesday'}", "dbt_pipeline_costs_as_of must be an ISO-8601 timestamp"),
    ("{dbt_pipeline_costs_sao_window_days: 0}", "dbt_pipeline_costs_sao_window_days must be a whole number >= 1"),
    ("{dbt_pipeline_costs_reuse_goal_pct: 150}", "dbt_pipeline_costs_reuse_goal_pct must be a number >= 0 and <= 100"),
    ("{dbt_pipeline_costs_freshness_goal_pct: 'most'}", "dbt_pipeline_costs_freshness_goal_pct must be a number"),
    ("{dbt_pipeline_costs_sao_medium_savings: 500}", "dbt_pipeline_costs_sao_medium_savings must be a number >= 0 and <= 100"),
    ("{dbt_pipeline_costs_databricks_idle: sometimes}",
     "dbt_pipeline_costs_databricks_idle must be 'proportional' or 'separate', got 'sometimes'"),
    ("{dbt_pipeline_costs_databricks_prices: {PREMIUM_SQL: 'cheap'}}",
     "dbt_pipeline_costs_databricks_prices.PREMIUM_SQL must be a non-negative plain decimal"),
    ("{dbt_pipeline_costs_bigquery_enabled: false, dbt_pipeline_costs_databricks_enabled: false}",
     "no platform enabled: set dbt_pipeline_costs_bigquery_enabled or dbt_pipeline_costs_databricks_enabled"),
]


@pytest.mark.parametrize(("variables", "message"), BAD_VARS)
def test_bad_var_gives_a_clear_message(tmp_path: Path, variables: str, message: str) -> None:
    result = run_dbt(["compile", "--select", "query_costs", "pipeline_stage_costs", "model_reuse", "freshness_coverage",
                      "sao_opportunities", "slo_compliance", "int_databricks_cost_lines", "--vars", variables],
                     tmp_path / "empty.duckdb", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert "Traceback" not in output


def test_output_currency_is_the_usd_cost_times_the_rate(tmp_path: Path) -> None:
    db = tmp_path / "currency.duckdb"
    generate(db, "--days", "2", "--no-truth")
    run_dbt(["run", "--select", "+query_costs", "--full-refresh"], db)
    sql = f"select platform, query_id, cost, currency from {MARTS_SCHEMA}.query_costs"
    usd = {(r["platform"], r["query_id"]): r["cost"] for r in rows(db, sql)}
    run_dbt(["run", "--select", "+query_costs", "--full-refresh",
             "--vars", "{dbt_pipeline_costs_currency: EUR, dbt_pipeline_costs_currency_rates: {USD: 1, EUR: '0.8612'}}"], db)
    eur = rows(db, sql)
    assert {r["currency"] for r in eur} == {"EUR"}
    assert len(eur) == len(usd) and sum(usd.values()) > 0
    # BigQuery prices are exact; a Databricks statement's share is rounded at 1e-12 per warehouse-hour.
    tolerance = {"bigquery": Decimal("1e-15"), "databricks": Decimal("1e-9")}
    for platform in ("bigquery", "databricks"):
        priced = [r for r in eur if r["platform"] == platform]
        assert priced, f"no {platform} rows to convert"
        worst = max(abs(r["cost"] - usd[(platform, r["query_id"])] * Decimal("0.8612")) for r in priced)
        assert worst < tolerance[platform], platform
