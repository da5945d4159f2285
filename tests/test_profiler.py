"""model_performance, cost_recommendations and cost_estimates (docs/cost-rules.md sections 14-15) on the
shared 21-day integration build: equal to the ground truth the generator computes from its own
bookkeeping, the planted findings found, and the figures consistent with the marts they build on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_costs import pricing, profiler_truth, table_storage
from pipeline_costs.profiler_truth import (
    CAPACITY_OVERHEAD_FACTOR,
    FULL_SCAN_RATIO,
    MIN_MONTHLY_SAVING,
    PROFILE_WINDOW_DAYS,
    SLOW_MODEL_SECONDS,
)
from support import MARTS_SCHEMA, REPO, T2, integration_build, rows, run_dbt

KEYS = {
    "model_performance": ["node_id", "platform"],
    "cost_recommendations": ["recommendation_id"],
    "cost_estimates": ["pipeline_id"],
}
# Sums of money are exact but for the truth's rounding of each job's cost; a division of money goes
# through an 8-byte float on DuckDB (docs/cost-rules.md 14-15): far below a cent either way.
MONEY_TOLERANCE = Decimal("1e-9")
FLOAT_RELATIVE = 1e-9
PROJECT = "dbt_pipeline_costs_integration_tests"
KINDS = {"make_incremental", "add_partition_filter", "enable_reuse", "fix_failing_model", "duplicate_work",
         "switch_pricing_model", "switch_storage_billing"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


def _mart(db: Path, name: str, where: str = "true") -> list[dict[str, Any]]:
    return rows(db, f"select * from {MARTS_SCHEMA}.{name} where {where}")


def _planted(db: Path, finding: str) -> str:
    return rows(db, f"select node_id from ground_truth.planted_findings where finding = '{finding}'")[0]["node_id"]


def _as_of(db: Path) -> dt.datetime:
    """The moment the build measured from (the session's build may be at its incremental stage already)."""
    return rows(db, "select as_of from ground_truth.generator_runs")[0]["as_of"]


def _same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, Decimal):
        return abs(Decimal(got) - want) <= MONEY_TOLERANCE
    if isinstance(want, float):
        return abs(float(got) - want) <= FLOAT_RELATIVE * max(1.0, abs(want))
    return bool(got == want)


def assert_equals_truth(db: Path, mart: str) -> None:
    keys = KEYS[mart]
    got_rows, want_rows = _mart(db, mart), rows(db, f"select * from ground_truth.{mart}")
    assert want_rows, f"ground_truth.{mart} is empty: nothing to compare"
    assert set(got_rows[0]) == set(want_rows[0]), f"{mart}: columns differ from the truth's"
    got = {tuple(r[k] for k in keys): r for r in got_rows}
    want = {tuple(r[k] for k in keys): r for r in want_rows}
    assert len(got) == len(got_rows) and len(want) == len(want_rows)
    missing, extra = sorted(set(want) - set(got), key=str), sorted(set(got) - set(want), key=str)
    assert not missing and not extra, f"{mart}: rows missing {missing[:5]} / unexpected {extra[:5]}"
    mismatches = [(key, column, got[key][column], value) for key, row in want.items()
                  for column, value in row.items() if not _same(got[key][column], value)]
    assert not mismatches, f"{mart}: {len(mismatches)} values differ, e.g. {mismatches[:5]}"


@pytest.mark.parametrize("mart", list(KEYS))
def test_full_refresh_equals_ground_truth(warehouse: Path, mart: str) -> None:
    assert_equals_truth(warehouse, mart)


# -- the planted findings ---------------------------------------------------------------------


def test_the_slow_model_is_flagged_and_only_it(warehouse: Path) -> None:
    slow = _planted(warehouse, "slow_model")
    flagged = {(r["node_id"], r["platform"]) for r in _mart(warehouse, "model_performance", "is_slow")}
    assert flagged == {(slow, "bigquery")}, f"slow models: {flagged}"
    row = _mart(warehouse, "model_performance", f"node_id = '{slow}' and platform = 'bigquery'")[0]
    assert row["duration_p50_s"] >= SLOW_MODEL_SECONDS and row["success_count"] > 10
    assert row["bytes_per_s"] < 10 * 1024**2, "the slow model reads the same bytes in much more time"


