{#-
    One row per pipeline run and per model build, scored against the previous runs of its own
    series with a robust z-score (median and MAD over a rolling window of runs); anomalies are
    spikes, drops or level shifts, explained in money (docs/cost-rules.md section 13).
#}
{%- set window_runs = dbt_pipeline_costs.number_var('dbt_pipeline_costs_anomaly_window_runs', minimum=1, whole=true) -%}
{%- set min_history = dbt_pipeline_costs.number_var(
    'dbt_pipeline_costs_anomaly_min_history_runs', minimum=1, maximum=window_runs, whole=true
) -%}
{%- set threshold = dbt_pipeline_costs.number_var('dbt_pipeline_costs_anomaly_score_threshold') -%}
{%- set min_change = dbt_pipeline_costs.number_var('dbt_pipeline_costs_anomaly_min_cost_change') -%}
{%- set shift_runs = dbt_pipeline_costs.number_var(
    'dbt_pipeline_costs_anomaly_level_shift_runs', minimum=2, whole=true
) -%}
{%- set top_drivers = dbt_pipeline_costs.number_var('dbt_pipeline_costs_anomaly_top_drivers', whole=true) -%}
{%- set float = dbt_pipeline_costs.float_type() -%}

with

{# Costs not complete yet (a Databricks statement in hours not billed yet; a BigQuery job whose
    quantity is hidden): such a run would look like a drop, so it is left out. #}
incomplete_queries as (
    select distinct
        pipeline_id,
        pipeline_run_id,
        invocation_id,
        node_id
    from {{ ref('query_costs') }}
    where has_missing_usage and is_dbt
),

pipeline_runs as (
    select pipeline_cost_history.*
    from {{ ref('pipeline_cost_history') }} as pipeline_cost_history
    where not exists (
        select 1
        from incomplete_queries
        where
            incomplete_queries.pipeline_id = pipeline_cost_history.pipeline_id
            and incomplete_queries.pipeline_run_id = pipeline_cost_history.pipeline_run_id
    )
),

{# A model build: a model's result that ran (status class built, docs/cost-rules.md section 9). #}
model_builds as (
    select model_costs.*
    from {{ ref('model_costs') }} as model_costs
    where
        model_costs.resource_type = 'model'
        and {{ dbt_pipeline_costs.status_class('model_costs.status') }} = 'built'
        and not exists (
            select 1
            from incomplete_queries
            where
                incomplete_queries.invocation_id = model_costs.invocation_id
                and incomplete_queries.node_id = model_costs.node_id
        )
),

runs as (
    select
        'pipeline_run' as entity_type,
        pipeline_runs.pipeline_id,
        pipeline_runs.pipeline_run_id,
        cast(null as {{ dbt.type_string() }}) as invocation_id,
        cast(null as {{ dbt.type_string() }}) as node_id,
        pipeline_runs.run_started_at,
        pipeline_runs.total_cost as cost,
        pipeline_runs.currency
    from pipeline_runs
    union all
    select
        'model' as entity_type,
        model_builds.pipeline_id,
        model_builds.pipeline_run_id,
        model_builds.invocation_id,
        model_builds.node_id,
        coalesce(
            model_builds.first_started_at, model_builds.execute_started_at, model_builds.compile_started_at
        ) as run_started_at,
        model_builds.cost,
        model_builds.currency
    from model_builds
),

{# A series: one pipeline's runs, or one model's builds within one pipeline. #}
series as (
    select
        runs.*,
        coalesce(runs.node_id, '') as series_node_id,
        row_number() over (
            partition by runs.entity_type, runs.pipeline_id, runs.node_id
            order by runs.run_started_at, runs.pipeline_run_id, runs.invocation_id
        ) as series_position
    from runs
    where runs.run_started_at is not null
),

baselines as (
    {{ dbt_pipeline_costs.robust_baseline('series', ['entity_type', 'pipeline_id', 'series_node_id'], window_runs) }}
),

with_baseline as (
    select
        series.*,
        coalesce(baselines.history_runs, 0) as history_runs,
        baselines.baseline_median_cost,
        baselines.baseline_mad_cost,
        baselines.baseline_deviation_sum,
        baselines.baseline_min_cost,
        baselines.baseline_max_cost,
        {{ dbt_pipeline_costs.money_difference('series.cost', 'baselines.baseline_median_cost') }} as cost_change,
        coalesce(baselines.history_runs, 0) >= {{ min_history }} as is_scored
    from series
    left join baselines
        on
            series.entity_type = baselines.entity_type
            and series.pipeline_id = baselines.pipeline_id
            and series.series_node_id = baselines.series_node_id
            and series.series_position = baselines.series_position
),

{# Scale: 1.4826 x MAD; when the MAD is 0, 1.2533 x the mean absolute deviation; when that is 0
    too (every earlier run cost the same), no score. #}
scored as (
    select
        with_baseline.*,
        case
            when not with_baseline.is_scored then null
            when with_baseline.baseline_mad_cost > 0 then 'mad'
            when with_baseline.baseline_deviation_sum > 0 then 'mean_absolute_deviation'
            else 'no_spread'
        end as score_basis,
        case
            when with_baseline.is_scored and with_baseline.baseline_mad_cost > 0
                then
                    cast(with_baseline.cost_change as {{ float }})
                    / (cast(1.4826 as {{ float }}) * cast(with_baseline.baseline_mad_cost as {{ float }}))
            when with_baseline.is_scored and with_baseline.baseline_deviation_sum > 0
                then
                    cast(with_baseline.cost_change as {{ float }})
                    / (
                        cast(1.2533 as {{ float }}) * cast(with_baseline.baseline_deviation_sum as {{ float }})
                        / with_baseline.history_runs
                    )
        end as robust_score
    from with_baseline
),

{# An outlier: far from the baseline by score and by money. #}
flagged as (
    select
        scored.*,
        coalesce(
            scored.is_scored
            and scored.cost_change <> 0
            and abs(scored.cost_change) >= {{ min_change }}
            and (scored.robust_score is null or abs(scored.robust_score) >= {{ threshold }}),
            false
        ) as is_outlier,
        coalesce(
            scored.is_scored
            and (
                {{ dbt_pipeline_costs.money_difference('scored.cost', 'scored.baseline_max_cost') }} >= {{ min_change }}
                or {{ dbt_pipeline_costs.money_difference(
                    'scored.baseline_min_cost', 'scored.cost'
                ) }} >= {{ min_change }}
            ),
            false
        ) as is_new_extreme
    from scored
),

directed as (
    select
        flagged.*,
        case when flagged.is_outlier then case when flagged.cost_change > 0 then 'up' else 'down' end end as direction
    from flagged
),

{# Consecutive outliers of a series in one direction share a streak (gaps and islands). #}
streaks as (
    select
        directed.*,
        directed.series_position - row_number() over (
            partition by directed.entity_type, directed.pipeline_id, directed.series_node_id, directed.direction
            order by directed.series_position
        ) as streak_id
    from directed
),

streak_lengths as (
    select
        streaks.*,
        count(*) over (
            partition by
                streaks.entity_type,
                streaks.pipeline_id,
                streaks.series_node_id,
                streaks.direction,
                streaks.streak_id
        ) as streak_runs
    from streaks
),

{# A level shift: a streak of level_shift_runs outliers or more. Otherwise an outlier is a spike
    (drop) only when it is a new high (low) of the window by at least the floor: an outlier like
    earlier runs of the window recurs (the occasional full build of a state-aware job). #}
kinds as (
    select
        streak_lengths.*,
        case
            when not streak_lengths.is_outlier then null
            when streak_lengths.streak_runs >= {{ shift_runs }} then 'level_shift'
            when streak_lengths.is_new_extreme and streak_lengths.direction = 'up' then 'spike'
            when streak_lengths.is_new_extreme then 'drop'
        end as anomaly_kind
    from streak_lengths
),

judged as (
    select
        kinds.*,
        kinds.anomaly_kind is not null as is_anomaly
    from kinds
),

{# The models behind each anomalous pipeline run: every node built in it or in its window, its
    cost in the run against its median over the window runs (0 where not built), ranked. The
    explanation names the first top_drivers of them that moved at all (change <> 0). #}
drivers as (
    {{ dbt_pipeline_costs.anomaly_drivers('judged', window_runs) }}
),

driver_lists as (
    select
        drivers.pipeline_id,
        drivers.pipeline_run_id,
        {%- for rank in range(1, top_drivers + 1) %}
        max(case
            when drivers.driver_rank = {{ rank }} then
                drivers.node_id || ' '
                || {{ dbt_pipeline_costs.signed_money_text('drivers.cost_change') }}
                || ' (' || {{ dbt_pipeline_costs.money_text('drivers.cost') }} || ' vs '
                || {{ dbt_pipeline_costs.money_text('drivers.baseline_median_cost') }} || ')'
        end) as driver_{{ rank }},
        {%- endfor %}
        count(*) as driver_count
    from drivers
    where drivers.driver_rank <= {{ top_drivers }} and drivers.cost_change <> 0
    group by drivers.pipeline_id, drivers.pipeline_run_id
),

driver_texts as (
    select
        driver_lists.pipeline_id,
        driver_lists.pipeline_run_id,
        {%- if top_drivers > 0 %}
        driver_lists.driver_1
        {%- for rank in range(2, top_drivers + 1) %}
        || coalesce(', ' || driver_lists.driver_{{ rank }}, '')
        {%- endfor %} as drivers_text
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as drivers_text
        {%- endif %}
    from driver_lists
),

final as (
    select
        judged.entity_type,
        judged.pipeline_id,
        judged.pipeline_run_id,
        judged.invocation_id,
        judged.node_id,
        judged.run_started_at,
        judged.cost,
        judged.currency,
        judged.history_runs,
        judged.baseline_median_cost,
        judged.baseline_mad_cost,
        judged.cost_change,
        judged.is_scored,
        judged.score_basis,
        judged.robust_score,
        judged.is_outlier,
        judged.is_new_extreme,
        judged.is_anomaly,
        judged.anomaly_kind,
        case
            when judged.is_anomaly
                then
                    case judged.anomaly_kind when 'level_shift' then 'level shift' else judged.anomaly_kind end
                    || ' of '
                    || {{ dbt_pipeline_costs.signed_money_text('judged.cost_change') }}
                    || ' '
                    || judged.currency
                    || ': ' || {{ dbt_pipeline_costs.money_text('judged.cost') }}
                    || ' vs a median of ' || {{ dbt_pipeline_costs.money_text('judged.baseline_median_cost') }}
                    || ' over the previous ' || cast(judged.history_runs as {{ dbt.type_string() }})
                    || case when judged.entity_type = 'pipeline_run' then ' runs' else ' builds' end
                    || coalesce('; models that moved most: ' || driver_texts.drivers_text, '')
        end as explanation
    from judged
    left join driver_texts
        on
            judged.entity_type = 'pipeline_run'
            and judged.pipeline_id = driver_texts.pipeline_id
            and judged.pipeline_run_id = driver_texts.pipeline_run_id
)

select * from final
