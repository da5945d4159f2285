{#
    run_results_columns(table) -> [(column, kind), ...] of the package-owned tables the on-run-end
    upload appends to: 'dbt_invocations' or 'dbt_node_results'. The one list the table models
    (their DDL), the uploader (column order of every row) and the docs follow.
    kind: string | integer | float | boolean | timestamp (UTC).
#}
{% macro run_results_columns(table) -%}
    {%- set columns = {
        'dbt_invocations': [
            ('invocation_id', 'string'),
            ('project_name', 'string'),
            ('command', 'string'),
            ('target_name', 'string'),
            ('adapter_type', 'string'),
            ('dbt_version', 'string'),
            ('package_version', 'string'),
            ('run_started_at', 'timestamp'),
            ('run_ended_at', 'timestamp'),
            ('elapsed_s', 'float'),
            ('is_full_refresh', 'boolean'),
            ('selectors', 'string'),
            ('orchestrator', 'string'),
            ('pipeline_id', 'string'),
            ('pipeline_run_id', 'string'),
            ('pipeline_task_id', 'string'),
            ('run_reason', 'string'),
            ('job_type', 'string'),
            ('node_result_count', 'integer'),
        ],
        'dbt_node_results': [
            ('invocation_id', 'string'),
            ('node_id', 'string'),
            ('resource_type', 'string'),
            ('package_name', 'string'),
            ('name', 'string'),
            ('original_file_path', 'string'),
            ('folder', 'string'),
            ('materialized', 'string'),
            ('tags', 'string'),
            ('first_tag', 'string'),
            ('status', 'string'),
            ('thread_id', 'string'),
            ('compile_started_at', 'timestamp'),
            ('compile_completed_at', 'timestamp'),
            ('execute_started_at', 'timestamp'),
            ('execute_completed_at', 'timestamp'),
            ('execution_time_s', 'float'),
            ('rows_affected', 'integer'),
            ('bytes_processed', 'integer'),
            ('bytes_billed', 'integer'),
            ('slot_ms', 'integer'),
            ('adapter_job_id', 'string'),
            ('adapter_query_id', 'string'),
            ('adapter_job_run_id', 'string'),
            ('adapter_project_id', 'string'),
            ('adapter_location', 'string'),
            ('adapter_code', 'string'),
            ('message', 'string'),
            ('message_truncated', 'boolean'),
            ('failures', 'integer'),
            ('freshness_config', 'string'),
            ('build_after_count', 'integer'),
            ('build_after_period', 'string'),
            ('build_after_updates_on', 'string'),
            ('state_config', 'string'),
            ('has_freshness_config', 'boolean'),
        ],
    } -%}
    {%- if table not in columns -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs: run_results_columns: unknown table '" ~ table ~ "'") }}
    {%- endif -%}
    {{ return(columns[table]) }}
{%- endmacro %}
