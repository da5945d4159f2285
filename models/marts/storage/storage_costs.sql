{{ config(enabled=var('dbt_pipeline_costs_bigquery_enabled')) }}
{#-
    One row per BigQuery table (project x location x dataset x table) in TABLE_STORAGE: its bytes,
    what a month of them costs under logical and under physical billing, the billing model its
    dataset is on, and the dbt node that builds it (docs/cost-rules.md section 11).
-#}
{%- set prices = dbt_pipeline_costs.bigquery_storage_prices() -%}
{#- Logical bytes of a deleted version are not billed (its data is time travel / fail-safe). -#}
{%- set live_columns = ['total_logical_bytes', 'active_logical_bytes', 'long_term_logical_bytes'] -%}
{%- set all_versions_columns = [
    'current_physical_bytes', 'total_physical_bytes', 'active_physical_bytes', 'long_term_physical_bytes',
    'time_travel_physical_bytes', 'fail_safe_physical_bytes',
] %}

with

storage as (
    select * from {{ ref('stg_bigquery__table_storage') }}
),

dbt_jobs as (
    {#- Jobs of dbt invocations that name a destination table. #}
    select * from {{ ref('query_costs') }}
    where
        platform = 'bigquery'
        and is_dbt
        and destination_table_id is not null
),

graph_nodes as (
    select * from {{ ref('stg_dbt__nodes') }}
    where resource_type in ('model', 'seed', 'snapshot')
),

versions as (
    {#- The current version of a table: the live one, else the latest created. #}
    select
        storage.*,
        row_number() over (
            partition by storage.project_id, storage.location, storage.dataset_id, storage.table_id
            order by case when storage.is_deleted then 1 else 0 end, storage.created_at desc
        ) as version_rank
    from storage
),

tables as (
    select
        versions.project_id,
        versions.location,
        versions.dataset_id,
        versions.table_id,
        max(case when versions.version_rank = 1 then versions.table_type end) as table_type,
        min(case when versions.is_deleted then 1 else 0 end) = 1 as is_deleted,
        cast(count(*) as {{ dbt.type_bigint() }}) as version_count,
        max(case when versions.version_rank = 1 then versions.created_at end) as created_at,
        max(case when versions.version_rank = 1 then versions.storage_last_modified_at end)
            as storage_last_modified_at,
        max(case when versions.version_rank = 1 then versions.total_rows end) as total_rows,
        {%- for column in live_columns %}
        cast(sum(case when versions.is_deleted then 0 else versions.{{ column }} end) as {{ dbt.type_bigint() }})
            as {{ column }},
        {%- endfor %}
        {%- for column in all_versions_columns %}
        cast(sum(versions.{{ column }}) as {{ dbt.type_bigint() }}) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from versions
    group by versions.project_id, versions.location, versions.dataset_id, versions.table_id
),

job_nodes as (
    {#- The latest successful dbt job that wrote the table names its node; a node id read from a
        label (lossy) only when no exact one exists. #}
    select
        ranked.project_id,
        ranked.location,
        ranked.dataset_id,
        ranked.table_id,
        ranked.node_id
    from (
        select
            dbt_jobs.destination_project_id as project_id,
            dbt_jobs.location,
            dbt_jobs.destination_dataset_id as dataset_id,
            dbt_jobs.destination_table_id as table_id,
            dbt_jobs.node_id,
            row_number() over (
                partition by
                    dbt_jobs.destination_project_id,
                    dbt_jobs.location,
                    dbt_jobs.destination_dataset_id,
                    dbt_jobs.destination_table_id
                order by
                    case when dbt_jobs.attribution_source = 'label' then 1 else 0 end,
                    dbt_jobs.ended_at desc,
                    dbt_jobs.query_id asc
            ) as node_rank
        from dbt_jobs
        where dbt_jobs.node_id is not null and dbt_jobs.error_reason is null
    ) as ranked
    where ranked.node_rank = 1
),

dbt_datasets as (
    {#- Datasets dbt writes to: where a table may be matched to a node by its name. #}
    select distinct
        dbt_jobs.destination_project_id as project_id,
        dbt_jobs.location,
        dbt_jobs.destination_dataset_id as dataset_id
    from dbt_jobs
),

named_nodes as (
    {#- Models, seeds and snapshots of the current project by name, when the name is unambiguous. #}
    select
        graph_nodes.name as table_id,
        min(graph_nodes.node_id) as node_id
    from graph_nodes
    group by graph_nodes.name
    having count(*) = 1
),

mapped as (
    select
        tables.*,
        case
            when job_nodes.node_id is not null then job_nodes.node_id
            when dbt_datasets.dataset_id is not null then named_nodes.node_id
        end as node_id,
        case
            when job_nodes.node_id is not null then 'job'
            when dbt_datasets.dataset_id is not null and named_nodes.node_id is not null then 'name'
            else 'none'
        end as node_matched_by,
        {{ dbt_pipeline_costs.bigquery_storage_billing_model('tables.project_id', 'tables.dataset_id') }}
            as billing_model
    from tables
    left join job_nodes
        on
            tables.project_id = job_nodes.project_id
            and tables.location = job_nodes.location
            and tables.dataset_id = job_nodes.dataset_id
            and tables.table_id = job_nodes.table_id
    left join dbt_datasets
        on
            tables.project_id = dbt_datasets.project_id
            and tables.location = dbt_datasets.location
            and tables.dataset_id = dbt_datasets.dataset_id
    left join named_nodes
        on tables.table_id = named_nodes.table_id
),

priced as (
    select
        mapped.*,
        {{ dbt_pipeline_costs.money(
            dbt_pipeline_costs.bigquery_storage_cost('mapped.active_logical_bytes', prices.active_logical)
            ~ ' + ' ~ dbt_pipeline_costs.bigquery_storage_cost('mapped.long_term_logical_bytes', prices.long_term_logical)
        ) }} as monthly_logical_cost,
        {{ dbt_pipeline_costs.money(
            dbt_pipeline_costs.bigquery_storage_cost(
                'mapped.active_physical_bytes + mapped.fail_safe_physical_bytes', prices.active_physical
            )
            ~ ' + ' ~ dbt_pipeline_costs.bigquery_storage_cost('mapped.long_term_physical_bytes', prices.long_term_physical)
        ) }} as monthly_physical_cost,
        {{ dbt_pipeline_costs.money(dbt_pipeline_costs.bigquery_storage_cost(
            'mapped.time_travel_physical_bytes + mapped.fail_safe_physical_bytes', prices.active_physical
        )) }} as monthly_time_travel_fail_safe_cost
    from mapped
),

final as (
    select
        priced.project_id,
        priced.location,
        priced.dataset_id,
        priced.table_id,
        priced.table_type,
        priced.is_deleted,
        priced.version_count,
        priced.created_at,
        priced.storage_last_modified_at,
        priced.node_id,
        priced.node_matched_by,
        priced.billing_model,
        priced.total_rows,
        {%- for column in live_columns + all_versions_columns %}
        priced.{{ column }},
        {%- endfor %}
        cast(priced.total_logical_bytes as {{ dbt_pipeline_costs.float_type() }}) / 1073741824 as total_logical_gib,
        cast(priced.total_physical_bytes as {{ dbt_pipeline_costs.float_type() }}) / 1073741824 as total_physical_gib,
        {{ dbt_pipeline_costs.ratio('priced.total_logical_bytes', 'priced.current_physical_bytes') }}
            as compression_ratio,
        {{ dbt_pipeline_costs.ratio('priced.long_term_logical_bytes', 'priced.total_logical_bytes') }}
            as long_term_share,
        {{ dbt_pipeline_costs.ratio(
            'priced.time_travel_physical_bytes + priced.fail_safe_physical_bytes', 'priced.current_physical_bytes'
        ) }} as time_travel_fail_safe_ratio,
        priced.monthly_logical_cost,
        priced.monthly_physical_cost,
        priced.monthly_time_travel_fail_safe_cost,
        case
            when priced.billing_model = 'PHYSICAL' then priced.monthly_physical_cost
            else priced.monthly_logical_cost
        end as monthly_cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency
    from priced
)

select * from final
