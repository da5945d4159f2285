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

{#
    run_results_empty_table(table) -> the select the two upload table models are built from: every
    column of run_results_columns(table) as a typed NULL, no rows. It reads from a one-row CTE
    because BigQuery rejects a WHERE without a FROM.
#}
{% macro run_results_empty_table(table) -%}
    {%- set select_list = [] -%}
    {%- for column, kind in dbt_pipeline_costs.run_results_columns(table) -%}
        {%- do select_list.append('cast(null as ' ~ dbt_pipeline_costs.run_results_column_type(kind) ~ ') as ' ~ column) -%}
    {%- endfor -%}
with

one_row as (
    select 1 as placeholder
),

final as (
    select
        {{ select_list | join(',\n        ') }}
    from one_row
    where 1 = 0
)

select * from final
{%- endmacro %}
