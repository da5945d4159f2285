"""The on-run-end upload `upload_run_results(results)`: every uploaded row equals what dbt's own
artifacts say (verbatim, whatever the text holds), batching by size, loud skips, a 2,000-node
upload, and the INSERT statements of the adapters these machines cannot run, parsed by sqlglot."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp
from support import REPO, rows
from upload_support import (
    NASTY,
    NASTY_MODEL,
    PACKAGE_SCHEMA,
    SECRET,
    Run,
    dbt,
    expected_node_rows,
    utc,
    write_bulk_project,
    write_probe_project,
)

NODE_TABLE = f"{PACKAGE_SCHEMA}.dbt_node_results"
INVOCATION_TABLE = f"{PACKAGE_SCHEMA}.dbt_invocations"
JSON_COLUMNS = {"freshness_config", "state_config"}
SMALL_MESSAGE = 20
SMALL_STATEMENT = 6000

AIRFLOW = {"AIRFLOW_CTX_DAG_ID": "acme_daily", "AIRFLOW_CTX_DAG_RUN_ID": "scheduled__2026-01-01T00:00:00+00:00",
           "AIRFLOW_CTX_TASK_ID": "dbt_build", "AWS_SECRET_ACCESS_KEY": SECRET}
DBT_CLOUD = {"DBT_CLOUD_JOB_ID": "4242", "DBT_CLOUD_RUN_ID": "77",
             "DBT_CLOUD_RUN_REASON_CATEGORY": "github_pull_request", "GITHUB_EVENT_NAME": "push",
             "AWS_SECRET_ACCESS_KEY": SECRET}
GITHUB = {"GITHUB_RUN_ID": "99", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "acme/shop",
          "GITHUB_WORKFLOW": "nightly", "GITHUB_JOB": "dbt", "GITHUB_EVENT_NAME": "pull_request"}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The probe project built five times into one DuckDB file (the upload appends each run)."""
    base = tmp_path_factory.mktemp("upload")
    root, db = base / "upload_probe", base / "probe.duckdb"
    write_probe_project(root)
    runs = {
        "airflow": dbt(root, "build", db=db, **AIRFLOW),
        "dbt_cloud": dbt(root, "build", "--vars",
                         f"{{dbt_pipeline_costs_upload_message_max_chars: {SMALL_MESSAGE}}}", db=db, **DBT_CLOUD),
        "github": dbt(root, "source", "freshness", db=db, **GITHUB),
        "explicit": dbt(root, "run", "--select", "ok_model", "build_after_model", "--exclude", "state_model",
                        "--full-refresh", "--vars", "{dbt_pipeline_costs_job_type: merge}", db=db,
                        DBT_PIPELINE_ID="nightly-pipeline", DBT_PIPELINE_RUN_ID="run-7",
                        GITHUB_EVENT_NAME="schedule"),
        "small_statements": dbt(root, "build", "--vars",
                                f"{{dbt_pipeline_costs_upload_max_statement_chars: {SMALL_STATEMENT}}}", db=db),
    }
    return {"root": root, "db": db, "runs": runs}


def _stored(db: Path, table: str, invocation_id: str | None = None) -> list[dict[str, Any]]:
    where = f"where invocation_id = '{invocation_id}'" if invocation_id else ""
    return rows(db, f"select * from {table} {where}")


def _message_max(run: Run) -> int:
    return SMALL_MESSAGE if "dbt_pipeline_costs_upload_message_max_chars" in " ".join(run.args) else 4096


# --- 1. rows equal dbt's artifacts ---------------------------------------------------------------

def test_every_node_row_equals_the_artifacts(probe: dict[str, Any]) -> None:
    for label, run in probe["runs"].items():
        expected = expected_node_rows(run, _message_max(run))
        stored = _stored(probe["db"], NODE_TABLE, run.invocation_id)
        assert sorted(r["node_id"] for r in stored) == sorted(expected), label
        for row in stored:
            want = expected[row["node_id"]]
            for column, value in want.items():
                got = row[column]
                if column in JSON_COLUMNS:
                    got = None if got is None else json.loads(got)
                assert got == value, f"{label} {row['node_id']}.{column}: stored {got!r}, artifacts {value!r}"


