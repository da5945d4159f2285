"""The package's query comment (macros/hooks/query_comment.sql) and dbt-bigquery's job labels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

from dbt.adapters.bigquery.connections import _sanitize_label

APP = "dbt_pipeline_costs"

# The macro's keys, in its order. No other key is ever written.
COMMENT_KEYS: tuple[str, ...] = (
    "app",
    "invocation_id",
    "project",
    "target",
    "command",
    "run_started_at",
    "node_id",
    "resource_type",
    "package",
    "orchestrator",
    "pipeline_id",
    "pipeline_run_id",
    "pipeline_task_id",
    "run_reason",
)
NODE_KEYS: tuple[str, ...] = ("node_id", "resource_type", "package")

Label = tuple[str, str]


def _as_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def comment_fields(fields: Mapping[str, object]) -> dict[str, str]:
    """The macro's dict: canonical key order, None/'' dropped, values as strings."""
    unknown = set(fields) - set(COMMENT_KEYS)
    if unknown:
        raise ValueError(f"not a query_comment key: {sorted(unknown)}")
    merged: dict[str, object] = {"app": APP, **fields}
    out: dict[str, str] = {}
    for key in COMMENT_KEYS:
        value = merged.get(key)
        if value is None or value == "":
            continue
        out[key] = _as_text(value)
    return out


def render_query_comment(fields: Mapping[str, object]) -> str:
    """Exactly what `dbt_pipeline_costs.query_comment(node)` renders for these fields."""
    return dump_comment(comment_fields(fields))


def dump_comment(fields: Mapping[str, str]) -> str:
    """The macro's `tojson(comment) | replace('*/', '*\\/')` for an already normalised dict."""
    return json.dumps(fields).replace("*/", "*\\/")


def with_comment(comment: str, sql: str) -> str:
    """dbt's default placement (query-comment append: false)."""
    return f"/* {comment.strip()} */\n{sql}"


@lru_cache(maxsize=65536)
def sanitize_label(value: str) -> str:
    return _sanitize_label(value)


def labels_from_comment(comment: str, invocation_id: str) -> list[Label]:
    """dbt-bigquery: `_labels_from_query_comment(comment)` then `labels["dbt_invocation_id"] = ...`."""
    try:
        parsed = json.loads(comment)
    except (TypeError, ValueError):
        labels = {"query_comment": _sanitize_label(comment)}
    else:
        labels = {_sanitize_label(k): _sanitize_label(str(v)) for k, v in parsed.items()}
    labels["dbt_invocation_id"] = invocation_id
    return list(labels.items())


def labels_from_fields(fields: Mapping[str, str], invocation_id: str) -> list[Label]:
    """Same result as `labels_from_comment(render_query_comment(fields), ...)` for a macro dict
    (`comment_fields` output), without re-parsing: the hot path of the generator."""
    labels = {sanitize_label(k): sanitize_label(v) for k, v in fields.items()}
    labels["dbt_invocation_id"] = invocation_id
    return list(labels.items())


def pipeline_context(
    env: Mapping[str, str],
    *,
    project: str,
    target: str,
    command: str | None,
    invocation_id: str,
    var_pipeline_id: str | None = None,
    var_pipeline_run_id: str | None = None,
) -> dict[str, str]:
    """macros/hooks/pipeline_context.sql: orchestrator, pipeline_id, pipeline_run_id, ... from env."""
    explicit_id = var_pipeline_id or env.get("DBT_PIPELINE_ID", "")
    explicit_run = var_pipeline_run_id or env.get("DBT_PIPELINE_RUN_ID", "")
    if explicit_id:
        ctx = {"orchestrator": "explicit", "pipeline_id": str(explicit_id), "pipeline_run_id": str(explicit_run)}
    elif env.get("AIRFLOW_CTX_DAG_ID", ""):
        ctx = {
            "orchestrator": "airflow",
            "pipeline_id": env["AIRFLOW_CTX_DAG_ID"],
            "pipeline_run_id": env.get("AIRFLOW_CTX_DAG_RUN_ID", ""),
            "pipeline_task_id": env.get("AIRFLOW_CTX_TASK_ID", ""),
        }
    elif env.get("DBT_CLOUD_JOB_ID", ""):
        ctx = {
            "orchestrator": "dbt_cloud",
            "pipeline_id": env["DBT_CLOUD_JOB_ID"],
            "pipeline_run_id": env.get("DBT_CLOUD_RUN_ID", ""),
            "run_reason": env.get("DBT_CLOUD_RUN_REASON_CATEGORY", ""),
        }
    elif env.get("GITHUB_RUN_ID", ""):
        ctx = {
            "orchestrator": "github_actions",
            "pipeline_id": env.get("GITHUB_REPOSITORY", "") + "/" + env.get("GITHUB_WORKFLOW", ""),
            "pipeline_run_id": env["GITHUB_RUN_ID"] + "-" + env.get("GITHUB_RUN_ATTEMPT", "1"),
            "pipeline_task_id": env.get("GITHUB_JOB", ""),
        }
    else:
        ctx = {
            "orchestrator": "none",
            "pipeline_id": f"{project}.{target}.{command or 'run'}",
            "pipeline_run_id": invocation_id,
        }
    if not ctx.get("pipeline_run_id"):
        ctx["pipeline_run_id"] = invocation_id
    return {key: value for key, value in ctx.items() if value}


CLOUD_REASON_JOB_TYPES = {
    "scheduled": "scheduled",
    "github_pull_request": "ci",
    "gitlab_merge_request": "ci",
    "azure_pull_request": "ci",
    "merge": "merge",
}
GITHUB_EVENT_JOB_TYPES = {
    "pull_request": "ci",
    "pull_request_target": "ci",
    "push": "merge",
    "merge_group": "merge",
    "schedule": "scheduled",
}


def job_type(env: Mapping[str, str], var_job_type: str | None = None) -> str:
    """docs/cost-rules.md section 7: the upload's job_type from the var, else the environment."""
    if var_job_type:
        return var_job_type
    reason = env.get("DBT_CLOUD_RUN_REASON_CATEGORY", "")
    if reason in CLOUD_REASON_JOB_TYPES:
        return CLOUD_REASON_JOB_TYPES[reason]
    event = env.get("GITHUB_EVENT_NAME", "")
    if event in GITHUB_EVENT_JOB_TYPES:
        return GITHUB_EVENT_JOB_TYPES[event]
    if env.get("AIRFLOW_CTX_DAG_RUN_ID", "").startswith("scheduled__"):
        return "scheduled"
    return "other"
