"""The offline compile, shared by the warehouses: the harness core and the dialect tests' helpers.

Harness side (imported by tests/bigquery_offline.py and tests/databricks_offline.py, which run as
scripts, each in its own process): `main` compiles the package for one warehouse target with no
network at all. The warehouse script only patches its adapter (with the pieces given here:
State, canned_select, patch_adapter) and names its target and vars; everything else is here:

  socket                connect / connect_ex / getaddrinfo / create_connection raise
                        OfflineNetworkError: anything unpatched fails loudly instead of retrying.
  the package's relations   come from a `dbt parse` of the same project (same target, same vars)
                        run first in this process; that manifest is then handed to the compile
                        (`--select package:dbt_pipeline_costs`, Python models excluded: they look
                        relations up in the warehouse). fresh: none of them exists, so
                        is_incremental() is false; incremental: each exists with its
                        materialization (table for incremental/table). Any relation that is not
                        the package's (the warehouse's inputs) "exists" as a table.
  canned results        run_query() / statements answer one row for a SELECT: max()/min() -> the
                        watermark (a date for a *_date / *_day column), count/sum -> 1, literals ->
                        themselves, anything else -> a non-null string.
  --render JINJA        also compile this inline SQL (e.g. a hook macro call) and report what it
                        renders to, in a node's context.
  report                <out>/offline_report.json: the compiled nodes, the package's disabled
                        files, the rendered inline SQL, every SQL sent through the connection with
                        the node that sent it, and every attempt at the network.

--vars (default: the warehouse script's DEFAULT_VARS) replaces, not merges. dbt_packages/<package>
is re-linked to this checkout (`dbt deps`, local package only) when it is missing or points
elsewhere.

Exit status: 0 when the compile succeeded, nothing tried the network and at least one package
model was compiled (unless --allow-empty); 1 otherwise (2 for a harness error). A watchdog
(faulthandler) kills the process with a stack dump after --timeout seconds so it can never hang.

Test side (imported by tests/test_bigquery_dialect.py and tests/test_databricks_dialect.py): run a
harness in both modes in parallel (`compile_both_modes`), the package's SQL files expected to
compile (SOURCES, PARAMS), and the checks every dialect test makes of the compiled SQL: it parses
for the dialect with sqlglot (ErrorLevel.RAISE) and is one query per statement, the package's
models were all compiled and incremental mode differs from fresh, data tests parse, constant lower
bounds on a partition column, and a `sqlfluff parse` of every distinct compiled model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.tokens import Token, TokenType

PACKAGE = "dbt_pipeline_costs"
DEFAULT_WATERMARK = dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=dt.UTC)


# ============================================================================================
# Harness side
# ============================================================================================
class OfflineNetworkError(RuntimeError):
    """Something tried to reach the network (or the warehouse) that the harness has no answer for."""


def key(database: Any, schema: Any, identifier: Any = "") -> tuple[str, str, str]:
    """A relation's (database, schema, identifier), unquoted and lowercased."""
    parts = (str(part or "").strip("`").lower() for part in (database, schema, identifier))
    return tuple(parts)  # type: ignore[return-value]


class State:
    """What the patches share: the mode, the package's relations, what was sent and attempted."""

    harness: ClassVar[str] = "tests/offline_compile.py"  # the warehouse script, named in violations
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
            f"compile time, give it a canned answer in {cls.harness}."
        )
        with cls.lock:
            cls.violations.append(message + "\n" + "".join(traceback.format_stack(limit=12)))
        return OfflineNetworkError(message)

    @classmethod
    def package_exists(cls) -> bool:
        return cls.mode == "incremental"

    @classmethod
    def relation_type(cls, database: Any, schema: Any, identifier: Any) -> str | None:
        """None = does not exist. The package's own relations exist only in incremental mode;
        anything else (the warehouse's inputs) exists as a table."""
        rel_key = key(database, schema, identifier)
        if rel_key in cls.package_relations:
            return cls.package_relations[rel_key] if cls.package_exists() else None
        return "table"

    @classmethod
    def schemas(cls, database: Any) -> list[str]:
        """The package's schemas in `database` that exist in this mode."""
        if not cls.package_exists():
            return []
        return sorted({s for d, s, _ in cls.package_relations if d == key(database, "")[0]})

    @classmethod
    def record(cls, sql: str, kind: str, columns: list[Any], rows: Iterable[Iterable[Any]]) -> None:
        """Note one SQL sent through the connection, with the node that sent it and the answer."""
        from dbt_common.events.contextvars import get_node_info

        node = (get_node_info() or {}).get("unique_id")
        values = [[v.isoformat() if hasattr(v, "isoformat") else v for v in row] for row in rows]
        with cls.lock:
            cls.queries.append({"node": node, "sql": sql, "kind": kind, "columns": columns, "rows": values})


