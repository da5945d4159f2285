"""The package's SQL, compiled for Databricks offline, is Databricks SQL.

tests/databricks_offline.py compiles every node of the package for the `databricks` target of
integration_tests/profiles.yml (BigQuery off, Databricks on, the system tables at their default
names) in two states of the warehouse (subprocesses, run in parallel):
  fresh        nothing of the package exists yet: is_incremental() is false;
  incremental  every package relation exists and run_query() answers a canned watermark
               (WATERMARK), so the incremental branches are compiled.
Compiled SQL goes to integration_tests/target/databricks_offline/<mode>/compiled/dbt_pipeline_costs/.

Gates, per compiled model (ids name the mode and the model):
  * sqlglot parses it for Databricks with ErrorLevel.RAISE, every statement is a query;
  * no DuckDB/BigQuery-only syntax slipped through (sqlglot's Databricks reader accepts many
    foreign function names as anonymous functions: see NOT_DATABRICKS_FUNCTIONS / _not_databricks);
and what the cost rules (docs/cost-rules.md section 10) depend on: the sources render as
system.billing.usage, system.billing.list_prices and system.query.history; list_prices' `default`
fields are backquoted; reads of usage and query history are bounded by a constant on their
partition columns; incremental models merge (Delta); the query-tags hooks render SET QUERY_TAGS.
`sqlfluff parse --dialect databricks` runs once over all compiled models as a second opinion
(KNOWN_SQLFLUFF_GAPS lists what it wrongly rejects).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.tokens import TokenType

pytestmark = pytest.mark.slow  # ~20 s: two dbt compiles in parallel and a sqlfluff parse

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "integration_tests"
HARNESS = REPO / "tests" / "databricks_offline.py"
BIN = Path(sys.executable).parent
PACKAGE = "dbt_pipeline_costs"
MODES = ("fresh", "incremental")
OUT_ROOT = PROJECT / "target" / "databricks_offline"
HARNESS_TIMEOUT_S = 240
WATERMARK = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
# The system tables, as the package's default vars name them (catalog.schema.table).
SYSTEM_TABLES = {
    "stg_databricks__billing_usage": "system.billing.usage",
    "stg_databricks__list_prices": "system.billing.list_prices",
    "stg_databricks__query_history": "system.query.history",
}
# Partition (or clustering) column each staging model must bound by a constant, and the kind of constant.
BOUNDED_READS = {
    "stg_databricks__billing_usage": "usage_date",
    "stg_databricks__query_history": "start_time",
}
QUERY_TAGS_FILE = REPO / "macros" / "hooks" / "query_tags.sql"
SET_TAGS = "{{ dbt_pipeline_costs.set_query_tags() }}"
UNSET_TAGS = "{{ dbt_pipeline_costs.unset_query_tags() }}"
TAG_KEYS = ("dbt_invocation_id", "dbt_node_id", "dbt_pipeline_id", "dbt_pipeline_run_id")

# Function names that are not Databricks SQL (DuckDB / BigQuery / Postgres habits) -> what to
# write instead. Only flagged when called: `name(`, not after a dot.
NOT_DATABRICKS_FUNCTIONS = {
    "list_filter": "filter(arr, x -> ...)",
    "list_transform": "transform(arr, x -> ...)",
    "list_extract": "element_at(arr, i)",
    "list_value": "array(...)",
    "list_contains": "array_contains(arr, x)",
    "json_transform": "from_json(text, 'schema')",
    "json_extract_string": "get_json_object(text, '$.key')",
    "json_valid": "from_json(text, 'map<string,string>') is not null",
    "json_value": "get_json_object(text, '$.key')",
    "json_query_array": "from_json(text, 'array<string>')",
    "safe_cast": "try_cast(x as t)",
    "epoch": "unix_seconds(ts)",
    "epoch_ms": "unix_millis(ts)",
    "epoch_us": "unix_micros(ts)",
    "strpos": "instr(text, s)",
    "string_split": "split(text, regex)",
    "str_split": "split(text, regex)",
    "struct_extract": "s.field",
    "timezone": "from_utc_timestamp(ts, tz)",
    "strptime": "to_timestamp(text, format)",
    "strftime": "date_format(ts, format)",
    "regexp_matches": "regexp_like / rlike",
    "regexp_contains": "regexp_like / rlike",
    "generate_series": "explode(sequence(a, b))",
    "generate_array": "sequence(a, b)",
    "unnest": "explode(arr) / lateral view",
    "timestamp_diff": "unix_micros(b) - unix_micros(a) (or dbt.datediff)",
    "timestamp_trunc": "date_trunc(unit, ts)",
    "format_timestamp": "date_format(ts, format)",
    "countif": "count_if(condition)",
    "logical_and": "bool_and(x)",
    "logical_or": "bool_or(x)",
    "safe_divide": "try_divide(a, b)",
    "ifnull": "coalesce(a, b)",
    "percentile_cont": "percentile(x, 0.5) / percentile_cont(0.5) within group (order by x)",
}
NOT_DATABRICKS_TYPES = {
    "hugeint": "decimal(38, 0)",
    "bignumeric": "decimal(38, 18)",
    "float64": "double",
    "int64": "bigint",
    "timestamptz": "timestamp (UTC)",
}

# sqlfluff 4.4.0's Databricks grammar rejects these although Databricks accepts them. Each entry:
# (regex on the unparsable text, why it is valid Databricks SQL). Empty: nothing found so far.
KNOWN_SQLFLUFF_GAPS: list[tuple[str, str]] = []


# --------------------------------------------------------------------------------------------
# Which files to expect (known at collection time: the package's own SQL sources)
# --------------------------------------------------------------------------------------------
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


def _has_query_tags_macros() -> bool:
    text = QUERY_TAGS_FILE.read_text() if QUERY_TAGS_FILE.is_file() else ""
    return "macro set_query_tags(" in text and "macro unset_query_tags(" in text


# --------------------------------------------------------------------------------------------
# The harness, both modes, once per module
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compiled() -> dict[str, dict]:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    render = ["--render", SET_TAGS, "--render", UNSET_TAGS] if _has_query_tags_macros() else []
    procs = {}
    for mode in MODES:
        out = OUT_ROOT / mode
        shutil.rmtree(out, ignore_errors=True)  # no stale files of deleted models
        procs[mode] = subprocess.Popen(
            [
                sys.executable, str(HARNESS),
                "--mode", mode,
                "--project-dir", str(PROJECT),
                "--profiles-dir", str(PROJECT),
                "--out", str(out),
                "--watermark", WATERMARK.isoformat(),
                "--timeout", str(HARNESS_TIMEOUT_S - 20),
                *render,
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
        reports[mode] = json.loads((OUT_ROOT / mode / "offline_report.json").read_text())
        reports[mode]["log"] = output
    if failures:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        pytest.fail("Databricks offline compile failed:\n" + "\n\n".join(failures), pytrace=False)
    return reports


def _node_for(report: dict, source: str) -> dict | None:
    for node in report["nodes"]:
        if node["original_file_path"] == source and node["resource_type"] in ("model", "analysis"):
            return node
    return None


def _model_sql(report: dict, name: str) -> str:
    nodes = [n for n in report["nodes"] if n["resource_type"] == "model" and n["name"] == name]
    assert nodes, f"model {name} was not compiled in mode {report['mode']}: does it still exist?"
    return Path(nodes[0]["compiled_path"]).read_text()


# --------------------------------------------------------------------------------------------
# Every compiled model parses as Databricks SQL
# --------------------------------------------------------------------------------------------
def _not_databricks(sql: str) -> list[str]:
    """DuckDB / BigQuery syntax that sqlglot's Databricks reader accepts without complaint."""
    tokens = sqlglot.tokenize(sql, read="databricks")  # comments and string contents are skipped
    problems = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        text = tok.text.lower()
        at = f"line {tok.line}"
        called = nxt is not None and nxt.token_type == TokenType.L_PAREN
        after_dot = prev is not None and prev.token_type == TokenType.DOT
        if text in NOT_DATABRICKS_FUNCTIONS and called and not after_dot:
            problems.append(f"{at}: {text}() is not Databricks SQL; use {NOT_DATABRICKS_FUNCTIONS[text]}")
        elif text in NOT_DATABRICKS_TYPES and not after_dot and tok.token_type != TokenType.STRING:
            problems.append(f"{at}: type {text} is not Databricks SQL; use {NOT_DATABRICKS_TYPES[text]}")
        elif tok.token_type == TokenType.SLASH and nxt is not None and nxt.token_type == TokenType.SLASH:
            problems.append(f"{at}: `//` integer division (DuckDB); use `div` or floor(a / b)")
        elif text == "lambda" and nxt is not None and nxt.token_type == TokenType.VAR:
            problems.append(f"{at}: DuckDB `lambda x: ...`; use `x -> ...`")
        elif tok.token_type == TokenType.L_BRACE:
            problems.append(f"{at}: `{{` struct/map literal (DuckDB); use named_struct(...) / map(...)")
        elif (
            tok.token_type == TokenType.OVER and nxt is not None and nxt.token_type == TokenType.L_PAREN
            and i + 3 < len(tokens) and tokens[i + 2].token_type == TokenType.VAR
            and tokens[i + 3].token_type in (TokenType.ROWS, TokenType.RANGE)
        ):
            problems.append(
                f"{at}: over ({tokens[i + 2].text} {tokens[i + 3].text} ...) - a named window with a frame is not "
                f"Spark / Databricks SQL; spell out partition by / order by in this over (...)"
            )
        elif tok.token_type == TokenType.STAR and nxt is not None and nxt.text.lower() == "exclude":
            problems.append(f"{at}: `* exclude (...)` (DuckDB); use `* except (...)`")
        elif (
            text == "timestamp" and nxt is not None and nxt.token_type == TokenType.WITH
            and i + 2 < len(tokens) and tokens[i + 2].text.lower() == "time"
        ):
            problems.append(f"{at}: timestamp with time zone; Databricks TIMESTAMP is an instant (UTC here)")
    return problems


