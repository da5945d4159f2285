{#
    run_results_column_type(kind) -> the SQL type of a run_results_columns() kind:
    string | integer | float | boolean | timestamp. The table models (their DDL) and the upload
    (its casts) both use it, so the two cannot disagree.
#}
{% macro run_results_column_type(kind) -%}
    {{ return(adapter.dispatch('run_results_column_type', 'dbt_pipeline_costs')(kind)) }}
{%- endmacro %}

{% macro default__run_results_column_type(kind) -%}
    {%- if kind == 'string' -%}
        {{ return(dbt.type_string()) }}
    {%- elif kind == 'integer' -%}
        {{ return(dbt.type_bigint()) }}
    {%- elif kind == 'float' -%}
        {{ return(dbt.type_float()) }}
    {%- elif kind == 'boolean' -%}
        {{ return(dbt.type_boolean()) }}
    {%- elif kind == 'timestamp' -%}
        {{ return(dbt_pipeline_costs.timestamp_type()) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs: run_results_column_type: unknown kind '" ~ kind ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__run_results_column_type(kind) -%}
    {#- DuckDB: dbt.type_float() is `float`, a 4-byte REAL there; seconds must round-trip exactly. -#}
    {{ return('double' if kind == 'float' else dbt_pipeline_costs.default__run_results_column_type(kind)) }}
{%- endmacro %}

{% macro spark__run_results_column_type(kind) -%}
    {#- Spark: dbt.type_float() is `float`, a 4-byte FLOAT there; seconds must round-trip exactly. -#}
    {{ return('double' if kind == 'float' else dbt_pipeline_costs.default__run_results_column_type(kind)) }}
{%- endmacro %}
