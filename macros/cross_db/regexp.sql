{#
    regexp_first_group(text, pattern) -> the first capture group of the first match, or NULL when
    nothing matches (DuckDB returns '' there, BigQuery NULL: normalised to NULL).
    The pattern is RE2 syntax and must not contain a single quote.
#}
{% macro regexp_first_group(text, pattern) -%}
    {{ return(adapter.dispatch('regexp_first_group', 'dbt_pipeline_costs')(text, pattern)) }}
{%- endmacro %}

{% macro default__regexp_first_group(text, pattern) -%}
    nullif(regexp_extract({{ text }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{% macro bigquery__regexp_first_group(text, pattern) -%}
    {#- BigQuery: raw string so backslashes reach RE2 unchanged; the group is implicit. -#}
    regexp_extract({{ text }}, r'{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_first_group(text, pattern) -%}
    {#- Spark string literals unescape backslashes: double them. -#}
    nullif(regexp_extract({{ text }}, '{{ pattern | replace("\\", "\\\\") }}', 1), '')
{%- endmacro %}