def _parse_databricks(sql: str) -> list[exp.Expression]:
    statements = [s for s in sqlglot.parse(sql, read="databricks", error_level=ErrorLevel.RAISE) if s]
    assert statements, "compiled SQL is empty"
    return statements


@pytest.mark.parametrize(("mode", "source"), PARAMS)
def test_compiled_sql_is_databricks(compiled, mode, source):
    if source == NO_SOURCES:
        pytest.fail(f"no SQL model or analysis in {REPO / 'models'}: nothing was checked")
    report = compiled[mode]
    node = _node_for(report, source)
    if node is None:
        if source in report["disabled"]:
            pytest.skip(f"{source} is disabled for the databricks target")
        pytest.fail(f"{source} was not compiled in mode {mode} (not in the package's nodes)")
    path = Path(node["compiled_path"])
    assert path.is_file(), f"dbt reported {node['unique_id']} compiled but wrote no {path}"
    sql = path.read_text()
    try:
        statements = _parse_databricks(sql)
    except sqlglot.errors.ParseError as error:
        pytest.fail(f"{node['name']}: sqlglot cannot parse {path} as Databricks SQL:\n{error}", pytrace=False)
    problems = [
        f"top-level statement is {type(s).__name__}, not a query: {s.sql()[:200]}"
        for s in statements
        if not isinstance(s, exp.Query)
    ]
    problems += _not_databricks(sql)
    if problems:
        pytest.fail(f"{node['name']} ({path}) is not Databricks SQL:\n  " + "\n  ".join(problems), pytrace=False)


