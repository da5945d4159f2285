"""The Spark tier: the same fixtures built on a local Spark session give the same marts as on DuckDB.

One small generated dataset (Databricks system-table look-alikes and the uploaded run results) is
built twice with the same vars (BigQuery off, Databricks on, the same as-of):

- on DuckDB (target duckdb, a dbt subprocess), and
- on a local Spark session (target spark, dbt-spark `method: session`): tests/spark_support.py
  starts Spark, loads the tables through parquet and runs `dbt build` in the same process.

The two builds run side by side. Then every mart of the package, and the Databricks cost lines,
must hold the same rows on both: the same keys (the columns of the model's unique_combination or
unique test; a model without one is matched on all its non-numeric columns), the same columns
and column types, and the same values - exact decimals within 1e-9, floats within a relative
1e-9, timestamps equal in UTC, text and booleans equal. The package's data tests run in both
builds too (conservation, sums_match, keys), so a Spark-only failure of theirs fails here. Last,
the on-run-end upload's Spark INSERT stores a row of awkward values in the dbt_node_results table
built on Spark and every value comes back as sent.

A first build only: without Delta there is no MERGE, so spark__incremental_strategy appends and
an incremental re-run on plain Spark is not comparable (Databricks merges; see
tests/test_databricks_dialect.py). Needs Java (pyspark starts a JVM); skipped with the reason
when there is none. About 1-1.5 minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from spark_support import SPARK_PACKAGE_SCHEMA, same_value
from support import MARTS_SCHEMA, PROJECT_DIR, REPO, generate, run_dbt, subprocess_env
from upload_support import NASTY

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java on PATH: pyspark cannot start a JVM"),
]

SEED = 11
DAYS = 3
END = dt.datetime.now(dt.UTC).date()
AS_OF = dt.datetime.combine(END, dt.time(0, 0), tzinfo=dt.UTC)
VARS: dict[str, Any] = {
    "dbt_pipeline_costs_bigquery_enabled": False,
    "dbt_pipeline_costs_databricks_enabled": True,
    "dbt_pipeline_costs_databricks_catalog": None,
    "dbt_pipeline_costs_databricks_billing_schema": "system_billing",
    "dbt_pipeline_costs_databricks_query_schema": "system_query",
    "dbt_pipeline_costs_as_of": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ"),
    # The package's dbt unit tests give DuckDB-typed fixtures; they run in the DuckDB suites.
    "dbt_pipeline_costs_unit_tests": False,
}
SELECT = "package:dbt_pipeline_costs"  # the integration project's example models and seeds are DuckDB-only
MARTS = [
    "query_costs", "model_costs", "pipeline_stage_costs", "pipeline_cost_history", "cost_coverage",
    "model_reuse", "freshness_coverage", "slo_compliance", "sao_opportunities", "job_overlap", "reuse_savings",
    "int_databricks_cost_lines", "cost_anomalies",
    "model_performance", "cost_recommendations", "cost_estimates",
    "daily_spend", "int_forecast_series", "cost_forecast_summary",
    "dashboard_pipeline_runs", "dashboard_model_runs", "dashboard_query_costs", "dashboard_daily_costs",
]  # fmt: skip
UPLOAD_MARKER = "spark-upload-check"
# One value per column kind of the upload (run_results_columns): text that needs escaping, an
# integer a double cannot hold, a float with a long repr, a timestamp with microseconds.
UPLOAD_VALUES: dict[str, Any] = {
    "string": NASTY, "integer": 9007199254740993, "float": 0.1 + 0.2, "boolean": True,
    "timestamp": "2026-01-02T03:04:05.123456+00:00",
}
# ... and how Spark shows each stored value cast to text (session time zone UTC).
UPLOAD_STORED = {
    "string": NASTY, "integer": "9007199254740993", "float": "0.30000000000000004", "boolean": "true",
    "timestamp": "2026-01-02 03:04:05.123456",
}
SPARK_TIMEOUT_S = 600


def _node_result_columns() -> list[tuple[str, str]]:
    """[(column, kind)] of dbt_node_results, as macros/upload/run_results_columns.sql lists them."""
    source = (REPO / "macros" / "upload" / "run_results_columns.sql").read_text()
    block = source[source.index("'dbt_node_results': ["):]
    return re.findall(r"\('(\w+)', '(\w+)'\)", block[: block.index("]")])


def _upload_rows() -> list[list[Any]]:
    """A row with a value of every kind and a row of NULLs, both of invocation UPLOAD_MARKER."""
    columns = _node_result_columns()
    full = [UPLOAD_MARKER if c == "invocation_id" else UPLOAD_VALUES[k] for c, k in columns]
    empty = [UPLOAD_MARKER if c == "invocation_id" else None for c, _ in columns]
    return [full, empty]


def _keys_from_manifest(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """{model name: key columns} from the package's unique_combination / unique tests."""
    keys: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node") or ""
        if node["resource_type"] != "test" or not attached.startswith("model.dbt_pipeline_costs."):
            continue
        model = attached.rsplit(".", 1)[1]
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique_combination":
            keys[model] = list(kwargs["columns"])
        elif meta.get("name") == "unique" and model not in keys:
            keys[model] = [kwargs["column_name"]]
    return keys


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> dict[str, Any]:
    """Generate once; build on Spark (background process) and DuckDB at the same time."""
    base = tmp_path_factory.mktemp("spark_tier")
    strays_before = _strays()
    generated = base / "generated.duckdb"
    generate(generated, "--days", str(DAYS), "--seed", str(SEED), "--end-date", END.isoformat(),
             "--as-of", AS_OF.isoformat(), "--scale", "0.1", "--no-truth")
    duck = base / "duckdb_build.duckdb"
    shutil.copyfile(generated, duck)

    work = base / "spark"
    exports = [f"{SPARK_PACKAGE_SCHEMA}.{mart}" for mart in MARTS]
    upload_rows = base / "upload_rows.json"
    upload_rows.write_text(json.dumps(_upload_rows()))
    started = time.perf_counter()
    spark = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "spark_support.py"), "--duckdb", str(generated), "--work", str(work),
         "--vars", json.dumps(VARS), "--select", SELECT, *(a for name in exports for a in ("--export", name)),
         "--upload-rows", str(upload_rows)],
        cwd=base, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        duck_target = base / "duckdb_target"
        run_dbt(["build", "--target", "duckdb", "--select", SELECT, "--vars", json.dumps(VARS),
                 "--target-path", str(duck_target), "--log-path", str(base / "duckdb_logs")], duck)
        duckdb_s = time.perf_counter() - started
        output, _ = spark.communicate(timeout=SPARK_TIMEOUT_S)
    finally:
        if spark.poll() is None:
            spark.kill()
            spark.wait()
    spark_s = time.perf_counter() - started
    report_path = work / "spark_report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    report["output_tail"] = output[-8000:]
    # Shown in every run (make test included), not only with -s: the tier's cost is worth seeing.
    summary = (
        f"Spark tier: Spark process {spark_s:.1f} s wall (steps, s: {report.get('timings_s')}); "
        f"DuckDB build alongside {duckdb_s:.1f} s"
    )
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + summary)
    else:
        print(summary)
    manifest = json.loads((duck_target / "manifest.json").read_text())
    return {
        "report": report, "work": work, "duckdb": duck, "keys": _keys_from_manifest(manifest),
        "new_strays": sorted(set(_strays()) - set(strays_before)),
    }


