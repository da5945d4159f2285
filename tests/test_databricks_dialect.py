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
`sqlfluff parse --dialect databricks` runs once over all distinct compiled models as a second
opinion (KNOWN_SQLFLUFF_GAPS lists what it wrongly rejects).
The checks every warehouse shares (running the harness, parsing, the package's models compiled,
data tests, sqlfluff) are in tests/offline_compile.py; this module has what is Databricks'.
"""

from __future__ import annotations

import re

import offline_compile as oc
import pytest
from offline_compile import MODES, PARAMS, PROJECT, REPO, model_sql
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

pytestmark = pytest.mark.slow  # ~20 s: two dbt compiles in parallel and a sqlfluff parse

HARNESS = REPO / "tests" / "databricks_offline.py"
OUT_ROOT = PROJECT / "target" / "databricks_offline"
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


def _has_query_tags_macros() -> bool:
    text = QUERY_TAGS_FILE.read_text() if QUERY_TAGS_FILE.is_file() else ""
    return "macro set_query_tags(" in text and "macro unset_query_tags(" in text


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict]:
    """The harness, both modes, once per module (with the query-tags hooks rendered)."""
    render = ["--render", SET_TAGS, "--render", UNSET_TAGS] if _has_query_tags_macros() else []
    return oc.compile_both_modes(HARNESS, OUT_ROOT, "Databricks", render)


# --------------------------------------------------------------------------------------------
# Every compiled model parses as Databricks SQL
# --------------------------------------------------------------------------------------------
def _databricks_token_problem(tokens: list[Token], i: int, prev: Token | None, nxt: Token | None) -> str | None:
    tok = tokens[i]
    text = tok.text.lower()
    after_dot = prev is not None and prev.token_type == TokenType.DOT
    if text in NOT_DATABRICKS_TYPES and not after_dot and tok.token_type != TokenType.STRING:
        return f"type {text} is not Databricks SQL; use {NOT_DATABRICKS_TYPES[text]}"
    if tok.token_type == TokenType.SLASH and nxt is not None and nxt.token_type == TokenType.SLASH:
        return "`//` integer division (DuckDB); use `div` or floor(a / b)"
    if text == "lambda" and nxt is not None and nxt.token_type == TokenType.VAR:
        return "DuckDB `lambda x: ...`; use `x -> ...`"
    if tok.token_type == TokenType.L_BRACE:
        return "`{` struct/map literal (DuckDB); use named_struct(...) / map(...)"
    if (
        tok.token_type == TokenType.OVER and nxt is not None and nxt.token_type == TokenType.L_PAREN
        and i + 3 < len(tokens) and tokens[i + 2].token_type == TokenType.VAR
        and tokens[i + 3].token_type in (TokenType.ROWS, TokenType.RANGE)
    ):
        return (
            f"over ({tokens[i + 2].text} {tokens[i + 3].text} ...) - a named window with a frame is not "
            f"Spark / Databricks SQL; spell out partition by / order by in this over (...)"
        )
    if tok.token_type == TokenType.STAR and nxt is not None and nxt.text.lower() == "exclude":
        return "`* exclude (...)` (DuckDB); use `* except (...)`"
    if (
        text == "timestamp" and nxt is not None and nxt.token_type == TokenType.WITH
        and i + 2 < len(tokens) and tokens[i + 2].text.lower() == "time"
    ):
        return "timestamp with time zone; Databricks TIMESTAMP is an instant (UTC here)"
    return None


def _not_databricks(sql: str) -> list[str]:
    """DuckDB / BigQuery syntax that sqlglot's Databricks reader accepts without complaint."""
    return oc.foreign_syntax(
        sql, "databricks", "Databricks SQL", NOT_DATABRICKS_FUNCTIONS, _databricks_token_problem
    )


def _parse_databricks(sql: str) -> list[exp.Expression]:
    return oc.parse_statements(sql, "databricks")


@pytest.mark.parametrize(("mode", "source"), PARAMS)
def test_compiled_sql_is_databricks(compiled, mode, source):
    oc.check_compiled_source(compiled[mode], source, target="databricks", dialect="databricks",
                             label="Databricks SQL", not_dialect=_not_databricks)


def test_package_models_were_compiled(compiled):
    oc.check_package_models_compiled(compiled)
    for mode, report in compiled.items():
        names = {n["name"] for n in report["nodes"] if n["resource_type"] == "model"}
        missing = sorted(set(SYSTEM_TABLES) - names)
        assert not missing, f"[{mode}] Databricks staging models not compiled (enabled?): {missing}"


def test_compiled_package_data_tests_parse(compiled):
    oc.check_data_tests_parse(compiled, "databricks", _not_databricks)


# --------------------------------------------------------------------------------------------
# What the cost rules depend on
# --------------------------------------------------------------------------------------------
def _qualified_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", sorted(SYSTEM_TABLES))
def test_sources_are_the_system_tables(compiled, mode, model):
    sql = model_sql(compiled[mode], model)
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
    sql = model_sql(compiled[mode], "stg_databricks__list_prices")
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


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", sorted(BOUNDED_READS))
def test_system_table_reads_are_bounded(compiled, mode, model):
    column = BOUNDED_READS[model]
    bounds = oc.constant_lower_bounds(model_sql(compiled[mode], model), "databricks", column)
    assert bounds, (
        f"[{mode}] {model}: no constant lower bound on {column} (the system table is partitioned / "
        f"clustered on it; an unbounded or subquery bound scans all of it)"
    )


# Models that recompute whole days without a unique row key replace those days' rows instead
# (replace_rows_strategy(): delete+insert, dbt-databricks 1.11+).
REPLACE_ROWS_MODELS = {"int_databricks_cost_lines"}


def test_incremental_models_merge(compiled):
    """Databricks tables are Delta: every incremental model of the package merges on its key, or
    replaces whole days (dispatch would otherwise fall back to spark__ strategies, append)."""
    nodes = [n for n in compiled["fresh"]["nodes"] if n["resource_type"] == "model" and n["materialized"] == "incremental"]
    assert nodes, "no incremental model compiled"
    expected = {n["name"]: "delete+insert" if n["name"] in REPLACE_ROWS_MODELS else "merge" for n in nodes}
    # run_results tables are append-only by design (full_refresh: false, no unique key strategy)
    wrong = {n["name"]: n["incremental_strategy"] for n in nodes
             if n["incremental_strategy"] != expected[n["name"]]
             and not (n["incremental_strategy"] is None and n["original_file_path"].startswith("models/run_results/"))}
    assert not wrong, f"incremental models with the wrong strategy on Databricks: {wrong}"
    assert REPLACE_ROWS_MODELS <= set(expected), "a replace-rows model was not compiled"


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
# sqlfluff, once over every distinct compiled model of both modes
# --------------------------------------------------------------------------------------------
def test_sqlfluff_parses_compiled_sql_as_databricks(compiled, tmp_path):
    oc.check_sqlfluff(compiled, tmp_path, "databricks", "Databricks SQL", KNOWN_SQLFLUFF_GAPS)