def test_package_models_were_compiled(compiled):
    for mode, report in compiled.items():
        models = [n for n in report["nodes"] if n["resource_type"] == "model"]
        assert models, f"[{mode}] zero package models compiled: nothing to check"
        unexpected = [
            n["original_file_path"]
            for n in report["nodes"]
            if n["resource_type"] in ("model", "analysis") and n["original_file_path"] not in SOURCES
        ]
        assert not unexpected, f"[{mode}] compiled nodes not collected by this test: {unexpected}"
        names = {n["name"] for n in models}
        missing = sorted(set(SYSTEM_TABLES) - names)
        assert not missing, f"[{mode}] Databricks staging models not compiled (enabled?): {missing}"
    # Harness self-check: in incremental mode is_incremental() was true somewhere.
    incremental = {n["unique_id"]: n for n in compiled["fresh"]["nodes"] if n["materialized"] == "incremental"}
    differ = [
        uid
        for uid, n in incremental.items()
        for m in compiled["incremental"]["nodes"]
        if m["unique_id"] == uid and Path(m["compiled_path"]).read_text() != Path(n["compiled_path"]).read_text()
    ]
    assert not incremental or differ, (
        f"incremental mode compiled {sorted(incremental)} exactly as a fresh build: is_incremental() was never true"
    )


