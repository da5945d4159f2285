"""Compile the package for BigQuery with no network at all.

    python tests/bigquery_offline.py --mode fresh|incremental \
        --project-dir integration_tests --out integration_tests/target/bigquery_offline/fresh

`dbt compile --target bigquery --no-populate-cache` only works offline for plain SQL models: an
incremental model calls is_incremental() -> adapter.get_relation() (a cache miss goes to the
BigQuery API), and the package's watermark macro calls run_query() at compile time. This script
runs dbt in-process (dbtRunner, tests/offline_compile.py: the socket guard, the package's
relations from a `dbt parse`, the report, the exit status and the watchdog are described there)
after replacing, in dbt-bigquery 1.12.1, every path that would reach BigQuery:

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

Canned results are typed as the BigQuery client returns them (a cast answers its target type) and
unaliased expressions are named f0_, f1_, ... as BigQuery names them. The profile's `retries: 0`
is kept; the patched methods never enter dbt-bigquery's retry wrappers anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import offline_compile as oc
from offline_compile import State

# The integration project points the jobs and table storage sources at DuckDB look-alike tables
# (`jobs_by_project`, `table_storage`); on BigQuery they must be the real views, as for any user of
# the package (their defaults).
# The BigQuery target reads BigQuery only (the integration project also turns Databricks on).
DEFAULT_VARS = {"dbt_pipeline_costs_bigquery_jobs_identifier": "INFORMATION_SCHEMA.JOBS_BY_PROJECT",
                "dbt_pipeline_costs_bigquery_table_storage_identifier": "INFORMATION_SCHEMA.TABLE_STORAGE",
                "dbt_pipeline_costs_databricks_enabled": False}


# --------------------------------------------------------------------------------------------
# Canned query results, as the BigQuery client returns them
# --------------------------------------------------------------------------------------------
def _cast_value(cast: Any, watermark: dt.datetime) -> tuple[str, Any] | None:
    """(BigQuery type, value) of cast(... as <type>); None for other types (what is cast answers)."""
    target = cast.to.sql(dialect="bigquery").upper()
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
    return None


def _column_name(index: int, projection: Any) -> str:
    """BigQuery names unaliased expressions f0_, f1_, ...; a bare column keeps its name."""
    from sqlglot import exp

    if isinstance(projection, exp.Star):
        return "value"
    if isinstance(projection, exp.Alias):
        return projection.alias
    if isinstance(projection, exp.Column):
        return projection.name
    return f"f{index}_"


def _canned_result(sql: str) -> tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]:
    """-> (statement kind, [(column, BigQuery type)], rows). One row for any SELECT, none otherwise."""
    return oc.canned_select(sql, "bigquery", _column_name, cast=_cast_value)


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
    kind, columns, rows = _canned_result(sql)
    State.record(sql, kind, columns, rows)
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
        raise State.violation(f"google.cloud.bigquery.Client.{name} was called")


def install_patches() -> None:
    """Patch dbt-bigquery (1.12.x) so that dbt compile never leaves this process (State.mode and
    State.watermark set; the socket guard is offline_compile's)."""
    import google.api_core.exceptions
    from dbt.adapters.bigquery import BigQueryAdapter, BigQueryRelation
    from dbt.adapters.bigquery.connections import (
        BigQueryAdapterResponse,
        BigQueryConnectionManager,
    )
    from dbt.adapters.contracts.connection import ConnectionState
    from google.cloud.bigquery import Table, TableReference
    from google.cloud.bigquery.dataset import DatasetReference

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
        if State.relation_type(database, schema, identifier) is None:
            raise google.api_core.exceptions.NotFound(f"offline: {database}.{schema}.{identifier}")
        return Table(TableReference(DatasetReference(database, schema), identifier))

    def list_dataset(self, database):
        return State.schemas(database)

    BigQueryConnectionManager.open = classmethod(open_)  # type: ignore[method-assign]
    BigQueryConnectionManager.raw_execute = raw_execute  # type: ignore[method-assign]
    BigQueryConnectionManager.execute = execute  # type: ignore[method-assign]
    BigQueryConnectionManager.dry_run = dry_run  # type: ignore[method-assign]
    BigQueryConnectionManager.get_bq_table = get_bq_table  # type: ignore[method-assign]
    BigQueryConnectionManager.list_dataset = list_dataset  # type: ignore[method-assign]

    # ---- adapter
    def make_relation(database, schema, identifier, rel_type):
        return BigQueryRelation.create(
            database=database, schema=schema, identifier=identifier, type=rel_type
        )

    oc.patch_adapter(BigQueryAdapter, make_relation)


def main(argv: list[str] | None = None) -> int:
    return oc.main(argv, doc=__doc__, harness="tests/bigquery_offline.py", target="bigquery",
                   default_vars=DEFAULT_VARS, patch_warehouse=install_patches)


if __name__ == "__main__":
    oc.run_as_script(main)
