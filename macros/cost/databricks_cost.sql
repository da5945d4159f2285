{#
    Databricks money (docs/cost-rules.md section 10).

    databricks_currency_factor(currency_column) -> the factor that converts an amount in the
        row's currency into the output currency: rate(output) / rate(currency) of
        dbt_pipeline_costs_currency_rates, computed at compile time and truncated to 10 decimals.
        A currency without a rate gives NULL (the record is then unpriced).
    databricks_usage_cost(quantity, unit_price, currency_column) -> quantity x unit price,
        converted, as money. Quantities keep 18 decimals and prices 10; a record's cost below 10^10.
    allocated_share(pool, weight, total_weight) -> pool x weight / total_weight rounded to 12
        decimals, as money. The rounding is in 8-byte floating point; callers give the rounding
        remainder to one anchor line so a pool's lines add up to it exactly.
    usage_quantity_type() -> the SQL type of a usage quantity (DBUs) in the marts both platforms share.
#}
{% macro usage_quantity_type() -%}
    {{ return(adapter.dispatch('usage_quantity_type', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__usage_quantity_type() -%}
    decimal(38, 18)
{%- endmacro %}

{% macro bigquery__usage_quantity_type() -%}
    {#- BigQuery: NUMERIC(P, S) keeps at most 9 decimals (no DECIMAL(38, 18)); BIGNUMERIC keeps 38, like money_type(). -#}
    bignumeric
{%- endmacro %}

{% macro databricks_currency_factor(currency_column) -%}
    {%- set output = dbt_pipeline_costs.output_currency() -%}
    {%- set rates = var('dbt_pipeline_costs_currency_rates') -%}
    {%- set output_rate = dbt_pipeline_costs._scaled_integer(rates[output], 'dbt_pipeline_costs_currency_rates.' ~ output) -%}
    case upper({{ currency_column }})
        {%- for currency, rate in rates.items() %}
        {%- set scaled = dbt_pipeline_costs._scaled_integer(rate, 'dbt_pipeline_costs_currency_rates.' ~ currency) %}
        {%- if scaled == 0 %}
            {{ exceptions.raise_compiler_error("dbt_pipeline_costs: dbt_pipeline_costs_currency_rates." ~ currency ~ " must be > 0") }}
        {%- endif %}
        {%- set factor = output_rate * 10 ** 10 // scaled %}
        when '{{ dbt.escape_single_quotes(currency | string | upper) }}'
            then cast({{ factor // 10 ** 10 }}.{{ '%010d' % (factor % 10 ** 10) }} as decimal(20, 10))
        {%- endfor %}
    end
{%- endmacro %}

{% macro databricks_usage_cost(quantity, unit_price, currency_column) -%}
    {#- Each factor is cast to (28, 18) x (20, 10): the product keeps 17+ decimals on Spark, whose
        decimal multiplication gives up scale beyond 38 digits of precision. -#}
    {{ dbt_pipeline_costs.money(
        'cast(cast(' ~ quantity ~ ' as decimal(28, 18)) * cast(' ~ unit_price ~ ' as decimal(20, 10)) as decimal(28, 18))'
        ~ ' * ' ~ dbt_pipeline_costs.databricks_currency_factor(currency_column)
    ) }}
{%- endmacro %}

{% macro allocated_share(pool, weight, total_weight) -%}
    {{ dbt_pipeline_costs.money(
        'cast(cast(' ~ pool ~ ' as ' ~ dbt_pipeline_costs.float_type() ~ ') * ' ~ weight ~ ' / ' ~ total_weight
        ~ ' as decimal(38, 12))'
    ) }}
{%- endmacro %}
