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
{#- One row per priced warehouse query: BigQuery jobs and Databricks statements, each platform
    when enabled. Re-reads the lookback window on every run. Columns a platform does not have are
    NULL (BigQuery: work_ms, usage_quantity; Databricks: bytes_billed, slot_ms, reservation ...). -#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}
{%- set platforms = {} -%}
{%- if var('dbt_pipeline_costs_bigquery_enabled') -%}
    {%- do platforms.update({'bigquery': ref('int_bigquery_jobs_priced')}) -%}
{%- endif -%}
{%- if var('dbt_pipeline_costs_databricks_enabled') -%}
    {%- do platforms.update({'databricks': ref('int_databricks_statements_priced')}) -%}
{%- endif -%}
{%- set columns = [
    'platform', 'project_id', 'location', 'query_id', 'parent_job_id', 'job_type', 'statement_type', 'user_email',
    'created_at', 'started_at', 'ended_at', 'cost_date', 'duration_ms',
] + (dbt_pipeline_costs.query_comment_columns().values() | list) + [
    'is_dbt', 'attribution', 'attribution_source', 'pricing_model', 'reservation_id', 'edition', 'is_cache_hit',
    'is_billable', 'error_reason', 'has_missing_usage', 'bytes_processed', 'bytes_billed', 'slot_ms',
    'destination_project_id', 'destination_dataset_id', 'destination_table_id', 'query_hash', 'cost', 'currency',
] -%}
{#- Databricks-only columns, NULL on BigQuery rows. -#}
{%- set databricks_columns = {'work_ms': dbt.type_bigint(), 'usage_quantity': dbt_pipeline_costs.usage_quantity_type()} -%}

with

{% for platform in platforms %}
{{ platform }}_queries as (
    select
        {%- for column in columns %}
        priced.{{ column }},
        {%- endfor %}
        {%- for column, type in databricks_columns.items() %}
        {% if platform == 'databricks' %}priced.{{ column }}{% else %}cast(null as {{ type }}) as {{ column }}{% endif %}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ platforms[platform] }} as priced
    where priced.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

{% endfor %}
final as (
    {%- for platform in platforms %}
    select * from {{ platform }}_queries
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: no platform enabled: set dbt_pipeline_costs_bigquery_enabled or dbt_pipeline_costs_databricks_enabled to true"
    ) }}
    {%- endfor %}
)

select * from final
