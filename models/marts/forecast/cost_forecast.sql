{#-
    One row per series x forecast day for the next dbt_pipeline_costs_forecast_horizon_days days after
    the origin: predicted daily cost and its prediction interval, from the engine
    dbt_pipeline_costs_forecast_engine chooses (sql: int_cost_forecast_sql, python:
    int_cost_forecast_python) - one output contract for both (docs/cost-rules.md section 12).
    Amounts are never negative: predictions and bounds below 0 are 0.
-#}
{%- set settings = dbt_pipeline_costs.forecast_settings() %}

with

engine_rows as (
    select * from {{ ref('int_cost_forecast_' ~ settings.engine) }}
),

final as (
    select
        cast(engine_rows.series_type as {{ dbt.type_string() }}) as series_type,
        cast(engine_rows.series_id as {{ dbt.type_string() }}) as series_id,
        cast(engine_rows.forecast_date as date) as forecast_date,
        cast(engine_rows.horizon_day as {{ dbt.type_int() }}) as horizon_day,
        cast(engine_rows.origin_date as date) as origin_date,
        {{ dbt_pipeline_costs.money('greatest(engine_rows.predicted_cost, 0)') }} as predicted_cost,
        {{ dbt_pipeline_costs.money('greatest(engine_rows.lower_cost, 0)') }} as lower_cost,
        {{ dbt_pipeline_costs.money('greatest(engine_rows.upper_cost, 0)') }} as upper_cost,
        cast(engine_rows.currency as {{ dbt.type_string() }}) as currency,
        cast(engine_rows.seasonal_effect as {{ dbt_pipeline_costs.float_type() }}) as seasonal_effect,
        cast({{ settings.interval_pct }} as {{ dbt_pipeline_costs.float_type() }}) as interval_pct,
        '{{ settings.engine }}' as engine,
        cast(engine_rows.method as {{ dbt.type_string() }}) as method
    from engine_rows
    where engine_rows.horizon_day <= {{ settings.horizon_days }}
)

select * from final