def _strays() -> list[Path]:
    """Files a Spark session drops in its working directory, where they must never be."""
    return [p for name in ("metastore_db", "spark-warehouse", "derby.log")
            for p in (REPO / name, PROJECT_DIR / name, REPO / "tests" / name) if p.exists()]


def _failures(report: dict[str, Any]) -> list[str]:
    results = (report.get("dbt") or {}).get("results") or []
    return [
        f"{r['unique_id']}: {r['status']}\n    {(r['message'] or '').strip()[:1500]}"
        for r in results if r["status"] not in ("success", "pass", "warn")
    ]


def test_spark_build_succeeds(builds: dict[str, Any]) -> None:
    report = builds["report"]
    assert "harness_error" not in report, f"tests/spark_support.py failed:\n{report['harness_error']}"
    assert not report.get("missing_inputs"), (
        f"the generator wrote no {report['missing_inputs']}: nothing to load into Spark for them"
    )
    dbt = report.get("dbt") or {}
    failures = _failures(report)
    assert dbt.get("success") and not failures, (
        "dbt build on the spark target failed:\n" + "\n".join(failures or [dbt.get("error") or report["output_tail"]])
    )
    built = {r["unique_id"] for r in dbt["results"] if r["status"] == "success"}
    missing = [m for m in MARTS if f"model.dbt_pipeline_costs.{m}" not in built]
    assert not missing, f"not built on Spark: {missing}"


# --------------------------------------------------------------------------------------------
# Row-by-row comparison
# --------------------------------------------------------------------------------------------
def _kind(type_name: str) -> str:
    name = type_name.upper()
    if name.startswith("DECIMAL"):
        return "decimal"
    if name in ("DOUBLE", "FLOAT", "REAL"):
        return "float"
    if name in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "integer"
    if name.startswith("TIMESTAMP"):
        return "timestamp"
    return name.lower()