def test_the_build_covers_the_cases(probe: dict[str, Any]) -> None:
    """The probe really exercised what the row test compares: statuses, failures, nasty text,
    cut messages, build_after, state and source freshness configs."""
    db = probe["db"]
    statuses = {r["status"] for r in rows(db, f"select distinct status from {NODE_TABLE}")}
    assert {"success", "error", "skipped", "pass", "fail", "warn"} <= statuses
    airflow = probe["runs"]["airflow"].invocation_id
    by_name = {r["name"]: r for r in _stored(db, NODE_TABLE, airflow)}
    assert NASTY.replace("\n", "\n  ") in by_name["compile_fails"]["message"]  # dbt indents message lines
    sql_error = by_name["sql_fails"]["message"]
    assert "Conversion Error" in sql_error and "drop table x" in sql_error
    assert by_name["child_of_failure"]["status"] == "skipped"
    assert by_name["long_message"]["message_truncated"] is True and len(by_name["long_message"]["message"]) == 4096
    assert by_name["fails_on_purpose"]["failures"] == 2
    nasty = by_name[NASTY_MODEL]
    assert nasty["folder"] == "models/o'brien $$ папка" and nasty["first_tag"] == "alpha"
    ok = by_name["ok_model"]
    tags = json.loads(ok["tags"])
    assert tags == sorted(tags) and "кириллица" in tags
    assert ok["first_tag"] == "$$"
    fresh = by_name["build_after_model"]
    build_after = (fresh["build_after_count"], fresh["build_after_period"], fresh["build_after_updates_on"])
    assert build_after == (4, "hour", "all")
    assert fresh["has_freshness_config"] is True
    assert json.loads(by_name["state_model"]["state_config"]) == {"mode": "it's", "lag": 2}
    assert by_name["raw_events"]["rows_affected"] == 2  # the seed's adapter_response
    unit = by_name["build_after_model_keeps_rows"]
    # dbt passes a unit test to on-run-end as the node it ran: `unit` materialization, no tags.
    unit_row = (unit["resource_type"], unit["status"], unit["materialized"], unit["tags"])
    assert unit_row == ("unit_test", "pass", "unit", "[]")
    cut = {r["name"]: r for r in _stored(db, NODE_TABLE, probe["runs"]["dbt_cloud"].invocation_id)}
    assert cut["compile_fails"]["message_truncated"] is True
    assert len(cut["compile_fails"]["message"]) == SMALL_MESSAGE
    sources = _stored(db, NODE_TABLE, probe["runs"]["github"].invocation_id)
    assert {r["status"] for r in sources} == {"warn", "error"}
    assert all(r["has_freshness_config"] and json.loads(r["freshness_config"])["warn_after"]["count"] == 1
               for r in sources)


def test_invocation_rows(probe: dict[str, Any]) -> None:
    expected_context = {
        "airflow": ("airflow", "acme_daily", "scheduled__2026-01-01T00:00:00+00:00", "dbt_build", None,
                    "scheduled"),
        "dbt_cloud": ("dbt_cloud", "4242", "77", None, "github_pull_request", "ci"),
        "github": ("github_actions", "acme/shop/nightly", "99-2", "dbt", None, "ci"),
        "explicit": ("explicit", "nightly-pipeline", "run-7", None, None, "merge"),
    }
    package_version = yaml.safe_load((REPO / "dbt_project.yml").read_text())["version"]
    stored = {r["invocation_id"]: r for r in _stored(probe["db"], INVOCATION_TABLE)}
    runs: dict[str, Run] = probe["runs"]
    assert sorted(stored) == sorted(run.invocation_id for run in runs.values())  # one per run, appended
    for label, run in runs.items():
        row = stored[run.invocation_id]
        meta, args = run.run_results["metadata"], run.run_results.get("args", {})
        results = run.hook_results()
        assert row["project_name"] == run.manifest["metadata"]["project_name"] == "upload_probe"
        assert row["command"] == args.get("which", "freshness")
        assert (row["target_name"], row["adapter_type"]) == ("dev", run.manifest["metadata"]["adapter_type"])
        assert (row["dbt_version"], row["package_version"]) == (meta["dbt_version"], package_version)
        assert row["node_result_count"] == len(results)
        assert row["is_full_refresh"] is bool(args.get("full_refresh"))
        selection = {k: args[k] for k in ("select", "exclude", "selector") if args.get(k)}
        assert (json.loads(row["selectors"]) if row["selectors"] else {}) == selection, label
        # run_started_at is dbt's context variable: set just after the invocation starts, before any node.
        started = utc(meta["invocation_started_at"])
        first = min(utc(t["started_at"]) for r in results for t in r["timing"])
        last = max(utc(t["completed_at"]) for r in results for t in r["timing"])
        assert started <= row["run_started_at"] <= first
        assert last <= row["run_ended_at"] <= utc(meta["generated_at"])
        assert abs((row["run_ended_at"] - row["run_started_at"]).total_seconds() - row["elapsed_s"]) < 1e-6
        if label in expected_context:
            got = tuple(row[c] for c in ("orchestrator", "pipeline_id", "pipeline_run_id", "pipeline_task_id",
                                         "run_reason", "job_type"))
            assert got == expected_context[label], label
    assert json.loads(stored[runs["explicit"].invocation_id]["selectors"]) == {
        "select": ["ok_model", "build_after_model"], "exclude": ["state_model"]}


