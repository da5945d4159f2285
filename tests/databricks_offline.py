"""Compile the package for Databricks with no network at all.

    python tests/databricks_offline.py --mode fresh|incremental \
        --project-dir integration_tests --out integration_tests/target/databricks_offline/fresh

`dbt compile --target databricks --no-populate-cache` hangs offline as soon as anything needs the
warehouse: is_incremental() -> adapter.get_relation() lists the schema's relations over a SQL
connection, and the package's watermark macro calls run_query() at compile time. Each opens a
databricks-sql-connector session to the (fake) host, which retries for minutes. This script runs
dbt in-process (dbtRunner, tests/offline_compile.py: the socket guard, the package's relations
from a `dbt parse`, --render, the report, the exit status and the watchdog are described there)
after replacing, in dbt-databricks 1.12.x, every path that would reach Databricks:

  DatabricksConnectionManager
    open                  raises OfflineNetworkError (nothing may open a session)
    execute               run_query / statement path -> canned one-row result (_canned_table)
    add_query             raises OfflineNetworkError (a raw cursor)
    _execute_with_cursor  metadata calls (list_schemas, list_tables) -> empty result
  DatabricksAdapter
    list_relations_without_caching   fresh: []; incremental: the package's relations in that schema
    get_relation                     fresh: None for the package's own relations; incremental: a
                                     (Delta) relation of the model's materialization (table for
                                     incremental/table, so is_incremental() is true). Any relation
                                     that is not the package's (inputs) "exists" as a table.
    get_columns_in_relation          []
    check_schema_exists / list_schemas   mode-dependent, as list_relations_without_caching
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import offline_compile as oc
from offline_compile import State

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


def _canned_table(sql: str) -> tuple[str, Any]:
    """(statement kind, agate table): one row for a SELECT, no rows otherwise. Columns are named
    as written (alias or column), else col0, col1, ..."""
    import agate

    kind, columns, rows = oc.canned_select(
        sql, "databricks", lambda index, projection: getattr(projection, "alias_or_name", "") or f"col{index}"
    )
    types = {
        dt.datetime: agate.DateTime(), dt.date: agate.Date(), bool: agate.Boolean(), int: agate.Number(),
        float: agate.Number(), str: agate.Text(),
    }
    column_types = [types.get(type(v), agate.Text()) for v in rows[0]] if rows else []
    return kind, agate.Table(rows, [name for name, _ in columns], column_types)


def install_patches() -> None:
    """Patch dbt-databricks (1.12.x) so that dbt compile never leaves this process (State.mode and
    State.watermark set; the socket guard is offline_compile's)."""
    from dbt.adapters.contracts.connection import AdapterResponse
    from dbt.adapters.databricks.connections import DatabricksConnectionManager
    from dbt.adapters.databricks.impl import DatabricksAdapter
    from dbt.adapters.databricks.relation import DatabricksRelation
    from dbt_common.clients import agate_helper

    # ---- connection manager
    def open_(cls: Any, connection: Any) -> Any:
        raise State.violation("DatabricksConnectionManager.open (a SQL warehouse session)")

    def execute(self: Any, sql: str, auto_begin: bool = False, fetch: bool = False,
                limit: int | None = None) -> tuple[Any, Any]:
        kind, table = _canned_table(sql)
        State.record(sql, kind, list(table.column_names), table.rows)
        return AdapterResponse(_message="OK", code=kind, rows_affected=len(table.rows)), (
            table if fetch else agate_helper.empty_table()
        )

    def add_query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        raise State.violation(f"DatabricksConnectionManager.add_query (a raw cursor) for: {sql[:200]}")

    def execute_with_cursor(self: Any, log_sql: str, f: Any) -> Any:
        State.record(log_sql, "METADATA", [], [])
        return agate_helper.empty_table()

    DatabricksConnectionManager.open = classmethod(open_)  # type: ignore[method-assign,assignment]
    DatabricksConnectionManager.execute = execute  # type: ignore[method-assign,assignment]
    DatabricksConnectionManager.add_query = add_query  # type: ignore[method-assign]
    DatabricksConnectionManager._execute_with_cursor = execute_with_cursor  # type: ignore[method-assign]

    # ---- adapter
    def make_relation(database: Any, schema: Any, identifier: Any, rel_type: str) -> Any:
        return DatabricksRelation.create(
            database=database, schema=schema, identifier=identifier, type=rel_type, is_delta=True
        )

    def list_schemas(self: Any, database: Any) -> list[str]:
        return State.schemas(database)

    oc.patch_adapter(DatabricksAdapter, make_relation, list_schemas=list_schemas)


def main(argv: list[str] | None = None) -> int:
    return oc.main(argv, doc=__doc__, harness="tests/databricks_offline.py", target="databricks",
                   default_vars=DEFAULT_VARS, patch_warehouse=install_patches)


if __name__ == "__main__":
    oc.run_as_script(main)
