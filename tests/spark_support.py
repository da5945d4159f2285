"""Build the integration project on a local Spark session (dbt-spark `method: session`), in one process.

    python tests/spark_support.py --duckdb F --work DIR --vars JSON \
        [--select SPEC ...] [--exclude SPEC ...] [--export SCHEMA.TABLE ...]

Everything happens in this one process, so the JVM starts once (tests/test_spark.py runs it as a
subprocess: the JVM, dbt's global state and Spark's logging stay out of pytest):

 1. A local SparkSession: 2 cores, session time zone UTC, in-memory catalog, warehouse under
    --work. Nothing is written to the cwd or the repository (no metastore_db/, derby.log or
    spark-warehouse/).
 2. The tables the package reads, copied from the generator's DuckDB file through parquet (which
    keeps STRUCT, MAP, DECIMAL and TIMESTAMP): the Databricks system-table look-alikes
    (system_billing.usage, system_billing.list_prices, system_query.history) under the same names,
    and the run results the on-run-end upload leaves (dbt_invocations, dbt_node_results) in the
    schema the spark target's package models write to. A DuckDB TIMESTAMP (no time zone) arrives
    as Spark TIMESTAMP_NTZ and is cast to TIMESTAMP (UTC), the type of the real system tables.
 3. `dbt build` of integration_tests/ on target `spark` through dbtRunner: dbt-spark's session
    connection calls SparkSession.builder.getOrCreate() and gets the session of step 1.
 4. Each --export relation written back to parquet under <work>/export/<schema>.<table>/ for the
    test to read with DuckDB.
 5. With --upload-rows FILE (a JSON list of dbt_node_results rows, values in
    run_results_columns('dbt_node_results') order): the on-run-end upload's INSERT for those rows,
    rendered by the package for the spark target (`dbt compile --inline`), run against the
    dbt_node_results table dbt just built, and the stored rows read back as text.
 6. <work>/spark_report.json: timings, dbt's node results, the tables loaded and exported, the
    upload check.

Exit status 0 when the build succeeded and every export was written, 1 otherwise, 2 on a harness
error (the report says which).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyspark is imported where it is used: the JVM starts only when Spark is asked for
    from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parent.parent
# A value read back from Spark equals DuckDB's: money to 1e-9, floats to 1e-9 relative, timestamps as instants.
MONEY_ABSOLUTE = Decimal("1e-9")
FLOAT_RELATIVE = 1e-9
PROJECT_DIR = REPO / "integration_tests"
SPARK_TARGET = "spark"
# dbt's default generate_schema_name: <target schema>_<custom schema>; the package's is pipeline_costs.
SPARK_TARGET_SCHEMA = "dbt_ci"
SPARK_PACKAGE_SCHEMA = f"{SPARK_TARGET_SCHEMA}_pipeline_costs"
# DuckDB schema written by the generator -> Spark schema, for the run results tables.
RUN_RESULTS_DUCKDB_SCHEMA = "main_pipeline_costs"
RUN_RESULTS_TABLES = ("dbt_invocations", "dbt_node_results")
# Databricks system-table look-alikes: (DuckDB schema, table), loaded under the same name.
DATABRICKS_TABLES = (
    ("system_billing", "usage"),
    ("system_billing", "list_prices"),
    ("system_query", "history"),
)


def spark_session(work: Path) -> SparkSession:
    """The one SparkSession of this process, with every file it writes under `work`."""
    from pyspark.sql import SparkSession

    warehouse = work / "spark-warehouse"
    scratch = work / "spark-tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    return (
        SparkSession.builder.master("local[2]")
        .appName("dbt_pipeline_costs-spark-tier")
        # In-memory catalog: no Derby metastore (metastore_db/, derby.log) anywhere. The session
        # lives as long as this process, which is as long as the build needs its tables.
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.local.dir", str(scratch))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch} -Djava.io.tmpdir={scratch}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )


def _duckdb_tables(duckdb_path: Path) -> set[tuple[str, str]]:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {(s, t) for s, t in con.sql("select schema_name, table_name from duckdb_tables()").fetchall()}


def export_duckdb_tables(duckdb_path: Path, tables: list[tuple[str, str]], out: Path) -> dict[str, Path]:
    """Each DuckDB table as one parquet file: {schema.table: path}."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for schema, table in tables:
            path = out / f"{schema}.{table}.parquet"
            con.execute(f"""copy (select * from "{schema}"."{table}") to '{path}' (format parquet)""")
            paths[f"{schema}.{table}"] = path
    return paths