def test_no_row_lost_or_duplicated(probe: dict[str, Any]) -> None:
    db = probe["db"]
    duplicates = rows(db, f"select invocation_id, node_id from {NODE_TABLE} group by all having count(*) > 1")
    assert not duplicates
    total = sum(len(run.hook_results()) for run in probe["runs"].values())
    assert rows(db, f"select count(*) as n from {NODE_TABLE}")[0]["n"] == total


def test_a_planted_secret_never_reaches_the_tables(probe: dict[str, Any]) -> None:
    for table in (NODE_TABLE, INVOCATION_TABLE):
        for row in _stored(probe["db"], table):
            assert not any(isinstance(v, str) and SECRET in v for v in row.values()), (table, row)


# --- 2. batching by size -------------------------------------------------------------------------

def test_batches_by_statement_size(probe: dict[str, Any]) -> None:
    default, small = probe["runs"]["airflow"], probe["runs"]["small_statements"]
    d_rows, d_statements, _, _ = default.summary()
    s_rows, s_statements, s_largest, _ = small.summary()
    assert d_rows == s_rows == len(small.hook_results())
    assert d_statements == 2  # every node result in one statement, the invocation in another
    assert s_statements > 4, small.summary()
    # The long message's row cannot fit the limit on its own: sent alone, with a warning.
    warning = re.search(r"WARNING: dbt_pipeline_costs: upload_run_results: the dbt_node_results row of (\S+) "
                        r"makes a statement of (\d+) characters, over dbt_pipeline_costs_upload_max_statement_chars "
                        rf"\({SMALL_STATEMENT}\): sent in a statement of its own", small.stdout)
    assert warning and warning.group(1) == "model.upload_probe.long_message", small.stdout[-3000:]
    assert s_largest == int(warning.group(2)) > SMALL_STATEMENT
    # All rows arrived once: test_every_node_row_equals_the_artifacts covers this run too.


# --- 3. skips are loud, errors are not swallowed ------------------------------------------------

def test_skips_and_failures(probe: dict[str, Any]) -> None:
    root, fresh = probe["root"], probe["db"].with_name("fresh.duckdb")

    before = dbt(root, "run", "--select", "ok_model", db=fresh)
    assert before.returncode == 0, before.stdout[-3000:]
    assert "WARNING: dbt_pipeline_costs: upload_run_results: skipped, nothing uploaded: table" in before.stdout
    assert "does not exist yet" in before.stdout and "dbt build --select dbt_pipeline_costs" in before.stdout
    tables = rows(fresh, "select table_name from information_schema.tables")
    assert not {"dbt_invocations", "dbt_node_results"} & {t["table_name"] for t in tables}

    disabled = dbt(root, "run", "--select", "ok_model", "--vars", "{dbt_pipeline_costs_upload_enabled: false}",
                   db=fresh)
    assert disabled.returncode == 0 and "disabled by var dbt_pipeline_costs_upload_enabled" in disabled.stdout

    empty = dbt(root, "run", "--select", "ok_model", "--empty", db=fresh)
    assert empty.returncode == 0 and "this is an --empty run; nothing uploaded" in empty.stdout

    bad_var = dbt(root, "run", "--select", "ok_model", "--vars", "{dbt_pipeline_costs_job_type: nightly}",
                  db=fresh, check=False)
    assert bad_var.returncode != 0
    assert "dbt_pipeline_costs_job_type must be one of ci, merge, scheduled, other" in bad_var.stdout

    # Tables built (the hook uploads in the very run that creates them), then made incompatible:
    # the INSERT fails and so does the invocation.
    created = dbt(root, "run", "--select", "dbt_pipeline_costs.run_results", db=fresh)  # as the warning says
    assert created.returncode == 0 and created.summary()[0] == 2
    with duckdb.connect(str(fresh)) as con:
        con.execute(f"alter table {NODE_TABLE} drop column folder")
    broken = dbt(root, "run", "--select", "ok_model", db=fresh, check=False)
    assert broken.returncode != 0 and "folder" in broken.stdout, broken.stdout[-3000:]


