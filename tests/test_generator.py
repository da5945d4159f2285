"""The synthetic generator (scripts/pipeline_costs): BigQuery JOBS, Databricks system tables, and the
ground truth."""

from __future__ import annotations

import json
import math
import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from pathlib import Path, PurePosixPath

import duckdb
import pytest
import yaml
from conftest import DbtRunner, run_python_module
from dbt.adapters.bigquery.connections import BigQueryConnectionManager, _sanitize_label
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_costs import comment as qc
from pipeline_costs import pipelines, pricing, project, schema
from pipeline_costs.cli import build_parser, main
from pipeline_costs.databricks_rows import merge_spans

END_DATE = "2026-11-21"
DAYS = 6
SCALE = "0.25"
AS_OF_LATER = "2026-11-22T00:00:00+00:00"
TOLERANCE = Decimal("1e-15")  # group-exact vs sum of per-job-rounded costs (<= n * 5e-19)
COMMENT_RE = re.compile(r"^/\* (.*?) \*/\n", re.DOTALL)
COVERAGE_PARTS = ("attributed_cost", "unattributed_not_dbt_cost", "unattributed_dbt_without_node_cost",
                  "unattributed_unknown_cost", "unattributed_idle_cost", "unattributed_other_compute_cost")
JOBS = {"us": '"region-us".jobs_by_project', "eu": '"region-eu".jobs_by_project'}
RUN_RESULTS = ("dbt_invocations", "dbt_node_results")
REUSE_MARTS = ("model_reuse", "freshness_coverage", "slo_compliance", "sao_opportunities", "job_overlap",
               "reuse_savings")
DATABRICKS_TABLES = ("system_billing.usage", "system_billing.list_prices", "system_query.history")
DATABRICKS_TRUTH = ("databricks_warehouse_hours", "databricks_job_runs", "databricks_cost_lines")

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_VERSION = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())["version"]


