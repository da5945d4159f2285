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
literal derived from the watermark. `sqlfluff parse --dialect bigquery` runs once over all
distinct compiled models as a second opinion (KNOWN_SQLFLUFF_GAPS lists what it wrongly rejects).
The checks every warehouse shares (running the harness, parsing, the package's models compiled,
data tests, sqlfluff) are in tests/offline_compile.py; this module has what is BigQuery's.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import offline_compile as oc
import pytest
import yaml
from offline_compile import MODES, PARAMS, PROJECT, REPO, WATERMARK, model_sql
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

pytestmark = pytest.mark.slow  # ~15 s: two dbt compiles and a sqlfluff parse

HARNESS = REPO / "tests" / "bigquery_offline.py"
OUT_ROOT = PROJECT / "target" / "bigquery_offline"
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


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict]:
    """The harness, both modes, once per module."""
    return oc.compile_both_modes(HARNESS, OUT_ROOT, "BigQuery")


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------
def _bigquery_token_problem(tokens: list[Token], i: int, prev: Token | None, nxt: Token | None) -> str | None:
    tok = tokens[i]
    text = tok.text.lower()
    if tok.token_type == TokenType.DCOLON:
        return "`::` cast; use cast(x as t)"
    if tok.token_type in (TokenType.ARROW, TokenType.FARROW):
        return f"`{tok.text}` lambda/operator; BigQuery has none"
    if tok.token_type == TokenType.ILIKE:
        return "ILIKE; use lower(x) like lower(pattern)"
    if tok.token_type == TokenType.L_BRACE:
        return "`{` struct/map literal; use struct(... as name)"
    if tok.token_type == TokenType.FILTER and nxt and nxt.token_type == TokenType.L_PAREN:
        return "aggregate FILTER (WHERE ...); use countif / if(...)"
    if tok.token_type == TokenType.TIMESTAMPTZ and (
        text == "timestamptz" or (nxt is not None and nxt.token_type == TokenType.WITH)
    ):
        return "timestamp with time zone; BigQuery TIMESTAMP is UTC"
    if (
        tok.token_type == TokenType.INTERVAL
        and nxt is not None
        and nxt.token_type == TokenType.STRING
        and (i + 2 >= len(tokens) or tokens[i + 2].text.upper() not in BIGQUERY_INTERVAL_UNITS)
    ):
        return f"interval '{nxt.text}'; write interval 2 day"
    return None


def _not_bigquery(sql: str) -> list[str]:
    """DuckDB/Postgres syntax that sqlglot's BigQuery reader accepts without complaint."""
    return oc.foreign_syntax(sql, "bigquery", "BigQuery", NOT_BIGQUERY_FUNCTIONS, _bigquery_token_problem)


@pytest.mark.parametrize(("mode", "source"), PARAMS)
def test_compiled_sql_is_bigquery(compiled, mode, source):
    oc.check_compiled_source(compiled[mode], source, target="bigquery", dialect="bigquery",
                             label="BigQuery SQL", not_dialect=_not_bigquery)


def test_package_models_were_compiled(compiled):
    oc.check_package_models_compiled(compiled)


def test_compiled_package_data_tests_parse(compiled):
    oc.check_data_tests_parse(compiled, "bigquery", _not_bigquery)


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


@pytest.mark.parametrize("mode", MODES)
def test_jobs_staging_reads_region_jobs_by_project(compiled, mode):
    sql = model_sql(compiled[mode], JOBS_MODEL)
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
    sql = model_sql(compiled[mode], JOBS_MODEL)
    bounds = oc.constant_lower_bounds(sql, "bigquery", "creation_time")
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
# sqlfluff, once over every distinct compiled model of both modes
# --------------------------------------------------------------------------------------------
def test_sqlfluff_parses_compiled_sql_as_bigquery(compiled, tmp_path):
    oc.check_sqlfluff(compiled, tmp_path, "bigquery", "BigQuery", KNOWN_SQLFLUFF_GAPS)