# --- 4. 2,000 nodes -----------------------------------------------------------------------------

def test_two_thousand_node_results(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("bulk")
    root, db = base / "bulk", base / "bulk.duckdb"
    write_bulk_project(root, 2000)
    run = dbt(root, "run", db=db)
    assert run.returncode == 0, run.stdout[-3000:]
    results = run.hook_results()
    assert len(results) == 2002  # 2,000 generated models + the package's two tables
    uploaded, statements, largest, seconds = run.summary()
    assert uploaded == len(results) and statements >= 2 and largest <= 500000
    stored = rows(db, f"select node_id, status, execution_time_s from {NODE_TABLE}")
    assert sorted(r["node_id"] for r in stored) == sorted(r["unique_id"] for r in results)
    expected = {r["unique_id"]: (r["status"], r["execution_time"]) for r in results}
    assert all(expected[r["node_id"]] == (r["status"], r["execution_time_s"]) for r in stored)
    assert rows(db, f"select node_result_count from {INVOCATION_TABLE}") == [{"node_result_count": 2002}]
    print(f"2,000-node upload: {uploaded} rows, {statements} statements, {seconds:.3f} s")


# --- 5. the adapters these machines cannot run ----------------------------------------------------

RENDER_MACRO = """\
{% macro render_upload_dialects(payload) %}
    {%- set columns = dbt_pipeline_costs.run_results_columns('dbt_node_results') -%}
    {%- set out = {
        'bigquery': dbt_pipeline_costs.bigquery__run_results_insert_sql('t', columns,
            "'" ~ dbt_pipeline_costs.bigquery__escape_string_literal(payload) ~ "'"),
        'spark': dbt_pipeline_costs.spark__run_results_insert_sql('t', columns,
            "'" ~ dbt_pipeline_costs.spark__escape_string_literal(payload) ~ "'"),
        'snowflake': dbt_pipeline_costs.snowflake__run_results_insert_sql('t', columns,
            "'" ~ dbt_pipeline_costs.snowflake__escape_string_literal(payload) ~ "'"),
        'postgres': dbt_pipeline_costs.postgres__run_results_insert_sql('t', columns,
            "'" ~ dbt_pipeline_costs.default__escape_string_literal(payload) ~ "'"),
        'duckdb': dbt_pipeline_costs.duckdb__run_results_insert_sql('t', columns,
            "'" ~ dbt_pipeline_costs.default__escape_string_literal(payload) ~ "'"),
    } -%}
    {{ print('RENDERED ' ~ tojson(out)) }}
{% endmacro %}
"""

KIND_VALUES = {"string": NASTY + " \\u0000-like \\n", "integer": 9007199254740993, "float": 0.1 + 0.2,
               "boolean": True, "timestamp": "2026-01-02T03:04:05.123456+00:00"}
DUCKDB_TYPES = {"string": "varchar", "integer": "bigint", "float": "double", "boolean": "boolean",
                "timestamp": "timestamptz"}


def _node_columns() -> list[tuple[str, str]]:
    source = (REPO / "macros" / "upload" / "run_results_columns.sql").read_text()
    block = source[source.index("'dbt_node_results': ["):]
    return re.findall(r"\('(\w+)', '(\w+)'\)", block)


def _target_table(con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]]) -> None:
    con.execute("create or replace table t (" + ", ".join(f"{c} {DUCKDB_TYPES[k]}" for c, k in columns) + ")")


