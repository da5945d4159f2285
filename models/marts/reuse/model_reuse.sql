{#-
    One row per invocation with model results: how many models it built, reused, skipped, its
    reuse rate against the goal, and the job's rolling rate and trend (docs/cost-rules.md section 9).
-#}
{%- set goal_pct = dbt_pipeline_costs.number_var('dbt_pipeline_costs_reuse_goal_pct', maximum=100) -%}
{%- set statuses = {
    'success': 'success', 'error': 'error', 'partial_success': 'partial success',
    'skipped': 'skipped', 'no_op': 'no-op', 'reused': 'reused',
} %}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where resource_type = 'model'
),

invocations as (
    select
        results.invocation_id,
        min(results.pipeline_id) as pipeline_id,
        min(results.pipeline_run_id) as pipeline_run_id,
        min(results.command) as command,
        min(results.job_type) as job_type,
        min(results.target_name) as target_name,
        min(results.result_time) as run_started_at,
        count(*) as model_count,
        {%- for column, status in statuses.items() %}
        {{ dbt_pipeline_costs.count_where("results.status = '" ~ status ~ "'") }} as {{ column }}_count,
        {%- endfor %}
        {{ dbt_pipeline_costs.count_where("results.status_class = 'built'") }} as built_count
    from results
    group by results.invocation_id
),

rolling as (
    select
        invocations.*,
        sum(invocations.reused_count) over (
            partition by invocations.pipeline_id
            order by invocations.run_started_at, invocations.invocation_id
            {{ dbt_pipeline_costs.rolling_runs_frame() }}
        ) as rolling_reused_count,
        sum(invocations.reused_count + invocations.built_count) over (
            partition by invocations.pipeline_id
            order by invocations.run_started_at, invocations.invocation_id
            {{ dbt_pipeline_costs.rolling_runs_frame() }}
        ) as rolling_reuse_base,
        row_number() over job_runs as job_run_number
    from invocations
    window job_runs as (
        partition by invocations.pipeline_id order by invocations.run_started_at, invocations.invocation_id
    )
),

with_previous as (
    select
        rolling.*,
        lag(rolling.reused_count) over job_runs as previous_reused_count,
        lag(rolling.reused_count + rolling.built_count) over job_runs as previous_reuse_base,
        lag(rolling.rolling_reused_count) over job_runs as previous_rolling_reused_count,
        lag(rolling.rolling_reuse_base) over job_runs as previous_rolling_reuse_base,
        rolling.rolling_reused_count * lag(rolling.rolling_reuse_base) over job_runs as current_cross,
        lag(rolling.rolling_reused_count) over job_runs * rolling.rolling_reuse_base as previous_cross
    from rolling
    window job_runs as (partition by rolling.pipeline_id order by rolling.run_started_at, rolling.invocation_id)
),

final as (
    select
        with_previous.invocation_id,
        with_previous.pipeline_id,
        with_previous.pipeline_run_id,
        with_previous.command,
        with_previous.job_type,
        with_previous.target_name,
        with_previous.run_started_at,
        with_previous.model_count,
        {%- for column in statuses %}
        with_previous.{{ column }}_count,
        {%- endfor %}
        with_previous.built_count,
        {{ dbt_pipeline_costs.ratio(
            'with_previous.reused_count', 'with_previous.reused_count + with_previous.built_count'
        ) }} as reuse_rate,
        {{ goal_pct }} as reuse_goal_pct,
        coalesce(
            with_previous.reused_count + with_previous.built_count > 0
            and with_previous.reused_count * 100
            >= {{ goal_pct }} * (with_previous.reused_count + with_previous.built_count),
            false
        ) as meets_reuse_goal,
        {{ dbt_pipeline_costs.ratio('with_previous.previous_reused_count', 'with_previous.previous_reuse_base') }}
            as previous_reuse_rate,
        {{ dbt_pipeline_costs.ratio('with_previous.rolling_reused_count', 'with_previous.rolling_reuse_base') }}
            as rolling_reuse_rate,
        {#- Exact comparison of two ratios a/b and c/d: a*d against c*b (both bases > 0). -#}
        case
            when with_previous.rolling_reuse_base = 0 or with_previous.previous_rolling_reuse_base = 0 then null
            when with_previous.current_cross > with_previous.previous_cross then 'up'
            when with_previous.current_cross < with_previous.previous_cross then 'down'
            when with_previous.current_cross = with_previous.previous_cross then 'flat'
        end as reuse_trend
    from with_previous
)

select * from final
