"""Compile the package for Databricks with no network at all.

    python tests/databricks_offline.py --mode fresh|incremental \
        --project-dir integration_tests --out integration_tests/target/databricks_offline/fresh

`dbt compile --target databricks --no-populate-cache` hangs offline as soon as anything needs the
warehouse: is_incremental() -> adapter.get_relation() lists the schema's relations over a SQL
connection, and the package's watermark macro calls run_query() at compile time. Each opens a
databricks-sql-connector session to the (fake) host, which retries for minutes. This script runs
dbt in-process (dbtRunner) after replacing, in dbt-databricks 1.12.x, every path that would reach
Databricks:

  DatabricksConnectionManager
    open                  raises OfflineNetworkError (nothing may open a session)
    execute / add_query   run_query / statement path -> canned one-row result (_canned_table)
    _execute_with_cursor  metadata calls (list_schemas, list_tables) -> empty result
  DatabricksAdapter
    list_relations_without_caching   fresh: []; incremental: the package's relations in that schema
    get_relation                     fresh: None for the package's own relations; incremental: a
                                     relation of the model's materialization (table for
                                     incremental/table, so is_incremental() is true). Any relation
                                     that is not the package's (inputs) "exists" as a table.
    get_columns_in_relation          []
    check_schema_exists / list_schemas   mode-dependent, as list_relations_without_caching
  socket                connect / connect_ex / getaddrinfo / create_connection raise
                        OfflineNetworkError: anything unpatched fails loudly instead of retrying.

The package's relations come from a `dbt parse` of the same project (same target, same vars) run
first in this process; that manifest is then handed to the compile. Every SQL sent through the
connection is recorded in <out>/offline_report.json with the node that sent it.

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
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, ClassVar

PACKAGE = "dbt_pipeline_costs"
DEFAULT_WATERMARK = dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=dt.UTC)
# The Databricks tier's vars (docs/cost-rules.md section 10): BigQuery off, Databricks on, the
# system tables at their real names (the package's defaults: system.billing.*, system.query.history).
DEFAULT_VARS = {
    "dbt_pipeline_costs_bigquery_enabled": False,
    "dbt_pipeline_costs_databricks_enabled": True,
    "dbt_pipeline_costs_databricks_catalog": "system",
    "dbt_pipeline_costs_databricks_billing_schema": "billing",
    "dbt_pipeline_costs_databricks_query_schema": "query",
    "dbt_pipeline_costs_unit_tests": False,
}


class OfflineNetworkError(RuntimeError):
    """Something tried to reach the network (or Databricks) that the harness has no answer for."""


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
            f"compile time, give it a canned answer in tests/databricks_offline.py."
        )
        with cls.lock:
            cls.violations.append(message + "\n" + "".join(traceback.format_stack(limit=12)))
        return OfflineNetworkError(message)

    @classmethod
    def package_exists(cls) -> bool:
        return cls.mode == "incremental"


def _key(database: Any, schema: Any, identifier: Any = "") -> tuple[str, str, str]:
    return tuple(str(part or "").strip("`").lower() for part in (database, schema, identifier))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Canned query results
# --------------------------------------------------------------------------------------------
_DATE_HINT = re.compile(r"(^|_)(date|day)($|_)")


def _value_for(projection: Any, watermark: dt.datetime) -> Any:
    """A plausible value for one select-list expression: max()/min() -> the watermark (a date for
    a *_date column), count/sum -> 1, literals -> themselves, anything else -> a string."""
    from sqlglot import exp

    node = projection.unalias() if hasattr(projection, "unalias") else projection
    if isinstance(node, (exp.Cast, exp.TryCast)):
        node = node.this
    agg = node if isinstance(node, (exp.Max, exp.Min)) else node.find(exp.Max, exp.Min)
    if agg is not None:
        column = agg.find(exp.Column)
        name = (column.name if column is not None else "").lower()
        if _DATE_HINT.search(name) and "time" not in name:
            return watermark.date()
        return watermark
    if isinstance(node, (exp.Count, exp.Sum)):
        return 1
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else float(node.this) if "." in node.this else int(node.this)
    return "offline"


def _canned_table(sql: str) -> tuple[str, Any]:
    """(statement kind, agate table): one row for a SELECT, no rows otherwise."""
    import agate
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read="databricks") if s is not None]
    except Exception:  # noqa: BLE001 - unparsable: still answer something usable for [0][0]
        statements = []
    last = statements[-1] if statements else None
    if last is not None and not isinstance(last, exp.Query):
        return type(last).__name__.upper(), agate.Table([], [], [])
    names, values = [], []
    for index, projection in enumerate(last.selects if last is not None else []):
        names.append(projection.alias_or_name or f"col{index}")
        values.append("offline" if isinstance(projection, exp.Star) else _value_for(projection, _State.watermark))
    if not names:
        names, values = ["col0"], [_State.watermark]
    types = {
        dt.datetime: agate.DateTime(), dt.date: agate.Date(), bool: agate.Boolean(), int: agate.Number(),
        float: agate.Number(), str: agate.Text(),
    }
    column_types = [types.get(type(v), agate.Text()) for v in values]
    return "SELECT", agate.Table([values], names, column_types)


def _record(sql: str, kind: str, table: Any) -> None:
    from dbt_common.events.contextvars import get_node_info

    node = (get_node_info() or {}).get("unique_id")
    rows = [[v.isoformat() if hasattr(v, "isoformat") else v for v in row] for row in table.rows]
    with _State.lock:
        _State.queries.append({"node": node, "sql": sql, "kind": kind, "columns": list(table.column_names),
                               "rows": rows})


# --------------------------------------------------------------------------------------------
# The patches
# --------------------------------------------------------------------------------------------
def _guard_sockets() -> None:
    def refuse(what: str) -> Any:
        def _refuse(*args: Any, **kwargs: Any) -> None:
            raise _State.violation(f"{what}{args[1:2] if what.endswith('connect') else args[:2]}")

        return _refuse

    socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("socket.connect_ex")  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = refuse("socket.getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("socket.create_connection")  # type: ignore[assignment]


def install_patches(mode: str, watermark: dt.datetime) -> None:
    """Patch dbt-databricks (1.12.x) so that dbt compile never leaves this process."""
    from dbt.adapters.contracts.connection import AdapterResponse
    from dbt.adapters.databricks.connections import DatabricksConnectionManager
    from dbt.adapters.databricks.impl import DatabricksAdapter
    from dbt.adapters.databricks.relation import DatabricksRelation
    from dbt_common.clients import agate_helper

    _State.mode = mode
    _State.watermark = watermark

    def relation_type(database: Any, schema: Any, identifier: Any) -> str | None:
        """None = does not exist. The package's own relations exist only in incremental mode;
        anything else (the warehouse's inputs) exists as a table."""
        key = _key(database, schema, identifier)
        if key in _State.package_relations:
            return _State.package_relations[key] if _State.package_exists() else None
        return "table"

    # ---- connection manager
    def open_(cls: Any, connection: Any) -> Any:
        raise _State.violation("DatabricksConnectionManager.open (a SQL warehouse session)")

    def execute(self: Any, sql: str, auto_begin: bool = False, fetch: bool = False,
                limit: int | None = None) -> tuple[Any, Any]:
        kind, table = _canned_table(sql)
        _record(sql, kind, table)
        return AdapterResponse(_message="OK", code=kind, rows_affected=len(table.rows)), (
            table if fetch else agate_helper.empty_table()
        )

    def add_query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        raise _State.violation(f"DatabricksConnectionManager.add_query (a raw cursor) for: {sql[:200]}")

    def execute_with_cursor(self: Any, log_sql: str, f: Any) -> Any:
        _record(log_sql, "METADATA", agate_helper.empty_table())
        return agate_helper.empty_table()

    DatabricksConnectionManager.open = classmethod(open_)  # type: ignore[method-assign,assignment]
    DatabricksConnectionManager.execute = execute  # type: ignore[method-assign,assignment]
    DatabricksConnectionManager.add_query = add_query  # type: ignore[method-assign]
    DatabricksConnectionManager._execute_with_cursor = execute_with_cursor  # type: ignore[method-assign]

    # ---- adapter (dbt's @available markers live on the function objects: kept)
    def make_relation(database: Any, schema: Any, identifier: Any, rel_type: str) -> Any:
        return DatabricksRelation.create(database=database, schema=schema, identifier=identifier, type=rel_type,
                                         is_delta=True)

    def list_relations_without_caching(self: Any, schema_relation: Any) -> list[Any]:
        if not _State.package_exists():
            return []
        wanted = _key(schema_relation.database, schema_relation.schema)[:2]
        return [
            make_relation(schema_relation.database, schema_relation.schema, ident, rel_type)
            for (d, s, ident), rel_type in sorted(_State.package_relations.items())
            if (d, s) == wanted
        ]

    def get_relation(self: Any, database: Any, schema: Any, identifier: Any, *,
                     needs_information: bool = False) -> Any:
        rel_type = relation_type(database, schema, identifier)
        return None if rel_type is None else make_relation(database, schema, identifier, rel_type)

    def get_columns_in_relation(self: Any, relation: Any) -> list[Any]:
        return []

    def check_schema_exists(self: Any, database: Any, schema: Any) -> bool:
        ours = any(k[:2] == _key(database, schema)[:2] for k in _State.package_relations)
        return _State.package_exists() if ours else True

    def list_schemas(self: Any, database: Any) -> list[str]:
        schemas = {s for d, s, _ in _State.package_relations if d == _key(database, "")[0]}
        return sorted(schemas) if _State.package_exists() else []

    def swap(name: str, func: Any) -> None:
        original = getattr(DatabricksAdapter, name)
        func.__name__ = name
        for attr in ("_is_available_", "_parse_replacement_"):
            if hasattr(original, attr):
                setattr(func, attr, getattr(original, attr))
        setattr(DatabricksAdapter, name, func)

    swap("list_relations_without_caching", list_relations_without_caching)
    swap("get_relation", get_relation)
    swap("get_columns_in_relation", get_columns_in_relation)
    swap("check_schema_exists", check_schema_exists)
    swap("list_schemas", list_schemas)

    _guard_sockets()


# --------------------------------------------------------------------------------------------
# Running dbt
# --------------------------------------------------------------------------------------------
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
    parser.add_argument("--target", default="databricks")
    parser.add_argument("--out", required=True, help="dbt --target-path (compiled SQL, report)")
    parser.add_argument("--vars", default=json.dumps(DEFAULT_VARS), help="dbt --vars (JSON/YAML)")
    parser.add_argument("--watermark", default=DEFAULT_WATERMARK.isoformat())
    parser.add_argument("--timeout", type=float, default=200.0, help="hard kill after N seconds")
    parser.add_argument("--render", action="append", default=[], metavar="JINJA",
                        help="also compile this inline SQL (e.g. a hook macro call) and report what it renders to")
    args = parser.parse_args(argv)

    faulthandler.dump_traceback_later(args.timeout, exit=True)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ.setdefault("DBT_USE_COLORS", "false")

    project_dir = Path(args.project_dir).resolve()
    if not (project_dir / "dbt_project.yml").is_file():
        print(f"[offline] no dbt_project.yml in --project-dir {project_dir}", file=sys.stderr)
        return 2
    if not (project_dir / "dbt_packages" / PACKAGE).exists():
        print(f"[offline] {project_dir}/dbt_packages/{PACKAGE} is missing: run `make deps`", file=sys.stderr)
        return 2
    profiles_dir = Path(args.profiles_dir).resolve() if args.profiles_dir else project_dir
    out = Path(args.out)
    out = (out if out.is_absolute() else Path.cwd() / out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    watermark = dt.datetime.fromisoformat(args.watermark)
    if watermark.tzinfo is None:
        watermark = watermark.replace(tzinfo=dt.UTC)

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
    compiled = dbtRunner(manifest=manifest).invoke(["compile", *common, "--no-populate-cache", *select])

    nodes = []
    for result in getattr(compiled.result, "results", None) or []:
        node = result.node
        nodes.append({
            "unique_id": node.unique_id,
            "resource_type": str(node.resource_type),
            "name": node.name,
            "original_file_path": node.original_file_path,
            "compiled_path": str(out / node.compiled_path) if node.compiled_path else None,
            "materialized": node.config.materialized,
            "incremental_strategy": node.config.get("incremental_strategy"),
            "status": str(result.status),
            "message": result.message,
        })
    # Inline compiles: what a macro renders to for this target, in a node's context.
    rendered: dict[str, Any] = {}
    for jinja in args.render:
        inline = dbtRunner(manifest=manifest).invoke(
            ["compile", *common, "--no-populate-cache", "--inline", jinja, "--quiet"]
        )
        results = getattr(inline.result, "results", None) or []
        rendered[jinja] = {
            "success": bool(inline.success),
            "sql": results[0].node.compiled_code if results else None,
            "node_id": results[0].node.unique_id if results else None,
            "exception": None if inline.exception is None else repr(inline.exception),
        }

    report = {
        "mode": args.mode,
        "target": args.target,
        "watermark": watermark.isoformat(),
        "vars": args.vars,
        "success": bool(compiled.success),
        "exception": None if compiled.exception is None else repr(compiled.exception),
        "excluded_python_models": sorted(python_models),
        "package_relations": {".".join(k): v for k, v in sorted(_State.package_relations.items())},
        "nodes": nodes,
        "disabled": sorted({
            node.original_file_path
            for versions in manifest.disabled.values()
            for node in versions
            if node.package_name == PACKAGE
        }),
        "rendered": rendered,
        "queries": _State.queries,
        "violations": _State.violations,
    }
    (out / "offline_report.json").write_text(json.dumps(report, indent=2, default=str))

    failures = []
    if not compiled.success:
        failures.append(f"dbt compile failed: {compiled.exception or 'see the log above'}")
    failures += [f"network attempted: {v}" for v in _State.violations]
    failures += [f"--render {jinja!r} failed: {r['exception']}" for jinja, r in rendered.items() if not r["success"]]
    if compiled.success and not any(n["resource_type"] == "model" for n in nodes):
        failures.append(f"no model of package {PACKAGE} was compiled (select package:{PACKAGE})")
    for message in failures:
        print(f"[offline] FAIL {message}", file=sys.stderr)
    print(f"[offline] mode={args.mode} nodes={len(nodes)} queries={len(_State.queries)} "
          f"report={out / 'offline_report.json'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
