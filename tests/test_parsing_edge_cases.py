"""Bad and tricky input through the real models: one crafted JOBS fixture, one dbt build.

Every case states what the package must make of it (docs/cost-rules.md); nothing may error,
drop a row silently or count money twice.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pipeline_costs.comment import labels_from_comment, render_query_comment
from pipeline_costs.schema import JOBS_DDL, JOBS_SCHEMA
from pipeline_costs.table_storage import TABLE_STORAGE_DDL, table_storage_table
from support import MARTS_SCHEMA, rows, run_dbt

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
BASE = NOW - dt.timedelta(days=2)
TIB = 2**40
TRICKY = [
    "model.shop.it's", 'model.shop.say_"hi"', "model.shop.back\\slash", "model.shop.close*/comment",
    "model.shop.{braces}", "model.shop.финансы", "model.shop.emoji_🚀", "model.shop.tab\tnew\nline",
    "model.shop." + "very_long_name_" * 6, "model.shop.'); drop table x; --", "model.shop.%_like",
]


def _random_ids(count: int) -> list[str]:
    rng = random.Random(20261120)
    alphabet = "abcXYZ019_-.'\"\\/*{}[]:, éß漢🙂\t"
    return ["model.shop." + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(count)]


class Fixture:
    """Builds the JOBS rows and remembers what the package must make of each."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.expected: dict[str, dict[str, Any]] = {}
        self._n = 0

    def job(self, expect: dict[str, Any] | None = None, **values: Any) -> str:
        self._n += 1
        job_id = values.pop("job_id", f"job_{self._n:04d}")
        created = BASE + dt.timedelta(seconds=self._n)
        row = {
            "job_id": job_id, "project_id": "acme", "creation_time": created, "start_time": created,
            "end_time": created + dt.timedelta(seconds=3), "job_type": "QUERY", "statement_type": "SELECT",
            "state": "DONE", "query": "select 1", "labels": [], "total_bytes_billed": 10 * 2**20,
            "total_slot_ms": 1000, "cache_hit": False,
        }
        row.update(values)
        self.jobs.append(row)
        if expect is not None:
            self.expected[job_id] = expect
        return job_id

    def dbt_job(self, node_id: str | None, pipeline_id: str = "p", run_id: str = "r1", **values: Any) -> str:
        fields = {"invocation_id": "11111111-2222-3333-4444-555555555555", "project": "shop", "target": "prod",
                  "command": "build", "node_id": node_id, "resource_type": "model" if node_id else None,
                  "orchestrator": "explicit", "pipeline_id": pipeline_id, "pipeline_run_id": run_id}
        comment = render_query_comment(fields)
        labels = [{"key": key, "value": value} for key, value in labels_from_comment(comment, fields["invocation_id"])]
        expect = {"attribution_source": "comment", "node_id": node_id, "pipeline_id": pipeline_id,
                  "pipeline_run_id": run_id, "attribution": "attributed" if node_id else "dbt_without_node"}
        return self.job(expect, query=f"/* {comment} */\nselect 1", labels=labels, **values)


