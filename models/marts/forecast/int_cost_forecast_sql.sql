{#-
    The SQL forecast engine (docs/cost-rules.md section 12): per series, ordinary least squares of the
    training days' cost on a linear trend plus one intercept per weekday, computed with sums (the
    slope is the pooled within-weekday slope, which is exactly that regression's); prediction
    intervals from the residual standard deviation with the regression's own standard errors. One
    row per series x forecast day, from the day after the origin to the later of the horizon's end
    and the end of the origin's next day's month (what the month-end projection needs).
-#}
{{ config(materialized='ephemeral') }}
{%- set settings = dbt_pipeline_costs.forecast_settings() -%}
{%- set float = dbt_pipeline_costs.float_type() -%}
{%- set horizon_day = dbt_pipeline_costs.days_between('forecast_days.origin_date', 'forecast_days.forecast_date') %}

with

series_days as (
    select * from {{ ref('int_forecast_series') }}
),

training as (
    select
        series_days.series_type,
        series_days.series_id,
        series_days.weekday,
        cast(series_days.day_index as {{ float }}) as t,
        cast(series_days.cost as {{ float }}) as y
    from series_days
    where series_days.status = 'forecast' and series_days.is_training_day
),

weekdays as (
    select
        training.series_type,
        training.series_id,
        training.weekday,
        count(*) as weekday_days,
        avg(training.t) as t_mean,
        avg(training.y) as y_mean
    from training
    group by training.series_type, training.series_id, training.weekday
),

centred as (
    select
        training.series_type,
        training.series_id,
        training.t - weekdays.t_mean as t_centred,
        training.y - weekdays.y_mean as y_centred
    from training
    inner join weekdays
        on
            training.series_type = weekdays.series_type
            and training.series_id = weekdays.series_id
            and training.weekday = weekdays.weekday
),

slopes as (
    select
        centred.series_type,
        centred.series_id,
        sum(centred.t_centred * centred.t_centred) as t_spread,
        case
            when sum(centred.t_centred * centred.t_centred) > 0
                then sum(centred.t_centred * centred.y_centred) / sum(centred.t_centred * centred.t_centred)
            else 0
        end as slope
    from centred
    group by centred.series_type, centred.series_id
),

intercepts as (
    select
        weekdays.series_type,
        weekdays.series_id,
        weekdays.weekday,
        weekdays.weekday_days,
        weekdays.t_mean,
        slopes.slope,
        slopes.t_spread,
        weekdays.y_mean - slopes.slope * weekdays.t_mean as intercept
    from weekdays
    inner join slopes
        on weekdays.series_type = slopes.series_type and weekdays.series_id = slopes.series_id
),

levels as (
    select
        intercepts.series_type,
        intercepts.series_id,
        avg(intercepts.intercept) as level_at_origin
    from intercepts
    group by intercepts.series_type, intercepts.series_id
),

residuals as (
    select
        training.series_type,
        training.series_id,
        count(*) as training_days,
        sum(
            (training.y - intercepts.intercept - intercepts.slope * training.t)
            * (training.y - intercepts.intercept - intercepts.slope * training.t)
        ) as squared_error
    from training
    inner join intercepts
        on
            training.series_type = intercepts.series_type
            and training.series_id = intercepts.series_id
            and training.weekday = intercepts.weekday
    group by training.series_type, training.series_id
),

fits as (
    {#- 8 parameters: a slope and 7 weekday intercepts (min history >= 14 days leaves >= 6 degrees of freedom). #}
    select
        residuals.series_type,
        residuals.series_id,
        residuals.training_days,
        levels.level_at_origin,
        sqrt(residuals.squared_error / (residuals.training_days - 8)) as residual_sd
    from residuals
    inner join levels
        on residuals.series_type = levels.series_type and residuals.series_id = levels.series_id
),

series as (
    select distinct
        series_days.series_type,
        series_days.series_id,
        series_days.currency,
        series_days.origin_date,
        {{ dbt_pipeline_costs.add_days('series_days.origin_date', 1) }} as first_forecast_date,
        greatest(
            {{ dbt_pipeline_costs.add_days('series_days.origin_date', settings.horizon_days) }},
            {{ dbt_pipeline_costs.month_end(dbt_pipeline_costs.add_days('series_days.origin_date', 1)) }}
        ) as last_forecast_date
    from series_days
    where series_days.status = 'forecast'
),

forecast_days as (
    {{ dbt_pipeline_costs.date_range_rows(
        'series', ['series_type', 'series_id', 'currency', 'origin_date'],
        'series.first_forecast_date', 'series.last_forecast_date', 'forecast_date'
    ) }}
),

predictions as (
    select
        forecast_days.series_type,
        forecast_days.series_id,
        forecast_days.currency,
        forecast_days.origin_date,
        forecast_days.forecast_date,
        {{ horizon_day }} as horizon_day,
        fits.training_days,
        fits.level_at_origin,
        fits.residual_sd,
        intercepts.slope as trend_per_day,
        intercepts.intercept - fits.level_at_origin as seasonal_effect,
        intercepts.intercept
        + intercepts.slope
        * {{ horizon_day }}
            as predicted_cost,
        {#- Var(prediction) = sd^2 (1 + 1/n_w + (h - mean t_w)^2 / sum (t - mean t_w)^2). #}
        fits.residual_sd * sqrt(
            1 + 1 / cast(intercepts.weekday_days as {{ float }})
            + ({{ horizon_day }} - intercepts.t_mean)
            * ({{ horizon_day }} - intercepts.t_mean)
            / intercepts.t_spread
        ) as prediction_sd,
        {#- Pieces of the variance of the cumulative sum from the first forecast day (see below). #}
        (
            2 * row_number() over (
                partition by forecast_days.series_type, forecast_days.series_id, intercepts.weekday
                order by forecast_days.forecast_date
            ) - 1
        ) / cast(intercepts.weekday_days as {{ float }}) as weekday_mean_term,
        {{ horizon_day }}
        - intercepts.t_mean as trend_term,
        intercepts.t_spread
    from forecast_days
    inner join fits
        on forecast_days.series_type = fits.series_type and forecast_days.series_id = fits.series_id
    inner join intercepts
        on
            forecast_days.series_type = intercepts.series_type
            and forecast_days.series_id = intercepts.series_id
            and {{ dbt_pipeline_costs.weekday_number('forecast_days.forecast_date') }} = intercepts.weekday
),

cumulative as (
    {#- Sum of days 1..h: Var = sd^2 (h + sum_w k_w^2 / n_w + (sum_d (h_d - mean t_w(d)))^2 / spread),
        k_w = forecast days of weekday w so far (k^2 is the running sum of 2k - 1). #}
    select
        predictions.*,
        sum(predictions.predicted_cost) over (
            partition by predictions.series_type, predictions.series_id
            order by predictions.forecast_date
            rows between unbounded preceding and current row
        ) as cumulative_predicted_cost,
        sum(predictions.weekday_mean_term) over (
            partition by predictions.series_type, predictions.series_id
            order by predictions.forecast_date
            rows between unbounded preceding and current row
        ) as cumulative_weekday_term,
        sum(predictions.trend_term) over (
            partition by predictions.series_type, predictions.series_id
            order by predictions.forecast_date
            rows between unbounded preceding and current row
        ) as cumulative_trend_term
    from predictions
),

final as (
    select
        cumulative.series_type,
        cumulative.series_id,
        cumulative.currency,
        cumulative.origin_date,
        cumulative.forecast_date,
        cumulative.horizon_day,
        cast(cumulative.predicted_cost as {{ float }}) as predicted_cost,
        cast(cumulative.predicted_cost - {{ settings.z }} * cumulative.prediction_sd as {{ float }}) as lower_cost,
        cast(cumulative.predicted_cost + {{ settings.z }} * cumulative.prediction_sd as {{ float }}) as upper_cost,
        cast(cumulative.cumulative_predicted_cost as {{ float }}) as cumulative_predicted_cost,
        cast(
            cumulative.cumulative_predicted_cost - {{ settings.z }} * cumulative.residual_sd * sqrt(
                cumulative.horizon_day + cumulative.cumulative_weekday_term
                + cumulative.cumulative_trend_term * cumulative.cumulative_trend_term / cumulative.t_spread
            ) as {{ float }}
        ) as cumulative_lower_cost,
        cast(
            cumulative.cumulative_predicted_cost + {{ settings.z }} * cumulative.residual_sd * sqrt(
                cumulative.horizon_day + cumulative.cumulative_weekday_term
                + cumulative.cumulative_trend_term * cumulative.cumulative_trend_term / cumulative.t_spread
            ) as {{ float }}
        ) as cumulative_upper_cost,
        cast(cumulative.seasonal_effect as {{ float }}) as seasonal_effect,
        cast(cumulative.level_at_origin as {{ float }}) as level_at_origin,
        cast(cumulative.trend_per_day as {{ float }}) as trend_per_day,
        cast(cumulative.residual_sd as {{ float }}) as residual_sd,
        cast(cumulative.training_days as {{ dbt.type_int() }}) as training_days,
        'ols_weekday' as method
    from cumulative
)

select * from final