def load_into_spark(spark: SparkSession, path: Path, schema: str, table: str) -> dict[str, str]:
    """Create schema.table in Spark's catalog from a parquet file; returns {column: Spark type}."""
    from pyspark.sql import functions as f
    from pyspark.sql.types import TimestampNTZType

    frame = spark.read.parquet(str(path))
    frame = frame.select(*[
        f.col(field.name).cast("timestamp").alias(field.name)
        if isinstance(field.dataType, TimestampNTZType) else f.col(field.name)
        for field in frame.schema.fields
    ])
    spark.sql(f"create database if not exists `{schema}`")
    frame.write.format("parquet").mode("overwrite").saveAsTable(f"`{schema}`.`{table}`")
    return {field.name: field.dataType.simpleString() for field in spark.table(f"`{schema}`.`{table}`").schema}


def run_dbt_build(work: Path, vars_: dict[str, Any], select: list[str], exclude: list[str]) -> dict[str, Any]:
    """`dbt build` on the spark target in this process; {success, results, error}."""
    from dbt.cli.main import dbtRunner

    args = [
        "build",
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target", SPARK_TARGET,
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--vars", json.dumps(vars_),
        "--no-partial-parse",
    ]  # fmt: skip
    for spec in select:
        args += ["--select", spec]
    for spec in exclude:
        args += ["--exclude", spec]
    outcome = dbtRunner().invoke(args)
    results = []
    for result in getattr(outcome.result, "results", None) or []:
        results.append({
            "unique_id": result.node.unique_id,
            "status": str(result.status),
            "message": None if result.message is None else str(result.message),
            "failures": result.failures,
            "execution_time": result.execution_time,
        })
    error = None
    if outcome.exception is not None:
        error = "".join(traceback.format_exception(outcome.exception))
    return {"success": bool(outcome.success), "args": args, "results": results, "error": error}


def export_tables(spark: SparkSession, names: list[str], out: Path) -> dict[str, str | None]:
    """Each schema.table to parquet under out/<schema.table>/; {name: error or None}."""
    errors: dict[str, str | None] = {}
    for name in names:
        try:
            spark.table(name).write.mode("overwrite").parquet(str(out / name))
            errors[name] = None
        except Exception as error:  # noqa: BLE001 - reported per table, the test shows it
            errors[name] = f"{type(error).__name__}: {error}"[:2000]
    return errors


UPLOAD_INLINE = (
    "{{ dbt_pipeline_costs.run_results_insert_sql(ref('dbt_node_results'), "
    "dbt_pipeline_costs.run_results_columns('dbt_node_results'), "
    "\"'\" ~ dbt_pipeline_costs.escape_string_literal(env_var('SPARK_UPLOAD_ROWS')) ~ \"'\") }}"
)


