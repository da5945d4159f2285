{#-
    One row per pipeline with a run in the profile window: its run rate and what a month costs at that
    rate, by component - query compute (its models), idle / overhead (its queries without a node, its
    share of the idle time of the Databricks warehouses it uses) and storage (the BigQuery tables its
    models build, shared by build count between the pipelines that build them). docs/cost-rules.md
    section 15.
-#}
{%- set window_days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_profile_window_days', minimum=1, whole=true) -%}
{%- set bigquery = var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set databricks = var('dbt_pipeline_costs_databricks_enabled') -%}
{%- set window_start = dbt_pipeline_costs.profile_window_start() -%}
{%- set window_end = dbt_pipeline_costs.as_of_timestamp() -%}
{%- set float = dbt_pipeline_costs.float_type() -%}
{%- set zero = dbt_pipeline_costs.money('0') -%}
{#- The components a disabled platform does not have are 0. -#}
{%- set idle_cost = dbt_pipeline_costs.money('coalesce(idle_shares.idle_cost, 0) * 30 / ' ~ window_days)
    if databricks else zero -%}
{%- set storage_table_count = 'coalesce(pipeline_storage.table_count, 0)' if bigquery else '0' -%}
{%- set storage_cost = ('coalesce(pipeline_storage.storage_cost, ' ~ zero ~ ')') if bigquery else zero %}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
),

{% if bigquery %}
queries as (
    {#- A pruning bound only: a build belongs to the window by its run (window_runs). -#}
    select * from {{ ref('query_costs') }}
    where
        platform = 'bigquery'
        and attribution = 'attributed'
        and destination_table_id is not null
        and created_at >= {{ dbt.dateadd('day', -1, window_start) }}
),

table_storage_costs as (
    {#- One row per table: a dropped and re-created table's versions summed (billed for both). #}
    select * from {{ ref('storage_costs') }}
),

{% endif %}
{% if databricks %}
warehouse_lines as (
    select * from {{ ref('int_databricks_cost_lines') }}
    where
        line_type in ('statement', 'idle')
        and hour_started_at >= {{ window_start }}
        and hour_started_at < {{ window_end }}
),

{% endif %}
runs as (
    {#- A pipeline run starts with its first query, as in pipeline_cost_history. -#}
    select
        invocation_nodes.pipeline_id,
        invocation_nodes.pipeline_run_id,
        min(invocation_nodes.first_started_at) as run_started_at
    from invocation_nodes
    group by invocation_nodes.pipeline_id, invocation_nodes.pipeline_run_id
),

window_runs as (
    select * from runs
    where run_started_at >= {{ window_start }} and run_started_at < {{ window_end }}
),

pipelines as (
    select
        invocation_nodes.pipeline_id,
        count(distinct invocation_nodes.pipeline_run_id) as run_count,
        case
            when min(invocation_nodes.platform) = max(invocation_nodes.platform) then min(invocation_nodes.platform)
            else 'multiple'
        end as platform,
        sum(case when invocation_nodes.node_id is not null then invocation_nodes.cost else {{ zero }} end)
            as compute_cost,
        sum(case when invocation_nodes.node_id is null then invocation_nodes.cost else {{ zero }} end)
            as no_node_cost
    from invocation_nodes
    inner join window_runs
        on
            invocation_nodes.pipeline_id = window_runs.pipeline_id
            and invocation_nodes.pipeline_run_id = window_runs.pipeline_run_id
    group by invocation_nodes.pipeline_id
),

{% if databricks %}
warehouses as (
    select
        warehouse_lines.workspace_id,
        warehouse_lines.compute_id,
        sum(case when warehouse_lines.line_type = 'idle' then warehouse_lines.cost else {{ zero }} end) as idle_cost,
        sum(case when warehouse_lines.line_type = 'statement' then warehouse_lines.cost else {{ zero }} end)
            as statement_cost
    from warehouse_lines
    group by warehouse_lines.workspace_id, warehouse_lines.compute_id
),

warehouse_use as (
    select
        warehouse_lines.workspace_id,
        warehouse_lines.compute_id,
        warehouse_lines.pipeline_id,
        sum(warehouse_lines.cost) as statement_cost
    from warehouse_lines
    where warehouse_lines.line_type = 'statement' and warehouse_lines.pipeline_id is not null
    group by warehouse_lines.workspace_id, warehouse_lines.compute_id, warehouse_lines.pipeline_id
),

idle_shares as (
    {#- A warehouse's idle time, shared by its users in proportion to their statements' cost (8-byte
        floats: a share of a share). Non-dbt statements' share stays unattributed. -#}
    select
        warehouse_use.pipeline_id,
        sum(
            cast(warehouses.idle_cost as {{ float }})
            * cast(warehouse_use.statement_cost as {{ float }})
            / cast(warehouses.statement_cost as {{ float }})
        ) as idle_cost
    from warehouse_use
    inner join warehouses
        on
            warehouse_use.workspace_id = warehouses.workspace_id
            and warehouse_use.compute_id = warehouses.compute_id
    where warehouses.statement_cost > 0
    group by warehouse_use.pipeline_id
),

{% endif %}
{% if bigquery %}
table_builds as (
    {#- The window runs' builds (invocation x node) that wrote each table. -#}
    select distinct
        queries.pipeline_id,
        queries.invocation_id,
        queries.node_id,
        queries.destination_project_id,
        queries.destination_dataset_id,
        queries.destination_table_id
    from queries
    inner join window_runs
        on
            queries.pipeline_id = window_runs.pipeline_id
            and queries.pipeline_run_id = window_runs.pipeline_run_id
),

pipeline_tables as (
    select
        table_builds.destination_project_id,
        table_builds.destination_dataset_id,
        table_builds.destination_table_id,
        table_builds.pipeline_id,
        count(*) as build_count
    from table_builds
    group by
        table_builds.destination_project_id,
        table_builds.destination_dataset_id,
        table_builds.destination_table_id,
        table_builds.pipeline_id
),

table_shares as (
    select
        pipeline_tables.*,
        table_storage_costs.monthly_cost as table_monthly_cost,
        sum(pipeline_tables.build_count) over (
            partition by
                pipeline_tables.destination_project_id,
                pipeline_tables.destination_dataset_id,
                pipeline_tables.destination_table_id
        ) as table_build_count,
        row_number() over (
            partition by
                pipeline_tables.destination_project_id,
                pipeline_tables.destination_dataset_id,
                pipeline_tables.destination_table_id
            order by pipeline_tables.build_count desc, pipeline_tables.pipeline_id asc
        ) as share_rank
    from pipeline_tables
    inner join table_storage_costs
        on
            pipeline_tables.destination_project_id = table_storage_costs.project_id
            and pipeline_tables.destination_dataset_id = table_storage_costs.dataset_id
            and pipeline_tables.destination_table_id = table_storage_costs.table_id
),

rounded_shares as (
    select
        table_shares.*,
        {{ dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(
            'table_shares.table_monthly_cost', 'table_shares.build_count', 'table_shares.table_build_count'
        )) }} as rounded_share
    from table_shares
),

rounded_totals as (
    select
        rounded_shares.*,
        sum(rounded_shares.rounded_share) over (
            partition by
                rounded_shares.destination_project_id,
                rounded_shares.destination_dataset_id,
                rounded_shares.destination_table_id
        ) as rounded_total
    from rounded_shares
),

allocated_shares as (
    {#- The pipeline with the most builds (then the smallest id) is the anchor: the shares add up
        to the table's cost exactly. -#}
    select
        rounded_totals.pipeline_id,
        {{ dbt_pipeline_costs.anchored_share(
            'rounded_totals.table_monthly_cost', 'rounded_totals.rounded_share',
            'rounded_totals.rounded_total', 'rounded_totals.share_rank = 1'
        ) }} as storage_cost
    from rounded_totals
),

pipeline_storage as (
    select
        allocated_shares.pipeline_id,
        count(*) as table_count,
        sum(allocated_shares.storage_cost) as storage_cost
    from allocated_shares
    group by allocated_shares.pipeline_id
),

{% endif %}
projected as (
    select
        pipelines.pipeline_id,
        pipelines.platform,
        pipelines.run_count,
        pipelines.compute_cost + pipelines.no_node_cost as window_cost,
        {{ dbt_pipeline_costs.monthly('pipelines.compute_cost', window_days) }} as monthly_query_compute_cost,
        {{ dbt_pipeline_costs.monthly('pipelines.no_node_cost', window_days) }} as monthly_no_node_cost,
        {{ idle_cost }} as monthly_idle_cost,
        {{ storage_table_count }} as storage_table_count,
        {{ storage_cost }} as monthly_storage_cost
    from pipelines
    {% if databricks -%}
    left join idle_shares
        on pipelines.pipeline_id = idle_shares.pipeline_id
    {% endif -%}
    {% if bigquery -%}
    left join pipeline_storage
        on pipelines.pipeline_id = pipeline_storage.pipeline_id
    {% endif -%}
),

final as (
    select
        projected.pipeline_id,
        projected.platform,
        cast(projected.run_count as {{ dbt.type_bigint() }}) as run_count,
        {{ dbt_pipeline_costs.ratio('projected.run_count', window_days) }} as runs_per_day,
        projected.window_cost,
        projected.monthly_query_compute_cost,
        projected.monthly_no_node_cost,
        projected.monthly_idle_cost,
        {{ dbt_pipeline_costs.money('projected.monthly_no_node_cost + projected.monthly_idle_cost') }}
            as monthly_idle_overhead_cost,
        cast(projected.storage_table_count as {{ dbt.type_bigint() }}) as storage_table_count,
        projected.monthly_storage_cost,
        {{ dbt_pipeline_costs.money(
            'projected.monthly_query_compute_cost + projected.monthly_no_node_cost'
            ~ ' + projected.monthly_idle_cost + projected.monthly_storage_cost'
        ) }} as monthly_total_cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency
    from projected
)

select * from final
