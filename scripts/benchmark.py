"""Benchmark of the package on DuckDB: printed figures, never a timed test.

1. Full build at growing scale (default 1M and 10M jobs): wall time of
   `dbt build --select package:dbt_pipeline_costs --full-refresh`, jobs/s, and the ratio to the
   floor: one hand-written DuckDB aggregation of the same daily totals over the same rows.
2. One incremental day on top of 30 vs 180 days of history (same jobs per day): wall time of the
   incremental `dbt build` and the ratio 180/30.

Usage: python scripts/benchmark.py [--sizes 1000000 10000000] [--history 30 180] [--daily-scale 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO / "integration_tests"
BIN = Path(sys.executable).parent
JOBS_PER_DAY_AT_SCALE_1 = 3000  # the generator's nominal volume; actual counts are measured and printed
# A BigQuery benchmark: the generator writes no Databricks tables (--no-databricks), so the package's
# Databricks models are off.
SELECT = ["--select", "package:dbt_pipeline_costs", "--vars", "{dbt_pipeline_costs_databricks_enabled: false}"]

# The floor: the same daily totals as cost_coverage (billed and attributed cost per billing day),
# written by hand as one DuckDB query over the same rows with the same rules (docs/cost-rules.md):
# de-duplication, script parents excluded and their children inheriting the parent's dbt context,
# the node result that reported a job's id standing in for a missing node (second attribution path),
# prices by edition, the on-demand billable rule, cache hits free, the Pacific billing day. No
# incremental logic, no intermediate tables, no per-query output. The benchmark checks that it
# reproduces the package's totals before it uses it as the yardstick.
FLOOR_SQL = """
with jobs as (
    select *, 'us' as location from "region-us".jobs_by_project
    union all
    select *, 'eu' as location from "region-eu".jobs_by_project
),
unique_jobs as (
    select * from jobs
    qualify row_number() over (partition by project_id, location, job_id order by end_time desc nulls last) = 1
),
reported as (
    select adapter_job_id, any_value(adapter_project_id) as adapter_project_id, any_value(node_id) as result_node
    from main_pipeline_costs.dbt_node_results
    where adapter_job_id is not null
    group by adapter_job_id
),
parsed as (
    select
        unique_jobs.*,
        list_filter(labels, lambda l: l.key = 'dbt_invocation_id')[1].value as invocation_id,
        case when invocation_id is not null then coalesce(
            nullif(regexp_extract(query, '"node_id": "((?:[^"\\\\]|\\\\.)*)"', 1), ''),
            list_filter(labels, lambda l: l.key = 'node_id')[1].value
        ) end as node_id,
        reported.result_node
    from unique_jobs
    left join reported
        on unique_jobs.job_id = reported.adapter_job_id
        and (reported.adapter_project_id is null or reported.adapter_project_id = unique_jobs.project_id)
),
with_parent as (
    select
        child.*,
        case when child.parent_job_id is null then child.invocation_id else parent.invocation_id end as run_invocation,
        case when child.parent_job_id is null then coalesce(nullif(child.node_id, ''), child.result_node)
            else coalesce(nullif(parent.node_id, ''), parent.result_node) end as run_node,
        child.parent_job_id is not null and parent.job_id is null as orphan
    from parsed as child
    left join parsed as parent
        on child.parent_job_id = parent.job_id and child.project_id = parent.project_id and child.location = parent.location
    where child.state = 'DONE' and child.statement_type is distinct from 'SCRIPT'
),
priced as (
    select
        end_time,
        (run_invocation is not null or run_node is not null) and nullif(run_node, '') is not null and not orphan
            as is_attributed,
        case
            when coalesce(cache_hit, false) then 0
            when reservation_id is not null then coalesce(total_slot_ms, 0)
                * case edition when 'STANDARD' then 0.04 when 'ENTERPRISE_PLUS' then 0.10 else 0.06 end / 3600000
            when error_result.reason is null or error_result.reason = 'stopped'
                then coalesce(total_bytes_billed, 0) * 6.25 / 1099511627776
            else 0
        end as cost
    from with_parent
)
select
    cast(timezone('America/Los_Angeles', end_time) as date) as cost_date,
    sum(cost) as billed_cost,
    sum(case when is_attributed then cost else 0 end) as attributed_cost
