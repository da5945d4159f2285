"""The package's SQL, compiled for BigQuery offline, is BigQuery SQL.

tests/bigquery_offline.py compiles every node of the package for the `bigquery` target of
integration_tests/profiles.yml in two states of the warehouse (subprocesses, run in parallel):
  fresh        nothing of the package exists yet: is_incremental() is false;
  incremental  every package relation exists and run_query() answers a canned watermark
               (WATERMARK), so the incremental branches are compiled.
Compiled SQL goes to integration_tests/target/bigquery_offline/<mode>/compiled/dbt_pipeline_costs/.

Gates, per compiled file (ids name the mode and the model):
  * sqlglot parses it for BigQuery with ErrorLevel.RAISE, every statement is a query;
  * no DuckDB/Postgres-only syntax slipped through (sqlglot's BigQuery reader accepts `::`,
    TRY_CAST, ILIKE, FILTER (WHERE ...), {'struct': literals}, ... silently, so they are looked
    for in its token stream: see NOT_BIGQUERY_FUNCTIONS and _not_bigquery);
and for stg_bigquery__jobs: reads `region-<r>`.INFORMATION_SCHEMA.JOBS_BY_PROJECT (backquoted),
bounded on creation_time by a constant (partition pruning), which in incremental mode is the
literal derived from the watermark. `sqlfluff parse --dialect bigquery` runs once over all files
as a second opinion (KNOWN_SQLFLUFF_GAPS lists what it wrongly rejects).
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

pytestmark = pytest.mark.slow  # ~15 s: two dbt compiles and a sqlfluff parse

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "integration_tests"
HARNESS = REPO / "tests" / "bigquery_offline.py"
BIN = Path(sys.executable).parent
PACKAGE = "dbt_pipeline_costs"
MODES = ("fresh", "incremental")
OUT_ROOT = PROJECT / "target" / "bigquery_offline"
HARNESS_TIMEOUT_S = 240
WATERMARK = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
JOBS_MODEL = "stg_bigquery__jobs"

# Function names that do not exist in BigQuery GoogleSQL (DuckDB / Postgres / Spark habits) ->
# what to write instead. Only flagged when called: `name(`, not after a dot (`safe.x(`, col.x).
NOT_BIGQUERY_FUNCTIONS = {
    "try_cast": "safe_cast(x as t) or dbt.safe_cast",
    "epoch": "unix_seconds(ts)",
    "epoch_ms": "unix_millis(ts)",
    "epoch_us": "unix_micros(ts)",
    "epoch_ns": "unix_micros(ts) * 1000",
    "list_filter": "array(select x from unnest(arr) as x where ...)",
    "list_transform": "array(select f(x) from unnest(arr) as x)",
    "list_extract": "arr[safe_offset(i)]",
    "list_value": "[a, b] array literal",
    "list_contains": "x in unnest(arr)",
    "array_contains": "x in unnest(arr)",
    "json_extract_string": "json_value(json, '$.path')",
    "from_json": "parse_json / json_value",
    "get_json_object": "json_value(json, '$.path')",
    "strptime": "parse_timestamp(format, text)",
    "strftime": "format_timestamp(format, ts)",
    "to_timestamp": "timestamp_seconds / parse_timestamp",
    "regexp_matches": "regexp_contains(text, r'...')",
    "regexp_like": "regexp_contains(text, r'...')",
    "regexp_full_match": "regexp_contains(text, r'^...$')",
    "string_split": "split(text, sep)",
    "str_split": "split(text, sep)",
    "string_to_array": "split(text, sep)",
    "struct_extract": "struct.field",
    "generate_series": "unnest(generate_array(a, b))",
    "timezone": "date(ts, tz) / datetime(ts, tz)",
    "bool_and": "logical_and(x)",
    "bool_or": "logical_or(x)",
    "date_part": "extract(part from x)",
    "datepart": "extract(part from x)",
    "datediff": "date_diff / timestamp_diff (or dbt.datediff)",
    "dateadd": "date_add / timestamp_add (or dbt.dateadd)",
    "nvl": "ifnull(a, b) / coalesce",
    "len": "length(x)",
    "now": "current_timestamp()",
    "getdate": "current_timestamp()",
    "median": "approx_quantiles(x, 2)[offset(1)] or percentile_cont(x, 0.5) over ()",
    "age": "timestamp_diff(a, b, unit)",
    "unix_timestamp": "unix_seconds(ts)",
}
BIGQUERY_INTERVAL_UNITS = {
    "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH",
    "QUARTER", "YEAR",
}  # fmt: skip

# sqlfluff 4.4.0's BigQuery grammar rejects these although BigQuery accepts them. Each entry:
# (regex on the unparsable text, why it is valid BigQuery). Empty: nothing found so far.
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


# --------------------------------------------------------------------------------------------
# The harness, both modes, once per session
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compiled() -> dict[str, dict]:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
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
    if failures:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        pytest.fail("BigQuery offline compile failed:\n" + "\n\n".join(failures), pytrace=False)
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
# Checks
# --------------------------------------------------------------------------------------------
def _not_bigquery(sql: str) -> list[str]:
    """DuckDB/Postgres syntax that sqlglot's BigQuery reader accepts without complaint."""
    tokens = sqlglot.tokenize(sql, read="bigquery")  # comments and string contents are skipped
    problems = []

    def at(i: int) -> str:
        return f"line {tokens[i].line}"

    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        text = tok.text.lower()
        if tok.token_type == TokenType.DCOLON:
            problems.append(f"{at(i)}: `::` cast; use cast(x as t)")
        elif tok.token_type in (TokenType.ARROW, TokenType.FARROW):
            problems.append(f"{at(i)}: `{tok.text}` lambda/operator; BigQuery has none")
        elif tok.token_type == TokenType.ILIKE:
            problems.append(f"{at(i)}: ILIKE; use lower(x) like lower(pattern)")
        elif tok.token_type == TokenType.L_BRACE:
            problems.append(f"{at(i)}: `{{` struct/map literal; use struct(... as name)")
        elif tok.token_type == TokenType.FILTER and nxt and nxt.token_type == TokenType.L_PAREN:
            problems.append(f"{at(i)}: aggregate FILTER (WHERE ...); use countif / if(...)")
        elif tok.token_type == TokenType.TIMESTAMPTZ and (
            text == "timestamptz" or (nxt is not None and nxt.token_type == TokenType.WITH)
        ):
            problems.append(f"{at(i)}: timestamp with time zone; BigQuery TIMESTAMP is UTC")
        elif (
            tok.token_type == TokenType.INTERVAL
            and nxt is not None
            and nxt.token_type == TokenType.STRING
            and (i + 2 >= len(tokens) or tokens[i + 2].text.upper() not in BIGQUERY_INTERVAL_UNITS)
        ):
            problems.append(f"{at(i)}: interval '{nxt.text}'; write interval 2 day")
        elif (
            text in NOT_BIGQUERY_FUNCTIONS
            and nxt is not None
            and nxt.token_type == TokenType.L_PAREN
            and (prev is None or prev.token_type != TokenType.DOT)
        ):
            problems.append(f"{at(i)}: {text}() is not BigQuery; use {NOT_BIGQUERY_FUNCTIONS[text]}")
    return problems


