"""Load a DAG folder with Airflow's own loader and dry-run one DAG run of it; run inside .venv-airflow
by tests/test_airflow_dag.py (Airflow and dbt live in separate virtualenvs, as on many workers).

    airflow_dry_run.py --dags DIR --run-id RUN_ID --logical-date ISO [--execute TASK,...] --out FILE

1. Load: the dag processor's path, BundleDagBag over the folder, then each DAG serialized as the
   scheduler would store it; import and serialization errors and the warnings raised while parsing
   are reported, not raised.
2. Render: for each task, the context a worker gets for that DAG run (a RuntimeTaskInstance built from
   the same TIRunContext the API server sends), the templates rendered by Airflow, and the
   environment the operator would hand its command (BashOperator.get_env: AIRFLOW_CTX_* included).
3. Execute (optional): operator.execute(context) of the listed tasks, in order, as a worker would;
   each ends as success, skipped (AirflowSkipException) or failed.

Writes one JSON document to --out (task logs go to stdout/stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

# Environment keys reported per task: the operator's own env plus Airflow's context variables.
CONTEXT_PREFIX = "AIRFLOW_CTX_"


def _load(dags: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, list[str]]]:
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = BundleDagBag(dag_folder=dags, bundle_path=dags, bundle_name="dry_run", load_op_links=False)
    errors = {str(path): str(error) for path, error in bag.import_errors.items()}
    serialized: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        try:
            serialized[dag_id] = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        except Exception:  # noqa: BLE001 - reported as the dag processor does: an import error
            errors[dag.relative_fileloc or dag.fileloc] = traceback.format_exc(limit=-3)
    warnings = {str(path): list(found) for path, found in bag.captured_warnings.items()}
    return bag.dags, errors, serialized, warnings


def _runtime_ti(task: Any, run_id: str, logical_date: datetime) -> Any:
    """What a worker builds from the API server's TIRunContext for one task of a scheduled run."""
    from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    dag_run = DagRun(
        dag_id=task.dag.dag_id, run_id=run_id, logical_date=logical_date,
        data_interval_start=logical_date, data_interval_end=logical_date, run_after=logical_date,
        start_date=logical_date, end_date=None, run_type=DagRunType.SCHEDULED, state=DagRunState.RUNNING,
        conf={}, consumed_asset_events=[], partition_key=None,
    )
    return RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(), task_id=task.task_id, dag_id=task.dag.dag_id, run_id=run_id, try_number=1,
        dag_version_id=uuid.uuid4(), map_index=-1, task=task, bundle_instance=None,
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=task.retries),
        max_tries=task.retries, start_date=logical_date,
    )


def _render(task: Any, context: dict[str, Any]) -> dict[str, Any]:
    context["ti"].render_templates(context=context)
    rendered = {field: getattr(task, field) for field in task.template_fields}
    own_env = set(task.env or {}) if hasattr(task, "env") else set()
    full_env = task.get_env(context) if hasattr(task, "get_env") else {}
    env = {k: v for k, v in full_env.items() if k in own_env or k.startswith(CONTEXT_PREFIX)}
    return {"rendered": rendered, "env": env}


def _execute(task: Any, context: dict[str, Any]) -> str:
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        task.execute(context)
    except AirflowSkipException as skipped:
        return f"skipped: {skipped}"
    except Exception as error:  # noqa: BLE001 - the test reads the outcome; the log is on stdout
        return f"failed: {type(error).__name__}: {error}"
    return "success"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--logical-date", type=datetime.fromisoformat, required=True)
    parser.add_argument("--execute", default="", help="comma-separated task ids, run in this order")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not os.environ.get("AIRFLOW_HOME"):
        sys.exit("airflow_dry_run.py: set AIRFLOW_HOME to a scratch directory")

    dags, errors, serialized, warnings = _load(args.dags.resolve())
    report: dict[str, Any] = {"import_errors": errors, "parse_warnings": warnings, "dags": {}}
    to_execute = [t for t in args.execute.split(",") if t]
    for dag_id, dag in dags.items():
        scheduler_dag = serialized.get(dag_id)
        tasks: dict[str, Any] = {}
        contexts: dict[str, dict[str, Any]] = {}
        for task in dag.topological_sort():
            context = _runtime_ti(task, args.run_id, args.logical_date).get_template_context()
            contexts[task.task_id] = context
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "upstream": sorted(task.upstream_task_ids),
                "scheduler_upstream": sorted(scheduler_dag.get_task(task.task_id).upstream_task_ids)
                if scheduler_dag else None,
                **_render(task, context),
            }
        executed = {task_id: _execute(dag.get_task(task_id), contexts[task_id])
                    for task_id in to_execute if task_id in contexts}
        report["dags"][dag_id] = {"fileloc": dag.fileloc, "tasks": tasks, "executed": executed}
    args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
