{#- One row per dbt invocation x node: what building (or testing) that node cost in that run. -#}

with

queries as (
    select * from {{ ref('query_costs') }}
    where attribution = 'attributed'
),

ranked as (
    select
        queries.*,
        row_number() over (
            partition by queries.invocation_id, queries.node_id
            order by queries.ended_at desc, queries.query_id desc
        ) as recency
    from queries
),

final as (
    select
        ranked.invocation_id,
        ranked.node_id,
        min(ranked.platform) as platform,
        min(ranked.resource_type) as resource_type,
        min(ranked.pipeline_id) as pipeline_id,
        min(ranked.pipeline_run_id) as pipeline_run_id,
        case
            when max(
                case
                    when ranked.recency = 1 and ranked.error_reason is not null and ranked.error_reason <> 'stopped'
                        then 1
                    else 0
                end
            ) = 1 then 'error'
            else 'success'
        end as status,
        sum(ranked.cost) as cost,
        ranked.currency,
        count(*) as query_count,
        sum(coalesce(ranked.bytes_billed, 0)) as bytes_billed,
        sum(coalesce(ranked.slot_ms, 0)) as slot_ms,
        min(ranked.started_at) as first_started_at,
        max(ranked.ended_at) as last_ended_at,
        {{ dbt_pipeline_costs.ms_to_seconds(
            dbt_pipeline_costs.milliseconds_between('min(ranked.started_at)', 'max(ranked.ended_at)')) }} as execution_time_s
    from ranked
    group by ranked.invocation_id, ranked.node_id, ranked.currency
)

select * from final