# --------------------------------------------------------------------------------------------
# stg_bigquery__table_storage: the right view, one read per project x region, named columns only
# --------------------------------------------------------------------------------------------
STORAGE_MODEL = "stg_bigquery__table_storage"
# INFORMATION_SCHEMA.TABLE_STORAGE's columns as Google documents them (the look-alike has the same).
TABLE_STORAGE_COLUMNS = {
    "project_id", "project_number", "table_catalog", "table_schema", "table_name", "creation_time",
    "total_rows", "total_partitions", "total_logical_bytes", "active_logical_bytes", "long_term_logical_bytes",
    "current_physical_bytes", "total_physical_bytes", "active_physical_bytes", "long_term_physical_bytes",
    "time_travel_physical_bytes", "storage_last_modified_time", "deleted", "table_type",
    "fail_safe_physical_bytes", "last_metadata_index_refresh_time",
}  # fmt: skip
# The regions the integration project reads (one TABLE_STORAGE read per region of its one project).
PROJECT_VARS_REGIONS = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]["dbt_pipeline_costs_bigquery_regions"]
STORAGE_PATH = re.compile(
    r"`(?P<project>[^`]+)`\.`region-(?P<region>[a-z0-9-]+)`\.INFORMATION_SCHEMA\.TABLE_STORAGE\b", re.IGNORECASE
)


@pytest.mark.parametrize("mode", MODES)
def test_table_storage_staging_reads_each_region_once(compiled, mode):
    sql = model_sql(compiled[mode], STORAGE_MODEL)
    reads = sorted(m["region"].lower() for m in STORAGE_PATH.finditer(sql))
    assert reads == sorted(PROJECT_VARS_REGIONS), (
        f"{STORAGE_MODEL}: expected one backquoted `<project>`.`region-<r>`.INFORMATION_SCHEMA.TABLE_STORAGE "
        f"per configured region {PROJECT_VARS_REGIONS}, found {reads}"
    )
    assert "JOBS_BY_PROJECT" not in sql.upper()


@pytest.mark.parametrize("mode", MODES)
def test_table_storage_staging_selects_documented_columns_only(compiled, mode):
    """Each read of the view names its columns (no `*`: the view is billed by the columns read) and
    every column it names is one Google documents; a snapshot view has no partition column to bound."""
    sql = model_sql(compiled[mode], STORAGE_MODEL)
    selects = []
    for statement in oc.parse_statements(sql, "bigquery"):
        for table in statement.find_all(exp.Table):
            if table.name.upper().split(".")[-1] == "TABLE_STORAGE":
                selects.append((table.alias_or_name, table.find_ancestor(exp.Select)))
    assert len(selects) == len(PROJECT_VARS_REGIONS), f"{STORAGE_MODEL}: {len(selects)} reads of TABLE_STORAGE"
    for alias, select in selects:
        assert not any(isinstance(e, exp.Star) for e in select.expressions), f"{STORAGE_MODEL}: select * from the view"
        used = {c.name.lower() for c in select.find_all(exp.Column) if c.table == alias}
        assert used and used <= TABLE_STORAGE_COLUMNS, f"{STORAGE_MODEL}: undocumented columns {used - TABLE_STORAGE_COLUMNS}"


@pytest.mark.parametrize("mode", MODES)
def test_storage_marts_read_no_information_schema(compiled, mode):
    for model in ("storage_costs", "storage_dataset_costs"):
        assert "INFORMATION_SCHEMA" not in model_sql(compiled[mode], model).upper(), f"{model} reads a source"


# --------------------------------------------------------------------------------------------
# Parameterized decimal types within BigQuery's limits
# --------------------------------------------------------------------------------------------
# GoogleSQL: NUMERIC(P[, S]) (alias DECIMAL) needs 0 <= S <= 9 and max(1, S) <= P <= S + 29;
# BIGNUMERIC(P[, S]) (alias BIGDECIMAL) needs 0 <= S <= 38 and max(1, S) <= P <= S + 38, or P = MAX.
# S defaults to 0. -> {sqlglot type: (name, max scale, max integer digits)}
DECIMAL_LIMITS = {
    exp.DataType.Type.DECIMAL: ("NUMERIC", 9, 29),
    exp.DataType.Type.BIGDECIMAL: ("BIGNUMERIC", 38, 38),
}