from priced
group by all
"""


def _env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_DUCKDB_PATH=str(db), PYTHONPATH=str(REPO / "scripts"))
    return env


def _run(command: list[str], db: Path, cwd: Path = REPO) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=_env(db), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return elapsed


def _dbt(db: Path, *args: str, select: bool = True) -> float:
    command = [str(BIN / "dbt"), *args, "--profiles-dir", str(PROJECT_DIR), *(SELECT if select else [])]
    return _run(command, db, cwd=PROJECT_DIR)


def _generate(db: Path, days: int, scale: float, end: dt.date, as_of: dt.datetime) -> float:
    return _run([sys.executable, "-m", "pipeline_costs", "generate", "--duckdb", str(db), "--days", str(days),
                 "--scale", f"{scale:g}", "--end-date", end.isoformat(), "--as-of", as_of.isoformat(),
                 "--no-truth", "--no-databricks"], db)


def _job_count(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return sum(con.sql(f'select count(*) from "region-{r}".jobs_by_project').fetchall()[0][0] for r in ("us", "eu"))


def _floor(db: Path) -> float:
    """Time the floor query, and check it gives the package's totals (else it is no yardstick)."""
    with duckdb.connect(str(db), read_only=True) as con:
        started = time.perf_counter()
        floor_rows = con.sql(FLOOR_SQL).fetchall()
        elapsed = time.perf_counter() - started
        package = con.sql("select sum(billed_cost), sum(attributed_cost) from main_pipeline_costs.cost_coverage "
                          "where platform = 'bigquery'").fetchall()[0]
    floor_billed = sum(float(r[1]) for r in floor_rows)
    floor_attributed = sum(float(r[2]) for r in floor_rows)
    for name, mine, theirs in (("billed", floor_billed, package[0]), ("attributed", floor_attributed, package[1])):
        if abs(mine - float(theirs)) > 1e-6 * max(1.0, abs(float(theirs))):
            sys.exit(f"floor and package disagree on {name} cost: {mine} vs {theirs}")
    return elapsed


def full_builds(workdir: Path, sizes: list[int], days: int) -> None:
    end = dt.datetime.now(dt.UTC).date()
    as_of = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    print(f"\n== Full build ({days} days of history) ==")
    print(f"{'jobs':>12} {'generate s':>11} {'dbt build s':>12} {'jobs/s':>10} {'floor s':>8} {'build/floor':>12}")
    for size in sizes:
        db = workdir / f"full_{size}.duckdb"
        db.unlink(missing_ok=True)
        generated = _generate(db, days, size / (JOBS_PER_DAY_AT_SCALE_1 * days), end, as_of)
        jobs = _job_count(db)
        _dbt(db, "deps", select=False)
        build = _dbt(db, "build", "--full-refresh")
        floor = _floor(db)
        print(f"{jobs:>12,} {generated:>11.1f} {build:>12.1f} {jobs / build:>10,.0f} {floor:>8.2f} {build / floor:>12.1f}x")
        db.unlink(missing_ok=True)


def incremental_days(workdir: Path, histories: list[int], daily_scale: float) -> None:
    end = dt.datetime.now(dt.UTC).date()
    day_before = dt.datetime.combine(end - dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    print(f"\n== One incremental day (about {JOBS_PER_DAY_AT_SCALE_1 * daily_scale:,.0f} jobs/day) ==")
    print(f"{'history days':>12} {'jobs loaded':>12} {'incremental dbt build s':>24}")
    timings = {}
    for history in histories:
        db = workdir / f"incremental_{history}.duckdb"
        db.unlink(missing_ok=True)
        _generate(db, history + 1, daily_scale, end, day_before)
        _dbt(db, "build", "--full-refresh")
        _generate(db, history + 1, daily_scale, end, dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC))
        jobs = _job_count(db)
        timings[history] = _dbt(db, "build")
        print(f"{history:>12} {jobs:>12,} {timings[history]:>24.1f}")
        db.unlink(missing_ok=True)
    if len(histories) == 2:
        short, long = histories
        print(f"ratio {long}-day / {short}-day history: {timings[long] / timings[short]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--days", type=int, default=30, help="days of history in the full builds")
    parser.add_argument("--history", type=int, nargs="*", default=[30, 180])
    parser.add_argument("--daily-scale", type=float, default=10.0, help="generator --scale for the incremental test")
    parser.add_argument("--workdir", type=Path, default=REPO / "build" / "bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.sizes:
        full_builds(args.workdir, args.sizes, args.days)
    if args.history:
        incremental_days(args.workdir, args.history, args.daily_scale)


if __name__ == "__main__":
    main()
