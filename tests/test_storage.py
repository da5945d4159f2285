"""BigQuery storage (docs/cost-rules.md section 11): storage_costs and storage_dataset_costs on the shared
integration build equal the ground truth the generator computed from its own TABLE_STORAGE rows and
bookkeeping (money exactly, to the last of 18 decimals); the cheaper billing model and the saving; a
deleted table's time-travel and fail-safe bytes; the planted table sizes; price, currency and billing
model vars; clear errors for bad vars.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from pipeline_costs import pricing, storage_truth, table_storage
from pipeline_costs import project as p
from support import MARTS_SCHEMA, PROJECT_DIR, REPO, integration_build, rows, run_dbt

pytestmark = pytest.mark.slow

KEYS = {
    "storage_costs": ["project_id", "location", "dataset_id", "table_id"],
    "storage_dataset_costs": ["project_id", "location", "dataset_id"],
}
FLOAT_RELATIVE_TOLERANCE = 1e-9


def _columns(db: Path, schema: str, table: str) -> list[str]:
    return [r["column_name"] for r in rows(db, f"""
        select column_name from information_schema.columns
        where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position""")]


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        if got is None or want is None:
            return got is None and want is None
        return math.isclose(float(got), float(want), rel_tol=FLOAT_RELATIVE_TOLERANCE)
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return got.astimezone(dt.UTC) == want.astimezone(dt.UTC)
    return got == want  # Decimal == Decimal: exact


def _by_key(db: Path, schema: str, mart: str) -> dict[tuple, dict]:
    return {tuple(r[k] for k in KEYS[mart]): r for r in rows(db, f"select * from {schema}.{mart}")}


@pytest.fixture(scope="module", params=["full_refresh", "incremental"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, request.param)


@pytest.mark.parametrize("mart", list(KEYS))
def test_mart_equals_ground_truth(built: Path, mart: str) -> None:
    truth_columns = _columns(built, "ground_truth", mart)
    mart_columns = _columns(built, MARTS_SCHEMA, mart)
    assert set(truth_columns) <= set(mart_columns), set(truth_columns) - set(mart_columns)
    want, got = _by_key(built, "ground_truth", mart), _by_key(built, MARTS_SCHEMA, mart)
    assert want, f"no ground truth rows for {mart}"
    assert set(got) == set(want), f"{mart}: missing {sorted(set(want) - set(got))[:5]}, extra {sorted(set(got) - set(want))[:5]}"
    problems = [(key, column, got[key][column], want[key][column])
                for key in want for column in truth_columns if not _same(got[key][column], want[key][column])]
    assert not problems, f"{len(problems)} values differ, e.g. {problems[:5]}"
    money = [c for c in mart_columns if c.startswith("monthly_")]
    assert money and all(isinstance(r[money[0]], Decimal) for r in got.values())


def test_cheaper_billing_model_and_saving(built: Path) -> None:
    datasets = rows(built, f"select * from {MARTS_SCHEMA}.storage_dataset_costs")
    for d in datasets:
        cheaper = min(d["monthly_logical_cost"], d["monthly_physical_cost"])
        assert d["monthly_cost"] == (d["monthly_physical_cost"] if d["billing_model"] == "PHYSICAL"
                                     else d["monthly_logical_cost"])
        assert d["monthly_saving"] == d["monthly_cost"] - cheaper >= 0
        if d["monthly_logical_cost"] != d["monthly_physical_cost"]:
            assert d["cheaper_billing_model"] == ("PHYSICAL" if d["monthly_physical_cost"] < d["monthly_logical_cost"]
                                                  else "LOGICAL")
    by_name = {d["dataset_id"]: d for d in datasets}
    # the plants: raw (logical billing) compresses well and barely changes -> physical is cheaper;
    # marketing (physical billing) is rebuilt every hour -> time travel and fail-safe make logical cheaper;
    # finance_ru is already on the cheaper (physical) model.
    assert by_name["raw"]["billing_model"] == "LOGICAL" and by_name["raw"]["cheaper_billing_model"] == "PHYSICAL"
    assert by_name["raw"]["monthly_saving"] > 0
    marketing = by_name["marketing"]
    assert marketing["billing_model"] == "PHYSICAL" and marketing["cheaper_billing_model"] == "LOGICAL"
    assert marketing["monthly_saving"] > 0
    assert marketing["monthly_time_travel_fail_safe_cost"] > marketing["monthly_logical_cost"]
    assert by_name["finance_ru"]["billing_model"] == by_name["finance_ru"]["cheaper_billing_model"] == "PHYSICAL"
    assert by_name["finance_ru"]["monthly_saving"] == 0


def test_deleted_tables_are_billed_for_time_travel_and_fail_safe(built: Path) -> None:
    tables = _by_key(built, MARTS_SCHEMA, "storage_costs")
    price = Decimal("0.04") / 2**30
    # a model switched from table to view 3 days ago: its old table is in time travel, found by its jobs
    old = tables[("acme-analytics", "us", "analytics", "stg_orders")]
    assert old["is_deleted"] and old["time_travel_physical_bytes"] > 0 and old["fail_safe_physical_bytes"] == 0
    assert old["monthly_logical_cost"] == 0 and old["total_logical_bytes"] == 0
    assert old["monthly_physical_cost"] == old["monthly_time_travel_fail_safe_cost"] > 0
    assert abs(old["monthly_physical_cost"] - old["time_travel_physical_bytes"] * price) < Decimal("1e-15")
    assert old["node_id"] == p.NODES_BY_NAME["stg_orders"].unique_id and old["node_matched_by"] == "job"
    # dropped 10 days ago: past the 7-day time travel, in fail-safe
    gone = tables[("acme-analytics", "us", "marketing", "fct_attribution_v1")]
    assert gone["is_deleted"] and gone["time_travel_physical_bytes"] == 0 and gone["fail_safe_physical_bytes"] > 0
    assert gone["monthly_cost"] == gone["monthly_physical_cost"] > 0  # marketing is billed on physical bytes
    assert gone["node_id"] is None
    # raw.customers, dropped and loaded again: one row, the dropped version's bytes in time travel
    reloaded = tables[("acme-analytics", "us", "raw", "customers")]
    assert reloaded["version_count"] == 2 and not reloaded["is_deleted"]
    assert reloaded["time_travel_physical_bytes"] > reloaded["current_physical_bytes"] > 0
    deleted = rows(built, f"""select dataset_id, deleted_table_count from {MARTS_SCHEMA}.storage_dataset_costs
                              where dataset_id in ('analytics', 'marketing', 'raw')""")
    assert {r["dataset_id"]: r["deleted_table_count"] for r in deleted} == {"analytics": 1, "marketing": 1, "raw": 0}


def test_tables_are_matched_to_their_dbt_nodes(built: Path) -> None:
    tables = _by_key(built, MARTS_SCHEMA, "storage_costs")
    matched = {(k[2], k[3]): (r["node_id"], r["node_matched_by"]) for k, r in tables.items()}
    node = {n.name: n.unique_id for n in p.NODES}
    assert matched[("analytics", "fct_orders")] == (node["fct_orders"], "job")  # an insert_overwrite's MERGE
    assert matched[("finance_ru", "currency_codes")] == (node["currency_codes"], "name")  # seeds load unlabelled
    assert matched[("analytics", "looker_pdt_orders_daily")] == (None, "none")
    assert matched[("raw", "orders")] == (None, "none")
    # another team's project: its own comment names no node; dbt's results reported the job ids
    assert matched[("growth", "growth_funnel")] == ("model.growth_dbt.growth_funnel", "job")
    assert {r["node_matched_by"] for r in tables.values()} == {"job", "name", "none"}


def test_planted_table_sizes() -> None:
    """Generator: in analytics, fct_revenue's inputs are exactly its scanned bytes (it reads them all);
    every other model's inputs (views resolved to their sources) are >= 5x what it scans."""
    snapshot = table_storage.build_snapshot(7, 1_800_000_000_000, {}, frozenset())
    sizes = {(t.dataset, t.table): t.logical for t in snapshot.tables if not t.deleted}

    def inputs(node: p.Node) -> list[tuple[str, str]]:
        found = []
        for name in node.upstream:
            if "." in name:
                found.append(tuple(name.split(".", 1)))
            elif p.NODES_BY_NAME[name].materialization == "view":
                found.extend(inputs(p.NODES_BY_NAME[name]))
            else:
                found.append(("analytics", name))
        return found

    revenue = p.NODES_BY_NAME["fct_revenue"]
    assert sum(sizes[t] for t in inputs(revenue)) == revenue.scanned_bytes
    for node in p.MODELS:
        if node.scanned_bytes and node.name != "fct_revenue":
            assert sum(sizes[t] for t in inputs(node)) >= 5 * node.scanned_bytes, node.name


