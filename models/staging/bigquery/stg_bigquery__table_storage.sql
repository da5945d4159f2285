{{ config(enabled=var('dbt_pipeline_costs_bigquery_enabled')) }}
{#-
    One row per row of INFORMATION_SCHEMA.TABLE_STORAGE of every configured project x region: a table
    or materialized view, or a deleted table whose bytes are still retained (time travel, fail-safe).
    A table dropped and created again under the same name is two rows (two creation times). Byte
    counts NULL in the view count 0. Rules: docs/cost-rules.md section 11.
-#}
{%- set storage_source = source('bigquery_information_schema', 'table_storage') -%}
{%- set byte_columns = [
    'total_logical_bytes', 'active_logical_bytes', 'long_term_logical_bytes', 'current_physical_bytes',
    'total_physical_bytes', 'active_physical_bytes', 'long_term_physical_bytes', 'time_travel_physical_bytes',
    'fail_safe_physical_bytes',
] %}

with

source_storage as (
    {#- One select per project x region (bigquery_region_relations): a snapshot view, no partition to bound. #}
    {%- for read in dbt_pipeline_costs.bigquery_region_relations(storage_source) %}
    select
        storage.project_id,
        '{{ dbt.escape_single_quotes(read.region) }}' as location,
        storage.table_schema as dataset_id,
        storage.table_name as table_id,
        storage.table_type,
        coalesce(storage.deleted, false) as is_deleted,
        storage.creation_time as created_at,
        storage.storage_last_modified_time as storage_last_modified_at,
        cast(storage.total_rows as {{ dbt.type_bigint() }}) as total_rows,
        cast(storage.total_partitions as {{ dbt.type_bigint() }}) as total_partitions,
        {%- for column in byte_columns %}
        cast(coalesce(storage.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ read.relation }} as storage
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select * from source_storage
)

select * from final
