{{
    config(
        materialized='incremental',
        unique_key=['platform', 'project_id', 'location', 'query_id'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=dbt_pipeline_costs.partition_by_day('created_at'),
        cluster_by=dbt_pipeline_costs.cluster_by(['platform', 'invocation_id']),
    )
}}
{#- One row per priced warehouse query (BigQuery job). Re-reads the lookback window on every run. -#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}

with

bigquery_jobs as (
    select * from {{ ref('int_bigquery_jobs_priced') }}
    where created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

final as (
    select * from bigquery_jobs
)

select * from final