def _parse_bigquery(sql: str) -> list[exp.Expression]:
    statements = [s for s in sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE) if s]
    assert statements, "compiled SQL is empty"
    return statements


@pytest.mark.parametrize(("mode", "source"), PARAMS)
def test_compiled_sql_is_bigquery(compiled, mode, source):
    if source == NO_SOURCES:
        pytest.fail(f"no SQL model or analysis in {REPO / 'models'}: nothing was checked")
    report = compiled[mode]
    node = _node_for(report, source)
    if node is None:
        if source in report["disabled"]:
            pytest.skip(f"{source} is disabled for the bigquery target")
        pytest.fail(f"{source} was not compiled in mode {mode} (not in the package's nodes)")
    path = Path(node["compiled_path"])
    assert path.is_file(), f"dbt reported {node['unique_id']} compiled but wrote no {path}"
    sql = path.read_text()

    try:
        statements = _parse_bigquery(sql)
    except sqlglot.errors.ParseError as error:
        pytest.fail(f"sqlglot cannot parse {path} as BigQuery:\n{error}", pytrace=False)
    # sqlglot turns syntax it does not know into exp.Command instead of failing: a model must be
    # one query.
    problems = [
        f"top-level statement is {type(s).__name__}, not a query: {s.sql()[:200]}"
        for s in statements
        if not isinstance(s, exp.Query)
    ]
    problems += _not_bigquery(sql)
    if problems:
        pytest.fail(f"{path} is not BigQuery SQL:\n  " + "\n  ".join(problems), pytrace=False)


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
    # Harness self-check: in incremental mode is_incremental() was true, so at least one
    # incremental model compiled differently from the fresh build.
    incremental = {
        n["unique_id"]: n for n in compiled["fresh"]["nodes"] if n["materialized"] == "incremental"
    }
    if incremental:
        differ = [
            uid
            for uid, n in incremental.items()
            for m in compiled["incremental"]["nodes"]
            if m["unique_id"] == uid
            and Path(m["compiled_path"]).read_text() != Path(n["compiled_path"]).read_text()
        ]
        assert differ, (
            f"incremental mode compiled {sorted(incremental)} exactly as a fresh build: "
            f"is_incremental() was never true"
        )


def test_compiled_package_data_tests_parse(compiled):
    tests = [n for r in compiled.values() for n in r["nodes"] if n["resource_type"] == "test"]
    if not tests:
        pytest.skip("the package defines no data tests yet")
    failures = []
    for node in tests:
        sql = Path(node["compiled_path"]).read_text()
        try:
            _parse_bigquery(sql)
        except sqlglot.errors.ParseError as error:
            failures.append(f"{node['unique_id']}: {error}")
        failures += [f"{node['unique_id']}: {p}" for p in _not_bigquery(sql)]
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------------------------
# stg_bigquery__jobs: the right view, partition pruning
# --------------------------------------------------------------------------------------------
# `region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT, `p`.`region-us`.INFORMATION_SCHEMA..., each part
# quoted, or the whole path in one pair of backquotes.
REGION_PATH = re.compile(
    r"`region-[a-z0-9-]+`\.`?INFORMATION_SCHEMA`?\.`?JOBS_BY_PROJECT\b`?"
    r"|`[^`\s]*\bregion-[a-z0-9-]+\.INFORMATION_SCHEMA\.JOBS_BY_PROJECT`",
    re.IGNORECASE,
)