def generate(path: Path, *extra: str) -> None:
    assert main(["generate", "--days", str(DAYS), "--end-date", END_DATE, "--scale", SCALE, "--seed", "7",
                 "--duckdb", str(path), *extra]) == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path = tmp_path_factory.mktemp("gen") / "world.duckdb"
    generate(path)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def later_world(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path = tmp_path_factory.mktemp("gen") / "later.duckdb"
    generate(path, "--as-of", AS_OF_LATER)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchall()[0][0]


def all_jobs(con: duckdb.DuckDBPyConnection, where: str = "true", columns: str = "*") -> list[dict]:
    return rows(con, " union all ".join(
        f"select '{region}' as location, {columns} from {table} where {where}" for region, table in JOBS.items()
    ))


def planted(con: duckdb.DuckDBPyConnection, case: str) -> list[dict]:
    found = rows(con, f"select * from ground_truth.planted_cases where case_name = '{case}'")
    assert found, f"planted case {case} missing"
    return found


def damaged_comments(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Jobs whose query comment was cut after dbt labelled them (one run uploaded its results, one not)."""
    return {p["job_id"] for case in ("label_fallback", "adapter_response_fallback") for p in planted(con, case)}


def truth_of(con: duckdb.DuckDBPyConnection, job_id: str) -> dict:
    found = rows(con, f"select * from ground_truth.query_costs where job_id = '{job_id}'")
    assert len(found) == 1, job_id
    return found[0]


# ---------------------------------------------------------------------------------------------
# CLI and output shape
# ---------------------------------------------------------------------------------------------


def test_cli_dispatches_generate_subcommand() -> None:
    parser = build_parser()
    args = parser.parse_args(["generate", "--no-truth", "--scale", "2"])
    assert args.command == "generate" and args.truth is False and args.scale == 2.0
    assert args.days == 14 and args.seed == 42 and args.currency == "USD" and args.databricks is True
    assert parser.parse_args(["generate", "--no-databricks"]).databricks is False
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--scale", "0"])


def test_summary_is_one_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--days", "2", "--end-date", END_DATE, "--scale", "0.1",
                 "--duckdb", str(tmp_path / "s.duckdb")]) == 0
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    assert '"region-us".jobs_by_project' in out and '"region-eu".jobs_by_project' in out
    assert "system_query.history" in out and "system_billing.usage" in out
    assert "ground_truth" in out and "2 days" in out


def test_no_truth_via_module_drops_stale_truth(tmp_path: Path, venv_bin: Path) -> None:
    path = tmp_path / "n.duckdb"
    common = ["generate", "--days", "2", "--end-date", END_DATE, "--scale", "0.1", "--duckdb", str(path)]
    run_python_module(venv_bin, "pipeline_costs", common)
    out = run_python_module(venv_bin, "pipeline_costs", [*common, "--no-truth"])
    assert "not written" in out
    with duckdb.connect(str(path), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        assert {"region-us", "region-eu"} <= schemas and "ground_truth" not in schemas
        assert scalar(con, f"select count(*) from {JOBS['us']}") > 0


EXPECTED_TYPES = {
    "job_id": "VARCHAR", "parent_job_id": "VARCHAR", "project_id": "VARCHAR", "project_number": "BIGINT",
    "user_email": "VARCHAR", "principal_subject": "VARCHAR", "session_info": "STRUCT(session_id VARCHAR)",
    "transaction_id": "VARCHAR", "creation_time": "TIMESTAMP WITH TIME ZONE",
    "start_time": "TIMESTAMP WITH TIME ZONE", "end_time": "TIMESTAMP WITH TIME ZONE", "job_type": "VARCHAR",
    "statement_type": "VARCHAR", "state": "VARCHAR", "priority": "VARCHAR", "query": "VARCHAR",
    "labels": "STRUCT(\"key\" VARCHAR, \"value\" VARCHAR)[]",
    "destination_table": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)",
    "referenced_tables": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)[]",
    "total_bytes_processed": "BIGINT", "total_bytes_billed": "BIGINT", "total_slot_ms": "BIGINT",
    "cache_hit": "BOOLEAN", "reservation_id": "VARCHAR", "edition": "VARCHAR",
    "error_result": "STRUCT(reason VARCHAR, \"location\" VARCHAR, debug_info VARCHAR, message VARCHAR)",
    "dml_statistics": "STRUCT(inserted_row_count BIGINT, deleted_row_count BIGINT, updated_row_count BIGINT)",
    "query_info": "STRUCT(query_hashes STRUCT(normalized_literals VARCHAR))",
}


def assert_official_columns(con: duckdb.DuckDBPyConnection, table: str, expected: dict[str, str]) -> None:
    """The table has the expected columns, in that order, of those types (quoting aside)."""
    described = [(r[0], r[1].replace('"', "")) for r in con.execute(f"describe {table}").fetchall()]
    assert described == [(column, typ.replace('"', "")) for column, typ in expected.items()], table


def test_jobs_tables_have_the_official_columns_and_types(world: duckdb.DuckDBPyConnection) -> None:
    for table in JOBS.values():
        assert_official_columns(world, table, EXPECTED_TYPES)
    money = rows(world, "select column_name, data_type from information_schema.columns "
                 "where table_schema = 'ground_truth' and column_name like '%cost'")
    assert money and all(r["data_type"] == "DECIMAL(38,18)" for r in money)
    tables = {r[0] for r in world.execute(
        "select table_name from information_schema.tables where table_schema = 'ground_truth'").fetchall()}
    assert {"query_costs", "model_costs", "pipeline_stage_costs", "pipeline_cost_history", "cost_coverage",
            "generator_runs", *REUSE_MARTS, *DATABRICKS_TRUTH} <= tables


def test_rows_are_written_in_creation_time_order(world: duckdb.DuckDBPyConnection) -> None:
    for table in JOBS.values():
        times = [r[0] for r in world.execute(f"select creation_time from {table}").fetchall()]
        assert times == sorted(times) and len(times) > 100


def test_same_seed_gives_identical_tables(tmp_path: Path) -> None:
    def dump(path: Path, seed: str) -> dict[str, object]:
        assert main(["generate", "--days", "3", "--end-date", END_DATE, "--scale", "0.2", "--seed", seed,
                     "--duckdb", str(path)]) == 0
        with duckdb.connect(str(path), read_only=True) as con:
            out = {t: con.sql(f"select * from {t}").to_arrow_table() for t in (*JOBS.values(), *DATABRICKS_TABLES)}
            for t in ("query_costs", "model_costs", "pipeline_cost_history", "cost_coverage", *REUSE_MARTS,
                      *DATABRICKS_TRUTH):
                out[t] = con.sql(f"select * from ground_truth.{t}").to_arrow_table()
            for t in RUN_RESULTS:
                out[t] = con.sql(f"select * from main_pipeline_costs.{t}").to_arrow_table()
            return out

    first, again, other = dump(tmp_path / "a.duckdb", "3"), dump(tmp_path / "b.duckdb", "3"), dump(
        tmp_path / "c.duckdb", "4")
    for table in first:
        assert first[table].equals(again[table]), table
    assert not first[JOBS["us"]].equals(other[JOBS["us"]])
    assert not first["system_query.history"].equals(other["system_query.history"])
    assert not first["dbt_node_results"].equals(other["dbt_node_results"])
    assert first["dbt_node_results"].num_rows > 100 and first["model_reuse"].num_rows > 10


def test_volume_is_about_3000_jobs_per_day_at_scale_1(world: duckdb.DuckDBPyConnection) -> None:
    run = rows(world, "select * from ground_truth.generator_runs")[0]
    assert run["seed"] == 7 and run["days"] == DAYS and run["scale"] == float(SCALE)
    per_day_at_scale = (run["jobs_us"] + run["jobs_eu"]) / DAYS
    # dbt Cloud's hourly schedule does not shrink with --scale, so small scales are relatively dbt-heavy
    assert 700 < per_day_at_scale < 1500


# ---------------------------------------------------------------------------------------------
# The query comment: same string as the package's macro, run by dbt itself
# ---------------------------------------------------------------------------------------------

PIPELINE_KEYS = ("orchestrator", "pipeline_id", "pipeline_run_id", "pipeline_task_id", "run_reason")
SECRETS = {"AWS_SECRET_ACCESS_KEY": "AKIAsecretvalue42", "DBT_ENV_SECRET_X": "dbt-secret-value-42"}
ORCHESTRATOR_ENVS = {
    "airflow": {"AIRFLOW_CTX_DAG_ID": "финансы*/daily <&'\">", "AIRFLOW_CTX_DAG_RUN_ID":
                "scheduled__2026-11-20T05:00:00+00:00", "AIRFLOW_CTX_TASK_ID": "dbt_run"},
    "dbt_cloud": {"DBT_CLOUD_JOB_ID": "918273", "DBT_CLOUD_RUN_ID": "310004242",
                  "DBT_CLOUD_RUN_REASON_CATEGORY": "scheduled"},
    "github_actions": {"GITHUB_REPOSITORY": "acme/analytics-dbt", "GITHUB_WORKFLOW": "dbt CI",
                       "GITHUB_RUN_ID": "11800004242", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_JOB": "dbt-build"},
    "explicit": {"DBT_PIPELINE_ID": "eu_marketing_sync"},
    "explicit_with_run": {"DBT_PIPELINE_ID": "nightly */ sync", "DBT_PIPELINE_RUN_ID": "run-7"},
    "none": {},
}


@pytest.mark.parametrize("name", list(ORCHESTRATOR_ENVS))
def test_render_query_comment_equals_the_macro(dbt: DbtRunner, name: str) -> None:
    env = {**ORCHESTRATOR_ENVS[name], **SECRETS}
    node = project.LONG_MODEL_NAME if name in ("airflow", "none") else None
    args = ["run-operation", "-q", "print_query_comment"]
    if node:
        args += ["--args", json.dumps({"node_name": node})]
    printed = dbt(*args, env=env).stdout.strip().splitlines()[-1]
    assert "*/" not in printed
    for secret in SECRETS.values():
        assert secret not in printed
    fields = json.loads(printed)
    assert qc.render_query_comment(fields) == printed
    assert list(fields) == [k for k in qc.COMMENT_KEYS if k in fields]
    # the Python mirror of pipeline_context() derives the same pipeline fields from the same env
    ctx = qc.pipeline_context(env, project=fields["project"], target=fields["target"], command=fields["command"],
                              invocation_id=fields["invocation_id"])
    assert {k: v for k, v in fields.items() if k in PIPELINE_KEYS} == ctx
    if node:
        assert fields["node_id"] == f"model.{project.PROJECT_NAME}.{node}" and len(fields["node_id"]) > 63
    rendered = qc.render_query_comment({
        **{k: fields[k] for k in ("invocation_id", "project", "target", "command")},
        "run_started_at": datetime.fromisoformat(fields["run_started_at"]),
        **{k: fields.get(k) for k in qc.NODE_KEYS}, **ctx,
    })
    assert rendered == printed


def test_simulated_nodes_are_in_the_dbt_graph_with_folder_and_tags(dbt: DbtRunner, integration_dir: Path) -> None:
    for rel, content in project.integration_files().items():
        assert (integration_dir / rel).read_text() == content, rel
    out = dbt("ls", "-q", "--resource-types", "model", "seed", "test", "--output", "json",
              "--output-keys", "unique_id", "original_file_path", "tags", "resource_type").stdout
    graph = {n["unique_id"]: n for n in map(json.loads, filter(None, out.splitlines()))}
    for node in project.NODES:
        found = graph[node.unique_id]
        assert found["original_file_path"] == node.original_file_path
        assert str(Path(found["original_file_path"]).parent) == node.folder
        assert sorted(found["tags"]) == sorted(node.tags)
        assert found["resource_type"] == node.resource_type
    assert len(project.MODELS) >= 15 and 2 <= len(project.SEEDS) <= 3 and project.TESTS
    assert any(len(n.unique_id) > 63 for n in project.MODELS)


# ---------------------------------------------------------------------------------------------
# Comments and labels in the generated data
# ---------------------------------------------------------------------------------------------


def _labels_dbt_would_set(comment: str, invocation_id: str) -> dict[str, str]:
    labels = BigQueryConnectionManager._labels_from_query_comment(None, comment)  # self is unused
    labels["dbt_invocation_id"] = invocation_id
    return labels


def test_labels_are_what_dbt_bigquery_sets(world: duckdb.DuckDBPyConnection) -> None:
    jobs = all_jobs(world, "len(labels) > 0 and labels[1].key <> 'data_source_id'", "job_id, query, labels")
    fallback = damaged_comments(world)
    checked = 0
    for job in jobs:
        labels = {label["key"]: label["value"] for label in job["labels"]}
        assert len(labels) == len(job["labels"])
        match = COMMENT_RE.match(job["query"])
        assert match, job["job_id"]
        if job["job_id"] in fallback:
            continue  # the query's comment was damaged after dbt labelled the job
        assert labels == _labels_dbt_would_set(match.group(1), labels["dbt_invocation_id"])
        assert all(re.fullmatch(r"[a-z0-9_-]{0,63}", v) for v in labels.values())
        checked += 1
    assert checked > 1000
    long_id = f"model.{project.PROJECT_NAME}.{project.LONG_MODEL_NAME}"
    truncated = [j for j in jobs if any(lab["value"] == _sanitize_label(long_id) for lab in j["labels"])]
    assert truncated and len(_sanitize_label(long_id)) == 63


def test_comments_round_trip_and_never_close_early(world: duckdb.DuckDBPyConnection) -> None:
    jobs = all_jobs(world, "query like '/* {\"app\": \"dbt_pipeline_costs\"%'", "job_id, query")
    fallback = damaged_comments(world)
    pipelines = set()
    for job in jobs:
        text = COMMENT_RE.match(job["query"]).group(1)
        assert "*/" not in text
        if job["job_id"] in fallback:
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            continue
        fields = json.loads(text)
        assert qc.render_query_comment(fields) == text
        pipelines.add(fields["pipeline_id"])
    assert {"daily_finance", "финансы*/daily", "918273", "acme/analytics-dbt/dbt CI",
            "eu_marketing_sync"} <= pipelines
    assert f"{project.PROJECT_NAME}.dev.run" in pipelines


def test_noise_queries_look_like_their_sources(world: duckdb.DuckDBPyConnection) -> None:
    looker = all_jobs(world, "query like '-- Looker Query Context%'", "query, labels")
    assert looker and all(re.match(r"-- Looker Query Context '\{\"user_id\":\d+,", j["query"]) for j in looker)
    assert all(j["labels"] == [] for j in looker)
    scheduled = all_jobs(world, "job_id like 'scheduled_query_%'", "labels")
    assert scheduled and all(j["labels"] == [{"key": "data_source_id", "value": "scheduled_query"}]
                             for j in scheduled)
    editions = {r[0] for r in world.execute(f"select distinct edition from {JOBS['us']} "
                                            "where reservation_id is not null").fetchall()}
    assert editions == {"STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS", None}
    assert scalar(world, f"select count(distinct project_id) from {JOBS['us']}") == 2


# ---------------------------------------------------------------------------------------------
# Scripts, snapshot, late rows
# ---------------------------------------------------------------------------------------------


def test_script_parents_hold_the_sum_of_their_children(later_world: duckdb.DuckDBPyConnection) -> None:
    world = later_world  # every row has arrived (a child may show up in JOBS hours after its parent)
    for region, table in JOBS.items():
        parents = rows(world, f"""
            select p.job_id, p.total_bytes_billed, p.total_slot_ms, p.total_bytes_processed, p.labels,
                   count(c.job_id) as children, sum(c.total_bytes_billed) as child_billed,
                   sum(c.total_slot_ms) as child_slots, sum(c.total_bytes_processed) as child_processed,
                   bool_and(len(c.labels) = 0) as children_unlabelled,
                   bool_and(c.query not like '/*%') as children_uncommented,
                   bool_and(regexp_matches(c.job_id, '^script_job_[0-9a-f]{{32}}_[0-9]+$')) as child_ids
            from {table} p join {table} c on c.parent_job_id = p.job_id
            where p.statement_type = 'SCRIPT' and p.state = 'DONE' and c.state = 'DONE'
            group by all""")
        if region == "eu":
            continue
        assert len(parents) > 10
        for p in parents:
            assert 2 <= p["children"] <= 4
            assert (p["total_bytes_billed"], p["total_slot_ms"], p["total_bytes_processed"]) == (
                p["child_billed"], p["child_slots"], p["child_processed"])
            assert p["children_unlabelled"] and p["children_uncommented"] and p["child_ids"]
    dbt_parents = scalar(world, f"select count(*) from {JOBS['us']} where statement_type = 'SCRIPT' "
                                "and len(labels) > 0 and query like '/* {\"app\": \"dbt_pipeline_costs\"%'")
    assert dbt_parents > 0
    kinds = {r[0] for r in world.execute(
        f"select distinct statement_type from {JOBS['us']} where job_id like 'script_job_%'").fetchall()}
    assert {"CREATE_TABLE_AS_SELECT", "MERGE", "DROP_TABLE"} <= kinds


def test_snapshot_semantics(world: duckdb.DuckDBPyConnection, later_world: duckdb.DuckDBPyConnection) -> None:
    as_of = datetime(2026, 11, 21, tzinfo=UTC)
    for table in JOBS.values():
        assert scalar(world, f"select count(*) from {table} where creation_time >= '{as_of.isoformat()}'") == 0
        assert scalar(world, f"select count(*) from {table} where state = 'DONE' "
                             f"and end_time > '{as_of.isoformat()}'") == 0
    unfinished = rows(world, f"select * from {JOBS['us']} where state <> 'DONE'")
    assert unfinished
    for job in unfinished:
        assert job["state"] in ("RUNNING", "PENDING") and job["end_time"] is None
        assert job["total_bytes_billed"] is None and job["total_slot_ms"] is None
        assert job["cache_hit"] is None and job["error_result"] is None
    running = planted(world, "running_at_end")[0]
    assert running["state"] == "RUNNING"
    later = rows(later_world, f"select state, end_time, total_bytes_billed from {JOBS['us']} "
                              f"where job_id = '{running['job_id']}'")
    assert later[0]["state"] == "DONE" and later[0]["end_time"] > as_of and later[0]["total_bytes_billed"] > 0
    # truth only prices DONE jobs of the snapshot
    assert scalar(world, f"select count(*) from ground_truth.query_costs where job_id = '{running['job_id']}'") == 0
    assert scalar(later_world, "select count(*) from ground_truth.query_costs "
                               f"where job_id = '{running['job_id']}'") == 1


def test_late_rows_appear_with_a_later_as_of(world: duckdb.DuckDBPyConnection,
                                             later_world: duckdb.DuckDBPyConnection) -> None:
    before = {r[0] for r in world.execute(f"select job_id from {JOBS['us']}").fetchall()}
    after = rows(later_world, f"select job_id, creation_time from {JOBS['us']}")
    late = [r for r in after if r["job_id"] not in before]
    assert late and {r["job_id"] for r in after} >= before
    # created well before the first snapshot, yet absent from it: they arrived late
    assert any(r["creation_time"] < datetime(2026, 11, 20, 23, tzinfo=UTC) for r in late)


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------


def test_coverage_conserves_cost_per_day(world: duckdb.DuckDBPyConnection) -> None:
    days = rows(world, "select * from ground_truth.cost_coverage order by platform, cost_date, product")
    assert {(d["platform"], d["product"]) for d in days} == {
        ("bigquery", "on_demand"), ("bigquery", "capacity"), ("databricks", "SQL"), ("databricks", "JOBS"),
        ("databricks", "DLT"), ("databricks", "INTERACTIVE"), ("databricks", "NOTEBOOKS"),
        ("databricks", "MODEL_SERVING")}
    per_day = {(r["cost_date"], r["pricing_model"]): r for r in rows(world, """
        select cost_date, pricing_model, sum(cost) as cost, count(*) as n from ground_truth.query_costs
        where platform = 'bigquery' group by all""")}
    for day in days:
        parts = sum(day[c] for c in COVERAGE_PARTS)
        assert day["billed_cost"] == parts and day["currency"] == "USD"
        if day["platform"] == "bigquery":
            assert day["unattributed_idle_cost"] == day["unattributed_other_compute_cost"] == 0
            assert day["unpriced_usage_quantity"] == 0
            assert day["query_count"] == per_day[(day["cost_date"], day["product"])]["n"]
            assert abs(day["billed_cost"] - per_day[(day["cost_date"], day["product"])]["cost"]) <= TOLERANCE
    assert sum(d["unattributed_unknown_cost"] for d in days) > 0
    assert len({d["cost_date"] for d in days if d["platform"] == "bigquery"}) >= DAYS


def _expected_cost(job: dict) -> Fraction:
    """The pricing rules applied directly to one JOBS row."""
    if job["cache_hit"]:
        return Fraction(0)
    if job["reservation_id"] is not None:
        price = {"STANDARD": Fraction(4, 100), "ENTERPRISE": Fraction(6, 100),
                 "ENTERPRISE_PLUS": Fraction(10, 100)}[job["edition"] or "ENTERPRISE"]
        return price * (job["total_slot_ms"] or 0) / 3_600_000
    error = job["error_result"]
    if error is not None and error["reason"] != "stopped":
        return Fraction(0)
    return Fraction(625, 100) * (job["total_bytes_billed"] or 0) / 2**40


def test_query_costs_follow_the_pricing_rules(world: duckdb.DuckDBPyConnection) -> None:
    truth = {(r["location"], r["job_id"]): r for r in rows(world, "select * from ground_truth.query_costs "
                                                                   "where platform = 'bigquery'")}
    jobs = all_jobs(world, "state = 'DONE' and coalesce(statement_type, '') <> 'SCRIPT'")
    assert len(truth) == len({(j["location"], j["job_id"]) for j in jobs})  # exact duplicates count once
    models = set()
    for job in jobs:
        t = truth[(job["location"], job["job_id"])]
        exact = _expected_cost(job)
        assert abs(Fraction(t["cost"]) - exact) <= Fraction(1, 2 * 10**18)
        assert t["pricing_model"] == ("capacity" if job["reservation_id"] else "on_demand")
        assert t["bytes_billed"] == job["total_bytes_billed"] and t["slot_ms"] == job["total_slot_ms"]
        assert t["ended_at"] == job["end_time"] and t["started_at"] == job["start_time"]
        hidden = job["job_type"] == "QUERY" and not job["cache_hit"] and (
            job["total_slot_ms"] is None if job["reservation_id"] else
            (job["error_result"] is None or job["error_result"]["reason"] == "stopped") and job["total_bytes_billed"] is None)
        assert t["has_missing_usage"] == hidden
        models.add((t["pricing_model"], job["edition"], exact > 0))
    assert ("capacity", None, True) in models and ("on_demand", None, True) in models
    failed_on_demand = [j for j in jobs if j["error_result"] and j["error_result"]["reason"] == "invalidQuery"
                        and not j["reservation_id"] and (j["total_bytes_billed"] or 0) > 0]
    assert failed_on_demand and all(truth[(j["location"], j["job_id"])]["cost"] == 0 for j in failed_on_demand)


def test_attribution_classes(world: duckdb.DuckDBPyConnection) -> None:
    classes = {(r["attribution"], r["attribution_source"], r["is_dbt"]) for r in rows(
        world, "select distinct attribution, attribution_source, is_dbt from ground_truth.query_costs "
               "where platform = 'bigquery'")}
    assert classes == {
        ("attributed", "comment", True), ("attributed", "adapter_response", True), ("attributed", "label", True),
        ("attributed", "script_parent", True), ("dbt_without_node", "comment", True),
        ("dbt_without_node", "label", True), ("not_dbt", "none", False), ("unknown", "none", False),
    }
    context_leak = scalar(world, """select count(*) from ground_truth.query_costs
        where not is_dbt and coalesce(invocation_id, node_id, pipeline_id, pipeline_run_id, orchestrator) is not null""")
    assert context_leak == 0
    eu = rows(world, "select * from ground_truth.query_costs where location = 'eu' and is_dbt")
    assert eu and all(r["pipeline_id"] == "eu_marketing_sync" and r["orchestrator"] == "explicit"
                      and r["pipeline_run_id"] == r["invocation_id"] for r in eu)
    loads = all_jobs(world, "job_type = 'LOAD'", "job_id, labels, query, total_bytes_billed")
    assert loads and all(j["labels"] == [] and j["query"] is None and j["total_bytes_billed"] is None
                         for j in loads)
    seed_loads = scalar(world, f"""select count(*) from ground_truth.query_costs q join {JOBS['us']} j
        using (job_id) where j.job_type = 'LOAD' and j.destination_table.table_id = 'country_codes'""")
    assert seed_loads > 0
    assert scalar(world, """select count(distinct attribution) from ground_truth.query_costs q
        join "region-us".jobs_by_project j using (job_id) where j.job_type = 'LOAD'""") == 1


def test_planted_cases(world: duckdb.DuckDBPyConnection) -> None:
    assert all(p["present"] for p in rows(world, "select * from ground_truth.planted_cases "
                                                 "where case_name not in ('running_at_end', 'result_job_not_in_logs')"))
    orphan = truth_of(world, planted(world, "orphan_script_child")[0]["job_id"])
    assert (orphan["attribution"], orphan["attribution_source"], orphan["invocation_id"]) == ("unknown", "none", None)
    assert orphan["parent_job_id"] and scalar(
        world, f"select count(*) from {JOBS['us']} where job_id = '{orphan['parent_job_id']}'") == 0

    fallback = truth_of(world, planted(world, "label_fallback")[0]["job_id"])
    node = f"model.{project.PROJECT_NAME}.int_sessions_attributed"
    assert (fallback["attribution"], fallback["attribution_source"]) == ("attributed", "label")
    assert fallback["node_id"] == _sanitize_label(node) != node
    assert (fallback["pipeline_id"], fallback["orchestrator"]) == ("918273", "dbt_cloud")
    stage = rows(world, f"""select * from ground_truth.pipeline_stage_costs where pipeline_id = '918273'
        and pipeline_run_id = '{fallback['pipeline_run_id']}' and stage = '(unknown node)'""")
    assert len(stage) == 1 and stage[0]["cost"] == fallback["cost"] > 0

    reported = {r["adapter_job_id"] for r in rows(world, "select adapter_job_id from "
                                                          "main_pipeline_costs.dbt_node_results")}
    classes = set()
    for job in planted(world, "non_package_comment"):
        t = truth_of(world, job["job_id"])
        labels = rows(world, f"select labels from {JOBS['us']} where job_id = '{job['job_id']}'")[0]["labels"]
        assert [lab["key"] for lab in labels] == ["query_comment", "dbt_invocation_id"]
        if job["job_id"] in reported:  # a model's statement: its node result names it (section 8)
            assert (t["attribution"], t["attribution_source"]) == ("attributed", "adapter_response")
            assert t["node_id"].startswith("model.growth_dbt.") and t["orchestrator"] == "none"
            assert (t["pipeline_id"], t["pipeline_run_id"]) == ("growth_dbt.prod.run", t["invocation_id"])
        else:  # hooks, metadata: no pipeline context: "(unknown pipeline)", run = the invocation
            assert (t["attribution"], t["attribution_source"]) == ("dbt_without_node", "label")
            assert (t["pipeline_id"], t["pipeline_run_id"], t["orchestrator"]) == (
                "(unknown pipeline)", t["invocation_id"], None)
        classes.add(t["attribution"])
    assert classes == {"attributed", "dbt_without_node"}

    error = truth_of(world, planted(world, "node_error")[0]["job_id"])
    status = rows(world, f"""select status from ground_truth.model_costs
        where invocation_id = '{error['invocation_id']}' and node_id = '{error['node_id']}'""")
    assert status == [{"status": "error"}] and error["cost"] == 0

    failed = truth_of(world, planted(world, "retry_failed_attempt")[0]["job_id"])
    succeeded = truth_of(world, planted(world, "retry_success")[0]["job_id"])
    assert failed["pricing_model"] == "capacity" and failed["cost"] > 0  # slots used by the failed attempt
    model = rows(world, f"""select * from ground_truth.model_costs
        where invocation_id = '{succeeded['invocation_id']}' and node_id = '{succeeded['node_id']}'""")[0]
    assert model["status"] == "success" and model["query_count"] == 2
    assert abs(model["cost"] - failed["cost"] - succeeded["cost"]) <= TOLERANCE

    stopped = truth_of(world, planted(world, "stopped")[0]["job_id"])
    assert stopped["pricing_model"] == "on_demand" and stopped["cost"] > 0
    assert rows(world, f"""select status from ground_truth.model_costs where invocation_id =
        '{stopped['invocation_id']}' and node_id = '{stopped['node_id']}'""") == [{"status": "success"}]

    cached = truth_of(world, planted(world, "dbt_cache_hit")[0]["job_id"])
    assert cached["attribution"] == "attributed" and cached["cost"] == 0
    hidden = truth_of(world, planted(world, "hidden_bytes")[0]["job_id"])
    assert hidden["bytes_billed"] is None and hidden["cost"] == 0

    for dup in planted(world, "duplicate_row"):
        table = JOBS[dup["location"]]
        copies = scalar(world, f"select count(*) from (select distinct * from {table} "
                               f"where job_id = '{dup['job_id']}')")
        assert copies == 1
        assert scalar(world, f"select count(*) from {table} where job_id = '{dup['job_id']}'") == 2
    assert any(d["note"] == "dbt" for d in planted(world, "duplicate_row"))

    anomaly = planted(world, "cost_anomaly")[0]
    history = rows(world, "select * from ground_truth.pipeline_cost_history where pipeline_id = 'daily_finance' "
                          "order by run_started_at")
    flagged = [h for h in history if h["is_cost_anomaly"]]
    assert [h["pipeline_run_id"] for h in flagged] == [anomaly["note"]]
    assert flagged[0]["total_cost"] > 3 * flagged[0]["previous_run_cost"]
    assert any(h["invocation_count"] == 2 for h in history)  # dbt_run + dbt_test in one dag run


# What the pipeline marts roll up: priced queries (BigQuery jobs, Databricks statements) and the job-run
# lines of dbt runs (cost, but not queries).
ITEMS = """(
    select invocation_id, node_id, pipeline_id, pipeline_run_id, attribution, is_dbt, cost, 1 as is_query,
           started_at, ended_at, bytes_billed
    from ground_truth.query_costs
    union all
    select invocation_id, node_id, pipeline_id, pipeline_run_id, attribution, true, cost, 0, null, null, null
    from ground_truth.databricks_cost_lines
    where line_type = 'job_run' and attribution in ('attributed', 'dbt_without_node')
)"""


def test_rollups_agree_with_query_costs(world: duckdb.DuckDBPyConnection) -> None:
    worst = rows(world, f"""
        with q as (
            select invocation_id, node_id, sum(cost) as cost, sum(is_query) as n, sum(bytes_billed) as bytes,
                   min(started_at) as first_start, max(ended_at) as last_end
            from {ITEMS} where attribution = 'attributed' group by all having sum(is_query) > 0
        )
        select count(*) as models, max(abs(m.cost - q.cost)) as cost_diff,
               count_if(m.query_count is distinct from q.n) as count_diff,
               count_if(m.bytes_billed is distinct from q.bytes) as bytes_diff,
               count_if(m.execution_time_s <> epoch_ms(q.last_end - q.first_start) / 1000) as time_diff
        from (select * from ground_truth.model_costs where query_count > 0) m
        full join q using (invocation_id, node_id)""")[0]
    assert worst["models"] > 100 and worst["cost_diff"] <= TOLERANCE
    assert (worst["count_diff"], worst["bytes_diff"], worst["time_diff"]) == (0, 0, 0)
    # the rest of model_costs: node results without a priced query (reused, skipped, seeds, ...), whose
    # only cost can be a share of a Databricks job run
    idle = rows(world, f"""select m.*, coalesce(l.cost, 0) as lines from ground_truth.model_costs m
        left join (select invocation_id, node_id, sum(cost) as cost from {ITEMS} where attribution = 'attributed'
                   group by all) l using (invocation_id, node_id)
        where m.query_count = 0""")
    assert idle and all(r["has_run_result"] and r["cost"] == r["lines"] and r["bytes_billed"] == 0
                        and r["execution_time_s"] is None for r in idle)
    runs = rows(world, f"""
        with q as (
            select pipeline_id, pipeline_run_id, sum(cost) as cost, sum(is_query) as n,
                   count(distinct node_id) as nodes, count(distinct invocation_id) as invs
            from {ITEMS} where is_dbt group by all
        ),
        s as (select pipeline_id, pipeline_run_id, sum(cost) as cost, sum(query_count) as n
              from ground_truth.pipeline_stage_costs group by all)
        select count(*) as runs, max(abs(h.total_cost - q.cost)) as history_diff,
               max(abs(s.cost - q.cost)) as stage_diff, count_if(h.query_count <> q.n or s.n <> q.n) as count_diff,
               count_if(h.model_count <> q.nodes or h.invocation_count <> q.invs) as distinct_diff
        from ground_truth.pipeline_cost_history h full join q using (pipeline_id, pipeline_run_id)
        full join s using (pipeline_id, pipeline_run_id)""")[0]
    assert runs["runs"] > 50 and runs["history_diff"] <= TOLERANCE and runs["stage_diff"] <= TOLERANCE
    assert (runs["count_diff"], runs["distinct_diff"]) == (0, 0)
    stages = {r[0] for r in world.execute("select distinct stage from ground_truth.pipeline_stage_costs").fetchall()}
    # "models": the other team's project (folder from its node results); "models/example_project": sources;
    # "models/features": the ML team's Databricks project
    assert {"(no node)", "(unknown node)", "models/example_project/staging", "models/example_project/intermediate",
            "models/example_project/marts/finance", "models/example_project/marts/marketing",
            "tests/example_project", "models", "models/example_project", "seeds/example_project",
            "models/features"} == stages
    assert scalar(world, "select max(model_count) from ground_truth.pipeline_stage_costs "
                         "where stage = '(no node)'") == 0


def test_history_window_rules(world: duckdb.DuckDBPyConnection) -> None:
    for pipeline in ("daily_finance", "918273"):
        history = rows(world, "select * from ground_truth.pipeline_cost_history "
                              f"where pipeline_id = '{pipeline}' order by run_started_at")
        costs = [Fraction(h["total_cost"]) for h in history]
        for i, h in enumerate(history):
            assert h["previous_run_cost"] == (history[i - 1]["total_cost"] if i else None)
            window = costs[max(0, i - 6): i + 1]
            assert abs(Fraction(h["rolling_avg_cost"]) - sum(window) / len(window)) <= Fraction(1, 2 * 10**18)
            prior = costs[max(0, i - 7): i]
            assert h["is_cost_anomaly"] == (len(prior) >= 3 and costs[i] > Fraction(3, 2) * sum(prior) / len(prior))


def test_currency_conversion(tmp_path: Path, world: duckdb.DuckDBPyConnection) -> None:
    with open(Path(__file__).resolve().parents[1] / "dbt_project.yml") as f:
        variables = yaml.safe_load(f)["vars"]
    assert {k: Fraction(str(v)) for k, v in variables["dbt_pipeline_costs_currency_rates"].items()} == \
        pricing.CURRENCY_RATES
    assert Fraction(str(variables["dbt_pipeline_costs_bigquery_on_demand_price_per_tib"])) == \
        pricing.ON_DEMAND_PRICE_PER_TIB
    assert {k: Fraction(str(v)) for k, v in variables["dbt_pipeline_costs_bigquery_slot_hour_prices"].items()} == \
        pricing.SLOT_HOUR_PRICES
    assert variables["dbt_pipeline_costs_bigquery_default_edition"] == pricing.DEFAULT_EDITION
    assert variables["dbt_pipeline_costs_bigquery_billing_timezone"] == pricing.BILLING_TIMEZONE

    path = tmp_path / "eur.duckdb"
    generate(path, "--currency", "EUR")
    with duckdb.connect(str(path), read_only=True) as eur:
        usd = {(r["platform"], r["cost_date"], r["product"]): r for r in rows(world, "select * from ground_truth.cost_coverage")}
        for day in rows(eur, "select * from ground_truth.cost_coverage"):
            assert day["currency"] == "EUR"
            dollars = usd[(day["platform"], day["cost_date"], day["product"])]["billed_cost"]
            if day["platform"] == "databricks":  # records are priced exactly: the conversion is exact
                assert day["billed_cost"] == dollars * Decimal("0.86")
            assert abs(day["billed_cost"] - dollars * Decimal("0.86")) <= TOLERANCE
        hours = rows(eur, "select * from ground_truth.databricks_warehouse_hours")
        assert hours and all(h["currency"] == "EUR" and h["statement_cost"] + h["idle_cost"] == h["billed_cost"]
                             for h in hours)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["*/", "a*/b", "финансы*/daily", "*\\/", "\u2028", "</script>", "  spaced  ", ""])


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries(
    {"invocation_id": st.uuids().map(str), "project": TEXT, "target": TEXT, "command": TEXT},
    optional={k: TEXT for k in ("node_id", "resource_type", "package", "orchestrator", "pipeline_id",
                                "pipeline_run_id", "pipeline_task_id", "run_reason")},
))
def test_comment_round_trip_property(fields: dict[str, str]) -> None:
    rendered = qc.render_query_comment(fields)
    assert "*/" not in rendered
    expected = {"app": "dbt_pipeline_costs", **{k: v for k, v in fields.items() if v != ""}}
    assert json.loads(rendered) == expected
    assert list(json.loads(rendered)) == [k for k in qc.COMMENT_KEYS if k in expected]
    assert rendered.isascii()
    assert qc.labels_from_fields(qc.comment_fields(fields), fields["invocation_id"]) == list(
        _labels_dbt_would_set(rendered, fields["invocation_id"]).items())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120) | st.dictionaries(TEXT, TEXT, max_size=4).map(json.dumps))
def test_label_sanitising_property(text: str) -> None:
    invocation = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    try:
        expected = _labels_dbt_would_set(text, invocation)
    except AttributeError:  # valid JSON but not an object: dbt-bigquery itself fails
        with pytest.raises(AttributeError):
            qc.labels_from_comment(text, invocation)
        return
    labels = dict(qc.labels_from_comment(text, invocation))
    assert labels == expected
    for key, value in labels.items():
        assert re.fullmatch(r"[a-z0-9_-]{0,63}", key) and re.fullmatch(r"[a-z0-9_-]{0,63}", value)
    assert qc.sanitize_label(text) == _sanitize_label(text)


def test_some_job_is_running_at_any_as_of(tmp_path: Path) -> None:
    """Long scheduled batch jobs overlap, so every snapshot has RUNNING jobs (priced once finished)."""
    path = tmp_path / "mid.duckdb"
    assert main(["generate", "--days", "2", "--end-date", END_DATE, "--scale", "0.1",
                 "--as-of", "2026-11-20T09:31:07", "--duckdb", str(path)]) == 0
    with duckdb.connect(str(path), read_only=True) as con:
        running = rows(con, f"select * from {JOBS['us']} where state = 'RUNNING'")
        assert running and all(r["end_time"] is None for r in running)
        assert scalar(con, "select max(creation_time) from " + JOBS["us"]) < datetime(2026, 11, 20, 9, 31, 7,
                                                                                     tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Run results: what the package's on-run-end upload leaves (docs/cost-rules.md sections 7-9)
# ---------------------------------------------------------------------------------------------

MACRO_COLUMNS = Path(__file__).resolve().parents[1] / "macros" / "upload" / "run_results_columns.sql"
DUCKDB_KINDS = {"string": "VARCHAR", "integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN",
                "timestamp": "TIMESTAMP WITH TIME ZONE"}
MONTH_DAYS = 30


@pytest.fixture(scope="module")
def month_world(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A whole SAO window (30 days) at a small scale: every reuse / priority / SLO outcome occurs."""
    path = tmp_path_factory.mktemp("gen") / "month.duckdb"
    assert main(["generate", "--days", str(MONTH_DAYS), "--end-date", END_DATE, "--scale", "0.1", "--seed", "7",
                 "--duckdb", str(path)]) == 0
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _macro_columns() -> dict[str, list[tuple[str, str]]]:
    """run_results_columns() parsed from the macro's source (its dict literal of lists of pairs)."""
    text = MACRO_COLUMNS.read_text()
    tables = re.findall(r"'(\w+)':\s*\[(.*?)\]", text, re.DOTALL)
    assert len(tables) == 2, tables
    return {name: re.findall(r"\(\s*'(\w+)'\s*,\s*'(\w+)'\s*\)", body) for name, body in tables}


def test_run_results_columns_are_the_macros(world: duckdb.DuckDBPyConnection) -> None:
    assert _macro_columns() == schema.RUN_RESULTS_COLUMNS
    for table, columns in schema.RUN_RESULTS_COLUMNS.items():
        described = [tuple(r[:2]) for r in world.execute(f"describe main_pipeline_costs.{table}").fetchall()]
        assert described == [(name, DUCKDB_KINDS[kind]) for name, kind in columns], table


def test_run_results_schema_flag(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    assert main(["generate", "--days", "1", "--end-date", END_DATE, "--scale", "0.1", "--no-truth",
                 "--run-results-schema", "uploads", "--duckdb", str(path)]) == 0
    with duckdb.connect(str(path), read_only=True) as con:
        assert scalar(con, "select count(*) from uploads.dbt_invocations") > 10
        assert scalar(con, "select count(*) from uploads.dbt_node_results") > 50


def _comment_jobs(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every job with the package's comment, with the comment's fields (the exact dbt context)."""
    out = []
    for job in all_jobs(con, "query like '/* {\"app\": \"dbt_pipeline_costs\"%'",
                        "job_id, project_id, state, statement_type, creation_time, end_time, query, error_result"):
        try:
            job["comment"] = json.loads(COMMENT_RE.match(job["query"]).group(1))
        except json.JSONDecodeError:
            continue  # a damaged comment
        out.append(job)
    return out


def test_every_reported_job_is_the_nodes_done_statement(later_world: duckdb.DuckDBPyConnection) -> None:
    """A node result's adapter_job_id names a DONE job of that project: the node's main statement."""
    con = later_world  # every row of the period has arrived
    results = rows(con, "select * from main_pipeline_costs.dbt_node_results where adapter_job_id is not null")
    not_in_logs = {p["job_id"] for p in planted(con, "result_job_not_in_logs")}
    jobs = {(j["project_id"], j["job_id"]): j for j in all_jobs(con, "true", "*")}
    by_comment: dict[tuple[str, str | None], list[dict]] = {}
    for j in _comment_jobs(con):
        by_comment.setdefault((j["comment"]["invocation_id"], j["comment"].get("node_id")), []).append(j)
    checked = 0
    for result in results:
        key = (result["adapter_project_id"], result["adapter_job_id"])
        if result["adapter_job_id"] in not_in_logs:
            assert key not in jobs and result["adapter_project_id"] == "acme-sandbox"
            continue
        job = jobs[key]
        assert job["state"] == "DONE" and job["location"] == result["adapter_location"].lower()
        assert (result["bytes_processed"], result["bytes_billed"], result["slot_ms"]) == (
            job["total_bytes_processed"], job["total_bytes_billed"], job["total_slot_ms"])
        assert job["error_result"] is None or job["error_result"]["reason"] == "stopped"
        if result["materialized"] == "incremental" and job["statement_type"] == "SCRIPT":
            assert result["adapter_code"] == "SCRIPT" and result["rows_affected"] is None
        labels = {lab["key"]: lab["value"] for lab in job["labels"]}
        assert labels["dbt_invocation_id"] == result["invocation_id"]
        mine = by_comment.get((result["invocation_id"], result["node_id"]))
        if mine is not None:  # the node's last statement (a retry: the last attempt; a SCRIPT: the parent)
            assert job["job_id"] == max(mine, key=lambda j: j["end_time"])["job_id"]
        checked += 1
    assert checked > 1000 and not_in_logs
    assert {r["adapter_code"] for r in results} >= {"CREATE TABLE", "CREATE VIEW", "MERGE", "SCRIPT", "SELECT"}


def test_reused_skipped_and_failed_nodes(world: duckdb.DuckDBPyConnection) -> None:
    results = rows(world, "select * from main_pipeline_costs.dbt_node_results")
    with_jobs = {(j["comment"]["invocation_id"], j["comment"].get("node_id")) for j in _comment_jobs(world)}
    statuses = {(r["resource_type"], r["status"]) for r in results}
    assert statuses >= {("model", "success"), ("model", "error"), ("model", "reused"), ("model", "skipped"),
                        ("seed", "success"), ("test", "pass"), ("test", "fail"), ("test", "reused"),
                        ("source", "pass")}
    by_invocation: dict[str, dict[str, dict]] = {}
    for r in results:
        by_invocation.setdefault(r["invocation_id"], {})[r["node_id"]] = r
    for r in results:
        key = (r["invocation_id"], r["node_id"])
        if r["status"] in ("reused", "skipped"):
            assert key not in with_jobs  # no BigQuery job at all
            assert r["adapter_job_id"] is None and r["execute_started_at"] is None and r["execution_time_s"] == 0
        if r["status"] == "skipped":  # something upstream failed in the same run
            node = project.NODES_BY_ID[r["node_id"]]
            upstream = [by_invocation[r["invocation_id"]].get(f"model.{project.PROJECT_NAME}.{u}") for u in node.upstream]
            assert any(u is not None and u["status"] in ("error", "skipped") for u in upstream)
        if r["status"] == "error":
            assert r["message"] and r["adapter_job_id"] is None and r["bytes_billed"] is None
            assert r["rows_affected"] is None and r["adapter_code"] is None
        if r["resource_type"] == "seed":
            assert r["adapter_job_id"] is None and r["adapter_code"] == "INSERT" and r["rows_affected"] == 2
    broken = [r for r in results if r["name"] == project.BROKEN_MODEL]
    assert broken and all(r["status"] == "error" and r["message"].startswith("Compilation Error")
                          for r in broken if r["status"] != "skipped")  # skipped: something upstream failed
    assert not any(k[1] and k[1].endswith(project.BROKEN_MODEL) for k in with_jobs)


def test_node_results_timings_threads_and_messages(world: duckdb.DuckDBPyConnection) -> None:
    results = rows(world, "select * from main_pipeline_costs.dbt_node_results")
    jobs_by_node: dict[tuple[str, str], list[dict]] = {}
    for job in _comment_jobs(world):
        if job["state"] == "DONE" and "node_id" in job["comment"]:
            jobs_by_node.setdefault((job["comment"]["invocation_id"], job["comment"]["node_id"]), []).append(job)
    covered = 0
    for r in results:
        assert re.fullmatch(r"Thread-[1-4] \(worker\)", r["thread_id"])
        if r["compile_started_at"] is not None:
            assert r["compile_started_at"] <= r["compile_completed_at"]
        if r["execute_started_at"] is None:
            continue
        assert r["compile_completed_at"] <= r["execute_started_at"] <= r["execute_completed_at"]
        span = (r["execute_completed_at"] - r["compile_started_at"]).total_seconds()
        assert abs(r["execution_time_s"] - span) < 1e-6
        for job in jobs_by_node.get((r["invocation_id"], r["node_id"]), []):  # the execute step covers its jobs
            assert r["execute_started_at"] <= job["creation_time"] and job["end_time"] <= r["execute_completed_at"]
            covered += 1
    assert covered > 1000
    messages = [r["message"] for r in results if r["message"]]
    nasty = [m for m in messages if all(c in m for c in ("'", '"', "\\", "\n", "*/")) and not m.isascii()]
    assert nasty, "no message with quotes, backslash, newline, unicode and */"
    truncated = [r for r in results if r["message_truncated"]]
    assert truncated and all(len(r["message"]) == 4096 for r in truncated)
    assert all(len(m) <= 4096 for m in messages)
    assert any(re.fullmatch(r"CREATE TABLE \([\d.]+[kmb]? rows, [\d.]+ GiB processed\)", m) for m in messages)


def test_node_results_carry_the_projects_config(world: duckdb.DuckDBPyConnection) -> None:
    nodes = {n.unique_id: n for n in (*project.NODES, *project.SOURCES)}
    seen = set()
    for r in rows(world, "select * from main_pipeline_costs.dbt_node_results where package_name = "
                         f"'{project.PROJECT_NAME}'"):
        node = nodes[r["node_id"]]
        seen.add(node.unique_id)
        assert (r["resource_type"], r["name"], r["original_file_path"], r["folder"]) == (
            node.resource_type, node.name, node.original_file_path, str(PurePosixPath(node.original_file_path).parent))
        assert json.loads(r["tags"]) == sorted(node.tags) and r["first_tag"] == (min(node.tags) if node.tags else None)
        assert r["materialized"] == {"merge": "incremental", "insert_overwrite": "incremental",
                                     "source": None}.get(node.materialization, node.materialization)
        freshness = json.loads(r["freshness_config"]) if r["freshness_config"] else None
        if node.build_after:
            assert (r["build_after_count"], r["build_after_period"], r["build_after_updates_on"]) == node.build_after
            assert freshness == {"build_after": dict(zip(("count", "period", "updates_on"), node.build_after,
                                                         strict=True))}
        else:
            assert r["build_after_count"] is None and (freshness is None or node.resource_type == "source")
        assert (r["state_config"] is not None) == (node.state_lag is not None)
        configured = bool(node.build_after or node.state_lag or node.warn_after or node.error_after)
        assert r["has_freshness_config"] == configured
    assert {n.unique_id for n in project.NODES} <= seen  # every node of the project ran somewhere
    assert "source.dbt_pipeline_costs_integration_tests.raw.ad_spend" not in seen  # no freshness: never checked


def test_source_freshness_runs_daily_in_airflow(world: duckdb.DuckDBPyConnection) -> None:
    runs = rows(world, "select * from main_pipeline_costs.dbt_invocations where command = 'freshness'")
    assert len(runs) == DAYS
    assert {(r["orchestrator"], r["pipeline_id"], r["pipeline_task_id"], r["job_type"]) for r in runs} == {
        ("airflow", "daily_finance", "dbt_source_freshness", "scheduled")}
    sources = rows(world, "select * from main_pipeline_costs.dbt_node_results where resource_type = 'source'")
    assert {r["invocation_id"] for r in sources} == {r["invocation_id"] for r in runs}
    for r in sources:
        assert re.fullmatch(rf"source\.{project.PROJECT_NAME}\.raw\.\w+", r["node_id"])
        assert r["status"] in ("pass", "warn", "error") and r["has_freshness_config"]
        config = json.loads(r["freshness_config"])
        assert set(config) == {"warn_after", "error_after", "filter"}
        assert any(config[k]["count"] is not None for k in ("warn_after", "error_after"))


def test_invocation_rows(world: duckdb.DuckDBPyConnection) -> None:
    invocations = rows(world, "select * from main_pipeline_costs.dbt_invocations")
    counts = {r["invocation_id"]: r["n"] for r in rows(world, """select invocation_id, count(*) as n
        from (select distinct * from main_pipeline_costs.dbt_node_results) group by 1""")}
    as_of = datetime(2026, 11, 21, tzinfo=UTC)
    comments = {}
    for job in _comment_jobs(world):
        comments.setdefault(job["comment"]["invocation_id"], job["comment"])
    for inv in invocations:
        assert inv["run_ended_at"] <= as_of and inv["node_result_count"] == counts[inv["invocation_id"]]
        assert abs(inv["elapsed_s"] - (inv["run_ended_at"] - inv["run_started_at"]).total_seconds()) < 1e-6
        assert inv["adapter_type"] in ("bigquery", "databricks")
        assert (inv["dbt_version"], inv["package_version"]) == ("1.11.16", PACKAGE_VERSION)
        comment = comments.get(inv["invocation_id"])
        if comment is not None:  # exactly the query comment's pipeline context
            assert {k: inv[k] for k in PIPELINE_KEYS if inv[k] is not None} == {
                k: v for k, v in comment.items() if k in PIPELINE_KEYS}
            assert (inv["command"], inv["target_name"], inv["project_name"]) == (
                comment["command"], comment["target"], comment["project"])
            assert inv["run_started_at"] == datetime.fromisoformat(comment["run_started_at"])
        expected_type = {"airflow": "scheduled", "dbt_cloud": None, "github_actions": None}.get(inv["orchestrator"], "other")
        assert expected_type is None or inv["job_type"] == expected_type
        assert inv["selectors"] is None or set(json.loads(inv["selectors"])) == {"select"}
    by_type = {(r["orchestrator"], r["job_type"]) for r in invocations}
    assert {("github_actions", "ci"), ("dbt_cloud", "scheduled"), ("airflow", "scheduled"),
            ("explicit", "other"), ("none", "other")} <= by_type
    duplicated = rows(world, """select invocation_id, count(*) as n from main_pipeline_costs.dbt_invocations
        group by 1 having count(*) > 1""")
    assert [d["invocation_id"] for d in duplicated] == [p["note"] for p in planted(world, "duplicate_upload")]
    copies, invocation_id = duplicated[0]["n"], duplicated[0]["invocation_id"]
    assert scalar(world, f"""select count(*) from main_pipeline_costs.dbt_node_results
        where invocation_id = '{invocation_id}'""") == copies * counts[invocation_id]  # every row uploaded twice


def test_invocations_without_upload(world: duckdb.DuckDBPyConnection) -> None:
    uploaded = {r[0] for r in world.execute("select invocation_id from main_pipeline_costs.dbt_invocations").fetchall()}
    commands = {}
    for job in _comment_jobs(world):
        commands[job["comment"]["invocation_id"]] = job["comment"]["command"]
    operations = {inv for inv, command in commands.items() if command == "run-operation"}
    assert operations and not operations & uploaded  # run-operation runs no hooks
    failed = planted(world, "upload_failed")
    assert failed and all(p["note"] not in uploaded for p in failed)
    errors = all_jobs(world, f"job_id in ({', '.join(repr(p['job_id']) for p in failed)})", "error_result")
    assert {e["error_result"]["reason"] for e in errors} == {"accessDenied"}
    stopped = truth_of(world, planted(world, "stopped")[0]["job_id"])
    assert stopped["invocation_id"] not in uploaded  # cancelled by the user: on-run-end never ran


def test_run_results_at_a_mid_day_snapshot(tmp_path: Path) -> None:
    """Only invocations whose upload finished by as_of have rows; those still running have none."""
    as_of = datetime(2026, 11, 20, 9, 10, 30, tzinfo=UTC)  # dbt Cloud's 09:07 run is building fct_attribution
    snapshots = {}
    for name, snapshot in (("mid", as_of), ("end", None)):
        path = tmp_path / f"{name}.duckdb"
        extra = ["--as-of", snapshot.isoformat()] if snapshot else []
        assert main(["generate", "--days", "2", "--end-date", END_DATE, "--scale", "0.1", "--duckdb", str(path),
                     *extra]) == 0
        with duckdb.connect(str(path), read_only=True) as con:
            snapshots[name] = {r["invocation_id"]: r for r in rows(con, "select * from main_pipeline_costs.dbt_invocations")}
    mid, end = snapshots["mid"], snapshots["end"]
    assert mid and all(end[i] == r and r["run_ended_at"] <= as_of for i, r in mid.items())
    minute = 60
    assert all(i in mid for i, r in end.items() if (as_of - r["run_ended_at"]).total_seconds() > minute)
    running = [r for r in end.values() if r["run_started_at"] < as_of < r["run_ended_at"]]
    assert running and not any(r["invocation_id"] in mid for r in running)


def test_sao_reuse_rules() -> None:
    hour = 3_600_000_000
    nodes = pipelines.SAO_JOBS[0].nodes
    built_at = {n.name: 0 for n in nodes if n.name != project.BROKEN_MODEL}
    # no new data anywhere: everything but the never-built model is reused, tests with their model
    reused = pipelines.sao_reuse(nodes, dict(built_at), 10 * hour, random.Random(1), 0.0)
    assert reused == {n.name for n in nodes} - {project.BROKEN_MODEL}
    # new data everywhere, long after the last build: everything that reads data is built
    state = dict(built_at)
    reused = pipelines.sao_reuse(nodes, state, 10 * hour, random.Random(1), 1.0)
    assert reused == {"dim_channels"}  # reads a seed only: never new data
    assert state["fct_attribution"] == 10 * hour and state["dim_channels"] == 0
    # new data again an hour later: build_after (4 h) keeps fct_attribution, (2 h, all) fct_campaign_performance
    reused = pipelines.sao_reuse(nodes, state, 11 * hour, random.Random(1), 1.0)
    assert {"fct_attribution", "fct_campaign_performance", "dim_channels"} <= reused
    assert "int_sessions_attributed" not in reused and "stg_sessions" not in reused


def test_run_operation_and_cancelled_runs_upload_nothing() -> None:
    from pipeline_costs.dbt_runs import ArrivalModel, Invocation, InvocationRunner
    base: dict = {"target": "dev", "run_started_us": 1_700_000_000_000_000, "gcp_project": "acme-analytics",
                  "location": "us", "user_email": "alice@acme.com", "dataset": "dbt_alice",
                  "invocation_id": "00000000-0000-4000-8000-000000000001"}
    operation = InvocationRunner(Invocation(env={}, command="run-operation", nodes=(), **base), random.Random(1),
                                 ArrivalModel())
    jobs = operation.run()
    assert jobs and not operation.results and not operation.uploaded and operation.upload_end_ms is None
    run = InvocationRunner(Invocation(env={}, command="run", nodes=project.nodes("stg_orders", "int_orders_enriched"),
                                      plants=frozenset({"stopped"}), **base), random.Random(1), ArrivalModel())
    run.run()
    assert run.cancelled and not run.uploaded
    built = InvocationRunner(Invocation(env={}, command="run", nodes=project.nodes("stg_orders"), **base),
                             random.Random(1), ArrivalModel())
    jobs = built.run()
    assert built.uploaded and [r.status for r in built.results] == ["success"]
    assert [j.statement_type for j in jobs[-2:]] == ["INSERT", "INSERT"]  # the upload's statements


# ---------------------------------------------------------------------------------------------
# Ground truth with run results (sections 8-9)
# ---------------------------------------------------------------------------------------------


def test_second_attribution_path(world: duckdb.DuckDBPyConnection) -> None:
    matched = rows(world, "select * from ground_truth.query_costs where attribution_source = 'adapter_response' "
                          "and platform = 'bigquery'")
    results = {r["adapter_job_id"]: r for r in rows(world, "select * from main_pipeline_costs.dbt_node_results")}
    invocations = {r["invocation_id"]: r for r in rows(world, "select * from main_pipeline_costs.dbt_invocations")}
    assert matched
    for q in matched:
        result = results[q["job_id"]]
        inv = invocations[result["invocation_id"]]
        assert (q["invocation_id"], q["node_id"], q["attribution"]) == (
            result["invocation_id"], result["node_id"], "attributed")
        assert (q["pipeline_id"], q["pipeline_run_id"], q["orchestrator"]) == (
            inv["pipeline_id"], inv["pipeline_run_id"], inv["orchestrator"])
    growth = {q["node_id"] for q in matched if q["node_id"].startswith("model.growth_dbt.")}
    assert growth == {"model.growth_dbt.growth_signups", "model.growth_dbt.growth_funnel"}
    # the SCRIPT of an incremental model: the parent is reported, its children inherit
    children = rows(world, """select * from ground_truth.query_costs
        where node_id = 'model.growth_dbt.growth_cohorts'""")
    assert children and {c["attribution_source"] for c in children} == {"script_parent"}
    assert all(results[c["parent_job_id"]]["node_id"] == c["node_id"] for c in children)
    # a damaged comment: the uploaded run resolves it exactly, the run whose upload failed via labels
    uploaded = truth_of(world, planted(world, "adapter_response_fallback")[0]["job_id"])
    assert (uploaded["attribution_source"], uploaded["node_id"]) == (
        "adapter_response", f"model.{project.PROJECT_NAME}.int_sessions_attributed")
    assert truth_of(world, planted(world, "label_fallback")[0]["job_id"])["attribution_source"] == "label"
    # a reported job the logs do not hold attaches to nothing; its result is still in model_costs
    for p in planted(world, "result_job_not_in_logs"):
        assert scalar(world, f"select count(*) from ground_truth.query_costs where job_id = '{p['job_id']}'") == 0
    sandbox = rows(world, """select m.* from ground_truth.model_costs m join main_pipeline_costs.dbt_node_results r
        using (invocation_id, node_id) where r.adapter_project_id = 'acme-sandbox'""")
    assert sandbox and all(m["query_count"] == 0 and m["cost"] == 0 and m["has_run_result"] for m in sandbox)
    assert {m["pipeline_id"] for m in sandbox} == {f"{project.PROJECT_NAME}.sandbox.run"}


def test_model_costs_rows_of_node_results(world: duckdb.DuckDBPyConnection) -> None:
    results = rows(world, "select distinct * from main_pipeline_costs.dbt_node_results")
    invocations = {r["invocation_id"]: r for r in rows(world, "select * from main_pipeline_costs.dbt_invocations")}
    models = {(m["invocation_id"], m["node_id"]): m for m in rows(world, "select * from ground_truth.model_costs")}
    for r in results:
        m = models[(r["invocation_id"], r["node_id"])]
        assert m["has_run_result"] and m["status"] == r["status"] and m["thread_id"] == r["thread_id"]
        assert (m["execute_started_at"], m["execute_completed_at"], m["compile_started_at"]) == (
            r["execute_started_at"], r["execute_completed_at"], r["compile_started_at"])
        assert (m["dbt_execution_time_s"], m["rows_affected"]) == (r["execution_time_s"], r["rows_affected"])
        if m["query_count"] == 0:
            inv = invocations[r["invocation_id"]]
            assert (m["pipeline_id"], m["pipeline_run_id"]) == (inv["pipeline_id"], inv["pipeline_run_id"])
            assert m["cost"] == 0 and m["first_started_at"] is None
    assert sum(1 for m in models.values() if not m["has_run_result"]) > 0  # runs without an upload
    reused = [models[(r["invocation_id"], r["node_id"])] for r in results if r["status"] == "reused"]
    assert reused and all(m["query_count"] == 0 and m["cost"] == 0 for m in reused)


def test_model_reuse_follows_the_rules(world: duckdb.DuckDBPyConnection) -> None:
    counts = {r["invocation_id"]: r for r in rows(world, """
        select invocation_id, count(*) as models, count_if(status = 'reused') as reused,
               count_if(status in ('success', 'error', 'partial success')) as built,
               count_if(status = 'skipped') as skipped
        from (select distinct * from main_pipeline_costs.dbt_node_results) where resource_type = 'model'
        group by 1""")}
    reuse = rows(world, "select * from ground_truth.model_reuse order by pipeline_id, run_started_at, invocation_id")
    assert {r["invocation_id"] for r in reuse} == set(counts)
    history: dict[str, list[dict]] = {}
    for r in reuse:
        c = counts[r["invocation_id"]]
        assert (r["model_count"], r["reused_count"], r["built_count"], r["skipped_count"]) == (
            c["models"], c["reused"], c["built"], c["skipped"])
        base = r["reused_count"] + r["built_count"]
        assert r["reuse_rate"] == (r["reused_count"] / base if base else None)
        assert r["meets_reuse_goal"] == (base > 0 and r["reused_count"] * 100 >= 30 * base)
        past = history.setdefault(r["pipeline_id"], [])
        window = [*past[-6:], r]
        total = sum(w["reused_count"] + w["built_count"] for w in window)
        rolling = Fraction(sum(w["reused_count"] for w in window), total) if total else None
        assert r["rolling_reuse_rate"] == (float(rolling) if rolling is not None else None)
        assert r["previous_reuse_rate"] == (past[-1]["reuse_rate"] if past else None)
        if past and rolling is not None and past[-1]["_rolling"] is not None:
            before = past[-1]["_rolling"]
            assert r["reuse_trend"] == ("up" if rolling > before else "down" if rolling < before else "flat")
        else:
            assert r["reuse_trend"] is None
        r["_rolling"] = rolling
        past.append(r)
    assert {r["reuse_trend"] for r in reuse} == {"up", "down", "flat", None}
    assert {r["meets_reuse_goal"] for r in reuse} == {True, False}


def test_reuse_marts_show_every_outcome(month_world: duckdb.DuckDBPyConnection) -> None:
    con = month_world
    priorities = {r["pipeline_id"]: r for r in rows(con, "select * from ground_truth.sao_opportunities")}
    assert {r["priority"] for r in priorities.values()} == {"High", "Medium", "Low"}
    for r in priorities.values():
        d = r["reused_count"] + r["built_count"]
        expected = Fraction(0)
        if d and r["reused_count"] * 100 < 30 * d:
            expected = (Fraction(r["total_cost"]) * 30 * (30 * d - 100 * r["reused_count"])
                        / (30 * 100 * (d - r["reused_count"])))
        assert abs(Fraction(r["estimated_monthly_savings"]) - expected) <= Fraction(1, 10**15)
        assert r["priority"] == ("High" if expected >= 100 else "Medium" if expected >= 10 else "Low")
        assert r["runs_per_day"] == r["run_count"] / 30
    assert priorities["920001"]["reused_count"] > 0 and priorities["918273"]["reused_count"] == 0
    slo = {r["slo_status"] for r in rows(con, "select * from ground_truth.slo_compliance")}
    assert slo == {"met", "breached", "never_built", "no_slo"}
    gaps = {r["config_gap"] for r in rows(con, "select * from ground_truth.freshness_coverage")}
    assert gaps == {"sao_without_freshness", "freshness_without_sao", "none"}
    assert {r["meets_coverage_goal"] for r in rows(con, "select * from ground_truth.freshness_coverage")} == {
        True, False}
    overlap = rows(con, "select * from ground_truth.job_overlap")
    assert overlap and all(r["job_count"] >= 2 and "acme/analytics-dbt/dbt CI" not in r["job_ids"] for r in overlap)
    assert all(r["redundant_build_count"] < r["build_count"] for r in overlap)
    savings = rows(con, "select * from ground_truth.reuse_savings")
    assert savings and any(r["sample_size"] > 0 and r["estimated_cost_saved"] > 0 for r in savings)
    trends = {r["reuse_trend"] for r in rows(con, "select reuse_trend from ground_truth.model_reuse")}
    assert trends == {"up", "down", "flat", None}


def test_job_overlap_and_reuse_savings_recomputed(month_world: duckdb.DuckDBPyConnection) -> None:
    """The two window marts, recomputed from the uploaded rows and model_costs in SQL."""
    con = month_world
    builds = """
        select r.invocation_id, r.node_id, i.pipeline_id, coalesce(i.target_name, '(unknown target)') as target,
               i.job_type, r.status, r.execution_time_s, coalesce(m.cost, 0) as cost
        from (select distinct * from main_pipeline_costs.dbt_node_results) r
        join main_pipeline_costs.dbt_invocations i using (invocation_id)
        left join ground_truth.model_costs m using (invocation_id, node_id)
        where r.resource_type = 'model'
          and i.run_started_at >= timestamptz '2026-10-22 00:00:00+00' and i.run_started_at < timestamptz '2026-11-21 00:00:00+00'"""
    expected = {(r["target"], r["node_id"]): r for r in rows(con, f"""
        with b as ({builds}), per_job as (
            select target, node_id, pipeline_id, count(*) as n, sum(cost) as cost from b
            where status in ('success', 'error', 'partial success') and coalesce(job_type, '') <> 'ci' group by all)
        select target, node_id, count(*) as jobs, sum(n) as n, sum(cost) as cost,
               string_agg(pipeline_id, ', ' order by pipeline_id) as ids,
               arg_min(pipeline_id, (-n, pipeline_id)) as primary_job
        from per_job group by all having count(*) > 1""")}
    got = {(r["target_name"], r["node_id"]): r for r in rows(con, "select * from ground_truth.job_overlap")}
    assert set(got) == set(expected)
    for key, e in expected.items():
        g = got[key]
        assert (g["job_count"], g["build_count"], g["job_ids"], g["primary_pipeline_id"]) == (
            e["jobs"], e["n"], e["ids"], e["primary_job"])
        assert abs(g["total_cost"] - e["cost"]) <= TOLERANCE
    medians = {(r["target"], r["node_id"]): r for r in rows(con, f"""
        with b as ({builds}) select target, node_id, count(*) as n, median(cost) as cost,
               median(execution_time_s) as seconds
        from b where status in ('success', 'error', 'partial success') group by all""")}
    for r in rows(con, "select * from ground_truth.reuse_savings"):
        m = medians.get((r["target_name"], r["node_id"]))
        assert r["sample_size"] == (m["n"] if m else 0)
        if m:
            assert abs(r["estimated_cost_saved"] - Decimal(str(m["cost"]))) <= Decimal("1e-12")
            assert abs(r["estimated_seconds_saved"] - m["seconds"]) < 1e-9


# ---------------------------------------------------------------------------------------------
# Databricks: system tables and the section 10 ground truth
# ---------------------------------------------------------------------------------------------

HOUR = timedelta(hours=1)
PRICED = ("FINISHED", "FAILED", "CANCELED")
DATABRICKS_TYPES = {
    "system_billing.usage": {
        "record_id": "VARCHAR", "account_id": "VARCHAR", "workspace_id": "VARCHAR", "sku_name": "VARCHAR",
        "cloud": "VARCHAR", "usage_start_time": "TIMESTAMP WITH TIME ZONE",
        "usage_end_time": "TIMESTAMP WITH TIME ZONE", "usage_date": "DATE", "custom_tags": "MAP(VARCHAR, VARCHAR)",
        "usage_unit": "VARCHAR", "usage_quantity": "DECIMAL(38,18)",
        "usage_metadata": "STRUCT(cluster_id VARCHAR, job_id VARCHAR, warehouse_id VARCHAR, instance_pool_id "
                          "VARCHAR, node_type VARCHAR, job_run_id VARCHAR, notebook_id VARCHAR, dlt_pipeline_id "
                          "VARCHAR, endpoint_name VARCHAR, endpoint_id VARCHAR, dlt_update_id VARCHAR, "
                          "dlt_maintenance_id VARCHAR, run_name VARCHAR, job_name VARCHAR, notebook_path VARCHAR, "
                          "app_id VARCHAR, budget_policy_id VARCHAR)",
        "identity_metadata": "STRUCT(run_as VARCHAR, owned_by VARCHAR, created_by VARCHAR)",
        "record_type": "VARCHAR", "ingestion_date": "DATE", "billing_origin_product": "VARCHAR",
        "product_features": "STRUCT(jobs_tier VARCHAR, sql_tier VARCHAR, dlt_tier VARCHAR, is_serverless BOOLEAN, "
                            "is_photon BOOLEAN, serving_type VARCHAR)",
        "usage_type": "VARCHAR",
    },
    "system_billing.list_prices": {
        "price_start_time": "TIMESTAMP WITH TIME ZONE", "price_end_time": "TIMESTAMP WITH TIME ZONE",
        "account_id": "VARCHAR", "sku_name": "VARCHAR", "cloud": "VARCHAR", "currency_code": "VARCHAR",
        "usage_unit": "VARCHAR",
        "pricing": "STRUCT(default DECIMAL(38,18), promotional STRUCT(default DECIMAL(38,18)), "
                   "effective_list STRUCT(default DECIMAL(38,18)))",
    },
    "system_query.history": {
        "account_id": "VARCHAR", "workspace_id": "VARCHAR", "statement_id": "VARCHAR", "session_id": "VARCHAR",
        "execution_status": "VARCHAR", "compute": "STRUCT(type VARCHAR, cluster_id VARCHAR, warehouse_id VARCHAR)",
        "executed_by": "VARCHAR", "statement_text": "VARCHAR", "statement_type": "VARCHAR",
        "error_message": "VARCHAR", "client_application": "VARCHAR", "total_duration_ms": "BIGINT",
        "waiting_for_compute_duration_ms": "BIGINT", "waiting_at_capacity_duration_ms": "BIGINT",
        "execution_duration_ms": "BIGINT", "compilation_duration_ms": "BIGINT", "total_task_duration_ms": "BIGINT",
        "result_fetch_duration_ms": "BIGINT", "start_time": "TIMESTAMP WITH TIME ZONE",
        "end_time": "TIMESTAMP WITH TIME ZONE", "update_time": "TIMESTAMP WITH TIME ZONE", "read_rows": "BIGINT",
        "read_bytes": "BIGINT", "produced_rows": "BIGINT", "written_bytes": "BIGINT", "from_result_cache": "BOOLEAN",
        "query_source": "STRUCT(job_info STRUCT(job_id VARCHAR, job_run_id VARCHAR, job_task_run_id VARCHAR))",
        "query_tags": "MAP(VARCHAR, VARCHAR)",
    },
}


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _statements(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """query.history, one row per statement: the latest update_time, then end_time."""
    return {r["statement_id"]: r for r in rows(con, """
        select * from system_query.history
        qualify row_number() over (partition by statement_id order by update_time desc, end_time desc nulls last) = 1""")}


def _work_ms(s: dict) -> int:
    return sum(s[c] or 0 for c in ("total_task_duration_ms", "compilation_duration_ms", "result_fetch_duration_ms"))


def _overlaps(s: dict) -> list[tuple[datetime, float, datetime, datetime]]:
    """(hour, weight, clipped start, clipped end) per hour a priced statement overlaps (section 10.4)."""
    start, end = s["start_time"], s["end_time"]
    duration = (end - start) // timedelta(milliseconds=1)
    if duration == 0:
        return [(_hour(start), float(_work_ms(s)), start, start)]
    out, hour = [], _hour(start)
    while hour < end:
        lo, hi = max(start, hour), min(end, hour + HOUR)
        if hi > lo:
            out.append((hour, _work_ms(s) * ((hi - lo) // timedelta(milliseconds=1)) / duration, lo, hi))
        hour += HOUR
    return out


def _record_costs(con: duckdb.DuckDBPyConnection) -> list[tuple[dict, Decimal | None]]:
    """Every distinct usage record with its cost in USD from list_prices (None: no price)."""
    prices = rows(con, "select * from system_billing.list_prices")
    out = []
    with localcontext(Context(prec=80)):
        for r in rows(con, "select distinct * from system_billing.usage"):
            valid = [p for p in prices if (p["sku_name"], p["cloud"], p["usage_unit"]) == (
                r["sku_name"], r["cloud"], r["usage_unit"]) and p["price_start_time"] <= r["usage_start_time"]
                and (p["price_end_time"] is None or r["usage_start_time"] < p["price_end_time"])]
            assert len(valid) <= 1, r["record_id"]
            pricing_ = valid[0]["pricing"] if valid else None
            price = None if pricing_ is None else (pricing_["effective_list"] or {}).get("default") or pricing_["default"]
            out.append((r, None if price is None else r["usage_quantity"] * price))
    return out


def _share(pool: Decimal, weight: float, total: float) -> Decimal:
    return Decimal(repr(round(float(pool) * weight / total, 12))).quantize(Decimal("1e-12"))


def test_databricks_tables_have_the_official_columns_and_types(world: duckdb.DuckDBPyConnection) -> None:
    for table, expected in DATABRICKS_TYPES.items():
        assert_official_columns(world, table, expected)


def test_databricks_no_databricks_flag(tmp_path: Path) -> None:
    path = tmp_path / "bq.duckdb"
    generate(path, "--days", "1")
    generate(path, "--days", "1", "--no-databricks")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_schema || '.' || table_name from information_schema.tables")
                  .fetchall()}
        assert not set(DATABRICKS_TABLES) & tables
        assert scalar(con, "select count(*) from ground_truth.query_costs where platform <> 'bigquery'") == 0
        assert scalar(con, "select count(*) from main_pipeline_costs.dbt_invocations "
                           "where adapter_type = 'databricks'") == 0


def test_databricks_warehouse_hours_add_up_to_their_bill(world: duckdb.DuckDBPyConnection) -> None:
    billed: dict[tuple, Decimal] = {}
    for record, cost in _record_costs(world):
        warehouse = record["usage_metadata"]["warehouse_id"]
        if warehouse is not None:
            key = (record["workspace_id"], warehouse, record["usage_start_time"])
            billed[key] = billed.get(key, Decimal(0)) + (cost or 0)
    hours = {(h["workspace_id"], h["warehouse_id"], h["hour_started_at"]): h
             for h in rows(world, "select * from ground_truth.databricks_warehouse_hours")}
    assert {k: h["billed_cost"] for k, h in hours.items()} == billed
    lines = {(r["workspace_id"], r["compute_id"], r["hour_started_at"]): r for r in rows(world, """
        select workspace_id, compute_id, hour_started_at, sum(cost) as cost, count_if(line_type = 'idle') as idle,
               count_if(line_type = 'statement') as statements
        from ground_truth.databricks_cost_lines where line_type in ('statement', 'idle') group by all""")}
    assert set(lines) == set(hours)
    for key, h in hours.items():
        line = lines[key]
        assert line["cost"] == h["billed_cost"] == h["statement_cost"] + h["idle_cost"]
        assert h["statement_cost_separate"] + h["idle_cost_separate"] == h["billed_cost"]
        assert line["statements"] == h["statement_count"] and line["idle"] == 1  # the idle line may be 0
        assert h["idle_cost"] in (0, h["billed_cost"]) and 0 <= h["statement_cost_separate"] <= h["billed_cost"]
        if h["statement_cost"] == 0:
            assert h["statement_cost_separate"] == 0
    assert any(h["statement_count"] == 0 and h["billed_cost"] > 0 for h in hours.values())  # idle hours
    assert any(h["statement_count"] > 5 for h in hours.values())  # concurrent statements
    assert any(0 < h["idle_cost_separate"] < h["billed_cost"] and h["statement_count"] for h in hours.values())


def test_databricks_statement_shares_follow_the_allocation_rule(world: duckdb.DuckDBPyConnection) -> None:
    """Each statement line is round(pool × weight / W, 12), recomputed from query.history; the anchor
    (largest weight, then smallest statement id) takes the rest."""
    hours = {(h["workspace_id"], h["warehouse_id"], h["hour_started_at"]): h
             for h in rows(world, "select * from ground_truth.databricks_warehouse_hours")}
    members: dict[tuple, list[tuple[str, float, datetime, datetime]]] = {}
    for s in _statements(world).values():
        if s["execution_status"] in PRICED and s["compute"]["type"] == "WAREHOUSE":
            for hour, weight, lo, hi in _overlaps(s):
                key = (s["workspace_id"], s["compute"]["warehouse_id"], hour)
                if key in hours:
                    members.setdefault(key, []).append((s["statement_id"], weight, lo, hi))
    lines: dict[tuple, dict[str, Decimal]] = {}
    for r in rows(world, "select * from ground_truth.databricks_cost_lines where line_type = 'statement'"):
        lines.setdefault((r["workspace_id"], r["compute_id"], r["hour_started_at"]), {})[r["query_id"]] = r["cost"]
    checked = 0
    for key, h in hours.items():
        weights = members.get(key, [])
        total = math.fsum(w for _, w, _, _ in weights)
        assert h["statement_count"] == len(weights)
        if total == 0:  # no statement, or none did any work: the hour is idle
            assert set(lines.get(key, {}).values()) <= {0} and h["idle_cost"] == h["billed_cost"]
            continue
        assert set(lines[key]) == {m[0] for m in weights}
        anchor = min(weights, key=lambda m: (-m[1], m[0]))[0]
        for statement_id, weight, _, _ in weights:
            if statement_id != anchor:
                assert lines[key][statement_id] == _share(h["billed_cost"], weight, total)
                checked += 1
        busy = sum((hi - lo) // timedelta(milliseconds=1) for lo, hi in merge_spans([(m[2], m[3]) for m in weights]))
        assert h["statement_cost_separate"] == _share(h["billed_cost"], busy, 3_600_000)
    assert checked > 100
    assert any(0 < len(m) and math.fsum(w for _, w, _, _ in m) == 0 for m in members.values())  # W = 0: idle


def test_databricks_statements_name_their_dbt_run(world: duckdb.DuckDBPyConnection) -> None:
    """Comment, then query tags, then a node result's query id (section 10.3), read from the tables."""
    truth = {r["job_id"]: r for r in rows(world, "select * from ground_truth.query_costs where platform = 'databricks'")}
    results = {r["adapter_query_id"]: r for r in rows(world, "select distinct * from main_pipeline_costs.dbt_node_results "
                                                              "where adapter_query_id is not null")}
    invocations = {r["invocation_id"]: r for r in rows(world, "select * from main_pipeline_costs.dbt_invocations")}
    statements = _statements(world)
    assert {s for s, r in statements.items() if r["execution_status"] in PRICED} == set(truth)
    sources = set()
    for statement_id, t in truth.items():
        s = statements[statement_id]
        match = COMMENT_RE.match(s["statement_text"])
        tags = s["query_tags"] or {}
        if match:
            fields = json.loads(match.group(1))
            expected = (fields["invocation_id"], fields.get("node_id"), fields["pipeline_id"], fields["pipeline_run_id"])
            source = "comment"
        elif tags:
            expected = (tags["dbt_invocation_id"], tags.get("dbt_node_id"), tags["dbt_pipeline_id"],
                        tags["dbt_pipeline_run_id"])
            source = "query_tags"
        elif statement_id in results:
            result = results[statement_id]
            inv = invocations[result["invocation_id"]]
            expected = (result["invocation_id"], result["node_id"], inv["pipeline_id"], inv["pipeline_run_id"])
            source = "adapter_response"
        else:
            expected, source = (None, None, None, None), "none"
        assert (t["invocation_id"], t["node_id"], t["pipeline_id"], t["pipeline_run_id"]) == expected, statement_id
        assert t["attribution_source"] == source and t["is_dbt"] == (source != "none")
        assert t["attribution"] == ("not_dbt" if source == "none" else "attributed" if expected[1]
                                    else "dbt_without_node")
        assert t["pricing_model"] == ("warehouse_share" if s["compute"]["type"] == "WAREHOUSE" else "not_priced")
        assert (t["location"], t["project_id"]) == (
            s["compute"]["warehouse_id"] or s["compute"]["cluster_id"], s["workspace_id"])
        assert t["cost_date"] == s["end_time"].astimezone(UTC).date() and t["bytes_billed"] is t["slot_ms"] is None
        sources.add((source, t["attribution"]))
    assert sources == {("comment", "attributed"), ("comment", "dbt_without_node"), ("query_tags", "attributed"),
                       ("query_tags", "dbt_without_node"), ("adapter_response", "attributed"), ("none", "not_dbt")}
    assert all(t["cost"] == 0 for t in truth.values() if t["pricing_model"] == "not_priced")


def test_databricks_statement_cost_is_the_sum_of_its_lines(world: duckdb.DuckDBPyConnection,
                                                           later_world: duckdb.DuckDBPyConnection) -> None:
    missing = {}
    for con in (world, later_world):
        worst = rows(con, """
            select count(*) as n, count_if(q.cost <> coalesce(l.cost, 0)) as differ
            from ground_truth.query_costs q
            left join (select query_id, sum(cost) as cost from ground_truth.databricks_cost_lines
                       where line_type = 'statement' group by all) l on l.query_id = q.job_id
            where q.platform = 'databricks'""")[0]
        assert worst["n"] > 500 and worst["differ"] == 0
        billed = {(h["workspace_id"], h["warehouse_id"], h["hour_started_at"])
                  for h in rows(con, "select * from ground_truth.databricks_warehouse_hours")}
        truth = {r["job_id"]: r for r in rows(con, "select * from ground_truth.query_costs where platform = 'databricks'")}
        for s in _statements(con).values():
            if s["statement_id"] in truth and s["compute"]["type"] == "WAREHOUSE":
                gap = any((s["workspace_id"], s["compute"]["warehouse_id"], hour) not in billed
                          for hour, _, _, _ in _overlaps(s))
                assert truth[s["statement_id"]]["has_missing_usage"] == gap
        missing[con] = {k for k, t in truth.items() if t["has_missing_usage"]}
    # billing of the last hours arrives ~12 h late: billed once it has arrived
    assert missing[world] and len(missing[later_world] & missing[world]) < len(missing[world])


def test_databricks_billing_arrives_late(world: duckdb.DuckDBPyConnection,
                                         later_world: duckdb.DuckDBPyConnection) -> None:
    as_of = datetime(2026, 11, 21, tzinfo=UTC)
    assert scalar(world, "select max(usage_end_time) from system_billing.usage") <= as_of
    assert scalar(world, "select max(ingestion_date) from system_billing.usage") <= as_of.date()
    before = {r[0] for r in world.execute("select record_id from system_billing.usage").fetchall()}
    late = rows(later_world, "select * from system_billing.usage")
    assert before <= {r["record_id"] for r in late}
    arrived = [r for r in late if r["record_id"] not in before]
    assert arrived and all(r["usage_start_time"] < as_of for r in arrived)  # the same period, billed later
    assert any(r["usage_end_time"] < as_of - timedelta(hours=5) for r in arrived)
    running = planted(world, "databricks_running_at_end")[0]
    assert running["state"] == "RUNNING"
    assert scalar(later_world, f"select execution_status from system_query.history "
                               f"where statement_id = '{running['job_id']}'") == "FINISHED"
    assert scalar(later_world, f"select count(*) from ground_truth.query_costs where job_id = '{running['job_id']}'") == 1


def test_databricks_corrections_duplicates_and_prices(world: duckdb.DuckDBPyConnection) -> None:
    records = rows(world, "select * from system_billing.usage")
    by_id: dict[str, list[dict]] = {}
    for r in records:
        by_id.setdefault(r["record_id"], []).append(r)
    for retraction in planted(world, "databricks_retraction"):
        original, retracted = by_id[retraction["note"]][0], by_id[retraction["job_id"]][0]
        assert retracted["record_type"] == "RETRACTION" and retracted["usage_quantity"] == -original["usage_quantity"]
        assert (retracted["usage_start_time"], retracted["usage_metadata"]) == (
            original["usage_start_time"], original["usage_metadata"])
        assert retracted["ingestion_date"] >= original["ingestion_date"]
    restated = {p["note"]: by_id[p["job_id"]][0] for p in planted(world, "databricks_restatement")}
    assert len(restated) == 2 and all(r["record_type"] == "RESTATEMENT" for r in restated.values())
    hour = next(r for r in restated.values() if r["usage_metadata"]["warehouse_id"])  # billed: the restated DBUs
    cost = scalar(world, f"""select billed_cost from ground_truth.databricks_warehouse_hours
        where warehouse_id = '{hour['usage_metadata']['warehouse_id']}' and hour_started_at = '{hour['usage_start_time']}'""")
    assert cost == hour["usage_quantity"] * Decimal("0.72")  # the serverless SQL price since the change
    duplicate = planted(world, "databricks_duplicate_usage_row")[0]["job_id"]
    assert len(by_id[duplicate]) == 2 and by_id[duplicate][0] == by_id[duplicate][1]
    prices = rows(world, "select * from system_billing.list_prices")
    changed = [p for p in prices if p["price_end_time"] is not None]
    assert len(changed) == 1 and any(p["price_start_time"] == changed[0]["price_end_time"]
                                     and p["sku_name"] == changed[0]["sku_name"] for p in prices)
    sku = changed[0]["sku_name"]
    assert {r["usage_start_time"] < changed[0]["price_end_time"] for r in records if r["sku_name"] == sku} == {
        True, False}
    assert any(p["pricing"]["effective_list"]["default"] not in (None, p["pricing"]["default"]) for p in prices)
    assert any(p["pricing"]["effective_list"]["default"] is None for p in prices)
    unpriced = {r["sku_name"] for r, cost in _record_costs(world) if cost is None}
    assert unpriced == {"PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_EAST_N_VIRGINIA"}


def test_databricks_coverage_per_day_and_product(world: duckdb.DuckDBPyConnection) -> None:
    billed: dict[tuple, Decimal] = {}
    unpriced: dict[tuple, Decimal] = {}
    for record, cost in _record_costs(world):
        key = (record["usage_date"], record["billing_origin_product"])
        billed[key] = billed.get(key, Decimal(0)) + (cost or 0)
        if cost is None:
            unpriced[key] = unpriced.get(key, Decimal(0)) + record["usage_quantity"]
    lines = {(r["cost_date"], r["product"]): r for r in rows(world, """
        select cost_date, product, count(distinct case when line_type = 'statement' then query_id end) as statements,
               sum(case when attribution = 'idle' then cost else 0 end) as idle,
               sum(case when attribution = 'other_compute' then cost else 0 end) as other
        from ground_truth.databricks_cost_lines group by all""")}
    days = {(d["cost_date"], d["product"]): d for d in rows(
        world, "select * from ground_truth.cost_coverage where platform = 'databricks'")}
    assert {k: d["billed_cost"] for k, d in days.items()} == billed
    for key, d in days.items():
        assert d["query_count"] == lines[key]["statements"]
        assert (d["unattributed_idle_cost"], d["unattributed_other_compute_cost"]) == (lines[key]["idle"],
                                                                                      lines[key]["other"])
        assert d["unpriced_usage_quantity"] == unpriced.get(key, 0) and d["unattributed_unknown_cost"] == 0
    assert any(d["unpriced_usage_quantity"] > 0 and d["product"] == "MODEL_SERVING" for d in days.values())
    assert all(d["attributed_cost"] == d["unattributed_not_dbt_cost"] == 0 for d in days.values()
               if d["product"] in ("DLT", "INTERACTIVE", "NOTEBOOKS", "MODEL_SERVING"))


def test_databricks_job_runs(world: duckdb.DuckDBPyConnection) -> None:
    billed: dict[str, Decimal] = {}
    tags: dict[str, str] = {}
    for record, cost in _record_costs(world):
        run = record["usage_metadata"]["job_run_id"]
        if run is not None:
            billed[run] = billed.get(run, Decimal(0)) + cost  # type: ignore[operator]
            if "dbt_invocation_id" in record["custom_tags"]:
                tags[run] = record["custom_tags"]["dbt_invocation_id"]
    runs = {r["job_run_id"]: r for r in rows(world, "select * from ground_truth.databricks_job_runs")}
    assert {k: r["billed_cost"] for k, r in runs.items()} == billed
    results = rows(world, "select distinct * from main_pipeline_costs.dbt_node_results")
    reported: dict[str, set[str]] = {}
    for r in results:
        if r["adapter_job_run_id"]:
            reported.setdefault(r["adapter_job_run_id"], set()).add(r["invocation_id"])
    lines: dict[str, list[dict]] = {}
    for line in rows(world, "select * from ground_truth.databricks_cost_lines where line_type = 'job_run'"):
        lines.setdefault(line["job_run_id"], []).append(line)
    for run_id, run in runs.items():
        linked = {tags[run_id]} if run_id in tags else reported.get(run_id, set())
        assert run["linked_by"] == ("custom_tag" if run_id in tags else "node_results" if linked else None)
        assert sum(line["cost"] for line in lines[run_id]) == run["billed_cost"]
        executed = {(r["invocation_id"], r["node_id"]): r["execution_time_s"] for r in results
                    if r["invocation_id"] in linked and r["execution_time_s"] > 0}
        expected = "attributed" if executed else "dbt_without_node" if linked else "not_dbt"
        assert {line["attribution"] for line in lines[run_id]} == {expected} and run["attribution"] == expected
        if expected == "attributed":
            assert run["attributed_cost"] == run["billed_cost"]
            groups: dict[tuple, dict] = {}
            for line in lines[run_id]:
                groups.setdefault((line["cost_date"], line["product"]), {})[
                    (line["invocation_id"], line["node_id"])] = line["cost"]
            total = math.fsum(executed.values())
            for shares in groups.values():
                assert set(shares) == set(executed)
                pool = sum(shares.values())
                anchor = min(executed, key=lambda k: (-executed[k], k))
                assert all(shares[k] == _share(pool, w, total) for k, w in executed.items() if k != anchor)
        elif expected == "dbt_without_node":
            assert {(line["invocation_id"], line["node_id"]) for line in lines[run_id]} == {(min(linked), None)}
    kinds = {(r["linked_by"], r["attribution"]) for r in runs.values()}
    assert kinds == {("custom_tag", "attributed"), ("custom_tag", "dbt_without_node"),
                     ("node_results", "attributed"), (None, "not_dbt")}
    unlinked = planted(world, "databricks_unlinked_dbt_job_run")[0]
    assert runs[unlinked["job_id"]]["attribution"] == "not_dbt"
    assert runs[planted(world, "databricks_job_run_without_node")[0]["job_id"]]["attribution"] == "dbt_without_node"
    crossing = [r for r in lines.values() if len({line["cost_date"] for line in r}) > 1]
    assert crossing  # a run across midnight: one group per usage date


def test_databricks_scenarios_are_present(world: duckdb.DuckDBPyConnection) -> None:
    statements = _statements(world)
    warehouses = {(s["workspace_id"], s["compute"]["warehouse_id"]) for s in statements.values()
                  if s["compute"]["type"] == "WAREHOUSE"}
    assert len({w for w, _ in warehouses}) == 2 and len(warehouses) >= 3
    assert {s["execution_status"] for s in statements.values()} == {"FINISHED", "FAILED", "CANCELED", "RUNNING"}
    assert {s["compute"]["type"] for s in statements.values()} == {"WAREHOUSE", "CLUSTER"}
    done = [s for s in statements.values() if s["end_time"] is not None]
    assert any(_work_ms(s) == 0 for s in done) and any(s["total_task_duration_ms"] is None for s in done)
    assert any(s["end_time"] == s["start_time"] for s in done)
    assert any(_hour(s["start_time"]) != _hour(s["end_time"] - timedelta(milliseconds=1)) for s in done)
    assert any(s["start_time"].date() != s["end_time"].date() for s in done)
    assert any(s["query_source"]["job_info"] is not None for s in done)
    assert scalar(world, "select count(*) from (select statement_id from system_query.history group by 1 "
                         "having count(*) > 1)") == len(planted(world, "databricks_stale_running_row"))
    adapters = {r["adapter_type"] for r in rows(world, "select adapter_type from main_pipeline_costs.dbt_invocations")}
    assert adapters == {"bigquery", "databricks"}
    products = {r[0] for r in world.execute("select distinct billing_origin_product from system_billing.usage").fetchall()}
    assert products == {"SQL", "JOBS", "DLT", "INTERACTIVE", "NOTEBOOKS", "MODEL_SERVING"}
    assert {r["record_type"] for r in rows(world, "select record_type from system_billing.usage")} == {
        "ORIGINAL", "RETRACTION", "RESTATEMENT"}
    lonely = planted(world, "databricks_zero_weight_hour")[0]
    hour = _hour(statements[lonely["job_id"]]["start_time"])
    assert rows(world, f"""select statement_count, idle_cost = billed_cost as idle
        from ground_truth.databricks_warehouse_hours
        where warehouse_id = '{lonely['location']}' and hour_started_at = '{hour.isoformat()}'""") == [
        {"statement_count": 1, "idle": True}]
    assert all(p["present"] for p in rows(world, "select * from ground_truth.planted_cases "
                                                 "where case_name like 'databricks_%'"))


def test_databricks_runs_in_the_shared_marts(world: duckdb.DuckDBPyConnection) -> None:
    history = rows(world, "select * from ground_truth.pipeline_cost_history")
    assert {h["platform"] for h in history} == {"bigquery", "databricks", "multiple"}
    both = [h for h in history if h["platform"] == "multiple"]
    assert both and all(h["pipeline_id"] == pipelines.UNICODE_DAG_ID and h["invocation_count"] == 2 for h in both)
    models = rows(world, "select * from ground_truth.model_costs where platform = 'databricks'")
    assert models and all(m["bytes_billed"] is None for m in models if m["query_count"])
    failed = planted(world, "databricks_failed_node")[0]
    cancelled = planted(world, "databricks_canceled_node")[0]
    statuses = {m["node_id"]: m["status"] for m in rows(world, f"""select m.* from ground_truth.model_costs m
        join ground_truth.query_costs q using (invocation_id, node_id) where q.job_id = '{failed['job_id']}'
        or q.job_id = '{cancelled['job_id']}'""")}
    assert statuses == {failed["note"]: "error", cancelled["note"]: "success"}  # no node results: from statements
    lakehouse = rows(world, "select * from ground_truth.sao_opportunities where pipeline_id like 'lakehouse_%'")
    assert {r["pipeline_id"] for r in lakehouse} == {"lakehouse_hourly", "lakehouse_nightly"}
