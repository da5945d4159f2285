{#-
    One row per anomalous pipeline run x model built in it or in its baseline window: the model's
    cost in the run against its median over the window runs (0 where a run did not build it),
    ranked by how far it moved, so a dashboard can drill from an anomaly to the models behind it
    (docs/cost-rules.md section 13).
#}
{%- set window_runs = dbt_pipeline_costs.number_var('dbt_pipeline_costs_anomaly_window_runs', minimum=1, whole=true) -%}

with

anomalies as (
    select * from {{ ref('cost_anomalies') }}
),

anomalous_runs as (
    select * from anomalies
    where entity_type = 'pipeline_run' and is_anomaly
),

drivers as (
    {{ dbt_pipeline_costs.anomaly_drivers('anomalies', window_runs) }}
),

final as (
    select
        anomalous_runs.pipeline_id,
        anomalous_runs.pipeline_run_id,
        anomalous_runs.run_started_at,
        anomalous_runs.anomaly_kind,
        anomalous_runs.cost_change as run_cost_change,
        drivers.window_runs,
        drivers.node_id,
        drivers.driver_rank,
        drivers.cost,
        anomalous_runs.currency,
        drivers.baseline_median_cost,
        drivers.cost_change,
        drivers.builds_in_run,
        drivers.runs_built_in_window,
        drivers.is_model_anomaly,
        drivers.model_anomaly_kind
    from anomalous_runs
    inner join drivers
        on
            anomalous_runs.pipeline_id = drivers.pipeline_id
            and anomalous_runs.pipeline_run_id = drivers.pipeline_run_id
)

select * from final
