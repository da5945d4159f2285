{#-
    One row per pipeline run, with the change against the same pipeline's previous run, a rolling
    average and an anomaly flag (docs/cost-rules.md section 6).
-#}
{%- set min_runs = var('dbt_pipeline_costs_anomaly_min_runs') | int -%}
{%- set threshold_pct = var('dbt_pipeline_costs_anomaly_threshold_pct') | int -%}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
),

runs as (
    select
        invocation_nodes.pipeline_id,
        invocation_nodes.pipeline_run_id,
        min(invocation_nodes.orchestrator) as orchestrator,
        {#- A run that touched BigQuery and Databricks is one row: platform 'multiple'. -#}
        case
            when min(invocation_nodes.platform) = max(invocation_nodes.platform) then min(invocation_nodes.platform)
            else 'multiple'
        end as platform,
        min(invocation_nodes.first_started_at) as run_started_at,
        max(invocation_nodes.last_ended_at) as run_ended_at,
        sum(invocation_nodes.cost) as total_cost,
        invocation_nodes.currency,
        sum(invocation_nodes.query_count) as query_count,
        count(distinct invocation_nodes.node_id) as model_count,
        count(distinct invocation_nodes.invocation_id) as invocation_count,
        sum(invocation_nodes.bytes_billed) as bytes_billed,
        sum(invocation_nodes.slot_ms) as slot_ms
    from invocation_nodes
    group by invocation_nodes.pipeline_id, invocation_nodes.pipeline_run_id, invocation_nodes.currency
),

windowed as (
    select
        runs.*,
        lag(runs.total_cost) over pipeline_runs as previous_run_cost,
        avg(runs.total_cost) over (
            partition by runs.pipeline_id
            order by runs.run_started_at, runs.pipeline_run_id
            {{ dbt_pipeline_costs.rolling_runs_frame() }}
        ) as rolling_avg_cost,
        sum(runs.total_cost) over (
            partition by runs.pipeline_id
            order by runs.run_started_at, runs.pipeline_run_id
            {{ dbt_pipeline_costs.rolling_runs_frame(previous_only=true) }}
        ) as previous_runs_total_cost,
        count(*) over (
            partition by runs.pipeline_id
            order by runs.run_started_at, runs.pipeline_run_id
            {{ dbt_pipeline_costs.rolling_runs_frame(previous_only=true) }}
        ) as previous_runs_in_window,
        row_number() over pipeline_runs - 1 as previous_run_count
    from runs
    window pipeline_runs as (partition by runs.pipeline_id order by runs.run_started_at, runs.pipeline_run_id)
),

final as (
    select
        windowed.pipeline_id,
        windowed.pipeline_run_id,
        windowed.orchestrator,
        windowed.platform,
        windowed.run_started_at,
        windowed.run_ended_at,
        windowed.total_cost,
        windowed.currency,
        windowed.query_count,
        windowed.model_count,
        windowed.invocation_count,
        windowed.bytes_billed,
        windowed.slot_ms,
        windowed.previous_run_cost,
        windowed.total_cost - windowed.previous_run_cost as cost_change,
        case
            when windowed.previous_run_cost > 0
                then {{ dbt_pipeline_costs.ratio(
                    '(windowed.total_cost - windowed.previous_run_cost) * 100', 'windowed.previous_run_cost'
                ) }}
        end as cost_change_pct,
        {{ dbt_pipeline_costs.money('windowed.rolling_avg_cost') }} as rolling_avg_cost,
        {#- Exact test without division: cost x n x 100 > previous total x (100 + threshold). -#}
        coalesce(
            windowed.previous_run_count >= {{ min_runs }}
            and windowed.total_cost * windowed.previous_runs_in_window * 100
            > windowed.previous_runs_total_cost * {{ 100 + threshold_pct }},
            false
        ) as is_cost_anomaly
    from windowed
)

select * from final