def _build_fixture() -> Fixture:
    f = Fixture()
    # 1. Exact ids survive the comment round trip, whatever they contain.
    for node_id in TRICKY + _random_ids(300):
        f.dbt_job(node_id, pipeline_id="dag*/" + node_id[-5:], run_id="scheduled__" + node_id[:9])
    # 2. Comment appended at the end of the query (query-comment append: true).
    comment = render_query_comment({"invocation_id": "inv-append", "node_id": "model.shop.appended",
                                    "pipeline_id": "p", "pipeline_run_id": "r"})
    f.job({"attribution_source": "comment", "node_id": "model.shop.appended", "attribution": "attributed"},
          query=f"select 1\n/* {comment} */", labels=[{"key": "dbt_invocation_id", "value": "inv-append"}])
    # 3. Comment cut short / not JSON: labels are the fallback (lossy node id, exact invocation).
    f.job({"attribution_source": "label", "node_id": "model_shop_orders", "invocation_id": "inv-labels",
           "attribution": "attributed"},
          query='/* {"app": "dbt_pipeline_costs", "invocation_id": "inv-labels", "node_id": "model.sh',
          labels=[{"key": "dbt_invocation_id", "value": "inv-labels"}, {"key": "node_id", "value": "model_shop_orders"}])
    f.job({"attribution_source": "label", "node_id": None, "invocation_id": "inv-custom",
           "attribution": "dbt_without_node", "pipeline_id": "(unknown pipeline)", "pipeline_run_id": "inv-custom"},
          query="/* my team's own comment {not json */ select 1",
          labels=[{"key": "query_comment", "value": "my_team_s_own_comment__not_json"},
                  {"key": "dbt_invocation_id", "value": "inv-custom"}])
    f.job({"attribution_source": "label", "node_id": None, "attribution": "dbt_without_node"},
          query='/* {"app": "dbt_pipeline_costs", "invocation_id": "x", "node_id": } */ select 1',
          labels=[{"key": "dbt_invocation_id", "value": "inv-badjson"}, {"key": "weird key!", "value": None}])
    # 4. No comment, no labels, NULL labels, a BI tool's comment: not dbt.
    f.job({"attribution": "not_dbt", "attribution_source": "none"}, query="select * from sales", labels=None)
    f.job({"attribution": "not_dbt"}, query="-- Looker Query Context '{\"user_id\": 1}'\nselect 2", labels=[])
    # 5. The package's comment pasted by hand in the console (no dbt label): not parsed, not dbt.
    f.job({"attribution": "not_dbt"}, query=f"/* {comment} */ select 3", labels=[])
    # 6. Row-level security hides bytes: cost 0, flagged.
    f.job({"attribution": "not_dbt", "cost": Fraction(0), "has_missing_usage": True}, total_bytes_billed=None)
    # 7. Exact duplicate rows count once.
    dup = f.job({"attribution": "not_dbt", "cost": Fraction(5 * TIB * 625, 100 * TIB)}, total_bytes_billed=5 * TIB,
                job_id="job_duplicate")
    f.jobs.append(dict(f.jobs[-1]))
    assert dup == "job_duplicate"
    # 8. Failed (not billed) vs stopped (billed) on-demand; cache hit free.
    f.job({"cost": Fraction(0)}, error_result={"reason": "invalidQuery", "location": None, "debug_info": None, "message": "x"})
    f.job({"cost": Fraction(10 * 2**20 * 625, 100 * TIB)},
          error_result={"reason": "stopped", "location": None, "debug_info": None, "message": "x"})
    f.job({"cost": Fraction(0)}, cache_hit=True, total_bytes_billed=0)
    # 9. Capacity: NULL and unknown editions use the default edition (ENTERPRISE, 0.06/slot-hour).
    f.job({"pricing_model": "capacity", "cost": Fraction(6, 100)}, reservation_id="admin:US.r", edition=None,
          total_slot_ms=3_600_000)
    f.job({"pricing_model": "capacity", "cost": Fraction(6, 100)}, reservation_id="admin:US.r", edition="FUTURE",
          total_slot_ms=3_600_000)
    f.job({"pricing_model": "capacity", "cost": Fraction(10, 100)}, reservation_id="admin:US.r",
          edition="ENTERPRISE_PLUS", total_slot_ms=3_600_000)
    # 10. Scripts: parent not priced, child inherits; orphan child unknown; child of a non-dbt script not dbt.
    parent = f.dbt_job("model.shop.incremental", statement_type="SCRIPT", total_bytes_billed=TIB)
    f.expected.pop(parent)
    f.job({"attribution": "attributed", "attribution_source": "script_parent", "node_id": "model.shop.incremental"},
          parent_job_id=parent, total_bytes_billed=TIB, query="merge into t using s on true")
    f.job({"attribution": "unknown"}, parent_job_id="job_not_in_logs", query="insert into t select 1")
    user_script = f.job(None, statement_type="SCRIPT", query="begin select 1; end")
    f.job({"attribution": "not_dbt", "attribution_source": "none"}, parent_job_id=user_script)
    # 11. A load job (seeds): NULL statement_type and bytes, free, never dropped.
    f.job({"attribution": "not_dbt", "cost": Fraction(0), "has_missing_usage": False}, job_type="LOAD",
          statement_type=None, query=None, total_bytes_billed=None, total_slot_ms=None)
    # 12. Still running: not priced yet (no row in query_costs).
    f.job(None, job_id="job_running", state="RUNNING", end_time=None, total_bytes_billed=None, total_slot_ms=None)
    return f


