{#-
    The series the forecast engines read, one row per series x day: daily_spend (or the model named
    by dbt_pipeline_costs_forecast_input), dense up to the forecast origin (the input's last day),
    with each day's place in the fit - its index relative to the origin, weekday, whether it is a
    training day - and the series' status: forecast, insufficient_history or no_recent_spend
    (docs/cost-rules.md section 12). A table: the Python engine reads it.
-#}
{%- set settings = dbt_pipeline_costs.forecast_settings() %}

with

input_rows as (
    select * from {{ dbt_pipeline_costs.forecast_input_relation() }}
),

spend as (
    {#- Rows of the same series and day add up. -#}
    select
        cast(input_rows.series_type as {{ dbt.type_string() }}) as series_type,
        cast(input_rows.series_id as {{ dbt.type_string() }}) as series_id,
        cast(input_rows.spend_date as date) as spend_date,
        min(cast(input_rows.currency as {{ dbt.type_string() }})) as currency,
        {{ dbt_pipeline_costs.money('sum(' ~ dbt_pipeline_costs.money('input_rows.cost') ~ ')') }} as cost
    from input_rows
    where input_rows.spend_date is not null
    group by input_rows.series_type, input_rows.series_id, cast(input_rows.spend_date as date)
),

origin as (
    select max(spend.spend_date) as origin_date
    from spend
),

series as (
    select
        spend.series_type,
        spend.series_id,
        min(spend.currency) as currency,
        min(spend.spend_date) as first_date,
        min(origin.origin_date) as origin_date
    from spend
    cross join origin
    group by spend.series_type, spend.series_id
),

series_days as (
    {{ dbt_pipeline_costs.date_range_rows(
        'series', ['series_type', 'series_id', 'currency', 'first_date', 'origin_date'],
        'series.first_date', 'series.origin_date', 'spend_date'
    ) }}
),

days as (
    select
        series_days.series_type,
        series_days.series_id,
        series_days.spend_date,
        {{ dbt_pipeline_costs.money('coalesce(spend.cost, 0)') }} as cost,
        series_days.currency,
        series_days.origin_date,
        series_days.first_date,
        {{ dbt_pipeline_costs.days_between('series_days.first_date', 'series_days.origin_date') }} as history_days,
        {{ dbt_pipeline_costs.days_between('series_days.origin_date', 'series_days.spend_date') }} as day_index,
        {{ dbt_pipeline_costs.weekday_number('series_days.spend_date') }} as weekday,
        {#- The first day of a series is left out of the fit: it is usually partial (the history read
            starts mid-day; a pipeline's first day in the logs may have started before them). #}
        (
            series_days.spend_date > series_days.first_date
            and series_days.spend_date
            > {{ dbt_pipeline_costs.add_days('series_days.origin_date', -settings.training_days) }}
        ) as is_training_day
    from series_days
    left join spend
        on
            series_days.series_type = spend.series_type
            and series_days.series_id = spend.series_id
            and series_days.spend_date = spend.spend_date
),

training as (
    select
        days.series_type,
        days.series_id,
        {{ dbt_pipeline_costs.count_where('days.is_training_day') }} as training_days,
        sum(case when days.is_training_day then days.cost else {{ dbt_pipeline_costs.money(0) }} end) as training_cost
    from days
    group by days.series_type, days.series_id
),

final as (
    select
        days.series_type,
        days.series_id,
        days.spend_date,
        days.cost,
        days.currency,
        days.origin_date,
        days.first_date,
        days.history_days,
        training.training_days,
        days.day_index,
        days.weekday,
        days.is_training_day,
        case
            when days.history_days < {{ settings.min_history_days }} then 'insufficient_history'
            when training.training_cost = 0 then 'no_recent_spend'
            else 'forecast'
        end as status
    from days
    inner join training
        on days.series_type = training.series_type and days.series_id = training.series_id
)

select * from final
