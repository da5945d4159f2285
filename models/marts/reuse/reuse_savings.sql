{#-
    One row per reused model result in the window: what building it would have cost, estimated as
    the median cost and duration of the same target x model's builds in the window
    (docs/cost-rules.md section 9).
-#}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where
        resource_type = 'model'
        and result_time >= {{ dbt_pipeline_costs.sao_window_start() }}
        and result_time < {{ dbt_pipeline_costs.as_of_timestamp() }}
),

model_costs as (
    select * from {{ ref('model_costs') }}
),

builds as (
    select
        coalesce(results.target_name, '(unknown target)') as target_name,
        results.node_id,
        coalesce(model_costs.cost, {{ dbt_pipeline_costs.money('0') }}) as cost,
        results.execution_time_s
    from results
    left join model_costs
        on
            results.invocation_id = model_costs.invocation_id
            and results.node_id = model_costs.node_id
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
    select
        results.*,
        coalesce(results.target_name, '(unknown target)') as target_key
    from results
    where results.status_class = 'reused'
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
