{#
    unnest_join(array_expr, element) -> a FROM-clause fragment that joins each row to one row per
    element of its repeated column (BigQuery ARRAY<STRUCT<...>>, DuckDB STRUCT(...)[], Spark
    ARRAY<STRUCT<...>>), the element named `element` (its fields: element.field). Rows whose array is
    empty or NULL drop out (an inner join), as BigQuery's CROSS JOIN UNNEST does. The one place the
    package turns an array into rows; label_value (labels.sql) looks up one element instead.
#}
{% macro unnest_join(array_expr, element) -%}
    {{ return(adapter.dispatch('unnest_join', 'dbt_pipeline_costs')(array_expr, element)) }}
{%- endmacro %}

{% macro default__unnest_join(array_expr, element) -%}
    {#- DuckDB: unnest() is a table function; the element is its one column. -#}
    cross join unnest({{ array_expr }}) as {{ element }}_rows ({{ element }})
{%- endmacro %}

{% macro bigquery__unnest_join(array_expr, element) -%}
    cross join unnest({{ array_expr }}) as {{ element }}
{%- endmacro %}

{% macro spark__unnest_join(array_expr, element) -%}
    {#- Spark / Databricks: generators go in a LATERAL VIEW (right after the table they expand). -#}
    lateral view explode({{ array_expr }}) {{ element }}_rows as {{ element }}
{%- endmacro %}