def upload_check(spark: SparkSession, work: Path, vars_: dict[str, Any], rows_file: Path) -> dict[str, Any]:
    """Render the upload INSERT of rows_file's rows for the spark target, run it, read them back
    (every column cast to text; rows whose invocation_id is the first row's)."""
    from dbt.cli.main import dbtRunner

    rows = json.loads(rows_file.read_text())
    # An environment variable, not a var: --vars is YAML, which rejects some of the text.
    os.environ["SPARK_UPLOAD_ROWS"] = json.dumps(rows, ensure_ascii=False)
    outcome = dbtRunner().invoke([
        "compile", "--inline", UPLOAD_INLINE, "--quiet",
        "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target", SPARK_TARGET,
        "--target-path", str(work / "target_upload"), "--log-path", str(work / "logs"),
        "--vars", json.dumps(vars_),
    ])  # fmt: skip
    results = getattr(outcome.result, "results", None) or []
    if not outcome.success or not results:
        return {"error": f"dbt compile --inline failed: {outcome.exception}"}
    sql = results[0].node.compiled_code
    spark.sql(sql)
    table = f"{SPARK_PACKAGE_SCHEMA}.dbt_node_results"
    columns = [field.name for field in spark.table(table).schema]
    marker = str(rows[0][0]).replace("'", "''")
    stored = spark.sql(
        f"select {', '.join(f'cast({c} as string) as {c}' for c in columns)} from {table} "
        f"where invocation_id = '{marker}'"
    ).collect()
    return {"sql_chars": len(sql), "columns": columns, "stored": [list(r) for r in stored], "error": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", type=Path, required=True, help="generator output (read only)")
    parser.add_argument("--work", type=Path, required=True, help="directory for everything this writes")
    parser.add_argument("--vars", default="{}", help="dbt --vars, as JSON")
    parser.add_argument("--select", action="append", default=[])
    parser.add_argument("--exclude", action="append", default=[])
    parser.add_argument("--export", action="append", default=[], help="schema.table to write back as parquet")
    parser.add_argument("--load", action="append", default=[], metavar="DUCKDB_SCHEMA.TABLE=SPARK_SCHEMA.TABLE",
                        help="one more table to load (e.g. BigQuery look-alikes under a Spark-legal schema name)")
    parser.add_argument("--upload-rows", type=Path, help="JSON rows for the upload check (step 5)")
    args = parser.parse_args(argv)

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"timings_s": {}}
    report_path = work / "spark_report.json"
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report["timings_s"][name] = round(now - clock, 3)
        clock = now

    status = 2
    try:
        # The JVM's working directory is --work: anything Spark or Derby would drop in the cwd lands there.
        os.chdir(work)
        spark = spark_session(work)
        lap("spark_start")

        present = _duckdb_tables(args.duckdb)
        wanted = [t for t in DATABRICKS_TABLES if t in present]
        wanted += [(RUN_RESULTS_DUCKDB_SCHEMA, t) for t in RUN_RESULTS_TABLES if (RUN_RESULTS_DUCKDB_SCHEMA, t) in present]
        targets = {
            (s, t): (SPARK_PACKAGE_SCHEMA if s == RUN_RESULTS_DUCKDB_SCHEMA else s, t) for s, t in wanted
        }
        for spec in args.load:
            source, _, target = spec.partition("=")
            targets[tuple(source.split(".", 1))] = tuple(target.split(".", 1))  # type: ignore[assignment]
        files = export_duckdb_tables(args.duckdb, list(targets), work / "parquet")
        loaded = {}
        for (schema, table), (target_schema, target_table) in targets.items():
            loaded[f"{target_schema}.{target_table}"] = load_into_spark(
                spark, files[f"{schema}.{table}"], target_schema, target_table
            )
        report["loaded"] = loaded
        report["missing_inputs"] = [
            f"{s}.{t}" for s, t in [*DATABRICKS_TABLES, *((RUN_RESULTS_DUCKDB_SCHEMA, t) for t in RUN_RESULTS_TABLES)]
            if (s, t) not in present
        ]
        lap("load_inputs")

        report["dbt"] = run_dbt_build(work, json.loads(args.vars), args.select, args.exclude)
        lap("dbt_build")

        report["exports"] = export_tables(spark, args.export, work / "export")
        lap("export")
        if args.upload_rows:
            try:
                report["upload_check"] = upload_check(spark, work, json.loads(args.vars), args.upload_rows)
            except Exception as error:  # noqa: BLE001 - reported, the test shows it
                report["upload_check"] = {"error": f"{type(error).__name__}: {error}"[:3000]}
            lap("upload_check")
        spark.stop()
        lap("spark_stop")
        ok = report["dbt"]["success"] and not any(report["exports"].values())
        status = 0 if ok else 1
    except Exception:  # noqa: BLE001 - the harness reports, the test fails with it
        report["harness_error"] = traceback.format_exc()
        status = 2
    report["status"] = status
    report_path.write_text(json.dumps(report, indent=2, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())


def same_value(got: Any, want: Any) -> bool:
    """Spark's value equals DuckDB's within the tier's tolerances (NULL only equals NULL, NaN only NaN)."""
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, Decimal) and isinstance(got, Decimal):
        return abs(got - want) <= MONEY_ABSOLUTE
    if isinstance(want, float | Decimal) or isinstance(got, float | Decimal):
        got_f, want_f = float(got), float(want)
        if math.isnan(got_f) or math.isnan(want_f):
            return math.isnan(got_f) and math.isnan(want_f)
        return abs(got_f - want_f) <= FLOAT_RELATIVE * max(1.0, abs(want_f))
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return got.astimezone(dt.UTC) == want.astimezone(dt.UTC)
    return got == want
