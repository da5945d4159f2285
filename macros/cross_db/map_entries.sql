{#
    map_entries(map_column) -> the entries of a MAP<STRING, STRING> column (Databricks custom_tags,
    query_tags) as an array of STRUCT(key, value), the shape unnest_join turns into rows (BigQuery's
    labels already have it). DuckDB and Spark / Databricks both spell it map_entries; BigQuery has no
    MAP type, so nothing calls it there.
#}
{% macro map_entries(map_column) -%}
    {{ return(adapter.dispatch('map_entries', 'dbt_pipeline_costs')(map_column)) }}
{%- endmacro %}

{% macro default__map_entries(map_column) -%}
    map_entries({{ map_column }})
{%- endmacro %}
