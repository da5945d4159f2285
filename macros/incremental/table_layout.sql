{#
    Physical layout of the package's large tables, where the adapter has one.
    partition_by_day(column) -> BigQuery: daily partitions on a timestamp column (bounded, cheap
                                incremental reads); elsewhere none (dbt-duckdb's partition_by means
                                Hive-partitioned files, not a table property).
    cluster_by(columns)      -> BigQuery clustering columns; elsewhere none.
#}
{% macro partition_by_day(column) -%}
    {{ return(adapter.dispatch('partition_by_day', 'dbt_pipeline_costs')(column)) }}
{%- endmacro %}

{% macro default__partition_by_day(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro bigquery__partition_by_day(column) -%}
    {{ return({'field': column, 'data_type': 'timestamp', 'granularity': 'day'}) }}
{%- endmacro %}

{% macro cluster_by(columns) -%}
    {{ return(adapter.dispatch('cluster_by', 'dbt_pipeline_costs')(columns)) }}
{%- endmacro %}

{% macro default__cluster_by(columns) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro bigquery__cluster_by(columns) -%}
    {{ return(columns) }}
{%- endmacro %}