def _decimal_type_problem(data_type: exp.DataType) -> str | None:
    """Why BigQuery rejects this parameterized NUMERIC / BIGNUMERIC type (None: it accepts it)."""
    if data_type.this not in DECIMAL_LIMITS or not data_type.expressions:
        return None
    name, max_scale, max_integer_digits = DECIMAL_LIMITS[data_type.this]
    params = [p.this if isinstance(p, exp.DataTypeParam) else p for p in data_type.expressions]
    if len(params) > 2:
        return f"{name} takes 1 or 2 parameters, got {len(params)}"
    if len(params) == 2 and not (isinstance(params[1], exp.Literal) and params[1].this.isdigit()):
        return f"{name} scale must be an integer"
    scale = int(params[1].this) if len(params) == 2 else 0
    if scale > max_scale:
        return f"in {name}(P, S), S must be between 0 and {max_scale}"
    precision = params[0]
    if isinstance(precision, exp.Var) and precision.name.upper() == "MAX" and name == "BIGNUMERIC":
        return None
    if not (isinstance(precision, exp.Literal) and precision.this.isdigit()):
        return f"{name} precision must be an integer" + (" or MAX" if name == "BIGNUMERIC" else "")
    if not max(1, scale) <= int(precision.this) <= scale + max_integer_digits:
        return f"in {name}(P, {scale}), P must be between {max(1, scale)} and {scale + max_integer_digits}"
    return None


@pytest.mark.parametrize(
    ("type_sql", "valid"),
    [
        ("numeric(38, 9)", True), ("numeric(29)", True), ("decimal(30, 1)", True), ("numeric(9, 9)", True),
        ("numeric(38, 18)", False), ("decimal(38, 0)", False), ("decimal(38, 3)", False), ("numeric(30)", False),
        ("numeric(5, 10)", False), ("numeric(0)", False), ("numeric(max, 2)", False),
        ("bignumeric(76, 38)", True), ("bigdecimal(38)", True), ("bignumeric(41, 3)", True),
        ("bignumeric(max, 10)", True), ("bignumeric", True), ("numeric", True),
        ("bignumeric(77, 38)", False), ("bignumeric(39)", False), ("bigdecimal(10, 39)", False),
    ],
)  # fmt: skip
def test_decimal_limits_check_knows_bigquery_rules(type_sql, valid):
    cast = oc.parse_statements(f"select cast(x as {type_sql})", "bigquery")[0].find(exp.DataType)
    assert (_decimal_type_problem(cast) is None) == valid, f"{type_sql}: {_decimal_type_problem(cast)}"


def test_parameterized_decimal_types_are_within_bigquery_limits(compiled):
    """Every NUMERIC(P, S) / BIGNUMERIC(P, S) in the compiled models, analyses and data tests is one
    BigQuery accepts: DuckDB/Spark's DECIMAL(38, 18) is not (NUMERIC keeps at most 9 decimals and 29
    integer digits). sqlglot parses such types and silently rewrites them on output, so the other
    checks cannot see them."""
    problems, checked = [], 0
    for mode, report in compiled.items():
        for node in report["nodes"]:
            if node["resource_type"] not in ("model", "analysis", "test") or not node["compiled_path"]:
                continue
            checked += 1
            for statement in oc.parse_statements(Path(node["compiled_path"]).read_text(), "bigquery"):
                for data_type in statement.find_all(exp.DataType):
                    if (problem := _decimal_type_problem(data_type)) is not None:
                        problems.append(f"[{mode}] {node['name']}: {data_type.sql()} - {problem}")
    assert checked, "no compiled model, analysis or test to check"
    assert not problems, "BigQuery rejects these decimal types:\n  " + "\n  ".join(sorted(set(problems)))