def _expected(columns: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    def value(kind: str) -> Any:
        return datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC) if kind == "timestamp" else KIND_VALUES[kind]
    full = tuple(value(k) for _, k in columns)
    return sorted([full, tuple(None for _ in columns)], key=lambda r: r[0] is None)


@pytest.fixture(scope="module")
def rendered(probe: dict[str, Any]) -> dict[str, Any]:
    columns = _node_columns()
    payload = json.dumps([[KIND_VALUES[k] for _, k in columns], [None for _ in columns]])
    root = probe["root"]
    (root / "macros" / "render_upload_dialects.sql").write_text(RENDER_MACRO)
    run = dbt(root, "run-operation", "render_upload_dialects", "--args", yaml.safe_dump({"payload": payload}),
              db=probe["db"].with_name("render.duckdb"))
    assert run.returncode == 0, run.stdout[-3000:]
    line = next(ln for ln in run.stdout.splitlines() if "RENDERED " in ln)
    return {"columns": columns, "payload": payload, "sql": json.loads(line.split("RENDERED ", 1)[1])}


@pytest.mark.parametrize("dialect", ["bigquery", "spark", "snowflake", "postgres", "duckdb"])
def test_dialect_insert_parses_and_keeps_the_payload(rendered: dict[str, Any], dialect: str) -> None:
    sql, columns = rendered["sql"][dialect], rendered["columns"]
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Insert)
    assert [c.name for c in tree.this.expressions] == [c for c, _ in columns]
    select = tree.expression
    assert isinstance(select, exp.Select) and [s.alias for s in select.expressions] == [c for c, _ in columns]
    strings = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    assert rendered["payload"] in strings, f"{dialect}: the rows literal did not survive escaping"
    # Element i feeds column i.
    base = 1 if dialect == "duckdb" else 0
    for position, projection in enumerate(select.expressions):
        text = projection.sql(dialect=dialect)
        assert re.search(rf"\[{position + base}\]|'\$\[{position}\]'|->>\s*{position}\b", text), (dialect, text)


@pytest.mark.parametrize("dialect", ["bigquery", "postgres", "duckdb"])
def test_dialect_insert_runs_on_duckdb(rendered: dict[str, Any], dialect: str) -> None:
    """DuckDB runs its own statement; BigQuery's and Postgres's run after sqlglot transpiles them
    (Postgres's json_array_elements stood in by a DuckDB table macro). The stored values equal the
    payload's, verbatim."""
    columns = rendered["columns"]
    sql = rendered["sql"][dialect]
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read=dialect, write="duckdb")[0]
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        _target_table(con, columns)
        con.execute("create macro json_array_elements(j) as table select unnest(cast(j as json[])) as r")
        con.execute(sql)
        stored = sorted(con.execute("select * from t").fetchall(), key=lambda r: r[0] is None)
    assert stored == _expected(columns)


# --- contract checks that need no dbt -----------------------------------------------------------

def test_defaults_in_the_hook_equal_the_package_vars() -> None:
    """The hook runs as a node of the user's project, where the package's var defaults are not
    visible: it repeats them, and the repetition must not drift."""
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    source = (REPO / "macros" / "upload" / "upload_run_results.sql").read_text()
    block = source[source.index("{%- set defaults = {"):]
    block = block[:block.index("} -%}")]
    defaults = {name: yaml.safe_load(value.replace("none", "null"))
                for name, value in re.findall(r"'(dbt_pipeline_costs_\w+)': ([^,]+),", block)}
    assert defaults == {name: project["vars"][name] for name in defaults}
    assert set(defaults) == {n for n in project["vars"] if n.startswith("dbt_pipeline_costs_upload_")} | {
        "dbt_pipeline_costs_job_type"}
    version = re.search(r"return\('([^']+)'\)", source[source.index("macro _package_version"):]).group(1)
    assert version == project["version"]


def test_folder_rule_has_one_home() -> None:
    staging = (REPO / "models" / "staging" / "dbt" / "stg_dbt__nodes.sql").read_text()
    hook = (REPO / "macros" / "upload" / "upload_run_results.sql").read_text()
    assert "dbt_pipeline_costs.node_folders(" in staging and "dbt_pipeline_costs.node_folders(" in hook
    assert "rsplit" not in staging and "rsplit" not in hook

