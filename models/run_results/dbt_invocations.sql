{{ config(on_schema_change='append_new_columns') }}
{#-
    The package-owned table the on-run-end hook upload_run_results() appends to:
    one row per dbt invocation. dbt creates it empty (where 1 = 0) and, as an incremental
    model with full_refresh: false, never rebuilds it; columns added by a later package version
    are appended. Columns: run_results_columns('dbt_invocations'); types: run_results_column_type().
    The select reads from a one-row CTE because BigQuery rejects a WHERE without a FROM.
-#}
{%- set select_list = [] -%}
{%- for column, kind in dbt_pipeline_costs.run_results_columns('dbt_invocations') -%}
{%- do select_list.append('cast(null as ' ~ dbt_pipeline_costs.run_results_column_type(kind) ~ ') as ' ~ column) -%}
{%- endfor %}

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
