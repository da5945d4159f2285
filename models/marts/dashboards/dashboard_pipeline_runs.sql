{#-
    One row per pipeline run, shaped for dashboards and the report (dashboards/pipeline_costs.yml):
    pipeline_cost_history with the run's UTC date, a run key that is unique across pipelines (a run
    id is only unique within its pipeline) and the verdict of cost_anomalies, so a chart can mark
    anomalous runs (anomaly_cost is the run's cost on anomalous runs, else null).
-#}

with

runs as (
    select * from {{ ref('pipeline_cost_history') }}
),

anomalies as (
    select * from {{ ref('cost_anomalies') }}
    where entity_type = 'pipeline_run'
),

final as (
    select
        runs.pipeline_id,
        runs.pipeline_run_id,
        {{ dbt.concat(['runs.pipeline_id', "' | '", 'runs.pipeline_run_id']) }} as run_key,
        runs.orchestrator,
        runs.platform,
        runs.run_started_at,
        runs.run_ended_at,
        {{ dbt_pipeline_costs.date_in_timezone('runs.run_started_at', 'UTC') }} as run_date,
        runs.total_cost,
        runs.currency,
        runs.previous_run_cost,
        runs.cost_change,
        runs.cost_change_pct,
        runs.rolling_avg_cost,
        runs.query_count,
        runs.model_count,
        runs.bytes_billed,
        coalesce(anomalies.is_anomaly, false) as is_anomaly,
        anomalies.anomaly_kind,
        anomalies.explanation as anomaly_explanation,
        case when anomalies.is_anomaly then runs.total_cost end as anomaly_cost
    from runs
    left join anomalies
        on
            runs.pipeline_id = anomalies.pipeline_id
            and runs.pipeline_run_id = anomalies.pipeline_run_id
)

select * from final