# --------------------------------------------------------------------------------------------
# Canned query results
# --------------------------------------------------------------------------------------------
_DATE_HINT = re.compile(r"(^|_)(date|day)($|_)")
CastAnswer = Callable[[exp.Cast, dt.datetime], "tuple[str, Any] | None"]


def canned_value(projection: exp.Expression, watermark: dt.datetime,
                 cast: CastAnswer | None = None) -> tuple[str, Any]:
    """(BigQuery type name, value) for one select-list expression.

    A cast is answered by `cast` (the warehouse's type names) if given and it knows the type, else
    by what is cast. max()/min() -> TIMESTAMP watermark (DATE for a *_date / *_day column);
    current_timestamp/current_date -> the watermark; count/sum -> 1; avg -> 1.0; literals ->
    themselves; anything else -> a non-null STRING.
    """
    node = projection.unalias() if hasattr(projection, "unalias") else projection
    if isinstance(node, (exp.Cast, exp.TryCast)):
        answer = cast(node, watermark) if cast is not None else None
        if answer is not None:
            return answer
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


def canned_select(
    sql: str, dialect: str, column_name: Callable[[int, exp.Expression | None], str],
    cast: CastAnswer | None = None,
) -> tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]:
    """-> (statement kind, [(column, type)], rows): one row for a SELECT (or SQL sqlglot cannot
    parse, so that [0][0] is the watermark), none otherwise. column_name(index, projection) names
    a column as the warehouse does (projection None: the one column of a row with no select list).
    """
    watermark = State.watermark
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except Exception:  # noqa: BLE001 - unparsable: still answer something usable for [0][0]
        statements = []
    last = statements[-1] if statements else None
    if last is not None and not isinstance(last, exp.Query):
        return type(last).__name__.upper(), [], []
    columns: list[tuple[str, str]] = []
    values: list[Any] = []
    for index, projection in enumerate(last.selects if last is not None else []):
        if isinstance(projection, exp.Star):
            type_name, value = "STRING", "offline"
        else:
            type_name, value = canned_value(projection, watermark, cast)
        columns.append((column_name(index, projection), type_name))
        values.append(value)
    if not columns:
        columns, values = [(column_name(0, None), "TIMESTAMP")], [watermark]
    return ("SELECT" if last is not None else "UNPARSED"), columns, [tuple(values)]


# --------------------------------------------------------------------------------------------
# The patches every warehouse gets
# --------------------------------------------------------------------------------------------
def guard_sockets() -> None:
    def refuse(what: str) -> Any:
        def _refuse(*args: Any, **kwargs: Any) -> None:
            raise State.violation(f"{what}{args[1:2] if what.endswith('connect') else args[:2]}")

        return _refuse

    socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("socket.connect_ex")  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = refuse("socket.getaddrinfo")  # type: ignore[assignment]
    socket.create_connection = refuse("socket.create_connection")  # type: ignore[assignment]


