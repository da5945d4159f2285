{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    One row per Databricks statement (system.query.history), the latest version of each, with the
    dbt context of the package's query comment in statement_text and of its query tags
    (docs/cost-rules.md 10.3). Which of them (or a node result) wins is decided in
    int_databricks_statements. Bounded by start_time on every read.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('started_at') -%}
{%- set history = source('databricks_system', 'query_history') -%}
{%- set history = history.incorporate(path={'schema': var('dbt_pipeline_costs_databricks_query_schema')}) -%}
{%- set context_columns = dbt_pipeline_costs.query_comment_columns() -%}
{%- set tag_columns = {
    'dbt_invocation_id': 'tag_invocation_id', 'dbt_node_id': 'tag_node_id',
    'dbt_pipeline_id': 'tag_pipeline_id', 'dbt_pipeline_run_id': 'tag_pipeline_run_id',
} -%}
{%- set statement_columns = [
    'statement_id', 'account_id', 'workspace_id', 'session_id', 'execution_status', 'compute_type',
    'warehouse_id', 'cluster_id', 'executed_by', 'statement_type', 'client_application', 'started_at',
    'ended_at', 'updated_at', 'total_duration_ms', 'compilation_duration_ms', 'execution_duration_ms',
    'total_task_duration_ms', 'result_fetch_duration_ms', 'work_ms', 'read_bytes', 'read_rows',
    'produced_rows', 'written_bytes', 'from_result_cache', 'source_job_id', 'source_job_run_id',
] + (tag_columns.values() | list) -%}

with

source_statements as (
    select
        history.statement_id,
        history.account_id,
        history.workspace_id,
        history.session_id,
        upper(history.execution_status) as execution_status,
        upper(history.compute.type) as compute_type,
        history.compute.warehouse_id as warehouse_id,
        history.compute.cluster_id as cluster_id,
        history.executed_by,
        history.statement_type,
        history.client_application,
        history.start_time as started_at,
        history.end_time as ended_at,
        history.update_time as updated_at,
        history.total_duration_ms,
        history.compilation_duration_ms,
        history.execution_duration_ms,
        history.total_task_duration_ms,
        history.result_fetch_duration_ms,
        coalesce(history.total_task_duration_ms, 0)
        + coalesce(history.compilation_duration_ms, 0)
        + coalesce(history.result_fetch_duration_ms, 0) as work_ms,
        history.read_bytes,
        history.read_rows,
        history.produced_rows,
        history.written_bytes,
        history.from_result_cache,
        history.query_source.job_info.job_id as source_job_id,
        history.query_source.job_info.job_run_id as source_job_run_id,
        {%- for tag, column in tag_columns.items() %}
        {{ dbt_pipeline_costs.map_value('history.query_tags', tag) }} as {{ column }},
        {%- endfor %}
        {{ dbt_pipeline_costs.query_comment_json('history.statement_text') }} as comment_text
    from {{ history }} as history
    where history.start_time >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

ranked as (
    select
        source_statements.*,
        row_number() over (
            partition by source_statements.statement_id
            order by source_statements.updated_at desc nulls last, source_statements.ended_at desc nulls last
        ) as version_rank
    from source_statements
),

latest as (
    select
        {%- for column in statement_columns %}
        ranked.{{ column }},
        {%- endfor %}
        {{ dbt_pipeline_costs.json_if_valid('ranked.comment_text') }} as comment_json
    from ranked
    where ranked.version_rank = 1
),

parsed as (
    select
        latest.*,
        {{ dbt_pipeline_costs.json_to_string_struct('latest.comment_json', context_columns.keys() | list) }} as comment
    from latest
),

final as (
    select
        {%- for column in statement_columns %}
        parsed.{{ column }},
        {%- endfor %}
        parsed.comment_json is not null as has_comment,
        {%- for field, column in context_columns.items() %}
        {%- set value = 'parsed.comment.' ~ field %}
        {{ dbt_pipeline_costs.try_cast_timestamp(value) if field == 'run_started_at' else value }} as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from parsed
)

select * from final
