{#-
    One row per series (every series of the forecast input, forecast or not, with the reason): the
    fit (level, trend per day, residual sd), month-to-date spend, the projected month-end spend with
    its interval, the spend forecast over the horizon, and the day the monthly budget is (or is
    forecast to be) exceeded (docs/cost-rules.md section 12). Engine-independent: it reads the rows
    of the engine dbt_pipeline_costs_forecast_engine chooses.
-#}
{%- set settings = dbt_pipeline_costs.forecast_settings() -%}
{%- set budgets = dbt_pipeline_costs.forecast_budgets() -%}
{%- set float = dbt_pipeline_costs.float_type() -%}
{%- set zero = dbt_pipeline_costs.money(0) %}

with

series_days as (
    select * from {{ ref('int_forecast_series') }}
),

engine_rows as (
    select * from {{ ref('int_cost_forecast_' ~ settings.engine) }}
),

series as (
    select
        series_days.series_type,
        series_days.series_id,
        min(series_days.currency) as currency,
        min(series_days.status) as status,
        min(series_days.origin_date) as origin_date,
        min(series_days.first_date) as first_date,
        min(series_days.history_days) as history_days,
        min(series_days.training_days) as training_days,
        min({{ dbt_pipeline_costs.month_start(dbt_pipeline_costs.add_days('series_days.origin_date', 1)) }})
            as month_start_date,
        min({{ dbt_pipeline_costs.month_end(dbt_pipeline_costs.add_days('series_days.origin_date', 1)) }})
            as month_end_date,
        {#- Budgets are known when the SQL is compiled. #}
        {{ dbt_pipeline_costs.money(
            dbt_pipeline_costs._budget_case(budgets, 'series_days.series_type', 'series_days.series_id')
        ) }} as monthly_budget
    from series_days
    group by series_days.series_type, series_days.series_id
),

month_to_date as (
    select
        series.series_type,
        series.series_id,
        sum(series_days.cost) as month_to_date_cost
    from series
    inner join series_days
        on
            series.series_type = series_days.series_type
            and series.series_id = series_days.series_id
            and series.month_start_date <= series_days.spend_date
    group by series.series_type, series.series_id
),

engine_totals as (
    select
        engine_rows.series_type,
        engine_rows.series_id,
        min(engine_rows.method) as method,
        min(engine_rows.level_at_origin) as level_at_origin,
        min(engine_rows.trend_per_day) as trend_per_day,
        min(engine_rows.residual_sd) as residual_sd,
        sum(
            case
                when engine_rows.forecast_date <= series.month_end_date then greatest(engine_rows.predicted_cost, 0)
            end
        ) as rest_of_month_cost,
        max(case when engine_rows.forecast_date = series.month_end_date then engine_rows.cumulative_lower_cost end)
            as rest_of_month_lower_cost,
        max(case when engine_rows.forecast_date = series.month_end_date then engine_rows.cumulative_upper_cost end)
            as rest_of_month_upper_cost,
        sum(
            case
                when engine_rows.horizon_day <= {{ settings.horizon_days }} then greatest(engine_rows.predicted_cost, 0)
            end
        ) as horizon_cost,
        max(case when engine_rows.horizon_day = {{ settings.horizon_days }} then engine_rows.cumulative_lower_cost end)
            as horizon_lower_cost,
        max(case when engine_rows.horizon_day = {{ settings.horizon_days }} then engine_rows.cumulative_upper_cost end)
            as horizon_upper_cost
    from engine_rows
    inner join series
        on engine_rows.series_type = series.series_type and engine_rows.series_id = series.series_id
    group by engine_rows.series_type, engine_rows.series_id
),

budget_days as (
    {#- The days a budget is checked on: this month's actual days, then the forecast days of the
        horizon; each calendar month's spend accumulates from its first day. -#}
    select
        series_days.series_type,
        series_days.series_id,
        series_days.spend_date as budget_date,
        series_days.cost as day_cost
    from series_days
    inner join series
        on series_days.series_type = series.series_type and series_days.series_id = series.series_id
    where series.monthly_budget is not null and series_days.spend_date >= series.month_start_date

    union all

    select
        engine_rows.series_type,
        engine_rows.series_id,
        cast(engine_rows.forecast_date as date) as budget_date,
        {{ dbt_pipeline_costs.money('greatest(engine_rows.predicted_cost, 0)') }} as day_cost
    from engine_rows
    inner join series
        on engine_rows.series_type = series.series_type and engine_rows.series_id = series.series_id
    where series.monthly_budget is not null and engine_rows.horizon_day <= {{ settings.horizon_days }}
),

budget_months as (
    select
        budget_days.*,
        {{ dbt_pipeline_costs.month_start('budget_days.budget_date') }} as budget_month
    from budget_days
),

budget_running as (
    select
        budget_months.series_type,
        budget_months.series_id,
        budget_months.budget_date,
        sum(budget_months.day_cost) over (
            partition by budget_months.series_type, budget_months.series_id, budget_months.budget_month
            order by budget_months.budget_date
            rows between unbounded preceding and current row
        ) as month_cost
    from budget_months
),

crossings as (
    select
        budget_running.series_type,
        budget_running.series_id,
        min(budget_running.budget_date) as budget_crossed_on
    from budget_running
    inner join series
        on budget_running.series_type = series.series_type and budget_running.series_id = series.series_id
    where budget_running.month_cost > series.monthly_budget
    group by budget_running.series_type, budget_running.series_id
),

final as (
    select
        series.series_type,
        series.series_id,
        series.status,
        '{{ settings.engine }}' as engine,
        engine_totals.method,
        series.currency,
        series.origin_date,
        series.first_date,
        cast(series.history_days as {{ dbt.type_int() }}) as history_days,
        cast(series.training_days as {{ dbt.type_int() }}) as training_days,
        cast(engine_totals.level_at_origin as {{ float }}) as level_at_origin,
        cast(engine_totals.trend_per_day as {{ float }}) as trend_per_day,
        cast(engine_totals.residual_sd as {{ float }}) as residual_sd,
        cast({{ settings.interval_pct }} as {{ float }}) as interval_pct,
        cast({{ settings.horizon_days }} as {{ dbt.type_int() }}) as horizon_days,
        series.month_start_date,
        series.month_end_date,
        {{ dbt_pipeline_costs.money('coalesce(month_to_date.month_to_date_cost, ' ~ zero ~ ')') }}
            as month_to_date_cost,
        {#- Bounds never cross the point estimate (a prediction below 0 counts 0). #}
        {{ dbt_pipeline_costs.money(
            'coalesce(month_to_date.month_to_date_cost, ' ~ zero ~ ') + '
            ~ dbt_pipeline_costs.money('engine_totals.rest_of_month_cost')) }} as projected_month_end_cost,
        {{ dbt_pipeline_costs.money(
            'coalesce(month_to_date.month_to_date_cost, ' ~ zero ~ ') + '
            ~ dbt_pipeline_costs.money(
                'least(greatest(engine_totals.rest_of_month_lower_cost, 0), engine_totals.rest_of_month_cost)'
            )) }} as projected_month_end_lower_cost,
        {{ dbt_pipeline_costs.money(
            'coalesce(month_to_date.month_to_date_cost, ' ~ zero ~ ') + '
            ~ dbt_pipeline_costs.money(
                'greatest(engine_totals.rest_of_month_upper_cost, engine_totals.rest_of_month_cost)'
            )) }} as projected_month_end_upper_cost,
        {{ dbt_pipeline_costs.money('engine_totals.horizon_cost') }} as forecast_horizon_cost,
        {{ dbt_pipeline_costs.money(
            'least(greatest(engine_totals.horizon_lower_cost, 0), engine_totals.horizon_cost)'
        ) }} as forecast_horizon_lower_cost,
        {{ dbt_pipeline_costs.money('greatest(engine_totals.horizon_upper_cost, engine_totals.horizon_cost)') }}
            as forecast_horizon_upper_cost,
        series.monthly_budget,
        crossings.budget_crossed_on,
        case
            when series.monthly_budget is null then 'no_budget'
            when crossings.budget_crossed_on <= series.origin_date then 'crossed'
            when crossings.budget_crossed_on is not null then 'projected_to_cross'
            when series.status = 'forecast' then 'within_budget'
            else 'not_forecast'
        end as budget_status
    from series
    left join month_to_date
        on series.series_type = month_to_date.series_type and series.series_id = month_to_date.series_id
    left join engine_totals
        on series.series_type = engine_totals.series_type and series.series_id = engine_totals.series_id
    left join crossings
        on series.series_type = crossings.series_type and series.series_id = crossings.series_id
)

select * from final