def _write(db: Path, fixture: Fixture) -> None:
    with duckdb.connect(str(db)) as con:
        for region in ("us", "eu"):
            con.sql(f'create schema if not exists "region-{region}"')
            con.sql(f'create or replace table "region-{region}".jobs_by_project ({JOBS_DDL})')
            con.sql(f"create or replace table {table_storage_table(region)} ({TABLE_STORAGE_DDL})")  # empty
        jobs = pa.Table.from_pylist(fixture.jobs, schema=JOBS_SCHEMA)  # noqa: F841 (read by DuckDB below)
        con.sql('insert into "region-us".jobs_by_project by name select * from jobs')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fixture]:
    db = tmp_path_factory.mktemp("edge") / "edge.duckdb"
    fixture = _build_fixture()
    _write(db, fixture)
    # a BigQuery-only fixture: the Databricks models are off
    run_dbt(["build", "--select", "package:dbt_pipeline_costs", "--full-refresh",
             "--vars", "{dbt_pipeline_costs_databricks_enabled: false}"], db)
    return db, fixture


def test_every_expectation(built: tuple[Path, Fixture]) -> None:
    db, fixture = built
    got = {r["query_id"]: r for r in rows(db, f"select * from {MARTS_SCHEMA}.query_costs")}
    problems = []
    for job_id, expect in fixture.expected.items():
        if job_id not in got:
            problems.append((job_id, "missing from query_costs"))
            continue
        for column, want in expect.items():
            value = got[job_id][column]
            if isinstance(want, Fraction):
                ok = abs(Decimal(value) - Decimal(want.numerator) / Decimal(want.denominator)) < Decimal("1e-15")
            else:
                ok = value == want
            if not ok:
                problems.append((job_id, column, value, want))
    assert not problems, f"{len(problems)} expectations failed, e.g. {problems[:8]}"


def test_nothing_dropped_or_doubled(built: tuple[Path, Fixture]) -> None:
    db, fixture = built
    priced = rows(db, f"select query_id, count(*) as n from {MARTS_SCHEMA}.query_costs group by query_id")
    assert all(r["n"] == 1 for r in priced)
    distinct_jobs = {j["job_id"] for j in fixture.jobs}
    parents_and_running = {j["job_id"] for j in fixture.jobs if j.get("statement_type") == "SCRIPT" or j["state"] != "DONE"}
    assert {r["query_id"] for r in priced} == distinct_jobs - parents_and_running
    staged = rows(db, f"select count(*) as n from {MARTS_SCHEMA}.stg_bigquery__jobs")[0]["n"]
    assert staged == len(distinct_jobs)


def test_coverage_adds_up_to_every_priced_query(built: tuple[Path, Fixture]) -> None:
    db, _ = built
    totals = rows(db, f"""
        select
            (select sum(cost) from {MARTS_SCHEMA}.query_costs) as priced,
            (select sum(billed_cost) from {MARTS_SCHEMA}.cost_coverage) as billed,
            (select sum(attributed_cost + unattributed_cost) from {MARTS_SCHEMA}.cost_coverage) as parts
    """)[0]
    assert totals["priced"] == totals["billed"] == totals["parts"]


def test_comment_fields_round_trip_exactly(built: tuple[Path, Fixture]) -> None:
    """Spot-check one of the nastiest ids in full, beyond the per-job expectations above."""
    db, _ = built
    node_id = "model.shop.close*/comment"
    got = rows(db, f"select node_id, pipeline_id from {MARTS_SCHEMA}.query_costs where node_id = '{node_id}'")
    assert got == [{"node_id": node_id, "pipeline_id": "dag*/" + node_id[-5:]}]
    assert json.loads(render_query_comment({"node_id": node_id}).replace("*\\/", "*/"))["node_id"] == node_id