def test_the_unpartitioned_scan_reads_all_of_its_tables(warehouse: Path) -> None:
    node = _planted(warehouse, "unpartitioned_scan")
    scans = {r["node_id"]: r for r in _mart(warehouse, "model_performance",
                                            "platform = 'bigquery' and scan_ratio is not null")}
    assert scans[node]["is_full_scan"] and 0.9 <= scans[node]["scan_ratio"] <= 1.25, scans[node]
    others = {n: r["scan_ratio"] for n, r in scans.items() if n != node and r["bytes_processed"]}
    assert others and max(others.values()) < 0.5, f"other models read a small share of their tables: {others}"
    assert not any(r["is_full_scan"] for n, r in scans.items() if n != node)
    finding = _mart(warehouse, "cost_recommendations", f"kind = 'add_partition_filter' and subject = '{node}'")
    assert len(finding) == 1 and finding[0]["platform"] == "bigquery"
    assert f"a build reads a median {scans[node]['scan_ratio']:.2f} of the logical bytes" in finding[0]["evidence"]
    assert not _mart(warehouse, "cost_recommendations", f"kind = 'make_incremental' and subject = '{node}' "
                                                        "and platform = 'bigquery'")


def test_the_failing_model_is_to_be_fixed_on_every_platform(warehouse: Path) -> None:
    node = _planted(warehouse, "failing_model")
    profiles = _mart(warehouse, "model_performance", f"node_id = '{node}'")
    assert {r["platform"] for r in profiles} == {"bigquery", "databricks"}
    for row in profiles:
        assert row["is_failing"] and row["error_rate"] == 1.0 and row["success_count"] == 0
    findings = _mart(warehouse, "cost_recommendations", f"kind = 'fix_failing_model' and subject = '{node}'")
    assert {r["platform"] for r in findings} == {"bigquery", "databricks"}
    assert all(r["estimated_monthly_saving"] == 0 for r in findings), "it fails to compile: nothing was billed"


def test_a_retried_build_counts_once(warehouse: Path) -> None:
    """The planted retry: a failed attempt, then a successful one, of one node in one invocation."""
    retried = rows(warehouse, f"""
        select distinct queries.invocation_id, queries.node_id
        from ground_truth.planted_cases as planted
        inner join {MARTS_SCHEMA}.query_costs as queries
            on planted.project_id = queries.project_id and planted.job_id = queries.query_id
        where planted.case_name = 'retry_success'""")
    assert retried, "the generator planted no retry"
    for pair in retried:
        row = _mart(warehouse, "model_performance", f"node_id = '{pair['node_id']}' and platform = 'bigquery'")[0]
        assert row["retried_count"] >= 1 and row["retry_rate"] == row["retried_count"] / row["build_count"]


