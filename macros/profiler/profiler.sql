{#
    Helpers of the profiler, recommendation and estimate marts (docs/cost-rules.md sections 14-15).
#}

{#- profile_window_start() -> SQL for as_of minus dbt_pipeline_costs_profile_window_days (inclusive start). -#}
{% macro profile_window_start() -%}
    {%- set days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_profile_window_days', minimum=1, whole=true) -%}
    {{ return(dbt.dateadd('day', -days, dbt_pipeline_costs.as_of_timestamp())) }}
{%- endmacro %}

{#
    percentile_over(expression, fraction, partition_by) -> the continuous percentile (linear
    interpolation between the two nearest ranks, as numpy's default) of expression over the
    partition, as a window expression; NULLs are ignored. Dispatched: DuckDB spells it
    quantile_cont, BigQuery has it only as an analytic function, Spark spells it percentile.
#}
{% macro percentile_over(expression, fraction, partition_by) -%}
    {{ return(adapter.dispatch('percentile_over', 'dbt_pipeline_costs')(expression, fraction, partition_by)) }}
{%- endmacro %}

{% macro default__percentile_over(expression, fraction, partition_by) -%}
    quantile_cont({{ expression }}, {{ fraction }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro bigquery__percentile_over(expression, fraction, partition_by) -%}
    percentile_cont({{ expression }}, {{ fraction }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro spark__percentile_over(expression, fraction, partition_by) -%}
    percentile({{ expression }}, {{ fraction }}) over (partition by {{ partition_by }})
{%- endmacro %}

{#
    format_fixed(expression, decimals) -> a number as text with exactly `decimals` digits after the
    point and no thousands separator ('1234.50'), through an 8-byte float; NULL stays NULL. For the
    evidence texts. Dispatched: each engine names its printf differently.
#}
{% macro format_fixed(expression, decimals) -%}
    {{ return(adapter.dispatch('format_fixed', 'dbt_pipeline_costs')(expression, decimals)) }}
{%- endmacro %}

{% macro default__format_fixed(expression, decimals) -%}
    printf('%.{{ decimals | int }}f', cast({{ expression }} as {{ dbt_pipeline_costs.float_type() }}))
{%- endmacro %}

{% macro bigquery__format_fixed(expression, decimals) -%}
    format('%.{{ decimals | int }}f', cast({{ expression }} as float64))
{%- endmacro %}

{% macro spark__format_fixed(expression, decimals) -%}
    format_string('%.{{ decimals | int }}f', cast({{ expression }} as double))
{%- endmacro %}

{#
    monthly(money_expr, days) -> money_expr spent over `days` days, projected to a 30-day month
    (money_expr x 30 / days) as money: the one monthly factor of the profiler marts, the same one
    sao_opportunities uses.
#}
{% macro monthly(money_expr, days) -%}
    {{ return(dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(money_expr, 30, days))) }}
{%- endmacro %}

{#- amount_text(money_expr) -> SQL text of an amount in the output currency for an evidence text: '12.34 USD'. -#}
{% macro amount_text(money_expr) -%}
    {%- set currency = dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) -%}
    {{ dbt_pipeline_costs.format_fixed(money_expr, 2) }} || ' {{ currency }}'
{%- endmacro %}

{#
    alternative_bigquery_prices() -> {'edition': ..., 'on_demand': ..., 'capacity': ...}: the prices
    switch_pricing_model compares with, as integers of 10^-18 units of the output currency (like
    scaled_price): on-demand per TiB billed; the slot-hour price of
    dbt_pipeline_costs_bigquery_default_edition times dbt_pipeline_costs_capacity_overhead_factor
    (exact integer arithmetic, truncated to 10^-18).
#}
{% macro alternative_bigquery_prices() -%}
    {%- set edition = var('dbt_pipeline_costs_bigquery_default_edition') | upper -%}
    {%- set slot_prices = var('dbt_pipeline_costs_bigquery_slot_hour_prices') -%}
    {%- if edition not in slot_prices -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_bigquery_default_edition '" ~ edition
            ~ "' is not a key of dbt_pipeline_costs_bigquery_slot_hour_prices") }}
    {%- endif -%}
    {%- set overhead = dbt_pipeline_costs.number_var('dbt_pipeline_costs_capacity_overhead_factor', minimum=1) -%}
    {%- set on_demand_var = 'dbt_pipeline_costs_bigquery_on_demand_price_per_tib' -%}
    {%- set on_demand = dbt_pipeline_costs.scaled_price(var(on_demand_var), on_demand_var) -%}
    {%- set capacity = dbt_pipeline_costs.scaled_price(
        slot_prices[edition], 'dbt_pipeline_costs_bigquery_slot_hour_prices.' ~ edition)
        * dbt_pipeline_costs._scaled_integer(overhead, 'dbt_pipeline_costs_capacity_overhead_factor') // 10 ** 18 -%}
    {{ return({'edition': edition, 'on_demand': on_demand, 'capacity': capacity, 'overhead': overhead}) }}
{%- endmacro %}