def _timestamps_in(node: exp.Expression) -> list[dt.datetime]:
    found = []
    for literal in node.find_all(exp.Literal):
        if literal.is_string:
            try:
                value = dt.datetime.fromisoformat(literal.this.replace(" UTC", "+00:00"))
            except ValueError:
                continue
            found.append(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return found


def _creation_time_lower_bounds(sql: str) -> list[exp.Expression]:
    """Right-hand sides of `creation_time >= / > <constant>` (or BETWEEN) anywhere in the SQL."""
    bounds = []
    for statement in _parse_bigquery(sql):
        for cmp in statement.find_all(exp.GTE, exp.GT, exp.LTE, exp.LT, exp.Between):
            if isinstance(cmp, exp.Between):
                column, bound = cmp.this, cmp.args.get("low")
            elif isinstance(cmp, (exp.GTE, exp.GT)):
                column, bound = cmp.this, cmp.expression
            else:  # bound <= creation_time
                column, bound = cmp.expression, cmp.this
            if not (isinstance(column, exp.Column) and column.name.lower() == "creation_time"):
                continue
            if bound is None or bound.find(exp.Column, exp.Subquery, exp.Select):
                continue  # not a constant: BigQuery cannot prune on it
            bounds.append(bound)
    return bounds


@pytest.mark.parametrize("mode", MODES)
def test_jobs_staging_reads_region_jobs_by_project(compiled, mode):
    sql = _model_sql(compiled[mode], JOBS_MODEL)
    assert re.search(r"INFORMATION_SCHEMA\.`?JOBS_BY_PROJECT", sql, re.IGNORECASE), (
        f"{JOBS_MODEL} does not read INFORMATION_SCHEMA.JOBS_BY_PROJECT on BigQuery"
    )
    assert REGION_PATH.search(sql), (
        f"{JOBS_MODEL}: no backquoted `region-<name>`.INFORMATION_SCHEMA.JOBS_BY_PROJECT path "
        f"(the dash needs backquotes)"
    )
    unquoted = re.findall(r"(?<![`\w.-])region-[a-z0-9-]+(?![`\w-])", sql, re.IGNORECASE)
    outside_strings = [u for u in unquoted if f"'{u}" not in sql and f'"{u}' not in sql]
    assert not outside_strings, f"{JOBS_MODEL}: unquoted region path(s) {outside_strings}"


@pytest.mark.parametrize("mode", MODES)
def test_jobs_staging_bounds_creation_time(compiled, mode):
    sql = _model_sql(compiled[mode], JOBS_MODEL)
    bounds = _creation_time_lower_bounds(sql)
    assert bounds, (
        f"[{mode}] {JOBS_MODEL}: no constant lower bound on creation_time "
        f"(INFORMATION_SCHEMA.JOBS is partitioned on it; a subquery bound scans everything)"
    )
    if mode == "incremental":
        literals = [ts for bound in bounds for ts in _timestamps_in(bound)]
        assert literals, f"{JOBS_MODEL}: creation_time bound has no timestamp literal: {bounds}"
        # The bound must come from the watermark run_query() returned (minus the lookback days),
        # not from run_started_at - history days.
        near = [ts for ts in literals if WATERMARK - dt.timedelta(days=31) <= ts <= WATERMARK]
        assert near, (
            f"{JOBS_MODEL}: creation_time bounds {literals} are not derived from the "
            f"incremental watermark {WATERMARK}"
        )


# --------------------------------------------------------------------------------------------
# sqlfluff, once over every compiled file of both modes
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


def test_sqlfluff_parses_compiled_sql_as_bigquery(compiled, tmp_path):
    # Copied out of the repo: the repo's .sqlfluff (dbt templater) and .sqlfluffignore must not
    # apply to compiled SQL.
    copies = {}
    for mode, report in compiled.items():
        for node in report["nodes"]:
            if node["compiled_path"] and node["resource_type"] in ("model", "analysis"):
                target = tmp_path / mode / node["original_file_path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(node["compiled_path"], target)
                copies[target.relative_to(tmp_path).as_posix()] = node["unique_id"]
    assert copies, "no compiled model to parse"
    # Compiled models can exceed sqlfluff's default 20 kB limit, above which it skips a file.
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\nlarge_file_skip_byte_limit = 0\n")
    result = subprocess.run(
        [
            str(BIN / "sqlfluff"), "parse", ".",
            "--dialect", "bigquery", "--templater", "raw", "--format", "json",
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
        print("sqlfluff gaps (valid BigQuery, see KNOWN_SQLFLUFF_GAPS):\n" + "\n".join(known))
    assert not failures, "sqlfluff (bigquery) found unparsable SQL:\n" + "\n".join(failures)
