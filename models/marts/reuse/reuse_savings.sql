{#-
    One row per reused model result in the window: what building it would have cost, estimated as
    the median cost and duration of the same target x model's builds in the window
    (docs/cost-rules.md section 9).
-#}

with

results as (
    select * from {{ ref('int_model_results_in_window') }}
),

builds as (
    select
        results.target_key as target_name,
        results.node_id,
        results.build_cost as cost,
        results.execution_time_s
    from results
    where results.status_class = 'built'
),

medians as (
    select distinct
        builds.target_name,
        builds.node_id,
        count(*) over (partition by builds.target_name, builds.node_id) as sample_size,
        {{ dbt_pipeline_costs.median_over('builds.cost', 'builds.target_name, builds.node_id') }} as median_cost,
        {{ dbt_pipeline_costs.median_over('builds.execution_time_s', 'builds.target_name, builds.node_id') }}
            as median_duration_s
    from builds
),

reused as (
    select * from results
    where status_class = 'reused'
),

final as (
    select
        reused.invocation_id,
        reused.node_id,
        reused.pipeline_id,
        reused.target_name,
        reused.result_time as run_started_at,
        coalesce(medians.sample_size, 0) as sample_size,
        {{ dbt_pipeline_costs.money('medians.median_cost') }} as estimated_cost_saved,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency,
        medians.median_duration_s as estimated_seconds_saved
    from reused
    left join medians
        on
            reused.target_key = medians.target_name
            and reused.node_id = medians.node_id
)

select * from final
