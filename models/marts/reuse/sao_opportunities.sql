{#-
    One row per job (pipeline) with model results in the window: how often it runs, how long and
    how much a run costs, how much it reuses, and what reaching the reuse goal would save in a
    month (docs/cost-rules.md section 9).
-#}
{%- set window_days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_window_days', minimum=1, whole=true) -%}
{%- set goal_pct = dbt_pipeline_costs.number_var('dbt_pipeline_costs_reuse_goal_pct', maximum=100) -%}
{%- set high = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_high_savings') -%}
{%- set medium = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_medium_savings', maximum=high) %}

with

results as (
    select * from {{ ref('int_model_results_in_window') }}
),

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
),

runs as (
    select
        results.invocation_id,
        min(results.pipeline_id) as pipeline_id,
        min(results.invocation_elapsed_s) as elapsed_s,
        {{ dbt_pipeline_costs.count_where("results.status_class = 'reused'") }} as reused_count,
        {{ dbt_pipeline_costs.count_where("results.status_class = 'built'") }} as built_count
    from results
    group by results.invocation_id
),

run_costs as (
    select
        invocation_nodes.invocation_id,
        sum(invocation_nodes.cost) as cost
    from invocation_nodes
    inner join runs on invocation_nodes.invocation_id = runs.invocation_id
    group by invocation_nodes.invocation_id
),

jobs as (
    select
        runs.pipeline_id,
        count(*) as run_count,
        {#- Summed as exact decimals: a float sum depends on the order threads add it in, and a
            re-run must give the same figure. -#}
        {{ dbt_pipeline_costs.ratio(
            'sum(cast(runs.elapsed_s as ' ~ dbt.type_numeric() ~ '))', 'count(runs.elapsed_s)'
        ) }} as avg_duration_s,
        sum(coalesce(run_costs.cost, {{ dbt_pipeline_costs.money('0') }})) as total_cost,
        cast(sum(runs.reused_count) as {{ dbt.type_bigint() }}) as reused_count,
        cast(sum(runs.built_count) as {{ dbt.type_bigint() }}) as built_count
    from runs
    left join run_costs on runs.invocation_id = run_costs.invocation_id
    group by runs.pipeline_id
),

estimated as (
    select
        jobs.*,
        {{ dbt_pipeline_costs.ratio('jobs.run_count', window_days) }} as runs_per_day,
        {{ dbt_pipeline_costs.money('jobs.total_cost / jobs.run_count') }} as avg_run_cost,
        {{ dbt_pipeline_costs.ratio('jobs.reused_count', 'jobs.reused_count + jobs.built_count') }}
            as current_reuse_rate,
        {#- The built share's cost that reaching the goal would save over 30 days (rule 9):
            total x 30 x (goal x d - 100 r) / (window_days x 100 x (d - r)). -#}
        case
            when
                jobs.reused_count + jobs.built_count > 0
                and jobs.reused_count * 100 < {{ goal_pct }} * (jobs.reused_count + jobs.built_count)
                then {{ dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(
                    'jobs.total_cost',
                    '30 * (' ~ goal_pct ~ ' * (jobs.reused_count + jobs.built_count) - 100 * jobs.reused_count)',
                    (window_days * 100) ~ ' * jobs.built_count')) }}
            else {{ dbt_pipeline_costs.money('0') }}
        end as estimated_monthly_savings
    from jobs
),

final as (
    select
        estimated.pipeline_id,
        estimated.run_count,
        estimated.runs_per_day,
        estimated.avg_duration_s,
        estimated.total_cost,
        estimated.avg_run_cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency,
        estimated.reused_count,
        estimated.built_count,
        estimated.current_reuse_rate,
        {{ goal_pct }} as reuse_goal_pct,
        estimated.runs_per_day
        * estimated.avg_duration_s
        * cast(estimated.avg_run_cost as {{ dbt_pipeline_costs.float_type() }}) as impact_score,
        estimated.estimated_monthly_savings,
        case
            when estimated.estimated_monthly_savings >= {{ high }} then 'High'
            when estimated.estimated_monthly_savings >= {{ medium }} then 'Medium'
            else 'Low'
        end as priority
    from estimated
)

select * from final
