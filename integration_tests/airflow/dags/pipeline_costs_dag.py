"""Example Airflow DAG for dbt_pipeline_costs: run the pipeline's dbt job, refresh the package's cost
models, write the cost report, then sync the Redash dashboards.

    dbt_build >> pipeline_costs_refresh >> pipeline_costs_report >> redash_sync

Copy this file into your DAGs folder, rename the DAG and replace the dbt_build command with your own
job. Settings are Airflow Variables, read when a task runs; each has a default, and each can also
come from the environment as AIRFLOW_VAR_<NAME> (e.g. AIRFLOW_VAR_PIPELINE_COSTS_DBT_PROJECT_DIR):

    pipeline_costs_dbt                 dbt executable (in your dbt virtualenv)    dbt
    pipeline_costs_dbt_project_dir     your dbt project (package installed)       /opt/airflow/dbt
    pipeline_costs_dbt_profiles_dir    directory of profiles.yml                  /opt/airflow/dbt
    pipeline_costs_dbt_target          dbt target; empty = the profile's default  (empty)
    pipeline_costs_select              what pipeline_costs_refresh builds         package:dbt_pipeline_costs
    pipeline_costs_python              Python with dbt and its adapter (the CLI)  python3
    pipeline_costs_report_dir          report directory (overwritten each run)    /opt/airflow/reports
    pipeline_costs_redash_data_source  Redash data source the queries run on      (empty: needed with Redash)

How the run is attributed: BashOperator exports AIRFLOW_CTX_DAG_ID, AIRFLOW_CTX_DAG_RUN_ID and
AIRFLOW_CTX_TASK_ID to its command. The package's pipeline_context() reads them, so every query dbt
sends carries pipeline_id = the dag_id, pipeline_run_id = the run_id (for example
scheduled__2026-11-20T06:00:00+00:00) and the task id in its comment, and the on-run-end upload
stores them in dbt_invocations with orchestrator 'airflow' (job_type 'scheduled' for scheduled runs).
Nothing to pass by hand. Where those variables do not reach dbt (KubernetesPodOperator,
DockerOperator, SSH), pass the same values explicitly, recorded as orchestrator 'explicit':
    env={"DBT_PIPELINE_ID": "{{ dag.dag_id }}", "DBT_PIPELINE_RUN_ID": "{{ run_id }}"}

Before the first run: `dbt deps` (the report and Redash CLI ship in the package's scripts/ folder,
which dbt deps installs under dbt_packages/), then `dbt build --select package:dbt_pipeline_costs`
once: it creates the tables the on-run-end upload appends to (until they exist the upload skips).

Secrets: the Redash address and API key come from the worker's environment only (REDASH_URL,
REDASH_API_KEY). They are never templated: Airflow stores rendered template fields and shows them
in its UI. redash_sync is skipped when REDASH_URL is not set.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.9+ (with apache-airflow-providers-standard installed)
    from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator

# Rendered when a task runs, never when the scheduler parses this file. The values reach the
# commands as environment variables, always quoted, never spliced into a command line. dbt reads
# DBT_PROJECT_DIR, DBT_PROFILES_DIR and DBT_TARGET itself (empty DBT_TARGET: the profile's default).
ENV = {
    "DBT": "{{ var.value.get('pipeline_costs_dbt', 'dbt') }}",
    "DBT_PROJECT_DIR": "{{ var.value.get('pipeline_costs_dbt_project_dir', '/opt/airflow/dbt') }}",
    "DBT_PROFILES_DIR": "{{ var.value.get('pipeline_costs_dbt_profiles_dir', '/opt/airflow/dbt') }}",
    "DBT_TARGET": "{{ var.value.get('pipeline_costs_dbt_target', '') }}",
    "PIPELINE_COSTS_SELECT": "{{ var.value.get('pipeline_costs_select', 'package:dbt_pipeline_costs') }}",
    "PIPELINE_COSTS_PYTHON": "{{ var.value.get('pipeline_costs_python', 'python3') }}",
    "PIPELINE_COSTS_REPORT_DIR": "{{ var.value.get('pipeline_costs_report_dir', '/opt/airflow/reports') }}",
    "PIPELINE_COSTS_REDASH_DATA_SOURCE": "{{ var.value.get('pipeline_costs_redash_data_source', '') }}",
}

# The package's CLI, `python -m pipeline_costs ...`, from the copy dbt deps installed.
CLI = (
    'PYTHONPATH="$DBT_PROJECT_DIR/dbt_packages/dbt_pipeline_costs/scripts"'
    ' "$PIPELINE_COSTS_PYTHON" -m pipeline_costs'
)

with DAG(
    dag_id="dbt_daily",  # your pipeline's name: it is the pipeline_id in every cost mart
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # the package's incremental models should not be built by two runs at once
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["dbt", "dbt_pipeline_costs"],
) as dag:
    # The pipeline's own dbt job. append_env=True keeps the worker's environment (PATH, warehouse
    # credentials) and adds ENV. The package's models are left to the next task, so that they are
    # built after this run's results were uploaded (on-run-end) and price this run too.
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command='"$DBT" build --exclude package:dbt_pipeline_costs',
        env=ENV,
        append_env=True,
    )

    # The cost package: staging, attribution and marts over the warehouse's logs. If dbt_build
    # fails this task does not run (the default trigger rule); the next run's refresh still prices
    # the failed run, whose results the on-run-end upload stored.
    pipeline_costs_refresh = BashOperator(
        task_id="pipeline_costs_refresh",
        bash_command='"$DBT" build --select "$PIPELINE_COSTS_SELECT"',
        env=ENV,
        append_env=True,
    )

    # One self-contained HTML report (plus JSON, CSV and Markdown), the marts read through dbt.
    pipeline_costs_report = BashOperator(
        task_id="pipeline_costs_report",
        bash_command=(
            CLI + ' report --dbt-project-dir "$DBT_PROJECT_DIR" --profiles-dir "$DBT_PROFILES_DIR"'
            ' ${DBT_TARGET:+--target "$DBT_TARGET"} --out "$PIPELINE_COSTS_REPORT_DIR"'
        ),
        env=ENV,
        append_env=True,
    )

    # Create or update the Redash queries, visualizations and dashboards (idempotent). Exit code 99
    # leaves the task skipped (BashOperator's skip_on_exit_code) when the worker has no REDASH_URL.
    # `dbt parse` writes the manifest the sync reads the marts' relations from, on whichever worker.
    redash_sync = BashOperator(
        task_id="redash_sync",
        bash_command=(
            'set -e\n'
            'if [ -z "${REDASH_URL:-}" ]; then echo "REDASH_URL is not set: no Redash sync"; exit 99; fi\n'
            ': "${PIPELINE_COSTS_REDASH_DATA_SOURCE:?set Variable pipeline_costs_redash_data_source}"\n'
            '"$DBT" parse --quiet\n'
            + CLI + ' redash sync --data-source "$PIPELINE_COSTS_REDASH_DATA_SOURCE"'
            ' --manifest "${DBT_TARGET_PATH:-$DBT_PROJECT_DIR/target}/manifest.json"'
        ),
        env=ENV,
        append_env=True,
    )

    dbt_build >> pipeline_costs_refresh >> pipeline_costs_report >> redash_sync
