"""Helpers for tests/test_upload.py: a temporary dbt project that uses the package as `local:` with
the on-run-end upload, and the expected table rows computed from dbt's own artifacts
(target/run_results.json + target/manifest.json): ground truth independent of the SQL under test."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pipeline_costs import bulk_project
from support import BIN, REPO, subprocess_env

PROJECT = "upload_probe"
SCHEMA = "analytics"
PACKAGE_SCHEMA = f"{SCHEMA}_pipeline_costs"

# Everything that has broken an uploader's quoting somewhere: quotes, backslashes, control
# characters, non-ASCII (Cyrillic, an emoji outside the BMP), comment ends, SQL injection,
# dollar quoting and an escaped quote.
NASTY = ("it's \"quoted\" back\\slash \\' line\nbreak\ttab кириллица 😀 */ '); drop table x; -- "
         "$$ $tag$ end")
NASTY_TAGS = ["it's", 'say "hi"', "back\\slash", "line\nbreak", "tab\there", "кириллица", "emoji 😀",
              "*/", "'); drop table x; --", "$$", "\\'"]
SECRET = "AKIA-do-not-store-me-0123456789"
NASTY_DIR = "o'brien $$ папка"
NASTY_MODEL = "it's_$$_модель_😀"

HOOK = "{{ dbt_pipeline_costs.upload_run_results(results) }}"
SUMMARY_RE = re.compile(
    r"upload_run_results: uploaded (\d+) node results and 1 invocation in (\d+) statements "
    r"\(largest (\d+) chars\) in ([0-9.]+) s")


@dataclass
class Run:
    """One dbt invocation in a probe project, with copies of its artifacts."""

    args: list[str]
    env: dict[str, str]
    returncode: int
    stdout: str
    run_results: dict[str, Any]
    manifest: dict[str, Any]

    @property
    def invocation_id(self) -> str:
        return str(self.run_results["metadata"]["invocation_id"])

    def hook_results(self) -> list[dict[str, Any]]:
        """The results dbt hands to on-run-end: run_results.json minus the project hooks that
        passed (dbt's RunTask.after_run filter: thread_id 'main' unless the status is error)."""
        return [r for r in self.run_results["results"] if r["thread_id"] != "main" or r["status"] == "error"]

    def summary(self) -> tuple[int, int, int, float]:
        found = SUMMARY_RE.findall(self.stdout)
        assert len(found) == 1, f"expected one upload summary line:\n{self.stdout[-4000:]}"
        rows, statements, largest, seconds = found[0]
        return int(rows), int(statements), int(largest), float(seconds)


def write_probe_project(root: Path, extra_models: int = 0) -> None:
    """A small project whose names, tags, descriptions, meta and error messages hold NASTY text;
    some nodes fail on purpose (compile error, SQL error, a failing and a warning test)."""
    if root.exists():
        shutil.rmtree(root)
    models = root / "models"
    for folder in ("plain", NASTY_DIR, "failing", "fresh"):
        (models / folder).mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "tests").mkdir()
    (root / "macros").mkdir()
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    project = {
        "name": PROJECT, "version": "1.0.0", "config-version": 2, "profile": PROJECT,
        "on-run-end": [HOOK],
        "vars": {"nasty_text": NASTY},
        # The package's cost models need the BigQuery look-alike logs: only its upload tables here.
        "models": {"dbt_pipeline_costs": {"+enabled": False, "run_results": {"+enabled": True}}},
        "seeds": {PROJECT: {"+column_types": {"loaded_at": "timestamp"}}},
    }
    (root / "dbt_project.yml").write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False))
    bulk_project.write_profiles(root, PROJECT, db_env_var="UPLOAD_PROBE_DB", schema=SCHEMA)
    (root / "seeds" / "raw_events.csv").write_text("id,loaded_at\n1,2020-01-01 00:00:00\n2,2020-01-02 00:00:00\n")
    (models / "plain" / "ok_model.sql").write_text("select 1 as id\n")
    (models / NASTY_DIR / f"{NASTY_MODEL}.sql").write_text(
        "select '{{ var('nasty_text') | replace(\"'\", \"''\") }}' as label\n")
    (models / "failing" / "compile_fails.sql").write_text(
        "{% if execute %}{{ exceptions.raise_compiler_error(var('nasty_text')) }}{% endif %}\nselect 1 as id\n")
    (models / "failing" / "sql_fails.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select cast('{{ var('nasty_text') | replace(\"'\", \"''\") }}' as integer) as n\n")
    # A message longer than the default limit (4,096 characters): cut, and a row over a small
    # statement limit on its own.
    (models / "failing" / "long_message.sql").write_text(
        "{% if execute %}{{ exceptions.raise_compiler_error((var('nasty_text') ~ ' | ') * 80) }}{% endif %}\n"
        "select 1 as id\n")
    (models / "failing" / "child_of_failure.sql").write_text("select * from {{ ref('sql_fails') }}\n")
    (models / "fresh" / "build_after_model.sql").write_text(
        "{{ config(freshness={'build_after': {'count': 4, 'period': 'hour', 'updates_on': 'all'}}) }}\n"
        "select * from {{ ref('ok_model') }}\n")
    (models / "fresh" / "state_model.sql").write_text(
        "{{ config(state={'mode': \"it's\", 'lag': 2}) }}\nselect * from {{ ref('raw_events') }}\n")
    (root / "tests" / "fails_on_purpose.sql").write_text("select 1 as x union all select 2 as x\n")
    (root / "tests" / "warns_on_purpose.sql").write_text(
        "{{ config(severity='warn') }}\nselect 1 as x\n")
    properties = {
        "version": 2,
        "models": [
            {"name": "ok_model", "description": NASTY,
             "config": {"tags": NASTY_TAGS, "meta": {"owner": NASTY}},
             "columns": [{"name": "id", "description": NASTY, "data_tests": ["not_null"]}]},
            {"name": NASTY_MODEL, "description": NASTY,
             "config": {"tags": ["zeta", "alpha"], "alias": "nasty_alias"}},
        ],
        "unit_tests": [{
            "name": "build_after_model_keeps_rows", "model": "build_after_model",
            "config": {"tags": ["unit", "it's"]},
            "given": [{"input": "ref('ok_model')", "rows": [{"id": 1}]}],
            "expect": {"rows": [{"id": 1}]},
        }],
        "sources": [{
            "name": "raw", "schema": SCHEMA, "description": NASTY,
            "tables": [
                {"name": "raw_events", "loaded_at_field": "loaded_at",
                 "config": {"freshness": {"warn_after": {"count": 1, "period": "day"},
                                          "filter": "id > 0"}}},
                {"name": "raw_events_strict", "identifier": "raw_events", "loaded_at_field": "loaded_at",
                 "config": {"freshness": {"warn_after": {"count": 1, "period": "day"},
                                          "error_after": {"count": 2, "period": "day"}}}},
            ],
        }],
    }
    (models / "_properties.yml").write_text(yaml.safe_dump(properties, allow_unicode=True, sort_keys=False))
    for i in range(extra_models):
        (models / "plain" / f"extra_{i:05d}.sql").write_text(f"select {i} as id\n")
    dbt(root, "deps", db=root / "unused.duckdb")


