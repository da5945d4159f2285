"""Compile the package for BigQuery with no network at all.

    python tests/bigquery_offline.py --mode fresh|incremental \
        --project-dir integration_tests --out integration_tests/target/bigquery_offline/fresh

`dbt compile --target bigquery --no-populate-cache` only works offline for plain SQL models: an
incremental model calls is_incremental() -> adapter.get_relation() (a cache miss goes to the
BigQuery API), and the package's watermark macro calls run_query() at compile time. This script
runs dbt in-process (dbtRunner) after replacing, in dbt-bigquery 1.12.1, every path that would
reach BigQuery:

  BigQueryConnectionManager
    open                  handle = _OfflineClient (any API call on it raises OfflineNetworkError)
    execute               run_query / statement path -> canned one-row result (see _canned_result)
    raw_execute           same canned rows, as (fake QueryJob, fake RowIterator)
    dry_run               OK response
    get_bq_table          local google.cloud.bigquery.Table, or NotFound when "it does not exist"
    list_dataset          the package's schemas that "exist" in this mode
  BigQueryAdapter
    list_relations_without_caching   fresh: []; incremental: the package's relations in that schema
    get_relation                     fresh: None for the package's own relations; incremental: a
                                     BigQueryRelation of the model's materialization (table for
                                     incremental/table, so is_incremental() is true). Any relation
                                     that is not the package's (inputs) "exists" as a table.
    get_columns_in_relation          []
    check_schema_exists              mode-dependent, as list_dataset
  socket                connect / connect_ex / getaddrinfo / create_connection raise
                        OfflineNetworkError: anything unpatched fails loudly instead of retrying.

The package's relations come from a `dbt parse` of the same project (same target, same vars)
run first in this process; that manifest is then handed to the compile. Every SQL sent through
the connection is recorded in <out>/offline_report.json with the node that sent it.

--vars (default DEFAULT_VARS) replaces, not merges. The profile's `retries: 0` is kept; the
patched methods never enter dbt-bigquery's retry wrappers anyway.

Exit status: 0 when the compile succeeded, nothing tried the network and at least one package
node was compiled; 1 otherwise (2 for a harness error). A watchdog (faulthandler) kills the
process with a stack dump after --timeout seconds so it can never hang.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import json
import os
import re
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, ClassVar

PACKAGE = "dbt_pipeline_costs"
DEFAULT_WATERMARK = dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=dt.UTC)
# The integration project points the jobs source at DuckDB look-alike tables (`jobs_by_project`);
# on BigQuery it must be the real view, as for any user of the package (its default).
# The BigQuery target reads BigQuery only (the integration project also turns Databricks on).
DEFAULT_VARS = {"dbt_pipeline_costs_bigquery_jobs_identifier": "INFORMATION_SCHEMA.JOBS_BY_PROJECT",
                "dbt_pipeline_costs_databricks_enabled": False}


class OfflineNetworkError(RuntimeError):
    """Something tried to reach the network (or BigQuery) that the harness has no answer for."""


# --------------------------------------------------------------------------------------------
# State shared by the patches
# --------------------------------------------------------------------------------------------
class _State:
    mode: ClassVar[str] = "fresh"
    watermark: ClassVar[dt.datetime] = DEFAULT_WATERMARK
    # (database, schema, identifier), lowercased -> relation type ("table" | "view" | ...)
    package_relations: ClassVar[dict[tuple[str, str, str], str]] = {}
    queries: ClassVar[list[dict[str, Any]]] = []
    violations: ClassVar[list[str]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def violation(cls, what: str) -> OfflineNetworkError:
        message = (
            f"offline harness: {what}. No network is allowed here; if dbt really needs this at "
            f"compile time, give it a canned answer in tests/bigquery_offline.py."
        )
        with cls.lock:
            cls.violations.append(message + "\n" + "".join(traceback.format_stack(limit=12)))
        return OfflineNetworkError(message)

    @classmethod
    def package_exists(cls) -> bool:
        return cls.mode == "incremental"


def _key(database: Any, schema: Any, identifier: Any = "") -> tuple[str, str, str]:
    return (
        str(database or "").strip("`").lower(),
        str(schema or "").strip("`").lower(),
        str(identifier or "").strip("`").lower(),
    )


# --------------------------------------------------------------------------------------------
# Canned query results
# --------------------------------------------------------------------------------------------
_DATE_HINT = re.compile(r"(^|_)(date|day)($|_)")


def _value_for(projection: Any, watermark: dt.datetime) -> tuple[str, Any]:
    """(BigQuery type, value) for one select-list expression, as the BigQuery client returns it.

    max()/min() -> TIMESTAMP watermark (DATE if the column or a cast says date); count/sum -> 1;
    literals -> themselves; anything else -> a non-null STRING.
    """
    from sqlglot import exp

    node = projection.unalias() if hasattr(projection, "unalias") else projection
    if isinstance(node, (exp.Cast, exp.TryCast)):
        target = node.to.sql(dialect="bigquery").upper()
        if target.startswith("DATE") and not target.startswith("DATETIME"):
            return "DATE", watermark.date()
        if target.startswith(("TIMESTAMP", "DATETIME")):
            return "TIMESTAMP", watermark
        if target.startswith(("INT", "BIGINT", "NUMERIC", "BIGNUMERIC")):
            return "INT64", 1
        if target.startswith(("FLOAT", "DOUBLE")):
            return "FLOAT64", 1.0
        if target.startswith("BOOL"):
            return "BOOL", True
        if target.startswith("STRING"):
            return "STRING", watermark.strftime("%Y-%m-%d %H:%M:%S+00")
        node = node.this
    agg = node if isinstance(node, (exp.Max, exp.Min)) else node.find(exp.Max, exp.Min)
    if agg is not None:
        column = agg.find(exp.Column)
        name = (column.name if column is not None else "").lower()
        if _DATE_HINT.search(name) and "time" not in name:
            return "DATE", watermark.date()
        return "TIMESTAMP", watermark
    if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDatetime)):
        return "TIMESTAMP", watermark
    if isinstance(node, exp.CurrentDate):
        return "DATE", watermark.date()
    if isinstance(node, (exp.Count, exp.Sum)):
        return "INT64", 1
    if isinstance(node, exp.Avg):
        return "FLOAT64", 1.0
    if isinstance(node, exp.Boolean):
        return "BOOL", bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "STRING", node.this
        text = node.this
        return ("FLOAT64", float(text)) if any(c in text for c in ".eE") else ("INT64", int(text))
    return "STRING", "offline"


def _canned_result(sql: str) -> tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]:
    """-> (statement kind, [(column, type)], rows). One row for any SELECT, none otherwise."""
    import sqlglot
    from sqlglot import exp

    watermark = _State.watermark
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except Exception:  # noqa: BLE001 - unparsable: still answer something usable for [0][0]
        statements = []
    if not statements:
        return "UNPARSED", [("f0_", "TIMESTAMP")], [(watermark,)]
    last = statements[-1]
    if not isinstance(last, exp.Query):
        return type(last).__name__.upper(), [], []
    columns: list[tuple[str, str]] = []
    values: list[Any] = []
    for index, projection in enumerate(last.selects):
        if isinstance(projection, exp.Star):
            columns.append(("value", "STRING"))
            values.append("offline")
            continue
        # BigQuery names unaliased expressions f0_, f1_, ...; a bare column keeps its name.
        if isinstance(projection, exp.Alias):
            name = projection.alias
        elif isinstance(projection, exp.Column):
            name = projection.name
        else:
            name = f"f{index}_"
        bq_type, value = _value_for(projection, watermark)
        columns.append((name, bq_type))
        values.append(value)
    if not columns:
        columns, values = [("f0_", "TIMESTAMP")], [watermark]
    return "SELECT", columns, [tuple(values)]


class _FakeRowIterator:
    """What QueryJob.result() returns, as far as dbt-bigquery reads it."""

    def __init__(self, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        from google.cloud.bigquery import SchemaField
        from google.cloud.bigquery.table import Row

        self.schema = [SchemaField(name, bq_type) for name, bq_type in columns]
        index = {name: i for i, (name, _) in enumerate(columns)}
        self._rows = [Row(values, index) for values in rows]
        self.total_rows = len(self._rows)

    def __iter__(self):
        return iter(self._rows)


class _FakeQueryJob:
    def __init__(self, kind: str, rows: int) -> None:
        self.statement_type = kind
        self.job_id = "offline-harness"
        self.project = "offline"
        self.location = None
        self.destination = None
        self.total_bytes_processed = 0
        self.total_bytes_billed = 0
        self.slot_millis = 0
        self.num_dml_affected_rows = rows


def _answer(sql: str) -> tuple[_FakeQueryJob, _FakeRowIterator]:
    from dbt_common.events.contextvars import get_node_info

    kind, columns, rows = _canned_result(sql)
    node = (get_node_info() or {}).get("unique_id")
    with _State.lock:
        _State.queries.append(
            {
                "node": node,
                "sql": sql,
                "kind": kind,
                "columns": columns,
                "rows": [[v.isoformat() if hasattr(v, "isoformat") else v for v in r] for r in rows],
            }
        )
    return _FakeQueryJob(kind, len(rows)), _FakeRowIterator(columns, rows)


# --------------------------------------------------------------------------------------------
# The patches
# --------------------------------------------------------------------------------------------
class _OfflineClient:
    """Stands in for google.cloud.bigquery.Client: nothing on it may be called."""

    def __init__(self, project: str) -> None:
        self.project = project

    def close(self) -> None:
        pass

    def __getattr__(self, name: str):
        raise _State.violation(f"google.cloud.bigquery.Client.{name} was called")


def _guard_sockets() -> None:
    def refuse(what):
        def _refuse(*args, **kwargs):
            raise _State.violation(f"{what}{args[1:2] if what.endswith('connect') else args[:2]}")

        return _refuse

    socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("socket.connect_ex")  # type: ignore[method-assign]
    socket.getaddrinfo = refuse("socket.getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("socket.create_connection")  # type: ignore[assignment]


def install_patches(mode: str, watermark: dt.datetime) -> None:
    """Patch dbt-bigquery (1.12.x) so that dbt compile never leaves this process."""
    import google.api_core.exceptions
    from dbt.adapters.bigquery import BigQueryAdapter, BigQueryRelation
    from dbt.adapters.bigquery.connections import (
        BigQueryAdapterResponse,
        BigQueryConnectionManager,
    )
    from dbt.adapters.contracts.connection import ConnectionState
    from google.cloud.bigquery import Table, TableReference
    from google.cloud.bigquery.dataset import DatasetReference

    _State.mode = mode
    _State.watermark = watermark

    def relation_type(database, schema, identifier) -> str | None:
        """None = does not exist. The package's own relations exist only in incremental mode;
        anything else (the warehouse's inputs) exists as a table."""
        key = _key(database, schema, identifier)
        if key in _State.package_relations:
            return _State.package_relations[key] if _State.package_exists() else None
        return "table"

    # ---- connection manager ------------------------------------------------------------
    def open_(cls, connection):
        if connection.state == ConnectionState.OPEN:
            return connection
        connection.handle = _OfflineClient(project=connection.credentials.database)
        connection.state = ConnectionState.OPEN
        return connection

    def raw_execute(self, sql, use_legacy_sql=False, limit=None, dry_run=False):
        return _answer(sql)

    def execute(self, sql, auto_begin=False, fetch=None, limit=None):
        from dbt_common.clients import agate_helper

        sql = self._add_query_comment(sql)
        job, iterator = self.raw_execute(sql, limit=limit)
        table = self.get_table_from_response(iterator) if fetch else agate_helper.empty_table()
        rows = iterator.total_rows
        response = BigQueryAdapterResponse(
            _message=f"{job.statement_type} ({rows} rows, offline canned result)",
            rows_affected=rows,
            code=job.statement_type,
            bytes_processed=0,
            bytes_billed=0,
            job_id=job.job_id,
        )
        return response, table

    def dry_run(self, sql):
        _answer(sql)
        return BigQueryAdapterResponse(_message="DRY RUN (offline)", code="DRY RUN")

    def get_bq_table(self, database, schema, identifier):
        credentials = self.get_thread_connection().credentials
        database = database or credentials.database
        schema = schema or credentials.schema
        if relation_type(database, schema, identifier) is None:
            raise google.api_core.exceptions.NotFound(f"offline: {database}.{schema}.{identifier}")
        return Table(TableReference(DatasetReference(database, schema), identifier))

    def list_dataset(self, database):
        database = str(database).strip("`").lower()
        if not _State.package_exists():
            return []
        return sorted({s for d, s, _ in _State.package_relations if d == database})

    BigQueryConnectionManager.open = classmethod(open_)  # type: ignore[method-assign]
    BigQueryConnectionManager.raw_execute = raw_execute  # type: ignore[method-assign]
    BigQueryConnectionManager.execute = execute  # type: ignore[method-assign]
    BigQueryConnectionManager.dry_run = dry_run  # type: ignore[method-assign]
    BigQueryConnectionManager.get_bq_table = get_bq_table  # type: ignore[method-assign]
    BigQueryConnectionManager.list_dataset = list_dataset  # type: ignore[method-assign]

    # ---- adapter (the @available wrappers keep their parse-time stubs; only the body is swapped)
    def make_relation(database, schema, identifier, rel_type):
        return BigQueryRelation.create(
            database=database, schema=schema, identifier=identifier, type=rel_type
        )

    def list_relations_without_caching(self, schema_relation):
        if not _State.package_exists():
            return []
        wanted = _key(schema_relation.database, schema_relation.schema)[:2]
        return [
            make_relation(schema_relation.database, schema_relation.schema, ident, rel_type)
            for (d, s, ident), rel_type in sorted(_State.package_relations.items())
            if (d, s) == wanted
        ]

    def get_relation(self, database, schema, identifier):
        rel_type = relation_type(database, schema, identifier)
        return None if rel_type is None else make_relation(database, schema, identifier, rel_type)

    def get_columns_in_relation(self, relation):
        return []

    def check_schema_exists(self, database, schema):
        ours = any(k[:2] == _key(database, schema)[:2] for k in _State.package_relations)
        return _State.package_exists() if ours else True

    def _swap(name, func):
        original = getattr(BigQueryAdapter, name)
        func.__name__ = name
        # keep dbt's @available markers (they live on the function object)
        for attr in ("_is_available_", "_parse_replacement_"):
            if hasattr(original, attr):
                setattr(func, attr, getattr(original, attr))
        setattr(BigQueryAdapter, name, func)

    _swap("list_relations_without_caching", list_relations_without_caching)
    _swap("get_relation", get_relation)
    _swap("get_columns_in_relation", get_columns_in_relation)
    _swap("check_schema_exists", check_schema_exists)

    _guard_sockets()


# --------------------------------------------------------------------------------------------
# Running dbt
# --------------------------------------------------------------------------------------------
def _ensure_deps(project_dir: Path, env_python: Path) -> None:
    """dbt_packages/<package> must point at this checkout (a copied repo keeps an absolute
    symlink to the original): re-run `dbt deps` (local package only, offline) if it does not."""
    linked = project_dir / "dbt_packages" / PACKAGE
    wanted = (project_dir / "..").resolve()
    if linked.exists() and linked.resolve() == wanted:
        return
    print(f"[offline] {linked} missing or not -> {wanted}: running dbt deps", flush=True)
    if linked.is_symlink():
        linked.unlink()
    dbt = env_python.parent / "dbt"
    subprocess.run(
        [str(dbt), "deps", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        timeout=120,
    )


def _relation_type_for(materialized: str) -> str | None:
    return {
        "view": "view",
        "table": "table",
        "incremental": "table",
        "snapshot": "table",
        "seed": "table",
        "materialized_view": "materialized_view",
    }.get(materialized, "table" if materialized != "ephemeral" else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["fresh", "incremental"], required=True)
    parser.add_argument("--project-dir", default="integration_tests")
    parser.add_argument("--profiles-dir", default=None, help="default: the project dir")
    parser.add_argument("--target", default="bigquery")
    parser.add_argument("--out", required=True, help="dbt --target-path (compiled SQL, report)")
    parser.add_argument("--vars", default=json.dumps(DEFAULT_VARS), help="dbt --vars (JSON/YAML)")
    parser.add_argument("--watermark", default=DEFAULT_WATERMARK.isoformat())
    parser.add_argument("--timeout", type=float, default=200.0, help="hard kill after N seconds")
    parser.add_argument("--allow-empty", action="store_true", help="0 package nodes is not an error")
    args = parser.parse_args(argv)

    faulthandler.dump_traceback_later(args.timeout, exit=True)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ.setdefault("DBT_USE_COLORS", "false")

    project_dir = Path(args.project_dir).resolve()
    if not (project_dir / "dbt_project.yml").is_file():
        print(f"[offline] no dbt_project.yml in --project-dir {project_dir}", file=sys.stderr)
        return 2
    profiles_dir = Path(args.profiles_dir).resolve() if args.profiles_dir else project_dir
    out = Path(args.out)
    out = (out if out.is_absolute() else Path.cwd() / out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    watermark = dt.datetime.fromisoformat(args.watermark)
    if watermark.tzinfo is None:
        watermark = watermark.replace(tzinfo=dt.UTC)

    _ensure_deps(project_dir, Path(sys.executable))
    install_patches(args.mode, watermark)  # before dbt opens anything (parse included)

    from dbt.cli.main import dbtRunner

    common = [
        "--project-dir", str(project_dir),
        "--profiles-dir", str(profiles_dir),
        "--target", args.target,
        "--target-path", str(out),
        "--log-path", str(out / "logs"),
        "--vars", args.vars,
    ]  # fmt: skip

    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        print(f"[offline] dbt parse failed: {parsed.exception}", file=sys.stderr)
        return 1
    manifest = parsed.result

    python_models: list[str] = []
    for node in manifest.nodes.values():
        if node.package_name != PACKAGE or node.resource_type not in ("model", "seed", "snapshot"):
            continue
        if getattr(node, "language", "sql") == "python":
            python_models.append(node.name)
        rel_type = _relation_type_for(node.config.materialized)
        if rel_type is not None:
            _State.package_relations[_key(node.database, node.schema, node.alias)] = rel_type

    select = ["--select", f"package:{PACKAGE}"]
    if python_models:  # Python models look relations up in the warehouse: never compiled here
        select += ["--exclude", *sorted(python_models)]
    compiled = dbtRunner(manifest=manifest).invoke(
        ["compile", *common, "--no-populate-cache", *select]
    )

    nodes = []
    for result in getattr(compiled.result, "results", None) or []:
        node = result.node
        nodes.append(
            {
                "unique_id": node.unique_id,
                "resource_type": str(node.resource_type),
                "name": node.name,
                "original_file_path": node.original_file_path,
                "compiled_path": str(out / node.compiled_path) if node.compiled_path else None,
                "materialized": node.config.materialized,
                "status": str(result.status),
                "message": result.message,
            }
        )
    report = {
        "mode": args.mode,
        "target": args.target,
        "watermark": watermark.isoformat(),
        "vars": args.vars,
        "success": bool(compiled.success),
        "exception": None if compiled.exception is None else repr(compiled.exception),
        "excluded_python_models": sorted(python_models),
        "package_relations": {
            ".".join(k): v for k, v in sorted(_State.package_relations.items())
        },
        "nodes": nodes,
        # Nodes of the package that are disabled for this target (so not compiled), by file.
        "disabled": sorted(
            {
                node.original_file_path
                for versions in manifest.disabled.values()
                for node in versions
                if node.package_name == PACKAGE
            }
        ),
        "queries": _State.queries,
        "violations": _State.violations,
    }
    (out / "offline_report.json").write_text(json.dumps(report, indent=2, default=str))

    failures = []
    if not compiled.success:
        failures.append(f"dbt compile failed: {compiled.exception or 'see the log above'}")
    failures += [f"network attempted: {v}" for v in _State.violations]
    no_models = not any(n["resource_type"] == "model" for n in nodes)
    if compiled.success and no_models and not args.allow_empty:
        failures.append(f"no model of package {PACKAGE} was compiled (select package:{PACKAGE})")
    for message in failures:
        print(f"[offline] FAIL {message}", file=sys.stderr)
    print(
        f"[offline] mode={args.mode} nodes={len(nodes)} queries={len(_State.queries)} "
        f"report={out / 'offline_report.json'}",
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
