{#- One row per dbt invocation x node: what building (or testing) that node cost in that run. -#}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
    where node_id is not null
),

final as (
    select
        invocation_nodes.invocation_id,
        invocation_nodes.node_id,
        invocation_nodes.platform,
        invocation_nodes.resource_type,
        invocation_nodes.pipeline_id,
        invocation_nodes.pipeline_run_id,
        invocation_nodes.status,
        invocation_nodes.cost,
        invocation_nodes.currency,
        invocation_nodes.query_count,
        invocation_nodes.bytes_billed,
        invocation_nodes.slot_ms,
        invocation_nodes.first_started_at,
        invocation_nodes.last_ended_at,
        {{ dbt_pipeline_costs.ms_to_seconds(
            dbt_pipeline_costs.milliseconds_between('invocation_nodes.first_started_at', 'invocation_nodes.last_ended_at')
        ) }} as execution_time_s
    from invocation_nodes
)

select * from final