def test_switch_pricing_model_goes_the_cheaper_way(warehouse: Path) -> None:
    """Recomputed here from query_costs: each finding's direction and saving, and that no other pattern saves
    the minimum."""
    rate = pricing.CURRENCY_RATES["USD"]
    capacity_price = pricing.SLOT_HOUR_PRICES[pricing.DEFAULT_EDITION] * rate * CAPACITY_OVERHEAD_FACTOR
    as_of = _as_of(warehouse)
    start = as_of - dt.timedelta(days=PROFILE_WINDOW_DAYS)
    patterns: dict[tuple[str, str], dict[str, Fraction]] = {}
    for q in rows(warehouse, f"""
            select case when attribution = 'attributed' then node_id else coalesce(user_email, '(unknown user)') end
                       as subject,
                   pricing_model, cost, bytes_billed, slot_ms, is_cache_hit, is_billable
            from {MARTS_SCHEMA}.query_costs
            where platform = 'bigquery' and attribution in ('attributed', 'not_dbt')
              and created_at >= timestamptz '{start.isoformat()}' and created_at < timestamptz '{as_of.isoformat()}'"""):
        entry = patterns.setdefault((q["subject"], q["pricing_model"]), {"cost": Fraction(0), "alt": Fraction(0)})
        entry["cost"] += Fraction(q["cost"])
        if q["is_cache_hit"]:
            continue
        if q["pricing_model"] == "capacity":
            entry["alt"] += pricing.on_demand_usd(q["bytes_billed"] or 0) * rate if q["is_billable"] else 0
        else:
            entry["alt"] += capacity_price * (q["slot_ms"] or 0) / pricing.MS_PER_HOUR
    month = Fraction(30, PROFILE_WINDOW_DAYS)
    expected = {key: (e["cost"] - e["alt"]) * month for key, e in patterns.items()
                if (e["cost"] - e["alt"]) * month >= MIN_MONTHLY_SAVING}
    findings = _mart(warehouse, "cost_recommendations", "kind = 'switch_pricing_model'")
    assert findings, "no pattern would be cheaper under the other pricing model"
    got = {(f["subject"], f["current_setting"]): f for f in findings}
    assert set(got) == set(expected)
    for (subject, current), f in got.items():
        assert f["recommended_setting"] == ("on_demand" if current == "capacity" else "capacity")
        assert abs(Fraction(f["estimated_monthly_saving"]) - expected[(subject, current)]) < Fraction(1, 10**6)
    # The BI tool's reservation is ENTERPRISE_PLUS: a slot-hour there costs more than the bytes on demand.
    assert ("looker@acme-bi.iam.gserviceaccount.com", "capacity") in got


def test_switch_storage_billing_follows_storage_dataset_costs(warehouse: Path) -> None:
    datasets = {f"{d['project_id']}.{d['dataset_id']}": d for d in _mart(warehouse, "storage_dataset_costs")}
    findings = {f["subject"]: f for f in _mart(warehouse, "cost_recommendations", "kind = 'switch_storage_billing'")}
    expected = {name for name, d in datasets.items()
                if d["cheaper_billing_model"] != d["billing_model"] and d["monthly_saving"] >= MIN_MONTHLY_SAVING}
    assert set(findings) == expected
    for name, f in findings.items():
        d = datasets[name]
        assert (f["current_setting"], f["recommended_setting"]) == (d["billing_model"], d["cheaper_billing_model"])
        assert f["estimated_monthly_saving"] == d["monthly_saving"] and f["monthly_cost"] == d["monthly_cost"]
    # planted: raw data compresses well (physical is cheaper); the hourly rebuilt marketing tables leave
    # time travel and fail-safe copies behind (logical is cheaper), though billed on physical bytes
    assert findings[f"{table_storage.PROJECT}.{table_storage.RAW}"]["recommended_setting"] == "PHYSICAL"
    assert findings[f"{table_storage.PROJECT}.marketing"]["recommended_setting"] == "LOGICAL"


def test_reuse_and_overlap_findings_take_their_marts_figures(warehouse: Path) -> None:
    sao = {r["pipeline_id"]: r for r in _mart(warehouse, "sao_opportunities")}
    reuse = {r["subject"]: r for r in _mart(warehouse, "cost_recommendations", "kind = 'enable_reuse'")}
    assert reuse and set(reuse) == {p for p, r in sao.items() if r["estimated_monthly_savings"] >= MIN_MONTHLY_SAVING}
    assert all(r["estimated_monthly_saving"] == sao[p]["estimated_monthly_savings"] for p, r in reuse.items())
    overlap = {f"duplicate_work:{r['target_name']}:{r['node_id']}": r for r in _mart(warehouse, "job_overlap")}
    duplicate = {r["recommendation_id"]: r for r in _mart(warehouse, "cost_recommendations", "kind = 'duplicate_work'")}
    assert duplicate and set(duplicate) <= set(overlap)
    for key, r in duplicate.items():
        assert abs(r["estimated_monthly_saving"] - overlap[key]["redundant_cost"]) <= MONEY_TOLERANCE  # 30-day window
        assert overlap[key]["primary_pipeline_id"] in r["evidence"]
    assert {r["kind"] for r in _mart(warehouse, "cost_recommendations")} == KINDS