def _relation(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    relation = con.sql(sql)
    types = {name: _kind(str(t)) for name, t in zip(relation.columns, relation.types, strict=True)}
    return types, [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _sort_key(row: dict[str, Any], columns: list[str]) -> tuple:
    """Order of rows sharing a key: text of the exact columns, then numbers rounded to 1e-6."""
    def part(value: Any) -> tuple:
        if value is None:
            return (0, "")
        if isinstance(value, float | Decimal):
            return (1, f"{float(value):+.6e}")
        return (2, str(value))
    return tuple(part(row[c]) for c in columns)


def _group(rows: list[dict[str, Any]], keys: list[str], columns: list[str]) -> dict[tuple, list[dict[str, Any]]]:
    grouped: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(tuple(row[k] for k in keys), []).append(row)
    for group in grouped.values():
        group.sort(key=lambda r: _sort_key(r, columns))
    return grouped


@pytest.mark.parametrize("mart", MARTS)
def test_spark_mart_equals_duckdb(builds: dict[str, Any], mart: str) -> None:
    report = builds["report"]
    exported = (report.get("exports") or {}).get(f"{SPARK_PACKAGE_SCHEMA}.{mart}", "not exported")
    if exported is not None:
        why = _failures(report)[:5] or [((report.get("dbt") or {}).get("error") or "").strip()[-1500:]]
        pytest.fail(f"{mart} was not read back from Spark: {exported[:300]}\nbecause:\n" + "\n".join(why),
                    pytrace=False)
    with duckdb.connect(str(builds["duckdb"]), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        want_types, want_rows = _relation(con, f"select * from {MARTS_SCHEMA}.{mart}")
        parquet = (builds["work"] / "export" / f"{SPARK_PACKAGE_SCHEMA}.{mart}").as_posix()
        got_types, got_rows = _relation(con, f"select * from read_parquet('{parquet}/*.parquet')")

    assert list(got_types) == list(want_types), f"{mart}: columns differ:\n spark  {list(got_types)}\n duckdb {list(want_types)}"
    type_diffs = {c: (got_types[c], want_types[c]) for c in want_types if got_types[c] != want_types[c]}
    assert not type_diffs, f"{mart}: column types differ (spark, duckdb): {type_diffs}"
    assert want_rows, f"{mart} is empty on DuckDB: the fixtures exercise nothing"
    assert len(got_rows) == len(want_rows), f"{mart}: {len(got_rows)} rows on Spark, {len(want_rows)} on DuckDB"

    # Rows are matched by the model's key (its unique_combination / unique test); a model without
    # one is matched by all its exact (non-numeric) columns, rows sharing them in sorted order.
    columns = list(want_types)
    keys = builds["keys"].get(mart) or [c for c in columns if want_types[c] not in ("float", "decimal")]
    got, want = _group(got_rows, keys, columns), _group(want_rows, keys, columns)
    missing = sorted(set(want) - set(got), key=str)
    extra = sorted(set(got) - set(want), key=str)
    assert not missing and not extra, (
        f"{mart}: by {keys}, {len(missing)} rows only on DuckDB, e.g. {missing[:3]}; "
        f"{len(extra)} only on Spark, e.g. {extra[:3]}"
    )
    mismatches = []
    for key in sorted(want, key=str):
        if len(got[key]) != len(want[key]):
            mismatches.append((key, "(row count)", len(got[key]), len(want[key])))
            continue
        for got_row, want_row in zip(got[key], want[key], strict=True):
            mismatches += [(key, c, got_row[c], want_row[c]) for c in columns if not same_value(got_row[c], want_row[c])]
    by_column: dict[str, int] = {}
    for _, column, _, _ in mismatches:
        by_column[column] = by_column.get(column, 0) + 1
    assert not mismatches, (
        f"{mart}: {len(mismatches)} values differ (by column {by_column}); (key, column, spark, duckdb):\n  "
        + "\n  ".join(map(repr, mismatches[:8]))
    )


def test_spark_upload_insert_round_trips(builds: dict[str, Any]) -> None:
    """The on-run-end upload's Spark / Databricks INSERT (spark__run_results_insert_sql with
    spark__escape_string_literal), run on Spark into the dbt_node_results table the package built
    there: every value comes back as sent, NULLs as NULL."""
    check = builds["report"].get("upload_check") or {"error": "not run (see test_spark_build_succeeds)"}
    assert not check["error"], f"upload check failed on Spark: {check['error']}"
    kinds = dict(_node_result_columns())
    stored = [dict(zip(check["columns"], row, strict=True)) for row in check["stored"]]
    assert len(stored) == 2, f"{len(stored)} rows of invocation {UPLOAD_MARKER} stored, not 2"
    full = next((r for r in stored if r["node_id"] is not None), None)
    empty = next((r for r in stored if r["node_id"] is None), None)
    assert full is not None and empty is not None, stored
    wrong = {c: (full[c], UPLOAD_STORED[k]) for c, k in kinds.items()
             if c != "invocation_id" and full[c] != UPLOAD_STORED[k]}
    assert not wrong, f"values changed on the way into Spark (stored, sent): {wrong}"
    not_null = {c: v for c, v in empty.items() if c != "invocation_id" and v is not None}
    assert not not_null, f"NULLs stored as values: {not_null}"


def test_spark_tier_leaves_nothing_in_the_repo(builds: dict[str, Any]) -> None:
    assert not builds["new_strays"], f"the Spark tier wrote into the repository: {builds['new_strays']}"