def test_planted_sizes_in_the_written_table(built: Path) -> None:
    analytics = {r["table_name"]: r["total_logical_bytes"] for r in rows(built, """
        select table_name, total_logical_bytes from "region-us".table_storage
        where table_schema = 'analytics' and not deleted""")}
    assert analytics["fct_orders"] + analytics["currency_codes"] == p.NODES_BY_NAME["fct_revenue"].scanned_bytes


def test_vars_agree_with_the_generator() -> None:
    package = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    integration = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert {k: Decimal(str(v)) for k, v in package["dbt_pipeline_costs_bigquery_storage_prices"].items()} \
        == storage_truth.STORAGE_PRICES
    assert tuple(integration["dbt_pipeline_costs_bigquery_physical_billing_datasets"]) \
        == table_storage.PHYSICAL_BILLING_DATASETS
    assert integration["dbt_pipeline_costs_bigquery_table_storage_identifier"] == table_storage.TABLE_NAME


def test_prices_currency_and_billing_vars(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Other prices, EUR and another physical dataset: only the storage marts rebuilt, on a copy."""
    db = tmp_path / "override.duckdb"
    shutil.copy(integration_build(tmp_path_factory, "full_refresh"), db)
    prices = {"active_logical": "0.023", "long_term_logical": "0.0115", "active_physical": "0.052",
              "long_term_physical": "0.026"}
    variables = {"dbt_pipeline_costs_bigquery_storage_prices": prices, "dbt_pipeline_costs_currency": "EUR",
                 "dbt_pipeline_costs_bigquery_physical_billing_datasets": ["raw", "acme-analytics.growth",
                                                                           "other-project.analytics"]}
    run_dbt(["run", "--select", "storage_costs", "storage_dataset_costs", "--vars", json.dumps(variables)], db)
    scaled = storage_truth.scaled_prices("EUR", prices)
    physical = variables["dbt_pipeline_costs_bigquery_physical_billing_datasets"]
    expected = []
    for row in rows(db, "select * from ground_truth.storage_costs"):
        costs = storage_truth.table_costs(row, scaled)
        model = "PHYSICAL" if storage_truth.is_physical(row["project_id"], row["dataset_id"], physical) else "LOGICAL"
        costs["monthly_cost"] = costs["monthly_physical_cost" if model == "PHYSICAL" else "monthly_logical_cost"]
        expected.append({**row, **costs, "billing_model": model, "currency": "EUR"})
    got = _by_key(db, MARTS_SCHEMA, "storage_costs")
    for row in expected:
        key = tuple(row[k] for k in KEYS["storage_costs"])
        for column in (*storage_truth.MONEY_COLUMNS, "billing_model", "currency"):
            want = row[column] if isinstance(row[column], str) else pricing.units_to_decimal(row[column])
            assert got[key][column] == want, (key, column, got[key][column], want)
    datasets = {r["dataset_id"]: r for r in rows(db, f"select * from {MARTS_SCHEMA}.storage_dataset_costs")}
    assert datasets["raw"]["billing_model"] == datasets["growth"]["billing_model"] == "PHYSICAL"
    assert datasets["analytics"]["billing_model"] == "LOGICAL"  # 'other-project.analytics' is another project's
    assert datasets["marketing"]["billing_model"] == "LOGICAL"
    assert {r["currency"] for r in datasets.values()} == {"EUR"}


BAD_VARS = [
    ("{dbt_pipeline_costs_bigquery_storage_prices: {active_logical: 0.02}}",
     "dbt_pipeline_costs_bigquery_storage_prices must be a mapping with the keys"),
    (("{dbt_pipeline_costs_bigquery_storage_prices: {active_logical: '2 cents', long_term_logical: 0.01, "
      "active_physical: 0.04, long_term_physical: 0.02}}"),
     "dbt_pipeline_costs_bigquery_storage_prices.active_logical must be a non-negative plain decimal"),
    ("{dbt_pipeline_costs_bigquery_physical_billing_datasets: marketing}",
     "dbt_pipeline_costs_bigquery_physical_billing_datasets must be a list of datasets"),
    ("{dbt_pipeline_costs_bigquery_physical_billing_datasets: ['a.b.c']}",
     "dbt_pipeline_costs_bigquery_physical_billing_datasets entries are 'dataset' or 'project.dataset'; got 'a.b.c'"),
]


@pytest.mark.parametrize(("variables", "message"), BAD_VARS)
def test_bad_storage_var_gives_a_clear_message(tmp_path: Path, variables: str, message: str) -> None:
    result = run_dbt(["compile", "--select", "storage_costs", "--vars", variables], tmp_path / "empty.duckdb",
                     check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output and "Traceback" not in output


def test_duckdb_look_alike_has_the_documented_columns(built: Path) -> None:
    with duckdb.connect(str(built)) as con:
        for region in ("us", "eu"):
            names = [r[0] for r in con.execute(
                f"select column_name from information_schema.columns where table_schema = 'region-{region}' "
                f"and table_name = '{table_storage.TABLE_NAME}' order by ordinal_position").fetchall()]
            assert names == table_storage.TABLE_STORAGE_SCHEMA.names
        views = con.execute(f"""select count(*) from {table_storage.table_storage_table('us')}
                                where table_name like 'stg\\_%' escape '\\' and not deleted""").fetchall()[0][0]
        assert views == 0, "views are not in TABLE_STORAGE"
