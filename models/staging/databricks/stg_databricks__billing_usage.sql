{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    One row per Databricks usage record (system.billing.usage), de-duplicated by record_id, with
    its compute classified and the nested metadata flattened (docs/cost-rules.md 10.1). Quantities
    are signed: RETRACTION and RESTATEMENT records net out when summed, so none is dropped.
    Bounded by usage_date, the table's partition column.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('usage_started_at') -%}
{%- set invocation_tag = var('dbt_pipeline_costs_databricks_invocation_tag') -%}
{%- set columns = [
    'record_id', 'account_id', 'workspace_id', 'cloud', 'sku_name', 'usage_unit', 'usage_started_at',
    'usage_ended_at', 'usage_date', 'usage_quantity', 'record_type', 'product', 'usage_type', 'compute_kind',
    'compute_id', 'warehouse_id', 'cluster_id', 'job_id', 'job_run_id', 'dlt_pipeline_id', 'notebook_id',
    'endpoint_id', 'is_serverless', 'is_photon', 'run_as', 'tagged_invocation_id', 'custom_tags', 'ingestion_date',
] -%}

with

source_usage as (
    select * from {{ source('databricks_system', 'billing_usage') }}
    where usage_date >= {{ dbt_pipeline_costs.date_literal(lower_bound) }}
),

flattened as (
    select
        source_usage.record_id,
        source_usage.account_id,
        source_usage.workspace_id,
        source_usage.cloud,
        source_usage.sku_name,
        source_usage.usage_unit,
        source_usage.usage_start_time as usage_started_at,
        source_usage.usage_end_time as usage_ended_at,
        source_usage.usage_date,
        cast(source_usage.usage_quantity as {{ dbt_pipeline_costs.usage_quantity_type() }}) as usage_quantity,
        upper(source_usage.record_type) as record_type,
        source_usage.billing_origin_product as product,
        source_usage.usage_type,
        source_usage.usage_metadata.warehouse_id as warehouse_id,
        source_usage.usage_metadata.cluster_id as cluster_id,
        source_usage.usage_metadata.job_id as job_id,
        source_usage.usage_metadata.job_run_id as job_run_id,
        source_usage.usage_metadata.dlt_pipeline_id as dlt_pipeline_id,
        source_usage.usage_metadata.notebook_id as notebook_id,
        source_usage.usage_metadata.endpoint_id as endpoint_id,
        source_usage.product_features.is_serverless as is_serverless,
        source_usage.product_features.is_photon as is_photon,
        source_usage.identity_metadata.run_as as run_as,
        {{ dbt_pipeline_costs.map_value('source_usage.custom_tags', invocation_tag) }} as tagged_invocation_id,
        source_usage.custom_tags,
        source_usage.ingestion_date
    from source_usage
),

classified as (
    select
        flattened.*,
        case
            when flattened.warehouse_id is not null then 'sql_warehouse'
            when flattened.job_run_id is not null then 'job_run'
            else 'other_compute'
        end as compute_kind,
        coalesce(
            flattened.warehouse_id,
            flattened.dlt_pipeline_id,
            flattened.cluster_id,
            flattened.notebook_id,
            flattened.endpoint_id
        ) as compute_id,
        row_number() over (
            partition by flattened.record_id
            order by flattened.ingestion_date desc nulls last, flattened.usage_started_at asc
        ) as duplicate_rank
    from flattened
),

final as (
    {#- An exact duplicate of a record counts once. #}
    select classified.{{ columns | join(',\n        classified.') }}
    from classified
    where classified.duplicate_rank = 1
)

select * from final
