{{ config(enabled=var('dbt_pipeline_costs_bigquery_enabled')) }}
{#-
    One row per BigQuery dataset (project x location x dataset) in TABLE_STORAGE: its tables' monthly
    storage cost under logical and physical billing, the model it is billed on, the cheaper model and
    what switching to it saves (docs/cost-rules.md section 11).
-#}
{%- set summed = [
    'total_logical_bytes', 'active_logical_bytes', 'long_term_logical_bytes', 'current_physical_bytes',
    'total_physical_bytes', 'active_physical_bytes', 'long_term_physical_bytes', 'time_travel_physical_bytes',
    'fail_safe_physical_bytes',
] %}

with

tables as (
    select * from {{ ref('storage_costs') }}
),

datasets as (
    select
        tables.project_id,
        tables.location,
        tables.dataset_id,
        min(tables.billing_model) as billing_model,
        cast(count(*) as {{ dbt.type_bigint() }}) as table_count,
        {{ dbt_pipeline_costs.count_where('tables.is_deleted') }} as deleted_table_count,
        {{ dbt_pipeline_costs.count_where('tables.node_id is not null') }} as dbt_table_count,
        {%- for column in summed %}
        cast(sum(tables.{{ column }}) as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        sum(tables.monthly_logical_cost) as monthly_logical_cost,
        sum(tables.monthly_physical_cost) as monthly_physical_cost,
        sum(tables.monthly_time_travel_fail_safe_cost) as monthly_time_travel_fail_safe_cost,
        sum(tables.monthly_cost) as monthly_cost,
        min(tables.currency) as currency
    from tables
    group by tables.project_id, tables.location, tables.dataset_id
),

compared as (
    select
        datasets.*,
        case
            when datasets.monthly_physical_cost < datasets.monthly_logical_cost then 'PHYSICAL'
            when datasets.monthly_logical_cost < datasets.monthly_physical_cost then 'LOGICAL'
            else datasets.billing_model
        end as cheaper_billing_model
    from datasets
),

final as (
    select
        compared.project_id,
        compared.location,
        compared.dataset_id,
        compared.billing_model,
        compared.table_count,
        compared.deleted_table_count,
        compared.dbt_table_count,
        {%- for column in summed %}
        compared.{{ column }},
        {%- endfor %}
        {{ dbt_pipeline_costs.ratio('compared.total_logical_bytes', 'compared.current_physical_bytes') }}
            as compression_ratio,
        compared.monthly_logical_cost,
        compared.monthly_physical_cost,
        compared.monthly_time_travel_fail_safe_cost,
        compared.monthly_cost,
        compared.cheaper_billing_model,
        {{ dbt_pipeline_costs.money(
            'compared.monthly_cost - case when compared.cheaper_billing_model = \'PHYSICAL\''
            ~ ' then compared.monthly_physical_cost else compared.monthly_logical_cost end'
        ) }} as monthly_saving,
        compared.currency
    from compared
)

select * from final
