"""The README's install steps, followed in a brand-new dbt project that uses the package as `local:`."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

from support import BIN, REPO, generate, rows, subprocess_env

USER_PROJECT = "acme_shop"


def _write_user_project(root: Path, db: Path) -> None:
    (root / "models" / "marts").mkdir(parents=True)
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    # Step 2 of the README, verbatim, plus the vars that point at the generated look-alike logs.
    (root / "dbt_project.yml").write_text(textwrap.dedent(f"""\
        name: {USER_PROJECT}
        version: "1.0.0"
        config-version: 2
        profile: {USER_PROJECT}

        query-comment:
          comment: "{{{{ dbt_pipeline_costs.query_comment(node) }}}}"
          job-label: true

        on-run-end:
          - "{{{{ dbt_pipeline_costs.upload_run_results(results) }}}}"

        vars:
          dbt_pipeline_costs_bigquery_regions: ["us", "eu"]
          dbt_pipeline_costs_bigquery_jobs_identifier: jobs_by_project
          dbt_pipeline_costs_bigquery_table_storage_identifier: table_storage
        """))
    (root / "profiles.yml").write_text(textwrap.dedent(f"""\
        {USER_PROJECT}:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{db}"
              schema: analytics
              threads: 2
        """))
    (root / "models" / "marts" / "orders.sql").write_text("select 1 as order_id\n")


def _dbt(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "dbt"), *args, "--profiles-dir", str(root)],
        cwd=root, env=subprocess_env(AIRFLOW_CTX_DAG_ID="acme_daily", AIRFLOW_CTX_DAG_RUN_ID="manual__1",
                                     AWS_SECRET_ACCESS_KEY="do-not-leak-me"),
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}"
    return result


def test_readme_install_in_a_fresh_project(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, "--days", "3", "--no-truth")
    root = tmp_path / USER_PROJECT
    _write_user_project(root, db)

    _dbt(root, "deps")
    _dbt(root, "--log-level", "debug", "build")

    # The user's own model was sent with the package's comment, carrying the Airflow context.
    log = (root / "logs" / "dbt.log").read_text()
    comments = re.findall(r'/\* (\{"app": "dbt_pipeline_costs".*?\}) \*/', log)
    assert any(f'"node_id": "model.{USER_PROJECT}.orders"' in c and '"pipeline_id": "acme_daily"' in c
               and '"pipeline_run_id": "manual__1"' in c for c in comments), comments[:3]
    assert "do-not-leak-me" not in log

    # The package's marts were built in the user's schema and priced the generated jobs.
    summary = rows(db, "select count(*) as n, sum(billed_cost) as billed from analytics_pipeline_costs.cost_coverage")[0]
    assert summary["n"] > 0 and summary["billed"] > 0
    attributed = rows(db, "select count(*) as n from analytics_pipeline_costs.model_costs")[0]["n"]
    assert attributed > 0

    # The first build created the upload tables and its own on-run-end hook filled them; a second
    # build appends, and its node results (all of them, the user's model included) are in the marts.
    _dbt(root, "build")
    invocations = rows(db, "select invocation_id, pipeline_id, orchestrator from analytics_pipeline_costs.dbt_invocations")
    assert len(invocations) == 2 and {r["pipeline_id"] for r in invocations} == {"acme_daily"}
    results = json.loads((root / "target" / "run_results.json").read_text())
    last = results["metadata"]["invocation_id"]
    uploaded = rows(db, f"""select node_id, status from analytics_pipeline_costs.dbt_node_results
                            where invocation_id = '{last}'""")
    assert sorted((r["node_id"], r["status"]) for r in uploaded) == sorted(
        (r["unique_id"], r["status"]) for r in results["results"]
        if not r["unique_id"].startswith("operation."))  # the hook itself is not among its results
    # The second build's marts saw the first build's upload (its own lands after them, on-run-end).
    first = next(r["invocation_id"] for r in invocations if r["invocation_id"] != last)
    reuse = rows(db, f"select model_count from analytics_pipeline_costs.model_reuse where invocation_id = '{first}'")
    first_models = rows(db, f"""select count(*) as n from analytics_pipeline_costs.dbt_node_results
                                where invocation_id = '{first}' and resource_type = 'model'""")[0]["n"]
    assert first_models > 10 and reuse and reuse[0]["model_count"] == first_models
    secrets = rows(db, "select count(*) as n from analytics_pipeline_costs.dbt_node_results "
                       "where message like '%do-not-leak-me%'")[0]["n"]
    assert secrets == 0