def test_compiled_package_data_tests_parse(compiled):
    tests = [n for r in compiled.values() for n in r["nodes"] if n["resource_type"] == "test"]
    if not tests:
        pytest.skip("the package defines no data tests yet")
    failures = []
    for node in tests:
        sql = Path(node["compiled_path"]).read_text()
        try:
            _parse_databricks(sql)
        except sqlglot.errors.ParseError as error:
            failures.append(f"{node['unique_id']}: {error}")
        failures += [f"{node['unique_id']}: {p}" for p in _not_databricks(sql)]
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------------------------
# What the cost rules depend on
# --------------------------------------------------------------------------------------------
def _qualified_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", sorted(SYSTEM_TABLES))
def test_sources_are_the_system_tables(compiled, mode, model):
    sql = _model_sql(compiled[mode], model)
    tables = {_qualified_name(t) for s in _parse_databricks(sql) for t in s.find_all(exp.Table)}
    assert SYSTEM_TABLES[model] in tables, (
        f"{model} does not read {SYSTEM_TABLES[model]} by default (reads {sorted(tables)})"
    )
    # Three parts, each a plain or backquoted identifier: `system`.`billing`.`usage` is fine,
    # a quoted "system.billing.usage" or a two-part billing.usage is not.
    catalog, schema, table = SYSTEM_TABLES[model].split(".")
    pattern = rf"`?{catalog}`?\s*\.\s*`?{schema}`?\s*\.\s*`?{table}`?(?![\w`.])"
    assert re.search(pattern, sql), f"{model}: {SYSTEM_TABLES[model]} is not written as catalog.schema.table"


@pytest.mark.parametrize("mode", MODES)
def test_list_prices_default_fields_are_backquoted(compiled, mode):
    """`default` is a keyword: system.billing.list_prices' pricing.default and
    pricing.effective_list.default must be read as `default`."""
    sql = _model_sql(compiled[mode], "stg_databricks__list_prices")
    assert re.search(r"\bpricing\s*\.\s*effective_list\s*\.\s*`default`", sql, re.IGNORECASE), (
        "stg_databricks__list_prices does not read pricing.effective_list.`default`"
    )
    assert re.search(r"\bpricing\s*\.\s*`default`", sql, re.IGNORECASE), (
        "stg_databricks__list_prices does not read pricing.`default`"
    )
    unquoted = re.findall(r"\.\s*default\b(?!`)", sql, re.IGNORECASE)
    assert not unquoted, f"stg_databricks__list_prices reads a `default` field without backquotes: {unquoted}"
    # and the parsed tree sees it as a column path, not the DEFAULT keyword
    dots = [c.sql(dialect="databricks") for s in _parse_databricks(sql) for c in s.find_all(exp.Dot, exp.Column)]
    assert any("effective_list.`default`" in d for d in dots), dots[:10]


def _lower_bounds(sql: str, column: str) -> list[exp.Expression]:
    """Right-hand sides of `<column> >= / > <constant>` (or BETWEEN) anywhere in the SQL."""
    bounds = []
    for statement in _parse_databricks(sql):
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
                continue  # not a constant: no partition pruning
            bounds.append(bound)
    return bounds


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", sorted(BOUNDED_READS))
def test_system_table_reads_are_bounded(compiled, mode, model):
    column = BOUNDED_READS[model]
    bounds = _lower_bounds(_model_sql(compiled[mode], model), column)
    assert bounds, (
        f"[{mode}] {model}: no constant lower bound on {column} (the system table is partitioned / "
        f"clustered on it; an unbounded or subquery bound scans all of it)"
    )


def test_incremental_models_merge(compiled):
    """Databricks tables are Delta: every incremental model of the package merges on its key
    (dispatch would otherwise fall back to spark__incremental_strategy, append)."""
    nodes = [n for n in compiled["fresh"]["nodes"] if n["resource_type"] == "model" and n["materialized"] == "incremental"]
    assert nodes, "no incremental model compiled"
    # run_results tables are append-only by design (full_refresh: false, no unique key strategy)
    wrong = {n["name"]: n["incremental_strategy"] for n in nodes
             if n["incremental_strategy"] not in ("merge", None) or
             (n["incremental_strategy"] is None and not n["original_file_path"].startswith("models/run_results/"))}
    assert not wrong, f"incremental models that do not merge on Databricks: {wrong}"


