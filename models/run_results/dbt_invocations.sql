{{ config(on_schema_change='append_new_columns') }}
{#-
    The package-owned table the on-run-end hook upload_run_results() appends to:
    one row per dbt invocation. dbt creates it empty (where 1 = 0) and, as an incremental
    model with full_refresh: false, never rebuilds it; columns added by a later package version
    are appended. Columns: run_results_columns('dbt_invocations'); types: run_results_column_type().
-#}
{{ dbt_pipeline_costs.run_results_empty_table('dbt_invocations') }}
