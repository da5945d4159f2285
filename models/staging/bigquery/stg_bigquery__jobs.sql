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
    One row per BigQuery job of every configured project x region, with the dbt context parsed
    back from the package's query comment (labels as fallback; script children inherit their
    parent's). Rules: docs/cost-rules.md sections 1, 2 and 4.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}
{%- set jobs_source = source('bigquery_information_schema', 'jobs') -%}
{%- set projects = var('dbt_pipeline_costs_bigquery_projects') or [jobs_source.database] -%}
{%- set comment_pattern = '/\\*\\s*(\\{"app": ?"dbt_pipeline_costs".*?\\})\\s*\\*/' -%}
{#- Query comment key -> column. -#}
{%- set context_columns = {
    'invocation_id': 'invocation_id', 'node_id': 'node_id', 'resource_type': 'resource_type',
    'package': 'node_package', 'project': 'dbt_project', 'target': 'dbt_target', 'command': 'dbt_command',
    'run_started_at': 'run_started_at', 'orchestrator': 'orchestrator', 'pipeline_id': 'pipeline_id',
    'pipeline_run_id': 'pipeline_run_id', 'pipeline_task_id': 'pipeline_task_id', 'run_reason': 'run_reason',
} -%}

with

source_jobs as (
    {%- for project in projects %}
    {%- for region in var('dbt_pipeline_costs_bigquery_regions') %}
    {%- set relation = jobs_source.incorporate(path={
            'database': project,
            'schema': var('dbt_pipeline_costs_bigquery_schema_prefix') ~ region,
        }) %}
    select
        jobs.project_id,
        '{{ region | lower }}' as location,
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
    from {{ relation }} as jobs
    where jobs.creation_time >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked as (
    select
        source_jobs.*,
        row_number() over (
            partition by source_jobs.project_id, source_jobs.location, source_jobs.job_id
            order by source_jobs.ended_at desc nulls last
        ) as duplicate_rank
    from source_jobs
),

labelled as (
    select
        ranked.*,
        {{ dbt_pipeline_costs.label_value('ranked.labels', 'dbt_invocation_id') }} as label_dbt_invocation_id
    from ranked
    where ranked.duplicate_rank = 1
),

commented as (
    {#- Parsing text is the hot path: only jobs dbt labelled are searched for the comment. -#}
    select
        labelled.*,
        case
            when labelled.label_dbt_invocation_id is not null
                then {{ dbt_pipeline_costs.json_if_valid(
                    dbt_pipeline_costs.regexp_first_group('labelled.query', comment_pattern)) }}
        end as comment_json
    from labelled
),

own_context as (
    select
        commented.project_id,
        commented.location,
        commented.job_id,
        commented.parent_job_id,
        commented.user_email,
        commented.job_type,
        commented.statement_type,
        commented.state,
        commented.priority,
        commented.created_at,
        commented.started_at,
        commented.ended_at,
        commented.reservation_id,
        commented.edition,
        commented.cache_hit,
        commented.bytes_processed,
        commented.bytes_billed,
        commented.slot_ms,
        commented.error_reason,
        commented.destination_project_id,
        commented.destination_dataset_id,
        commented.destination_table_id,
        commented.query_hash,
        case
            when commented.comment_json is not null then 'comment'
            when commented.label_dbt_invocation_id is not null then 'label'
            else 'none'
        end as attribution_source,
        {%- for field, column in context_columns.items() %}
        {%- set from_label = dbt_pipeline_costs.label_value('commented.labels', field) %}
        {%- if field == 'invocation_id' %}
        {%- set from_label = 'coalesce(' ~ from_label ~ ', commented.label_dbt_invocation_id)' %}
        {%- elif field == 'run_started_at' %}
        {#- A sanitised label (2026-11-01t02_07_11_...) is no longer a timestamp. -#}
        {%- set from_label = 'cast(null as ' ~ dbt.type_string() ~ ')' %}
        {%- endif %}
        case
            when commented.comment_json is not null
                then {{ dbt_pipeline_costs.json_string_field('commented.comment_json', field) }}
            when commented.label_dbt_invocation_id is not null
                then {{ from_label }}
        end as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from commented
),

script_parents as (
    {#- A child can start just after the bound while its parent began before it: parents already
        loaded are looked up one day further back. -#}
    select
        own_context.project_id,
        own_context.location,
        own_context.job_id,
        own_context.attribution_source,
        own_context.{{ context_columns.values() | join(', own_context.') }}
    from own_context
    where own_context.statement_type = 'SCRIPT'
    {%- if is_incremental() %}
    union all
    select
        loaded.project_id,
        loaded.location,
        loaded.job_id,
        loaded.attribution_source,
        loaded.{{ context_columns.values() | join(', loaded.') }}
    from {{ this }} as loaded
    where
        loaded.is_script_parent
        and loaded.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound - modules.datetime.timedelta(days=1)) }}
        and loaded.created_at < {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
    {%- endif %}
),

final as (
    select
        own_context.project_id,
        own_context.location,
        own_context.job_id,
        own_context.parent_job_id,
        coalesce(own_context.statement_type = 'SCRIPT', false) as is_script_parent,
        own_context.parent_job_id is not null as is_script_child,
        own_context.parent_job_id is not null and script_parents.job_id is null as is_parent_missing,
        own_context.user_email,
        own_context.job_type,
        own_context.statement_type,
        own_context.state,
        own_context.priority,
        own_context.created_at,
        own_context.started_at,
        own_context.ended_at,
        own_context.reservation_id,
        own_context.edition,
        own_context.cache_hit,
        own_context.bytes_processed,
        own_context.bytes_billed,
        own_context.slot_ms,
        own_context.error_reason,
        own_context.destination_project_id,
        own_context.destination_dataset_id,
        own_context.destination_table_id,
        own_context.query_hash,
        case
            when own_context.parent_job_id is null then own_context.attribution_source
            when script_parents.invocation_id is not null then 'script_parent'
            else 'none'
        end as attribution_source,
        {%- for column in context_columns.values() %}
        {%- if column == 'run_started_at' %}
        {{ dbt_pipeline_costs.try_cast_timestamp(
            'case when own_context.parent_job_id is null then own_context.run_started_at else script_parents.run_started_at end'
        ) }} as run_started_at,
        {%- else %}
        case
            when own_context.parent_job_id is null then own_context.{{ column }}
            else script_parents.{{ column }}
        end as {{ column }}{% if not loop.last %},{% endif %}
        {%- endif %}
        {%- endfor %}
    from own_context
    left join script_parents
        on
            own_context.parent_job_id = script_parents.job_id
            and own_context.project_id = script_parents.project_id
            and own_context.location = script_parents.location
)

select * from final
