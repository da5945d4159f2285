{#
    sorted_string_agg(expression, delimiter) -> the non-null values of expression in a group,
    sorted ascending (binary string order) and joined by delimiter (a plain string): one
    deterministic text per group on every adapter.
#}
{% macro sorted_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'dbt_pipeline_costs')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, delimiter) -%}
    {{ dbt.listagg(expression, "'" ~ dbt.escape_single_quotes(delimiter) ~ "'", 'order by ' ~ expression) }}
{%- endmacro %}

{% macro spark__sorted_string_agg(expression, delimiter) -%}
    {#- Spark / Databricks: dbt.listagg ignores the order (collect_list has none; it only warns),
        so the collected values are sorted before they are joined. -#}
    array_join(array_sort(collect_list({{ expression }})), '{{ dbt.escape_single_quotes(delimiter) }}')
{%- endmacro %}