def test_job_ids_keep_their_order(compiled):
    """dbt.listagg drops `order by` on Spark / Databricks (it only warns): job_overlap.job_ids
    would come out in any order. The package's sorted_string_agg() keeps it."""
    if "order_by_clause is not supported for listagg" in compiled["fresh"]["log"]:
        pytest.fail(
            "a model calls dbt.listagg(..., order_by_clause): dbt-databricks drops the order. "
            "Use dbt_pipeline_costs.sorted_string_agg(expression, delimiter).", pytrace=False,
        )


@pytest.mark.skipif(not _has_query_tags_macros(), reason=f"no set_query_tags / unset_query_tags in {QUERY_TAGS_FILE}")
def test_query_tags_hooks_render_set_query_tags(compiled):
    for mode, report in compiled.items():
        rendered = report["rendered"]
        set_sql = (rendered[SET_TAGS]["sql"] or "").strip()
        unset_sql = (rendered[UNSET_TAGS]["sql"] or "").strip()
        node_id = rendered[SET_TAGS]["node_id"]
        # SET QUERY_TAGS['key'] = 'value' [, QUERY_TAGS['key'] = 'value' ...]  (Databricks SQL reference)
        assignment = r"query_tags\s*\[\s*'(?P<key>[^']+)'\s*\]\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|unset|null)"
        plain = re.sub(r"\(\?P<\w+>", "(?:", assignment)
        for sql, what in ((set_sql, "set_query_tags"), (unset_sql, "unset_query_tags")):
            assert re.fullmatch(rf"set\s+{plain}(\s*,\s*{plain})*;?", sql, re.IGNORECASE), (
                f"[{mode}] {what}() does not render `SET QUERY_TAGS['key'] = value, ...`: {sql!r}"
            )
        tags = {m["key"]: m["value"] for m in re.finditer(assignment, set_sql, re.IGNORECASE)}
        assert set(tags) == set(TAG_KEYS), f"[{mode}] set_query_tags() sets {sorted(tags)}, not {TAG_KEYS}"
        assert tags["dbt_node_id"] == f"'{node_id}'", f"[{mode}] dbt_node_id tag {tags['dbt_node_id']} is not the node"
        assert all(len(v) - 2 <= 128 for v in tags.values()), f"[{mode}] a tag value is over 128 characters: {tags}"
        cleared = {m["key"]: m["value"].lower() for m in re.finditer(assignment, unset_sql, re.IGNORECASE)}
        assert cleared == dict.fromkeys(TAG_KEYS, "unset"), f"[{mode}] unset_query_tags() clears {cleared}"


# --------------------------------------------------------------------------------------------
# sqlfluff, once over every compiled model of both modes
# --------------------------------------------------------------------------------------------
def _unparsable(node, found: list[str]) -> list[str]:
    def text(n) -> str:
        if isinstance(n, str):
            return n
        if isinstance(n, dict):
            return "".join(text(v) for v in n.values())
        if isinstance(n, list):
            return "".join(text(v) for v in n)
        return ""

    if isinstance(node, dict):
        for key, value in node.items():
            if key == "unparsable":
                found.append(" ".join(text(value).split()))
            else:
                _unparsable(value, found)
    elif isinstance(node, list):
        for value in node:
            _unparsable(value, found)
    return found


def test_sqlfluff_parses_compiled_sql_as_databricks(compiled, tmp_path):
    # Copied out of the repo: the repo's .sqlfluff (dbt templater) and .sqlfluffignore must not
    # apply to compiled SQL.
    # Most models compile the same in both modes: each distinct text is parsed once.
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
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\nlarge_file_skip_byte_limit = 0\n")
    result = subprocess.run(
        [
            str(BIN / "sqlfluff"), "parse", ".",
            "--dialect", "databricks", "--templater", "raw", "--format", "json",
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
            reason = next((why for rx, why in KNOWN_SQLFLUFF_GAPS if re.search(rx, section)), None)
            (known if reason else failures).append(f"{path}: {section[:300]}")
    if known:
        print("sqlfluff gaps (valid Databricks SQL, see KNOWN_SQLFLUFF_GAPS):\n" + "\n".join(known))
    assert not failures, "sqlfluff (databricks) found unparsable SQL:\n" + "\n".join(failures)