def test_recommendations_are_ranked_by_their_saving(warehouse: Path) -> None:
    for r in _mart(warehouse, "cost_recommendations"):
        saving = r["estimated_monthly_saving"]
        assert r["priority"] == ("High" if saving >= 100 else "Medium" if saving >= 10 else "Low")
        assert r["kind"] == "fix_failing_model" or saving >= MIN_MONTHLY_SAVING
        assert r["recommendation_id"].startswith(f"{r['kind']}:") and r["currency"] == "USD"


# -- the estimates ------------------------------------------------------------------------------


def test_estimates_components_add_up(warehouse: Path) -> None:
    estimates = _mart(warehouse, "cost_estimates")
    assert {r["platform"] for r in estimates} >= {"bigquery", "databricks", "multiple"}
    for r in estimates:
        assert r["monthly_idle_overhead_cost"] == r["monthly_no_node_cost"] + r["monthly_idle_cost"]
        assert r["monthly_total_cost"] == (r["monthly_query_compute_cost"] + r["monthly_idle_overhead_cost"]
                                           + r["monthly_storage_cost"])
        assert abs(r["runs_per_day"] - r["run_count"] / PROFILE_WINDOW_DAYS) < 1e-12
    assert any(r["monthly_idle_cost"] > 0 for r in estimates) and any(r["monthly_storage_cost"] > 0 for r in estimates)


def test_estimates_window_cost_is_the_pipeline_history(warehouse: Path) -> None:
    as_of = _as_of(warehouse)
    start = as_of - dt.timedelta(days=PROFILE_WINDOW_DAYS)
    history = rows(warehouse, f"""
        select pipeline_id, count(*) as run_count, sum(total_cost) as window_cost
        from {MARTS_SCHEMA}.pipeline_cost_history
        where run_started_at >= timestamptz '{start.isoformat()}' and run_started_at < timestamptz '{as_of.isoformat()}'
        group by pipeline_id""")
    estimates = {r["pipeline_id"]: r for r in _mart(warehouse, "cost_estimates")}
    assert {h["pipeline_id"] for h in history} == set(estimates)
    for h in history:
        e = estimates[h["pipeline_id"]]
        assert (e["run_count"], e["window_cost"]) == (h["run_count"], h["window_cost"]), h["pipeline_id"]


def test_storage_is_split_between_pipelines_without_double_counting(warehouse: Path) -> None:
    as_of = _as_of(warehouse)
    start = as_of - dt.timedelta(days=PROFILE_WINDOW_DAYS)
    built = rows(warehouse, f"""
        with window_runs as (
            select pipeline_id, pipeline_run_id from {MARTS_SCHEMA}.pipeline_cost_history
            where run_started_at >= timestamptz '{start.isoformat()}' and run_started_at < timestamptz '{as_of.isoformat()}'
        ),
        written as (
            select distinct q.destination_project_id as project_id, q.destination_dataset_id as dataset_id,
                   q.destination_table_id as table_id
            from {MARTS_SCHEMA}.query_costs as q
            inner join window_runs using (pipeline_id, pipeline_run_id)
            where q.platform = 'bigquery' and q.attribution = 'attributed' and q.destination_table_id is not null
        )
        select count(distinct (s.project_id, s.dataset_id, s.table_id)) as tables, sum(s.monthly_cost) as cost
        from {MARTS_SCHEMA}.storage_costs as s
        inner join written using (project_id, dataset_id, table_id)""")[0]
    estimates = _mart(warehouse, "cost_estimates")
    assert built["cost"] > 0
    assert sum(r["monthly_storage_cost"] for r in estimates) == built["cost"]
    assert sum(r["storage_table_count"] for r in estimates) >= built["tables"]  # a shared table counts per pipeline


