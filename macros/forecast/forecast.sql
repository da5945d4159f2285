{#
    The forecast's settings, dates and one statistical constant (docs/cost-rules.md section 12).

    forecast_settings() -> {engine, horizon_days, training_days, min_history_days, interval_pct, z}
    from the forecast vars, each checked (a clear error naming the var); z is the standard normal
    quantile of the two-sided interval: normal_quantile(0.5 + interval_pct / 200).
#}
{% macro forecast_settings() -%}
    {%- set engine = var('dbt_pipeline_costs_forecast_engine') | string | lower -%}
    {%- if engine not in ['sql', 'python'] -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_forecast_engine must be 'sql' or 'python'; got '" ~ engine ~ "'") }}
    {%- endif -%}
    {%- set min_history = dbt_pipeline_costs.number_var('dbt_pipeline_costs_forecast_min_history_days', minimum=14, whole=true) -%}
    {%- set training = dbt_pipeline_costs.number_var(
        'dbt_pipeline_costs_forecast_training_days', minimum=min_history, whole=true) -%}
    {%- set horizon = dbt_pipeline_costs.number_var('dbt_pipeline_costs_forecast_horizon_days', minimum=1, whole=true) -%}
    {%- set interval_pct = dbt_pipeline_costs.number_var('dbt_pipeline_costs_forecast_interval_pct', minimum=1, maximum=99.9) -%}
    {{ return({
        'engine': engine,
        'horizon_days': horizon,
        'training_days': training,
        'min_history_days': min_history,
        'interval_pct': interval_pct,
        'z': dbt_pipeline_costs.normal_quantile(0.5 + interval_pct / 200.0),
    }) }}
{%- endmacro %}

{#
    forecast_budgets() -> [(series_type, series_id, budget text)]: var dbt_pipeline_costs_monthly_budget
    for the series ('total', 'total') and each {pipeline_id: budget} of dbt_pipeline_costs_pipeline_budgets
    for ('pipeline', pipeline_id). Budgets are plain non-negative numbers in the output currency.
#}
{% macro forecast_budgets() -%}
    {%- set budgets = [] -%}
    {%- set total = var('dbt_pipeline_costs_monthly_budget', none) -%}
    {%- if total is not none -%}
        {%- do budgets.append(('total', 'total', dbt_pipeline_costs._budget_text(total, 'dbt_pipeline_costs_monthly_budget'))) -%}
    {%- endif -%}
    {%- set per_pipeline = var('dbt_pipeline_costs_pipeline_budgets', {}) or {} -%}
    {%- if per_pipeline is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_pipeline_budgets must be a mapping {pipeline_id: monthly budget}; got '"
            ~ per_pipeline ~ "'") }}
    {%- endif -%}
    {%- for pipeline_id in per_pipeline | sort -%}
        {%- do budgets.append(('pipeline', pipeline_id | string, dbt_pipeline_costs._budget_text(
            per_pipeline[pipeline_id], 'dbt_pipeline_costs_pipeline_budgets.' ~ pipeline_id))) -%}
    {%- endfor -%}
    {{ return(budgets) }}
{%- endmacro %}

{#- _budget_case(budgets, type_column, id_column) -> SQL: each series' budget (money), NULL without one. -#}
{% macro _budget_case(budgets, type_column, id_column) -%}
    {%- if not budgets -%}
        {{ return('null') }}
    {%- endif -%}
    {%- set branches = [] -%}
    {%- for series_type, series_id, amount in budgets -%}
        {%- do branches.append(
            "when " ~ type_column ~ " = '" ~ series_type ~ "' and " ~ id_column ~ " = '" ~ dbt_pipeline_costs.escape_string_literal(series_id)
            ~ "' then " ~ dbt_pipeline_costs.money("'" ~ amount ~ "'")) -%}
    {%- endfor -%}
    {{ return('case ' ~ branches | join(' ') ~ ' end') }}
{%- endmacro %}

{% macro _budget_text(value, var_name) -%}
    {%- set text = (value | string) | trim -%}
    {%- set ok = value is not sameas true and value is not sameas false
        and modules.re.match('^\\d+(\\.\\d{1,18})?$', text) is not none -%}
    {%- if not ok -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: " ~ var_name ~ " must be a non-negative plain decimal number (a monthly budget in the "
            ~ "output currency) such as 5000 or 1250.50; got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{#
    normal_quantile(p) -> x with P(Z <= x) = p for a standard normal Z (0 < p < 1), to about 1e-12.
    Jinja has no math module: bisection on the CDF, Phi(x) = 1/2 + phi(x) * sum x^(2n+1) / (2n+1)!!
    (Marsaglia's series, all terms of one sign), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
#}
{% macro normal_quantile(p) -%}
    {%- if not (p is number and p > 0 and p < 1) -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs: normal_quantile needs 0 < p < 1; got '" ~ p ~ "'") }}
    {%- endif -%}
    {%- set bounds = namespace(low=-9.0, high=9.0) -%}
    {%- for _ in range(60) -%}
        {%- set middle = (bounds.low + bounds.high) / 2 -%}
        {%- if dbt_pipeline_costs._normal_cdf(middle) < p -%}
            {%- set bounds.low = middle -%}
        {%- else -%}
            {%- set bounds.high = middle -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((bounds.low + bounds.high) / 2) }}
{%- endmacro %}

{% macro _normal_cdf(x) -%}
    {%- set series = namespace(term=x, total=x) -%}
    {%- for n in range(1, 160) -%}
        {%- set series.term = series.term * x * x / (2 * n + 1) -%}
        {%- set series.total = series.total + series.term -%}
    {%- endfor -%}
    {{ return(0.5 + series.total * (2.718281828459045 ** (-x * x / 2)) / ((2 * 3.141592653589793) ** 0.5)) }}
{%- endmacro %}

{#- add_days(date_expr, days) -> the DATE days (an integer expression) after date_expr. -#}
{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'dbt_pipeline_costs')(date_expr, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
    cast({{ date_expr }} + cast({{ days }} as integer) as date)
{%- endmacro %}

{% macro bigquery__add_days(date_expr, days) -%}
    {#- BigQuery: DATE + INT64 is not defined; date_add takes an interval. -#}
    date_add({{ date_expr }}, interval cast({{ days }} as int64) day)
{%- endmacro %}

{% macro spark__add_days(date_expr, days) -%}
    {#- Spark: date_add wants an INT day count (a BIGINT is rejected). -#}
    date_add({{ date_expr }}, cast({{ days }} as int))
{%- endmacro %}

{#- days_between(start_date, end_date) -> whole days from start_date to end_date (DATEs), an integer. -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'dbt_pipeline_costs')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    cast({{ end_date }} - {{ start_date }} as {{ dbt.type_int() }})
{%- endmacro %}

{% macro bigquery__days_between(start_date, end_date) -%}
    {#- BigQuery: DATE - DATE is not defined. -#}
    date_diff({{ end_date }}, {{ start_date }}, day)
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    {#- Spark: DATE - DATE is an interval, datediff the day count. -#}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- month_start(date_expr) / month_end(date_expr) -> the first / last day (DATE) of the date's month. -#}
{% macro month_start(date_expr) -%}
    {{ dbt_pipeline_costs.add_days(date_expr, '1 - extract(day from ' ~ date_expr ~ ')') }}
{%- endmacro %}

{% macro month_end(date_expr) -%}
    {%- set next_month = dbt_pipeline_costs.add_days(dbt_pipeline_costs.month_start(date_expr), 32) -%}
    {{ dbt_pipeline_costs.add_days(dbt_pipeline_costs.month_start(next_month), -1) }}
{%- endmacro %}

{#- weekday_number(date_expr) -> 0 for Monday ... 6 for Sunday (days since Monday 1970-01-05, mod 7). -#}
{% macro weekday_number(date_expr) -%}
    mod({{ dbt_pipeline_costs.days_between("cast('1970-01-05' as date)", date_expr) }} + 7000000, 7)
{%- endmacro %}

{#
    date_range_rows(relation, columns, start_date, end_date, date_column) -> a SELECT with one row per
    row of relation and day from start_date to end_date (inclusive; DATE expressions over the
    relation's columns): the relation's `columns` and the day as `date_column` (a DATE). Dispatched:
    each warehouse spells "a row per element of a generated array" its own way.
#}
{% macro date_range_rows(relation, columns, start_date, end_date, date_column) -%}
    {{ return(adapter.dispatch('date_range_rows', 'dbt_pipeline_costs')(relation, columns, start_date, end_date, date_column)) }}
{%- endmacro %}

{% macro default__date_range_rows(relation, columns, start_date, end_date, date_column) -%}
    {#- DuckDB: generate_series of dates gives timestamps; unnest in the select list, cast outside. -#}
    select {% for column in columns %}days.{{ column }}, {% endfor %}cast(days.generated_day as date) as {{ date_column }}
    from (
        select
            {% for column in columns %}{{ relation }}.{{ column }}, {% endfor %}
            unnest(generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day))
                as generated_day
        from {{ relation }}
    ) as days
{%- endmacro %}

{% macro bigquery__date_range_rows(relation, columns, start_date, end_date, date_column) -%}
    {#- BigQuery: generate_date_array, unnested by a correlated cross join. -#}
    select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor %}generated_day as {{ date_column }}
    from {{ relation }}
    cross join unnest(generate_date_array({{ start_date }}, {{ end_date }})) as generated_day
{%- endmacro %}

{% macro spark__date_range_rows(relation, columns, start_date, end_date, date_column) -%}
    {#- Spark / Databricks: sequence of dates (one day apart by default), exploded in the select list. -#}
    select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor %}explode(sequence({{ start_date }}, {{ end_date }})) as {{ date_column }}
    from {{ relation }}
{%- endmacro %}

{#- forecast_input_relation() -> the relation the forecast reads: var dbt_pipeline_costs_forecast_input
    (the name of a model or seed with daily_spend's columns) or daily_spend. -#}
{% macro forecast_input_relation() -%}
    {%- set name = var('dbt_pipeline_costs_forecast_input', none) -%}
    {%- if name is none or (name | string | trim) == '' -%}
        {{ return(ref('daily_spend')) }}
    {%- endif -%}
    {%- if name is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', name) -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_forecast_input must be the name of a model or seed "
            ~ "(series_type, series_id, spend_date, cost, currency) or null; got '" ~ name ~ "'") }}
    {%- endif -%}
    {{ return(ref(name)) }}
{%- endmacro %}
