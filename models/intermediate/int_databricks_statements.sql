{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    Every finished Databricks statement (FINISHED, FAILED, CANCELED) with its dbt context and
    attribution class (docs/cost-rules.md 10.3). The first source that names a node wins: the
    package's query comment, then the query tags, then the node result whose adapter_response
    query_id is the statement; with no node anywhere, the first that names an invocation.
-#}
{%- set context_columns = dbt_pipeline_costs.query_comment_columns().values() | list -%}
{%- set statement_columns = [
    'statement_id', 'workspace_id', 'compute_type', 'warehouse_id', 'cluster_id', 'executed_by', 'statement_type',
    'execution_status', 'started_at', 'ended_at', 'work_ms', 'read_bytes', 'written_bytes', 'from_result_cache',
    'attribution_source',
] -%}
{#- Context columns the query tags can give (the others are NULL for a tag-attributed statement). -#}
{%- set tag_columns = {
    'invocation_id': 'tag_invocation_id', 'node_id': 'tag_node_id',
    'pipeline_id': 'tag_pipeline_id', 'pipeline_run_id': 'tag_pipeline_run_id',
} -%}
{#- Where each context column comes from when a node result reported the statement. -#}
{%- set result_columns = dbt_pipeline_costs.result_context_columns() -%}

with

statements as (
    select * from {{ ref('stg_databricks__query_history') }}
    where execution_status in ('FINISHED', 'FAILED', 'CANCELED') and ended_at is not null
),

result_statements as (
    {#- One node result per reported statement id. #}
    {{ dbt_pipeline_costs.latest_reported_results('adapter_query_id') }}
),

sourced as (
    select
        statements.*,
        {%- for column in result_columns.values() | unique %}
        results.{{ column }} as result_{{ column }},
        {%- endfor %}
        case
            when statements.node_id is not null then 'comment'
            when statements.tag_node_id is not null then 'query_tags'
            when results.adapter_query_id is not null then 'adapter_response'
            when statements.invocation_id is not null then 'comment'
            when statements.tag_invocation_id is not null then 'query_tags'
            else 'none'
        end as attribution_source
    from statements
    left join result_statements as results on statements.statement_id = results.adapter_query_id
),

resolved as (
    select
        {%- for column in statement_columns %}
        sourced.{{ column }},
        {%- endfor %}
        {%- for column in context_columns %}
        case sourced.attribution_source
            when 'comment' then sourced.{{ column }}
            {%- if column in tag_columns %}
            when 'query_tags' then sourced.{{ tag_columns[column] }}
            {%- endif %}
            when 'adapter_response' then sourced.result_{{ result_columns[column] }}
        end as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from sourced
),

final as (
    select
        {%- for column in statement_columns + context_columns if column not in ['pipeline_id', 'pipeline_run_id'] %}
        resolved.{{ column }},
        {%- endfor %}
        {#- As on BigQuery (section 4): a dbt statement without a pipeline is in "(unknown pipeline)". -#}
        case when resolved.invocation_id is not null then coalesce(resolved.pipeline_id, '(unknown pipeline)') end
            as pipeline_id,
        case when resolved.invocation_id is not null then coalesce(resolved.pipeline_run_id, resolved.invocation_id) end
            as pipeline_run_id,
        case
            when resolved.invocation_id is null then 'not_dbt'
            when resolved.node_id is null then 'dbt_without_node'
            else 'attributed'
        end as attribution,
        case resolved.execution_status when 'FAILED' then 'failed' when 'CANCELED' then 'canceled' end as error_reason,
        {{ dbt_pipeline_costs.milliseconds_between('resolved.started_at', 'resolved.ended_at') }} as duration_ms
    from resolved
)

select * from final
