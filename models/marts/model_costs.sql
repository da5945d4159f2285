{#-
    One row per dbt invocation x node: what building (or testing) that node cost in that run, with
    dbt's own result for it (status, timings, rows) when the run uploaded its results
    (docs/cost-rules.md sections 6 and 8). A node result without priced jobs (reused, skipped,
    a failed compile, a seed load) is here with cost 0.
-#}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
    where node_id is not null
),

results as (
    select * from {{ ref('int_dbt_node_results') }}
),

joined as (
    select
        coalesce(invocation_nodes.invocation_id, results.invocation_id) as invocation_id,
        coalesce(invocation_nodes.node_id, results.node_id) as node_id,
        coalesce(invocation_nodes.platform, results.adapter_type) as platform,
        coalesce(invocation_nodes.resource_type, results.resource_type) as resource_type,
        coalesce(invocation_nodes.pipeline_id, results.pipeline_id) as pipeline_id,
        coalesce(invocation_nodes.pipeline_run_id, results.pipeline_run_id) as pipeline_run_id,
        coalesce(results.status, invocation_nodes.status) as status,
        coalesce(invocation_nodes.cost, {{ dbt_pipeline_costs.money('0') }}) as cost,
        coalesce(
            invocation_nodes.currency, '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}'
        ) as currency,
        coalesce(invocation_nodes.query_count, 0) as query_count,
        {#- 0 without priced queries; NULL when every query's is NULL (Databricks statements). #}
        case when invocation_nodes.invocation_id is null then 0 else invocation_nodes.bytes_billed end as bytes_billed,
        case when invocation_nodes.invocation_id is null then 0 else invocation_nodes.slot_ms end as slot_ms,
        invocation_nodes.first_started_at,
        invocation_nodes.last_ended_at,
        results.invocation_id is not null as has_run_result,
        results.thread_id,
        results.compile_started_at,
        results.execute_started_at,
        results.execute_completed_at,
        results.execution_time_s as dbt_execution_time_s,
        results.rows_affected
    from invocation_nodes
    full outer join results
        on
            invocation_nodes.invocation_id = results.invocation_id
            and invocation_nodes.node_id = results.node_id
),

final as (
    select
        joined.invocation_id,
        joined.node_id,
        joined.platform,
        joined.resource_type,
        joined.pipeline_id,
        joined.pipeline_run_id,
        joined.status,
        joined.cost,
        joined.currency,
        joined.query_count,
        joined.bytes_billed,
        joined.slot_ms,
        joined.first_started_at,
        joined.last_ended_at,
        {{ dbt_pipeline_costs.ms_to_seconds(
            dbt_pipeline_costs.milliseconds_between('joined.first_started_at', 'joined.last_ended_at')
        ) }} as execution_time_s,
        joined.has_run_result,
        joined.thread_id,
        joined.compile_started_at,
        joined.execute_started_at,
        joined.execute_completed_at,
        joined.dbt_execution_time_s,
        joined.rows_affected
    from joined
)

select * from final
