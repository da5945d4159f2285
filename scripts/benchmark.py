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
SELECT = ["--select", "package:dbt_pipeline_costs"]

# The floor: what a person would write by hand for the same daily totals (billed and attributed
# cost per billing day) straight over the raw rows, with no incremental logic, dedup or script
# inheritance. It still parses the label and the node id, as the package must.
FLOOR_SQL = """
with jobs as (
    select * from "region-us".jobs_by_project
    union all
    select * from "region-eu".jobs_by_project
),
priced as (
    select
        end_time,
        list_filter(labels, lambda l: l.key = 'dbt_invocation_id')[1].value as invocation_id,
        case when invocation_id is not null
            then nullif(regexp_extract(query, '"node_id": "([^"]*)"', 1), '') end as node_id,
        case
            when coalesce(cache_hit, false) then 0
            when reservation_id is not null then total_slot_ms * 0.06 / 3600000
            when error_result.reason is null or error_result.reason = 'stopped'
                then coalesce(total_bytes_billed, 0) * 6.25 / 1099511627776
            else 0
        end as cost
    from jobs
    where state = 'DONE' and statement_type is distinct from 'SCRIPT'
)
select
    cast(timezone('America/Los_Angeles', end_time) as date) as cost_date,
    sum(cost) as billed_cost,
    sum(case when node_id is not null then cost else 0 end) as attributed_cost
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


def _dbt(db: Path, *args: str) -> float:
    return _run([str(BIN / "dbt"), *args, "--profiles-dir", str(PROJECT_DIR), *SELECT], db, cwd=PROJECT_DIR)


def _generate(db: Path, days: int, scale: float, end: dt.date, as_of: dt.datetime) -> float:
    return _run([sys.executable, "-m", "pipeline_costs", "generate", "--duckdb", str(db), "--days", str(days),
                 "--scale", f"{scale:g}", "--end-date", end.isoformat(), "--as-of", as_of.isoformat(),
                 "--no-truth"], db)


def _job_count(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return sum(con.sql(f'select count(*) from "region-{r}".jobs_by_project').fetchall()[0][0] for r in ("us", "eu"))


def _floor(db: Path) -> float:
    with duckdb.connect(str(db), read_only=True) as con:
        started = time.perf_counter()
        con.sql(FLOOR_SQL).fetchall()
        return time.perf_counter() - started


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
        _dbt(db, "deps")
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
