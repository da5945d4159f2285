{#
    map_value(map_column, key) -> the value of one key of a MAP<STRING, STRING> column, or NULL.
    DuckDB (1.1+) and Spark both index a map with [key] and return the value itself.
#}
{% macro map_value(map_column, key) -%}
    {{ return(adapter.dispatch('map_value', 'dbt_pipeline_costs')(map_column, key)) }}
{%- endmacro %}

{% macro default__map_value(map_column, key) -%}
    {{ map_column }}['{{ dbt.escape_single_quotes(key) }}']
{%- endmacro %}

{#
    struct_field(struct_expression, field) -> a STRUCT's field whose name is a reserved word
    (system.billing.list_prices names its price `default`): quoted in the adapter's spelling.
#}
{% macro struct_field(struct_expression, field) -%}
    {{ struct_expression }}.{{ adapter.quote(field) }}
{%- endmacro %}