def dbt(root: Path, *args: str, db: Path, check: bool = True, **env: str) -> Run:
    """Run dbt in a probe project against the DuckDB file `db`; keep copies of its artifacts."""
    for stale in ("run_results.json", "sources.json"):
        (root / "target" / stale).unlink(missing_ok=True)
    result = subprocess.run(
        [str(BIN / "dbt"), *args, "--profiles-dir", str(root)],
        cwd=root, env=subprocess_env(UPLOAD_PROBE_DB=str(db), **env),
        capture_output=True, text=True, timeout=900, check=False,
    )
    if check:
        assert result.returncode in (0, 1), (
            f"dbt {' '.join(args)} crashed ({result.returncode}):\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    target = root / "target"
    # `dbt source freshness` writes its results to sources.json (run_results.json is left as it was).
    results_file = target / ("sources.json" if "freshness" in args else "run_results.json")
    run_results: dict[str, Any] = {}
    manifest: dict[str, Any] = {}
    if args[0] != "deps" and results_file.exists():
        run_results = json.loads(results_file.read_text())
        manifest = json.loads((target / "manifest.json").read_text())
    return Run(list(args), env, result.returncode, result.stdout + result.stderr, run_results, manifest)


# --- ground truth from the artifacts -----------------------------------------------------------

def utc(text: str | None) -> datetime | None:
    """An artifact timestamp ('...Z' or '+00:00') as an aware datetime."""
    return None if text is None else datetime.fromisoformat(text)


def folder_of(path: str | None) -> str | None:
    if path is None:
        return None
    path = path.replace("\\", "/")
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _node(manifest: dict[str, Any], unique_id: str) -> dict[str, Any]:
    for key in ("nodes", "sources", "unit_tests"):
        if unique_id in manifest.get(key, {}):
            return manifest[key][unique_id]
    raise AssertionError(f"{unique_id} not in manifest")


def expected_node_rows(run: Run, message_max: int = 4096) -> dict[str, dict[str, Any]]:
    """dbt_node_results rows of one run, by node id, from run_results.json + manifest.json."""
    rows = {}
    for result in run.hook_results():
        node = _node(run.manifest, result["unique_id"])
        config = node.get("config", {})
        resource_type = node["resource_type"]
        # dbt hands on-run-end a unit test as the node it runs (a UnitTestNode), which carries
        # neither the definition's tags nor its config: docs/run-results.md says so.
        tags = [] if resource_type == "unit_test" else sorted(node.get("tags") or config.get("tags") or [])
        timing = {t["name"]: t for t in result["timing"]}
        response = result.get("adapter_response") or {}
        message = result.get("message")
        if resource_type == "model":
            freshness = config.get("freshness")
            build_after = (freshness or {}).get("build_after")
        elif resource_type == "source":
            freshness = node.get("freshness")
            build_after = None
        else:
            freshness = build_after = None
        state = config.get("state")

        def set_time(after: dict[str, Any] | None) -> bool:
            return bool(after) and after.get("count") is not None and bool(after.get("period"))

        has = (set_time(build_after)
               or (resource_type == "source" and bool(freshness)
                   and (set_time(freshness.get("warn_after")) or set_time(freshness.get("error_after"))))
               or state is not None)
        rows[result["unique_id"]] = {
            "invocation_id": run.invocation_id,
            "node_id": result["unique_id"],
            "resource_type": resource_type,
            "package_name": node["package_name"],
            "name": node["name"],
            "original_file_path": node["original_file_path"],
            "folder": folder_of(node["original_file_path"]),
            # dbt runs a unit test through its `unit` materialization; the manifest's unit_tests
            # entry does not record it.
            "materialized": None if resource_type == "source" else config.get(
                "materialized", "unit" if resource_type == "unit_test" else None),
            "tags": json.dumps(tags),
            "first_tag": tags[0] if tags else None,
            "status": result["status"],
            "thread_id": result["thread_id"],
            "compile_started_at": utc(timing.get("compile", {}).get("started_at")),
            "compile_completed_at": utc(timing.get("compile", {}).get("completed_at")),
            "execute_started_at": utc(timing.get("execute", {}).get("started_at")),
            "execute_completed_at": utc(timing.get("execute", {}).get("completed_at")),
            "execution_time_s": result["execution_time"],
            "rows_affected": response.get("rows_affected"),
            "bytes_processed": response.get("bytes_processed"),
            "bytes_billed": response.get("bytes_billed"),
            "slot_ms": response.get("slot_ms"),
            "adapter_job_id": response.get("job_id"),
            "adapter_query_id": response.get("query_id"),
            "adapter_job_run_id": response.get("job_run_id"),
            "adapter_project_id": response.get("project_id"),
            "adapter_location": response.get("location"),
            "adapter_code": response.get("code"),
            "message": None if message is None else message[:message_max],
            "message_truncated": message is not None and len(message) > message_max,
            "failures": result.get("failures"),
            "freshness_config": freshness,  # compared as parsed JSON
            "build_after_count": (build_after or {}).get("count"),
            "build_after_period": (build_after or {}).get("period"),
            "build_after_updates_on": (build_after or {}).get("updates_on"),
            "state_config": state,  # compared as parsed JSON
            "has_freshness_config": has,
        }
    return rows



def write_bulk_project(root: Path, models: int) -> None:
    """A project of `models` trivial models (one `select 1` each, through a materialization that
    creates nothing, so dbt's own per-node work stays small) plus the package's upload tables."""
    bulk_project.write_bulk_project(root, package=REPO, project=PROJECT, models=models, on_run_end=[HOOK],
                                    db_env_var="UPLOAD_PROBE_DB", schema=SCHEMA)
    dbt(root, "deps", db=root / "unused.duckdb")