def patch_adapter(adapter: type, make_relation: Callable[[Any, Any, Any, str], Any],
                  **extra: Callable[..., Any]) -> None:
    """Replace the adapter methods that look relations up in the warehouse by answers from State:
    list_relations_without_caching, get_relation, get_columns_in_relation, check_schema_exists,
    and any `extra` (name=function). The @available wrappers keep their parse-time stubs: dbt's
    markers live on the function objects and are copied over; only the body is swapped.
    make_relation(database, schema, identifier, type) builds the adapter's relation."""

    def list_relations_without_caching(self: Any, schema_relation: Any) -> list[Any]:
        if not State.package_exists():
            return []
        wanted = key(schema_relation.database, schema_relation.schema)[:2]
        return [
            make_relation(schema_relation.database, schema_relation.schema, ident, rel_type)
            for (d, s, ident), rel_type in sorted(State.package_relations.items())
            if (d, s) == wanted
        ]

    def get_relation(self: Any, database: Any, schema: Any, identifier: Any, **kwargs: Any) -> Any:
        rel_type = State.relation_type(database, schema, identifier)
        return None if rel_type is None else make_relation(database, schema, identifier, rel_type)

    def get_columns_in_relation(self: Any, relation: Any) -> list[Any]:
        return []

    def check_schema_exists(self: Any, database: Any, schema: Any) -> bool:
        ours = any(k[:2] == key(database, schema)[:2] for k in State.package_relations)
        return State.package_exists() if ours else True

    functions = {
        "list_relations_without_caching": list_relations_without_caching,
        "get_relation": get_relation,
        "get_columns_in_relation": get_columns_in_relation,
        "check_schema_exists": check_schema_exists,
        **extra,
    }
    for name, func in functions.items():
        original = getattr(adapter, name)
        func.__name__ = name
        for attr in ("_is_available_", "_parse_replacement_"):
            if hasattr(original, attr):
                setattr(func, attr, getattr(original, attr))
        setattr(adapter, name, func)


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


def main(argv: list[str] | None, *, doc: str, harness: str, target: str,
         default_vars: dict[str, Any], patch_warehouse: Callable[[], None]) -> int:
    """The harness: parse, then compile the package for `target` with patch_warehouse() (the
    adapter's patches, reading State) and the socket guard in place. -> exit status."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--mode", choices=["fresh", "incremental"], required=True)
    parser.add_argument("--project-dir", default="integration_tests")
    parser.add_argument("--profiles-dir", default=None, help="default: the project dir")
    parser.add_argument("--target", default=target)
    parser.add_argument("--out", required=True, help="dbt --target-path (compiled SQL, report)")
    parser.add_argument("--vars", default=json.dumps(default_vars), help="dbt --vars (JSON/YAML)")
    parser.add_argument("--watermark", default=DEFAULT_WATERMARK.isoformat())
    parser.add_argument("--timeout", type=float, default=200.0, help="hard kill after N seconds")
    parser.add_argument("--allow-empty", action="store_true", help="0 package nodes is not an error")
    parser.add_argument("--render", action="append", default=[], metavar="JINJA",
                        help="also compile this inline SQL (e.g. a hook macro call) and report what it "
                             "renders to")
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
    # before dbt opens anything (parse included)
    State.harness, State.mode, State.watermark = harness, args.mode, watermark
    patch_warehouse()
    guard_sockets()

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
            State.package_relations[key(node.database, node.schema, node.alias)] = rel_type

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
        "package_relations": {".".join(k): v for k, v in sorted(State.package_relations.items())},
        "nodes": nodes,
        # Nodes of the package that are disabled for this target (so not compiled), by file.
        "disabled": sorted({
            node.original_file_path
            for versions in manifest.disabled.values()
            for node in versions
            if node.package_name == PACKAGE
        }),
        "rendered": rendered,
        "queries": State.queries,
        "violations": State.violations,
    }
    (out / "offline_report.json").write_text(json.dumps(report, indent=2, default=str))

    failures = []
    if not compiled.success:
        failures.append(f"dbt compile failed: {compiled.exception or 'see the log above'}")
    failures += [f"network attempted: {v}" for v in State.violations]
    failures += [f"--render {j!r} failed: {r['exception']}" for j, r in rendered.items() if not r["success"]]
    no_models = not any(n["resource_type"] == "model" for n in nodes)
    if compiled.success and no_models and not args.allow_empty:
        failures.append(f"no model of package {PACKAGE} was compiled (select package:{PACKAGE})")
    for message in failures:
        print(f"[offline] FAIL {message}", file=sys.stderr)
    print(f"[offline] mode={args.mode} nodes={len(nodes)} queries={len(State.queries)} "
          f"report={out / 'offline_report.json'}", flush=True)
    return 1 if failures else 0


def run_as_script(main_function: Callable[[], int]) -> None:
    """Exit with main_function()'s status; 2 (with the traceback) if the harness itself fails."""
    try:
        sys.exit(main_function())
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)


