{{
    config(
        materialized='incremental',
        unique_key=['invocation_id', 'node_key'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#-
    The dbt queries of query_costs summed per invocation x node (node_key '(no node)' for a dbt
    query without a node): the small table every per-model and per-pipeline mart aggregates, so
    none of them scans query_costs. Incremental by invocation: an invocation with any query
    loaded since this model's own watermark (minus the lookback) is recomputed whole, so late rows
    land in the right group and nothing is counted twice.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('last_created_at') %}

with

{% if is_incremental() %}
changed_invocations as (
    select distinct query_costs.invocation_id
    from {{ ref('query_costs') }} as query_costs
    where query_costs.is_dbt and query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

{% endif %}
selected as (
    {#- Each read is a plain scan of query_costs (a CTE read twice would be materialised whole). -#}
    select
        queries.*,
        coalesce(queries.node_id, '(no node)') as node_key,
        row_number() over (
            partition by queries.invocation_id, queries.node_id
            order by queries.ended_at desc, queries.query_id desc
        ) as recency
    from {{ ref('query_costs') }} as queries
    {%- if is_incremental() %}
    inner join changed_invocations on queries.invocation_id = changed_invocations.invocation_id
    {%- endif %}
    where queries.is_dbt
),

final as (
    select
        selected.invocation_id,
        selected.node_key,
        min(selected.node_id) as node_id,
        min(selected.platform) as platform,
        min(selected.resource_type) as resource_type,
        min(selected.pipeline_id) as pipeline_id,
        min(selected.pipeline_run_id) as pipeline_run_id,
        min(selected.orchestrator) as orchestrator,
        case
            when max(
                case
                    when
                        selected.recency = 1
                        and selected.error_reason is not null
                        and selected.error_reason <> 'stopped'
                        then 1
                    else 0
                end
            ) = 1 then 'error'
            else 'success'
        end as status,
        sum(selected.cost) as cost,
        selected.currency,
        count(*) as query_count,
        sum(coalesce(selected.bytes_billed, 0)) as bytes_billed,
        sum(coalesce(selected.slot_ms, 0)) as slot_ms,
        min(selected.started_at) as first_started_at,
        max(selected.ended_at) as last_ended_at,
        max(selected.created_at) as last_created_at
    from selected
    group by selected.invocation_id, selected.node_key, selected.currency
)

select * from final
