"""The orchestration example integration_tests/airflow/dags/pipeline_costs_dag.py, loaded by Airflow's
own loader in .venv-airflow (tests/airflow_dry_run.py) and run for one scheduled DAG run: all four
tasks executed by Airflow's BashOperator in a fresh dbt project that uses the package, the two dbt
tasks with this repo's dbt for real, the report and Redash tasks with a stand-in Python that parses
their arguments with the package's own CLI parser instead of running it. Then that DAG run is looked
up in the package's uploaded run results and in the query comments dbt sent."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from support import BIN, PROJECT_DIR, REPO, rows, subprocess_env

AIRFLOW_PYTHON = REPO / ".venv-airflow" / "bin" / "python"
DAGS = PROJECT_DIR / "airflow" / "dags"
DAG_ID = "dbt_daily"
LOGICAL_DATE = "2026-11-20T06:00:00+00:00"
RUN_ID = f"scheduled__{LOGICAL_DATE}"
ORDER = ["dbt_build", "pipeline_costs_refresh", "pipeline_costs_report", "redash_sync"]
DBT_TASKS = ORDER[:2]
USER_PROJECT = "acme_shop"
USER_MODELS = {f"model.{USER_PROJECT}.orders", f"model.{USER_PROJECT}.revenue"}
PACKAGE_SCHEMA = "analytics_pipeline_costs"
# The refresh builds only the upload tables and their staging here (the whole package in the DAG).
REFRESH_SELECT = "+stg_dbt__invocations +stg_dbt__node_results"
DATA_SOURCE = "warehouse (prod)"
API_KEY = "redash-key-never-rendered-7f3a"

# Stands in for the Python the DAG runs `-m pipeline_costs ...` with: the package's CLI parser (found
# through the PYTHONPATH the task sets) parses the arguments; what it got is recorded, nothing runs.
STAND_IN = """\
import json, os, sys
assert sys.argv[1:3] == ["-m", "pipeline_costs"], sys.argv
import pipeline_costs
from pipeline_costs.cli import build_parser
args = vars(build_parser().parse_args(sys.argv[3:]))
args.pop("handler")
record = {"args": {k: None if v is None else str(v) for k, v in args.items()},
          "module": pipeline_costs.__file__, "api_key": os.environ.get("REDASH_API_KEY")}
with open(os.environ["CLI_STAND_IN_RECORD"], "a") as out:
    out.write(json.dumps(record) + "\\n")
