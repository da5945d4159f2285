{#-
    One row per invocation x package x resource type (models; sources when `dbt source freshness`
    runs with the hook): the share of nodes with freshness / build_after / state config against the
    goal, and whether the run's state-aware orchestration and its config disagree
    (docs/cost-rules.md section 9).
-#}
{%- set goal_pct = dbt_pipeline_costs.number_var('dbt_pipeline_costs_freshness_goal_pct', maximum=100) %}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
),

invocation_reuse as (
    select
        results.invocation_id,
        {{ dbt_pipeline_costs.count_where("results.status_class = 'reused'") }} as reused_node_count
    from results
    group by results.invocation_id
),

coverage as (
    select
        results.invocation_id,
        results.package_name,
        results.resource_type,
        min(results.pipeline_id) as pipeline_id,
        min(results.target_name) as target_name,
        min(results.result_time) as run_started_at,
        count(*) as node_count,
        {{ dbt_pipeline_costs.count_where("results.has_freshness_config") }} as freshness_config_count,
        {{ dbt_pipeline_costs.count_where("results.build_after_count is not null") }} as build_after_count,
        {{ dbt_pipeline_costs.count_where("results.has_state_config") }} as state_config_count
    from results
    where results.resource_type in ('model', 'source')
    group by results.invocation_id, results.package_name, results.resource_type
),

final as (
    select
        coverage.invocation_id,
        coverage.package_name,
        coverage.resource_type,
        coverage.pipeline_id,
        coverage.target_name,
        coverage.run_started_at,
        coverage.node_count,
        coverage.freshness_config_count,
        coverage.build_after_count,
        coverage.state_config_count,
        {{ dbt_pipeline_costs.ratio('coverage.freshness_config_count * 100', 'coverage.node_count') }} as coverage_pct,
        {{ goal_pct }} as coverage_goal_pct,
        coverage.freshness_config_count * 100 >= {{ goal_pct }} * coverage.node_count as meets_coverage_goal,
        invocation_reuse.reused_node_count > 0 as is_sao_run,
        case
            when invocation_reuse.reused_node_count > 0 and coverage.freshness_config_count = 0
                then 'sao_without_freshness'
            when invocation_reuse.reused_node_count = 0 and coverage.freshness_config_count > 0
                then 'freshness_without_sao'
            else 'none'
        end as config_gap
    from coverage
    inner join invocation_reuse on coverage.invocation_id = invocation_reuse.invocation_id
)

select * from final
