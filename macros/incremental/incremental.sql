{#
    Incremental windows: one rule for every incremental model of the package.

    incremental_lower_bound(column) -> Python datetime (UTC) of the oldest row to (re)read:
      - first build / --full-refresh: run_started_at - dbt_pipeline_costs_history_days
      - incremental: max(column) already loaded - dbt_pipeline_costs_lookback_days
    It is read at compile time and rendered as a literal (timestamp_literal) so the warehouse can
    prune partitions: BigQuery does not prune INFORMATION_SCHEMA on a subquery bound.
#}
{#- history_start() -> Python datetime (UTC): run_started_at - dbt_pipeline_costs_history_days, where a
    first build starts reading (and the oldest day the package's views of the system tables show). -#}
{% macro history_start() -%}
    {%- set history_days = var('dbt_pipeline_costs_history_days') | int -%}
    {{ return(run_started_at.replace(tzinfo=none) - modules.datetime.timedelta(days=history_days)) }}
{%- endmacro %}

{% macro incremental_lower_bound(column) -%}
    {%- set lookback_days = var('dbt_pipeline_costs_lookback_days') | int -%}
    {%- set first_bound = dbt_pipeline_costs.history_start() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(first_bound) }}
    {%- endif -%}
    {%- set result = run_query('select max(' ~ column ~ ') from ' ~ this) -%}
    {%- set newest = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
    {%- if newest is none -%}
        {{ return(first_bound) }}
    {%- endif -%}
    {%- if newest is string -%}
        {%- set newest = modules.datetime.datetime.fromisoformat(newest) -%}
    {%- endif -%}
    {%- if newest.tzinfo is not none -%}
        {%- set newest = newest.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
    {%- endif -%}
    {{ return(newest - modules.datetime.timedelta(days=lookback_days)) }}
{%- endmacro %}

{#- incremental_strategy() -> the strategy each adapter supports for the package's unique keys. -#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{% macro duckdb__incremental_strategy() -%}
    {#- dbt-duckdb's merge needs DuckDB MERGE support per version; delete+insert works on all. -#}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro postgres__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {#- Open-source Spark without Delta / Iceberg / Hudi (parquet tables) has no MERGE, and dbt-spark
        accepts only append or insert_overwrite there. append: a first build (or --full-refresh) is
        exact, and a re-run over the lookback window adds duplicate rows that the package's
        unique_combination tests report; insert_overwrite without partitions would silently replace
        the whole table with the window. -#}
    {{ return('append') }}
{%- endmacro %}

{% macro databricks__incremental_strategy() -%}
    {#- Databricks tables are Delta: merge on the unique key. Explicit, because dispatch would
        otherwise fall back from databricks__ to spark__ (append). -#}
    {{ return('merge') }}
{%- endmacro %}

{#- replace_rows_strategy() -> a strategy that deletes every row whose (non-unique) key is in the new
    rows, then inserts them: a model whose incremental run recomputes whole days whose lines have no
    unique key of their own (int_databricks_cost_lines). -#}
{% macro replace_rows_strategy() -%}
    {{ return(adapter.dispatch('replace_rows_strategy', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__replace_rows_strategy() -%}
    {#- DuckDB, Postgres, Snowflake, Databricks (dbt-databricks 1.11+: REPLACE ON, or DELETE then INSERT). -#}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__replace_rows_strategy() -%}
    {#- Open-source Spark (parquet): see spark__incremental_strategy; first builds only. -#}
    {{ return('append') }}
{%- endmacro %}

{% macro databricks__replace_rows_strategy() -%}
    {#- Explicit, because dispatch would otherwise fall back from databricks__ to spark__ (append). -#}
    {{ return('delete+insert') }}
{%- endmacro %}
