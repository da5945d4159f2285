{{
    config(
        materialized='incremental',
        unique_key=['project_id', 'location', 'job_id'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=dbt_pipeline_costs.partition_by_day('created_at'),
        cluster_by=dbt_pipeline_costs.cluster_by(['project_id', 'invocation_id']),
        enabled=var('dbt_pipeline_costs_bigquery_enabled'),
    )
}}
{#-
    One row per BigQuery job of every configured project x region, de-duplicated, with the dbt
    context parsed back from the package's query comment (labels as fallback). Script children
    carry no context of their own: int_bigquery_jobs_priced gives them their parent's.
    Rules: docs/cost-rules.md sections 1 and 4.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}
{%- set jobs_source = source('bigquery_information_schema', 'jobs') -%}
{#- Columns carried from the job log unchanged (after renaming in source_jobs). -#}
{%- set job_columns = [
    'project_id', 'location', 'job_id', 'parent_job_id', 'user_email', 'job_type', 'statement_type', 'state',
    'priority', 'created_at', 'started_at', 'ended_at', 'reservation_id', 'edition', 'cache_hit',
    'bytes_processed', 'bytes_billed', 'slot_ms', 'error_reason', 'destination_project_id',
    'destination_dataset_id', 'destination_table_id', 'query_hash',
] -%}
{%- set context_columns = dbt_pipeline_costs.query_comment_columns() -%}
{%- set own_context_columns = job_columns + ['attribution_source'] + (context_columns.values() | list) -%}

with

source_jobs as (
    {#- One select per project x region (bigquery_region_relations). #}
    {%- for read in dbt_pipeline_costs.bigquery_region_relations(jobs_source) %}
    select
        jobs.project_id,
        '{{ dbt.escape_single_quotes(read.region) }}' as location,
        jobs.job_id,
        jobs.parent_job_id,
        jobs.user_email,
        jobs.job_type,
        jobs.statement_type,
        jobs.state,
        jobs.priority,
        jobs.creation_time as created_at,
        jobs.start_time as started_at,
        jobs.end_time as ended_at,
        jobs.reservation_id,
        jobs.edition,
        jobs.cache_hit,
        jobs.total_bytes_processed as bytes_processed,
        jobs.total_bytes_billed as bytes_billed,
        jobs.total_slot_ms as slot_ms,
        jobs.error_result.reason as error_reason,
        jobs.destination_table.project_id as destination_project_id,
        jobs.destination_table.dataset_id as destination_dataset_id,
        jobs.destination_table.table_id as destination_table_id,
        jobs.query_info.query_hashes.normalized_literals as query_hash,
        jobs.labels,
        jobs.query
    from {{ read.relation }} as jobs
    where jobs.creation_time >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

dbt_labelled as (
    select
        source_jobs.*,
        {{ dbt_pipeline_costs.label_value('source_jobs.labels', 'dbt_invocation_id') }} as label_dbt_invocation_id
    from source_jobs
),

labelled as (
    {#- Parsing text is the hot path: only jobs dbt labelled are searched for the comment, and
        the long query text and labels go no further than this step. -#}
    select
        {%- for column in job_columns %}
        dbt_labelled.{{ column }},
        {%- endfor %}
        dbt_labelled.label_dbt_invocation_id,
        case when dbt_labelled.label_dbt_invocation_id is not null then dbt_labelled.labels end as dbt_labels,
        case
            when dbt_labelled.label_dbt_invocation_id is not null
                then {{ dbt_pipeline_costs.query_comment_json('dbt_labelled.query') }}
        end as comment_text
    from dbt_labelled
),

commented as (
    select
        {%- for column in job_columns + ['label_dbt_invocation_id', 'dbt_labels'] %}
        labelled.{{ column }},
        {%- endfor %}
        {{ dbt_pipeline_costs.json_if_valid('labelled.comment_text') }} as comment_json
    from labelled
),

parsed as (
    select
        commented.*,
        {{ dbt_pipeline_costs.json_to_string_struct(
            'commented.comment_json', context_columns.keys() | list
        ) }} as comment
    from commented
),

own_context as (
    select
        {%- for column in job_columns %}
        parsed.{{ column }},
        {%- endfor %}
        case
            when parsed.comment_json is not null then 'comment'
            when parsed.label_dbt_invocation_id is not null then 'label'
            else 'none'
        end as attribution_source,
        {%- for field, column in context_columns.items() %}
        {%- set from_label = dbt_pipeline_costs.label_value('parsed.dbt_labels', field) %}
        {%- if field == 'invocation_id' %}
        {%- set from_label = 'coalesce(' ~ from_label ~ ', parsed.label_dbt_invocation_id)' %}
        {%- elif field == 'run_started_at' %}
        {#- A sanitised label (2026-11-01t02_07_11_...) is no longer a timestamp. -#}
        {%- set from_label = 'cast(null as ' ~ dbt.type_string() ~ ')' %}
        {%- endif %}
        {%- set value %}
        case
            when parsed.comment_json is not null then parsed.comment.{{ field }}
            when parsed.label_dbt_invocation_id is not null then {{ from_label }}
        end
        {%- endset %}
        {{ dbt_pipeline_costs.try_cast_timestamp(value) if field == 'run_started_at' else value }} as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from parsed
),

deduplicated as (
    {#- Exact duplicate rows count once; of two versions of a job, the finished one wins. -#}
    select
        {%- for column in own_context_columns %}
        ranked.{{ column }},
        {%- endfor %}
        coalesce(ranked.statement_type = 'SCRIPT', false) as is_script_parent,
        ranked.parent_job_id is not null as is_script_child
    from (
        select
            own_context.*,
            row_number() over (
                partition by own_context.project_id, own_context.location, own_context.job_id
                order by own_context.ended_at desc nulls last
            ) as duplicate_rank
        from own_context
    ) as ranked
    where ranked.duplicate_rank = 1
),

final as (
    select * from deduplicated
)

select * from final