# ============================================================================================
# Test side
# ============================================================================================
REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "integration_tests"
BIN = Path(sys.executable).parent
MODES = ("fresh", "incremental")
HARNESS_TIMEOUT_S = 240
WATERMARK = DEFAULT_WATERMARK


# Which files to expect (known at collection time: the package's own SQL sources)
def _sources() -> list[str]:
    files = []
    for folder in ("models", "analyses"):
        files += [p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*.sql")]
    return sorted(files)


SOURCES = _sources()
NO_SOURCES = "<no package SQL models>"
PARAMS = [
    pytest.param(mode, source, id=f"{mode}:{source}")
    for mode in MODES
    for source in (SOURCES or [NO_SOURCES])
]


def compile_both_modes(harness: Path, out_root: Path, warehouse: str,
                       extra_args: list[str] | None = None) -> dict[str, dict]:
    """Run the harness for both modes in parallel (subprocesses) -> {mode: its report, plus "log"
    (its output)}; fails the test with the harness output if either fails or times out."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    procs = {}
    for mode in MODES:
        out = out_root / mode
        shutil.rmtree(out, ignore_errors=True)  # no stale files of deleted models
        procs[mode] = subprocess.Popen(
            [
                sys.executable, str(harness),
                "--mode", mode,
                "--project-dir", str(PROJECT),
                "--profiles-dir", str(PROJECT),
                "--out", str(out),
                "--watermark", WATERMARK.isoformat(),
                "--timeout", str(HARNESS_TIMEOUT_S - 20),
                *(extra_args or []),
            ],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    reports, failures = {}, []
    for mode, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=HARNESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            failures.append(f"[{mode}] harness did not finish in {HARNESS_TIMEOUT_S}s\n{output[-4000:]}")
            continue
        if proc.returncode != 0:
            failures.append(f"[{mode}] harness exit {proc.returncode}\n{output[-6000:]}")
            continue
        reports[mode] = json.loads((out_root / mode / "offline_report.json").read_text())
        reports[mode]["log"] = output
    if failures:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        pytest.fail(f"{warehouse} offline compile failed:\n" + "\n\n".join(failures), pytrace=False)
    return reports


def node_for(report: dict, source: str) -> dict | None:
    for node in report["nodes"]:
        if node["original_file_path"] == source and node["resource_type"] in ("model", "analysis"):
            return node
    return None


def model_sql(report: dict, name: str) -> str:
    nodes = [n for n in report["nodes"] if n["resource_type"] == "model" and n["name"] == name]
    assert nodes, f"model {name} was not compiled in mode {report['mode']}: does it still exist?"
    return Path(nodes[0]["compiled_path"]).read_text()


def parse_statements(sql: str, dialect: str) -> list[exp.Expression]:
    statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s]
    assert statements, "compiled SQL is empty"
    return statements


TokenCheck = Callable[[list[Token], int, "Token | None", "Token | None"], "str | None"]


def foreign_syntax(sql: str, dialect: str, label: str, functions: dict[str, str],
                   check: TokenCheck) -> list[str]:
    """Syntax of other SQL dialects that sqlglot's reader for `dialect` accepts without complaint,
    found in its token stream (comments and string contents are skipped): a call `name(` of a name
    in `functions` (name -> what to write instead; not after a dot: `safe.x(`, col.x are fine), and
    whatever check(tokens, i, previous, next) says of token i (None: nothing)."""
    tokens = sqlglot.tokenize(sql, read=dialect)
    problems = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        text = tok.text.lower()
        called = nxt is not None and nxt.token_type == TokenType.L_PAREN
        after_dot = prev is not None and prev.token_type == TokenType.DOT
        if text in functions and called and not after_dot:
            problems.append(f"line {tok.line}: {text}() is not {label}; use {functions[text]}")
        elif (problem := check(tokens, i, prev, nxt)) is not None:
            problems.append(f"line {tok.line}: {problem}")
    return problems


def check_compiled_source(report: dict, source: str, *, target: str, dialect: str, label: str,
                          not_dialect: Callable[[str], list[str]]) -> None:
    """The compiled `source` (mode of `report`) parses for `dialect`, is one query per statement
    and has no foreign syntax (not_dialect); skipped if it is disabled for `target`."""
    mode = report["mode"]
    if source == NO_SOURCES:
        pytest.fail(f"no SQL model or analysis in {REPO / 'models'}: nothing was checked")
    node = node_for(report, source)
    if node is None:
        if source in report["disabled"]:
            pytest.skip(f"{source} is disabled for the {target} target")
        pytest.fail(f"{source} was not compiled in mode {mode} (not in the package's nodes)")
    path = Path(node["compiled_path"])
    assert path.is_file(), f"dbt reported {node['unique_id']} compiled but wrote no {path}"
    sql = path.read_text()
    try:
        statements = parse_statements(sql, dialect)
    except sqlglot.errors.ParseError as error:
        pytest.fail(f"{node['name']}: sqlglot cannot parse {path} as {label}:\n{error}", pytrace=False)
    # sqlglot turns syntax it does not know into exp.Command instead of failing: a model must be
    # one query.
    problems = [
        f"top-level statement is {type(s).__name__}, not a query: {s.sql()[:200]}"
        for s in statements
        if not isinstance(s, exp.Query)
    ]
    problems += not_dialect(sql)
    if problems:
        pytest.fail(f"{node['name']} ({path}) is not {label}:\n  " + "\n  ".join(problems), pytrace=False)


def check_package_models_compiled(compiled: dict[str, dict]) -> None:
    """Each mode compiled models, only of SOURCES; and (harness self-check) in incremental mode
    is_incremental() was true: an incremental model compiled differently from the fresh build."""
    for mode, report in compiled.items():
        models = [n for n in report["nodes"] if n["resource_type"] == "model"]
        assert models, f"[{mode}] zero package models compiled: nothing to check"
        unexpected = [
            n["original_file_path"]
            for n in report["nodes"]
            if n["resource_type"] in ("model", "analysis") and n["original_file_path"] not in SOURCES
        ]
        assert not unexpected, f"[{mode}] compiled nodes not collected by this test: {unexpected}"
    incremental = {
        n["unique_id"]: n for n in compiled["fresh"]["nodes"] if n["materialized"] == "incremental"
    }
    differ = [
        uid
        for uid, n in incremental.items()
        for m in compiled["incremental"]["nodes"]
        if m["unique_id"] == uid
        and Path(m["compiled_path"]).read_text() != Path(n["compiled_path"]).read_text()
    ]
    assert not incremental or differ, (
        f"incremental mode compiled {sorted(incremental)} exactly as a fresh build: "
        f"is_incremental() was never true"
    )


def check_data_tests_parse(compiled: dict[str, dict], dialect: str,
                           not_dialect: Callable[[str], list[str]]) -> None:
    tests = [n for r in compiled.values() for n in r["nodes"] if n["resource_type"] == "test"]
    if not tests:
        pytest.skip("the package defines no data tests yet")
    failures = []
    for node in tests:
        sql = Path(node["compiled_path"]).read_text()
        try:
            parse_statements(sql, dialect)
        except sqlglot.errors.ParseError as error:
            failures.append(f"{node['unique_id']}: {error}")
        failures += [f"{node['unique_id']}: {p}" for p in not_dialect(sql)]
    assert not failures, "\n".join(failures)


def constant_lower_bounds(sql: str, dialect: str, column: str) -> list[exp.Expression]:
    """Right-hand sides of `<column> >= / > <constant>` (or BETWEEN) anywhere in the SQL."""
    bounds = []
    for statement in parse_statements(sql, dialect):
        for cmp in statement.find_all(exp.GTE, exp.GT, exp.LTE, exp.LT, exp.Between):
            if isinstance(cmp, exp.Between):
                col, bound = cmp.this, cmp.args.get("low")
            elif isinstance(cmp, (exp.GTE, exp.GT)):
                col, bound = cmp.this, cmp.expression
            else:  # bound <= column
                col, bound = cmp.expression, cmp.this
            if not (isinstance(col, exp.Column) and col.name.lower() == column):
                continue
            if bound is None or bound.find(exp.Column, exp.Subquery, exp.Select):
                continue  # not a constant: the warehouse cannot prune on it
            bounds.append(bound)
    return bounds


# sqlfluff, once over every distinct compiled model of both modes
def _unparsable(node: Any, found: list[str]) -> list[str]:
    def text(n: Any) -> str:
        if isinstance(n, str):
            return n
        if isinstance(n, dict):
            return "".join(text(v) for v in n.values())
        if isinstance(n, list):
            return "".join(text(v) for v in n)
        return ""

    if isinstance(node, dict):
        for name, value in node.items():
            if name == "unparsable":
                found.append(" ".join(text(value).split()))
            else:
                _unparsable(value, found)
    elif isinstance(node, list):
        for value in node:
            _unparsable(value, found)
    return found


def check_sqlfluff(compiled: dict[str, dict], tmp_path: Path, dialect: str, label: str,
                   known_gaps: list[tuple[str, str]]) -> None:
    """`sqlfluff parse --dialect <dialect>` finds nothing unparsable in the compiled models, but
    for known_gaps ((regex on the unparsable text, why it is valid <label>): printed, not failed)."""
    # Copied out of the repo: the repo's .sqlfluff (dbt templater) and .sqlfluffignore must not
    # apply to compiled SQL. Most models compile the same in both modes: each distinct text is
    # parsed once.
    copies, texts = {}, set()
    for mode, report in compiled.items():
        for node in report["nodes"]:
            if node["compiled_path"] and node["resource_type"] in ("model", "analysis"):
                text = Path(node["compiled_path"]).read_text()
                if text in texts:
                    continue
                texts.add(text)
                target = tmp_path / mode / node["original_file_path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                copies[target.relative_to(tmp_path).as_posix()] = node["unique_id"]
    assert copies, "no compiled model to parse"
    # Compiled models can exceed sqlfluff's default 20 kB limit, above which it skips a file.
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\nlarge_file_skip_byte_limit = 0\n")
    result = subprocess.run(
        [
            str(BIN / "sqlfluff"), "parse", ".",
            "--dialect", dialect, "--templater", "raw", "--format", "json",
            "--nofail",
        ],
        check=False, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout)
    seen = {Path(f["filepath"]).as_posix().removeprefix("./") for f in parsed}
    assert set(copies) <= seen, f"sqlfluff skipped {sorted(set(copies) - seen)}"
    failures, known = [], []
    for entry in parsed:
        path = Path(entry["filepath"]).as_posix().removeprefix("./")
        if entry["segments"] is None:
            failures.append(f"{path}: sqlfluff produced no parse tree")
            continue
        for section in _unparsable(entry["segments"], []):
            reason = next((why for rx, why in known_gaps if re.search(rx, section)), None)
            (known if reason else failures).append(f"{path}: {section[:300]}")
    if known:
        print(f"sqlfluff gaps (valid {label}, see KNOWN_SQLFLUFF_GAPS):\n" + "\n".join(known))
    assert not failures, f"sqlfluff ({dialect}) found unparsable SQL:\n" + "\n".join(failures)
