{#
    label_value(labels, key) -> the value of one key in a repeated key/value record
    (BigQuery ARRAY<STRUCT<key STRING, value STRING>>; DuckDB STRUCT(key, value)[]), or NULL.
#}
{% macro label_value(labels, key) -%}
    {{ return(adapter.dispatch('label_value', 'dbt_pipeline_costs')(labels, key)) }}
{%- endmacro %}

{% macro default__label_value(labels, key) -%}
    {#- DuckDB: filter the list with a lambda (DuckDB 2.0 syntax), take the first match (1-based). -#}
    list_filter({{ labels }}, lambda label: label.key = '{{ key }}')[1].value
{%- endmacro %}

{% macro bigquery__label_value(labels, key) -%}
    (select any_value(label.value) from unnest({{ labels }}) as label where label.key = '{{ key }}')
{%- endmacro %}

{% macro spark__label_value(labels, key) -%}
    element_at(filter({{ labels }}, label -> label.key = '{{ key }}'), 1).value
{%- endmacro %}
