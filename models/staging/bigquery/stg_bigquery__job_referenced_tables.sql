{{
    config(
        materialized='incremental',
        unique_key=[
            'project_id', 'location', 'job_id',
            'referenced_project_id', 'referenced_dataset_id', 'referenced_table_id',
        ],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=dbt_pipeline_costs.partition_by_day('created_at'),
        cluster_by=dbt_pipeline_costs.cluster_by(['project_id', 'job_id']),
        enabled=var('dbt_pipeline_costs_bigquery_enabled'),
    )
}}
{#-
    One row per dbt job x table it read (JOBS.referenced_tables): jobs with a dbt_invocation_id label
    and the children of such a job's script (children carry no labels of their own). Read from every
    configured project x region and bounded by creation_time exactly like stg_bigquery__jobs
    (docs/cost-rules.md sections 1 and 14); a job listed twice in the logs counts once.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}
{%- set jobs_source = source('bigquery_information_schema', 'jobs') %}

with

source_jobs as (
    {#- One select per project x region (bigquery_region_relations). Only labelled jobs and script
        children go further: a script's parent and children share script_key. #}
    {%- for read in dbt_pipeline_costs.bigquery_region_relations(jobs_source) %}
    select
        jobs.project_id,
        '{{ dbt.escape_single_quotes(read.region) }}' as location,
        jobs.job_id,
        coalesce(jobs.parent_job_id, jobs.job_id) as script_key,
        jobs.creation_time as created_at,
        {{ dbt_pipeline_costs.label_value('jobs.labels', 'dbt_invocation_id') }} is not null as is_labelled,
        jobs.referenced_tables
    from {{ read.relation }} as jobs
    where
        jobs.creation_time >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
        and (
            jobs.parent_job_id is not null
            or {{ dbt_pipeline_costs.label_value('jobs.labels', 'dbt_invocation_id') }} is not null
        )
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

dbt_jobs as (
    select
        source_jobs.project_id,
        source_jobs.location,
        source_jobs.job_id,
        source_jobs.created_at,
        source_jobs.referenced_tables,
        max(case when source_jobs.is_labelled then 1 else 0 end) over (
            partition by source_jobs.project_id, source_jobs.location, source_jobs.script_key
        ) as has_dbt_label
    from source_jobs
),

referenced as (
    select distinct
        dbt_jobs.project_id,
        dbt_jobs.location,
        dbt_jobs.job_id,
        dbt_jobs.created_at,
        referenced_table.project_id as referenced_project_id,
        referenced_table.dataset_id as referenced_dataset_id,
        referenced_table.table_id as referenced_table_id
    from dbt_jobs
    {{ dbt_pipeline_costs.unnest_join('dbt_jobs.referenced_tables', 'referenced_table') }}
    where dbt_jobs.has_dbt_label = 1
),

final as (
    select * from referenced
)

select * from final
