{#
    bigquery_job_cost(...) -> the cost of one BigQuery job in the output currency (docs/cost-rules.md §3).
    Arguments are column expressions of stg_bigquery__jobs. The one place BigQuery prices are applied.
#}
{% macro bigquery_job_cost(reservation_id, edition, slot_ms, bytes_billed, cache_hit, is_billable) -%}
    {%- set slot_prices = var('dbt_pipeline_costs_bigquery_slot_hour_prices') -%}
    {%- set default_edition = var('dbt_pipeline_costs_bigquery_default_edition') | upper -%}
    {%- if default_edition not in slot_prices -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_bigquery_default_edition '" ~ default_edition
            ~ "' is not a key of dbt_pipeline_costs_bigquery_slot_hour_prices"
        ) }}
    {%- endif -%}
    {%- set ms_per_hour = 3600000 -%}
    {%- set bytes_per_tib = 1099511627776 -%}
    {%- set on_demand = dbt_pipeline_costs.scaled_price(var('dbt_pipeline_costs_bigquery_on_demand_price_per_tib'), 'dbt_pipeline_costs_bigquery_on_demand_price_per_tib') -%}
    case
        when coalesce({{ cache_hit }}, false) then {{ dbt_pipeline_costs.money(0) }}
        when {{ reservation_id }} is not null then
            case upper(coalesce({{ edition }}, '{{ dbt.escape_single_quotes(default_edition) }}'))
            {%- for name, price in slot_prices.items() if name | upper != default_edition %}
                when '{{ dbt.escape_single_quotes(name | upper) }}' then {{ dbt_pipeline_costs.price_quantity('coalesce(' ~ slot_ms ~ ', 0)', dbt_pipeline_costs.scaled_price(price, 'dbt_pipeline_costs_bigquery_slot_hour_prices.' ~ name), ms_per_hour) }}
            {%- endfor %}
                else {{ dbt_pipeline_costs.price_quantity('coalesce(' ~ slot_ms ~ ', 0)', dbt_pipeline_costs.scaled_price(slot_prices[default_edition], 'dbt_pipeline_costs_bigquery_slot_hour_prices.' ~ default_edition), ms_per_hour) }}
            end
        when {{ is_billable }} then {{ dbt_pipeline_costs.price_quantity('coalesce(' ~ bytes_billed ~ ', 0)', on_demand, bytes_per_tib) }}
        else {{ dbt_pipeline_costs.money(0) }}
    end
{%- endmacro %}
