{#-
    One row per series (total, or a pipeline) x day, the actual days the forecast was fitted on
    (int_forecast_series: daily_spend, or dbt_pipeline_costs_forecast_input) followed by the
    forecast days of cost_forecast, shaped for the cumulative and forecast charts: the month the day
    is in, the running total of the month (actual cost, then predicted cost on forecast days) and
    the series' monthly budget from cost_forecast_summary (docs/cost-rules.md section 12).
-#}

with

actuals as (
    select * from {{ ref('int_forecast_series') }}
),

forecasts as (
    select * from {{ ref('cost_forecast') }}
),

summaries as (
    select * from {{ ref('cost_forecast_summary') }}
),

days as (
    select
        actuals.series_type,
        actuals.series_id,
        actuals.spend_date,
        'actual' as row_kind,
        actuals.cost,
        cast(null as {{ dbt_pipeline_costs.money_type() }}) as predicted_cost,
        cast(null as {{ dbt_pipeline_costs.money_type() }}) as lower_cost,
        cast(null as {{ dbt_pipeline_costs.money_type() }}) as upper_cost,
        actuals.currency
    from actuals

    union all

    select
        forecasts.series_type,
        forecasts.series_id,
        forecasts.forecast_date as spend_date,
        'forecast' as row_kind,
        cast(null as {{ dbt_pipeline_costs.money_type() }}) as cost,
        forecasts.predicted_cost,
        forecasts.lower_cost,
        forecasts.upper_cost,
        forecasts.currency
    from forecasts
),

monthly as (
    select
        days.*,
        {{ dbt_pipeline_costs.month_start('days.spend_date') }} as spend_month
    from days
),

final as (
    select
        monthly.series_type,
        monthly.series_id,
        monthly.spend_date,
        monthly.spend_month,
        monthly.row_kind,
        monthly.cost,
        monthly.predicted_cost,
        monthly.lower_cost,
        monthly.upper_cost,
        monthly.currency,
        sum(coalesce(monthly.cost, monthly.predicted_cost)) over (
            partition by monthly.series_type, monthly.series_id, monthly.currency, monthly.spend_month
            order by monthly.spend_date
            rows between unbounded preceding and current row
        ) as cumulative_month_cost,
        summaries.monthly_budget
    from monthly
    left join summaries
        on
            monthly.series_type = summaries.series_type
            and monthly.series_id = summaries.series_id
)

select * from final
