{#-
    One row per model with an uploaded result: its build_after (from its latest result), when it
    last built successfully, and whether that is within the build_after at as_of
    (docs/cost-rules.md section 9).
-#}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where resource_type = 'model'
),

latest as (
    select * from (
        select
            results.*,
            row_number() over (
                partition by results.node_id
                order by results.result_time desc, results.execute_completed_at desc, results.invocation_id desc
            ) as recency
        from results
    ) as ranked
    where recency = 1
),

successes as (
    select
        results.node_id,
        max(results.execute_completed_at) as last_success_at
    from results
    where results.status = 'success'
    group by results.node_id
),

measured as (
    select
        latest.node_id,
        latest.package_name,
        latest.name,
        latest.pipeline_id as last_pipeline_id,
        latest.result_time as last_result_at,
        latest.status as last_status,
        latest.build_after_count,
        latest.build_after_period,
        latest.build_after_s,
        successes.last_success_at,
        {{ dbt_pipeline_costs.as_of_timestamp() }} as as_of,
        cast(floor({{ dbt_pipeline_costs.milliseconds_between(
            'successes.last_success_at', dbt_pipeline_costs.as_of_timestamp()) }} / 1000) as {{ dbt.type_bigint() }}) as age_s
    from latest
    left join successes on latest.node_id = successes.node_id
),

final as (
    select
        measured.*,
        case
            when measured.build_after_s is null then 'no_slo'
            when measured.last_success_at is null then 'never_built'
            when measured.age_s <= measured.build_after_s then 'met'
            else 'breached'
        end as slo_status
    from measured
)

select * from final