def test_idle_shares_stay_within_the_idle_lines(warehouse: Path) -> None:
    as_of = _as_of(warehouse)
    start = as_of - dt.timedelta(days=PROFILE_WINDOW_DAYS)
    idle = rows(warehouse, f"""
        select coalesce(sum(cost), 0) as cost from {MARTS_SCHEMA}.int_databricks_cost_lines
        where line_type = 'idle'
          and hour_started_at >= timestamptz '{start.isoformat()}' and hour_started_at < timestamptz '{as_of.isoformat()}'
    """)[0]["cost"]
    shared = sum(r["monthly_idle_cost"] for r in _mart(warehouse, "cost_estimates"))
    assert 0 < shared <= idle * 30 / PROFILE_WINDOW_DAYS + MONEY_TOLERANCE


def test_profile_flags_follow_their_thresholds(warehouse: Path) -> None:
    for r in _mart(warehouse, "model_performance"):
        assert r["is_full_scan"] == (r["scan_ratio"] is not None and r["scan_ratio"] >= FULL_SCAN_RATIO)
        assert r["success_count"] + r["error_count"] <= r["build_count"]
        if r["node_id"].startswith(f"model.{PROJECT}.stg_"):
            assert r["materialized"] == "view" and not r["should_be_incremental"]


# -- after the incremental stage (new days, late rows): still the truth -------------------------


@pytest.mark.parametrize("mart", list(KEYS))
def test_incremental_equals_ground_truth(tmp_path_factory: pytest.TempPathFactory, mart: str) -> None:
    db = integration_build(tmp_path_factory, "incremental")
    assert rows(db, "select as_of from ground_truth.generator_runs")[0]["as_of"] == T2
    assert_equals_truth(db, mart)


# -- configuration ------------------------------------------------------------------------------

BAD_VARS = [
    ("{dbt_pipeline_costs_profile_window_days: 0}", "dbt_pipeline_costs_profile_window_days must be a whole number >= 1"),
    ("{dbt_pipeline_costs_capacity_overhead_factor: 0.5}",
     "dbt_pipeline_costs_capacity_overhead_factor must be a number >= 1"),
    ("{dbt_pipeline_costs_failing_error_rate_pct: 150}",
     "dbt_pipeline_costs_failing_error_rate_pct must be a number >= 0 and <= 100"),
]


@pytest.mark.parametrize(("variables", "message"), BAD_VARS)
def test_bad_profiler_var_gives_a_clear_message(tmp_path: Path, variables: str, message: str) -> None:
    result = run_dbt(["compile", "--select", "model_performance", "cost_recommendations", "cost_estimates",
                      "--vars", variables], tmp_path / "empty.duckdb", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output and "Traceback" not in output


def test_the_truth_uses_the_vars_defaults() -> None:
    defaults = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    expected = {
        "dbt_pipeline_costs_profile_window_days": profiler_truth.PROFILE_WINDOW_DAYS,
        "dbt_pipeline_costs_slow_model_seconds": profiler_truth.SLOW_MODEL_SECONDS,
        "dbt_pipeline_costs_failing_error_rate_pct": profiler_truth.FAILING_ERROR_RATE_PCT,
        "dbt_pipeline_costs_full_scan_ratio": profiler_truth.FULL_SCAN_RATIO,
        "dbt_pipeline_costs_incremental_min_builds_per_day": profiler_truth.INCREMENTAL_MIN_BUILDS_PER_DAY,
        "dbt_pipeline_costs_incremental_read_share_pct": profiler_truth.INCREMENTAL_READ_SHARE_PCT,
        "dbt_pipeline_costs_partition_filter_read_share_pct": profiler_truth.PARTITION_FILTER_READ_SHARE_PCT,
        "dbt_pipeline_costs_capacity_overhead_factor": float(profiler_truth.CAPACITY_OVERHEAD_FACTOR),
        "dbt_pipeline_costs_recommendation_min_monthly_saving": profiler_truth.MIN_MONTHLY_SAVING,
    }
    assert {name: defaults[name] for name in expected} == expected
    assert str(defaults["dbt_pipeline_costs_capacity_overhead_factor"]) == profiler_truth.CAPACITY_OVERHEAD_TEXT
