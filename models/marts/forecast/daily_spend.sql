{#-
    One row per series x day: what was spent each day in total (every billed amount of
    cost_coverage, all platforms and products, by its cost date) and per pipeline (pipeline runs'
    total_cost by the UTC date the run started), dense - a day without spend is a row of cost 0 -
    from each series' first day with spend to the last complete day before the as-of moment
    (docs/cost-rules.md section 12). What the forecast reads by default.
-#}
{%- set as_of = dbt_pipeline_costs.as_of_timestamp() -%}
{%- set as_of_date = dbt_pipeline_costs.date_in_timezone(as_of, 'UTC') -%}
{#- BigQuery's cost days are days in its billing time zone: then the last complete day is the day
    before the earlier of the two calendar dates of as_of. -#}
{%- if var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set billing_zone = var('dbt_pipeline_costs_bigquery_billing_timezone') -%}
{%- set billing_date = dbt_pipeline_costs.date_in_timezone(as_of, billing_zone) -%}
{%- set as_of_date = 'least(' ~ as_of_date ~ ', ' ~ billing_date ~ ')' -%}
{%- endif -%}
{%- set last_complete_day = dbt_pipeline_costs.add_days(as_of_date, -1) %}

with

coverage as (
    select * from {{ ref('cost_coverage') }}
),

pipeline_runs as (
    select * from {{ ref('pipeline_cost_history') }}
),

spend as (
    select
        'total' as series_type,
        'total' as series_id,
        coverage.cost_date as spend_date,
        coverage.currency,
        sum(coverage.billed_cost) as cost
    from coverage
    group by coverage.cost_date, coverage.currency

    union all

    {#- A run without a start time (only Databricks job-run lines) has no day: it is in the total only. #}
    select
        'pipeline' as series_type,
        pipeline_runs.pipeline_id as series_id,
        {{ dbt_pipeline_costs.date_in_timezone('pipeline_runs.run_started_at', 'UTC') }} as spend_date,
        pipeline_runs.currency,
        sum(pipeline_runs.total_cost) as cost
    from pipeline_runs
    where pipeline_runs.run_started_at is not null
    group by
        pipeline_runs.pipeline_id,
        {{ dbt_pipeline_costs.date_in_timezone('pipeline_runs.run_started_at', 'UTC') }},
        pipeline_runs.currency
),

series as (
    select
        spend.series_type,
        spend.series_id,
        spend.currency,
        min(spend.spend_date) as first_date,
        {{ last_complete_day }} as last_date
    from spend
    where spend.spend_date <= {{ last_complete_day }}
    group by spend.series_type, spend.series_id, spend.currency
),

series_days as (
    {{ dbt_pipeline_costs.date_range_rows(
        'series', ['series_type', 'series_id', 'currency'], 'series.first_date', 'series.last_date', 'spend_date'
    ) }}
),

final as (
    select
        series_days.series_type,
        series_days.series_id,
        series_days.spend_date,
        {{ dbt_pipeline_costs.money('coalesce(spend.cost, 0)') }} as cost,
        series_days.currency
    from series_days
    left join spend
        on
            series_days.series_type = spend.series_type
            and series_days.series_id = spend.series_id
            and series_days.currency = spend.currency
            and series_days.spend_date = spend.spend_date
)

select * from final