"""


def _write_user_project(root: Path, db: Path) -> None:
    """A user's dbt project set up as the README says: the package's comment and upload hook."""
    (root / "models").mkdir(parents=True)
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (root / "dbt_project.yml").write_text(textwrap.dedent(f"""\
        name: {USER_PROJECT}
        version: "1.0.0"
        config-version: 2
        profile: {USER_PROJECT}
        query-comment:
          comment: "{{{{ dbt_pipeline_costs.query_comment(node) }}}}"
        on-run-end:
          - "{{{{ dbt_pipeline_costs.upload_run_results(results) }}}}"
        """))
    (root / "profiles.yml").write_text(textwrap.dedent(f"""\
        {USER_PROJECT}:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{db}", schema: analytics, threads: 2}}
        """))
    (root / "models" / "orders.sql").write_text("select 1 as order_id, 9.5 as amount\n")
    (root / "models" / "revenue.sql").write_text("select sum(amount) as revenue from {{ ref('orders') }}\n")


def _dbt(root: Path, *args: str) -> None:
    result = subprocess.run([str(BIN / "dbt"), *args, "--profiles-dir", str(root)], cwd=root,
                            env=subprocess_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, (
        f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


def _airflow_dry_run(base: Path, env: dict[str, str], execute: list[str], name: str) -> tuple[dict, str]:
    out = base / f"{name}.json"
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), str(REPO / "tests" / "airflow_dry_run.py"), "--dags", str(DAGS),
         "--run-id", RUN_ID, "--logical-date", LOGICAL_DATE, "--execute", ",".join(execute),
         "--out", str(out)],
        cwd=base, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"airflow_dry_run.py failed:\n{log[-8000:]}"
    return json.loads(out.read_text()), log


@pytest.fixture(scope="module")
def dag_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One scheduled run of the DAG, every task executed by Airflow; then redash_sync once more on a
    worker without REDASH_URL."""
    if not AIRFLOW_PYTHON.exists():
        pytest.fail("run make airflow-venv", pytrace=False)
    base = tmp_path_factory.mktemp("airflow")
    root, db = base / USER_PROJECT, base / "warehouse.duckdb"
    _write_user_project(root, db)
    _dbt(root, "deps")
    # Once, before the first DAG run (as the DAG's docstring says): create the upload tables.
    _dbt(root, "run", "--select", "package:dbt_pipeline_costs,tag:run_results")
    (base / "stand_in.py").write_text(STAND_IN)
    stand_in = base / "python"
    stand_in.write_text(f'#!/bin/sh\nexec "{BIN / "python"}" "{base / "stand_in.py"}" "$@"\n')
    stand_in.chmod(0o755)

    env = subprocess_env(
        AIRFLOW_HOME=str(base / "airflow_home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{base / 'airflow.db'}",
        # The DAG's settings, as Airflow Variables from the environment; pipeline_costs_dbt_target
        # is left unset (the profile's default target).
        AIRFLOW_VAR_PIPELINE_COSTS_DBT=str(BIN / "dbt"),
        AIRFLOW_VAR_PIPELINE_COSTS_DBT_PROJECT_DIR=str(root),
        AIRFLOW_VAR_PIPELINE_COSTS_DBT_PROFILES_DIR=str(root),
        AIRFLOW_VAR_PIPELINE_COSTS_SELECT=REFRESH_SELECT,
        AIRFLOW_VAR_PIPELINE_COSTS_PYTHON=str(stand_in),
        AIRFLOW_VAR_PIPELINE_COSTS_REPORT_DIR=str(base / "report"),
        AIRFLOW_VAR_PIPELINE_COSTS_REDASH_DATA_SOURCE=DATA_SOURCE,
        # The worker's environment, which the tasks keep: Redash settings, where dbt writes.
        REDASH_URL="http://redash.invalid",  # never contacted: the stand-in only parses
        REDASH_API_KEY=API_KEY,
        DBT_LOG_PATH=str(base / "dbt_logs"),
        DBT_TARGET_PATH=str(base / "dbt_target"),
        CLI_STAND_IN_RECORD=str(base / "cli_calls.jsonl"),
    )
    for name in ("PYTHONPATH", "DBT_TARGET", "DBT_PROJECT_DIR", "DBT_PROFILES_DIR"):
        env.pop(name, None)
    report, log = _airflow_dry_run(base, env, ORDER, "dag_run")
    no_redash = {k: v for k, v in env.items() if k != "REDASH_URL"}
    skipped, skipped_log = _airflow_dry_run(base, no_redash, ["redash_sync"], "no_redash")
    calls = [json.loads(line) for line in (base / "cli_calls.jsonl").read_text().splitlines()]
    return {"report": report, "log": log, "db": db, "root": root, "base": base, "calls": calls,
            "skipped": skipped, "skipped_log": skipped_log}


def test_airflow_loads_the_dag_with_the_tasks_in_order(dag_run: dict[str, Any]) -> None:
    report = dag_run["report"]
    assert report["import_errors"] == {} and report["parse_warnings"] == {}
    assert list(report["dags"]) == [DAG_ID]
    tasks = report["dags"][DAG_ID]["tasks"]
    assert list(tasks) == ORDER  # topological order
    for upstream, task_id in zip([None, *ORDER], ORDER, strict=False):
        expected = [upstream] if upstream else []
        # the DAG as parsed and as the scheduler reads it back from its serialized form
        assert tasks[task_id]["upstream"] == tasks[task_id]["scheduler_upstream"] == expected, task_id
        assert tasks[task_id]["operator"] == "BashOperator"


def test_each_rendered_task_passes_the_dag_run_to_its_command(dag_run: dict[str, Any]) -> None:
    tasks = dag_run["report"]["dags"][DAG_ID]["tasks"]
    for task_id, task in tasks.items():
        env = task["env"]
        assert (env["AIRFLOW_CTX_DAG_ID"], env["AIRFLOW_CTX_DAG_RUN_ID"], env["AIRFLOW_CTX_TASK_ID"]) == (
            DAG_ID, RUN_ID, task_id)
        # Settings come from the Variables; none of them was spliced into the command line.
        assert env["DBT"] == str(BIN / "dbt") and env["DBT_PROJECT_DIR"] == str(dag_run["root"])
        assert env["DBT_TARGET"] == ""
        assert str(dag_run["root"]) not in task["rendered"]["bash_command"]
        # The API key is read by the CLI from the worker's environment: never a rendered field
        # (Airflow stores those and shows them in its UI).
        assert API_KEY not in json.dumps(task["rendered"])
    assert tasks["pipeline_costs_refresh"]["env"]["PIPELINE_COSTS_SELECT"] == REFRESH_SELECT


def test_the_report_and_redash_tasks_call_the_packages_cli(dag_run: dict[str, Any]) -> None:
    executed = dag_run["report"]["dags"][DAG_ID]["executed"]
    assert executed == dict.fromkeys(ORDER, "success"), (executed, dag_run["log"][-6000:])
    root, base = dag_run["root"], dag_run["base"]
    report, redash = dag_run["calls"]
    # The CLI found through the path dbt deps installed the package at, with the DAG's arguments.
    for call in (report, redash):
        assert call["module"].startswith(str(root / "dbt_packages" / "dbt_pipeline_costs" / "scripts"))
    report_keys = ("command", "dbt_project_dir", "profiles_dir", "target", "out")
    redash_keys = ("command", "redash_command", "data_source", "manifest", "dry_run")
    assert {k: report["args"][k] for k in report_keys} == {
        "command": "report", "dbt_project_dir": str(root), "profiles_dir": str(root), "target": None,
        "out": str(base / "report")}
    assert {k: redash["args"][k] for k in redash_keys} == {
        "command": "redash", "redash_command": "sync", "data_source": DATA_SOURCE,
        "manifest": str(base / "dbt_target" / "manifest.json"), "dry_run": "False"}
    assert (base / "dbt_target" / "manifest.json").is_file()  # written by the task's dbt parse
    assert redash["api_key"] == API_KEY  # from the worker's environment, not from the DAG

    # A worker without REDASH_URL: Airflow leaves redash_sync skipped (its exit code 99).
    assert dag_run["skipped"]["dags"][DAG_ID]["executed"]["redash_sync"].startswith("skipped")
    assert "REDASH_URL is not set" in dag_run["skipped_log"]


def test_the_dbt_tasks_are_attributed_to_the_dag_run(dag_run: dict[str, Any]) -> None:
    db = dag_run["db"]
    invocations = rows(db, f"""
        select invocation_id, command, orchestrator, pipeline_id, pipeline_run_id, pipeline_task_id, job_type
        from {PACKAGE_SCHEMA}.stg_dbt__invocations order by run_started_at""")
    # The set-up run (no orchestrator), then one invocation per dbt task of the DAG run.
    assert [r["orchestrator"] for r in invocations] == ["none", "airflow", "airflow"], invocations
    for row, task_id in zip(invocations[1:], DBT_TASKS, strict=True):
        assert (row["command"], row["pipeline_id"], row["pipeline_run_id"], row["pipeline_task_id"],
                row["job_type"]) == ("build", DAG_ID, RUN_ID, task_id, "scheduled"), row
    stored = rows(db, f"select count(*) as n from {PACKAGE_SCHEMA}.dbt_invocations "
                      f"where pipeline_run_id = '{RUN_ID}'")
    assert stored[0]["n"] == 2

    # dbt_build ran the user's own models only; the refresh ran the package's selected models.
    built, refreshed = (invocations[1]["invocation_id"], invocations[2]["invocation_id"])
    nodes = {invocation: {r["node_id"]: r["status"] for r in rows(db, f"""
                 select node_id, status from {PACKAGE_SCHEMA}.stg_dbt__node_results
                 where invocation_id = '{invocation}'""")}
             for invocation in (built, refreshed)}
    assert nodes[built] == dict.fromkeys(USER_MODELS, "success")
    refreshed_models = {n for n in nodes[refreshed] if n.startswith("model.")}
    assert refreshed_models == {f"model.dbt_pipeline_costs.{name}" for name in (
        "dbt_invocations", "dbt_node_results", "stg_dbt__invocations", "stg_dbt__node_results")}
    assert all(n.split(".")[1] == "dbt_pipeline_costs" for n in nodes[refreshed])
    assert all(status in {"success", "pass"} for status in nodes[refreshed].values()), nodes[refreshed]

    # And every query the two tasks sent carried the DAG run in its comment (what the warehouse logs keep).
    log = (dag_run["base"] / "dbt_logs" / "dbt.log").read_text()
    comments = [json.loads(c) for c in re.findall(r'/\* (\{"app": "dbt_pipeline_costs".*?\}) \*/', log)]
    for invocation, task_id in ((built, "dbt_build"), (refreshed, "pipeline_costs_refresh")):
        sent = {(c["orchestrator"], c["pipeline_id"], c["pipeline_run_id"], c["pipeline_task_id"])
                for c in comments if c["invocation_id"] == invocation}
        assert sent == {("airflow", DAG_ID, RUN_ID, task_id)}, sent
    assert {c["node_id"] for c in comments if c["invocation_id"] == built and "node_id" in c} == USER_MODELS
