{#
    Money is exact decimal until the last presentation layer.
    money_type()              -> the SQL type of every money column.
    money(expr)               -> expr cast to that type.
    scaled_price(value)       -> a price given as a number or string, as an integer of 10^-18 units,
                                 converted to the output currency (compile time, exact).
    price_quantity(q, scaled_price, units_per_price)
                              -> q * price / units_per_price as money (q is an integer quantity:
                                 bytes, slot-ms, ...; units_per_price e.g. 2^40 bytes per TiB).
#}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__money_type() -%}
    decimal(38, 18)
{%- endmacro %}

{% macro bigquery__money_type() -%}
    {#- NUMERIC keeps 9 decimals: 10M jobs x 1e-9 rounding could move a cent. BIGNUMERIC keeps 38. -#}
    bignumeric
{%- endmacro %}

{% macro money(expr) -%}
    cast({{ expr }} as {{ dbt_pipeline_costs.money_type() }})
{%- endmacro %}

{#- anchored_share(pool, rounded_share, rounded_total, is_anchor) -> one line's exact part of a pool
    split into rounded shares: its rounded share, except the anchor line, which takes the pool minus
    the other lines' rounded shares, so the lines add up to the pool exactly. -#}
{% macro anchored_share(pool, rounded_share, rounded_total, is_anchor) -%}
    case
        when {{ is_anchor }} then {{ pool }} - ({{ rounded_total }} - {{ rounded_share }})
        else {{ rounded_share }}
    end
{%- endmacro %}

{% macro _scaled_integer(value, var_name, scale=18) -%}
    {%- set text = (value | string) | trim -%}
    {%- set digits = text.replace('.', '', 1) -%}
    {%- if not digits.isdigit() or text.count('.') > 1 -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: " ~ var_name ~ " must be a non-negative plain decimal number such as 6.25 or '0.00007', got '" ~ text ~ "'"
        ) }}
    {%- endif -%}
    {%- set parts = text.split('.') -%}
    {%- set fraction = parts[1] if parts | length > 1 else '' -%}
    {%- if fraction | length > scale -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs: " ~ var_name ~ " has more than " ~ scale ~ " decimals: " ~ text) }}
    {%- endif -%}
    {{ return(((parts[0] or '0') ~ fraction ~ ('0' * (scale - fraction | length))) | int) }}
{%- endmacro %}

{% macro output_currency() -%}
    {%- set currency = var('dbt_pipeline_costs_currency') | string | upper -%}
    {%- set rates = var('dbt_pipeline_costs_currency_rates') -%}
    {%- if currency not in rates -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_currency is '" ~ currency ~ "' but dbt_pipeline_costs_currency_rates has no rate for it (has: "
            ~ (rates.keys() | list | join(', ')) ~ ")"
        ) }}
    {%- endif -%}
    {{ return(currency) }}
{%- endmacro %}

{% macro scaled_price(value, var_name) -%}
    {%- set currency = dbt_pipeline_costs.output_currency() -%}
    {%- set rate = dbt_pipeline_costs._scaled_integer(var('dbt_pipeline_costs_currency_rates')[currency], 'dbt_pipeline_costs_currency_rates.' ~ currency) -%}
    {%- set price = dbt_pipeline_costs._scaled_integer(value, var_name) -%}
    {{ return(price * rate // 10 ** 18) }}
{%- endmacro %}

{% macro price_quantity(quantity, scaled_price, units_per_price) -%}
    {{ return(adapter.dispatch('price_quantity', 'dbt_pipeline_costs')(quantity, scaled_price, units_per_price)) }}
{%- endmacro %}

{% macro default__price_quantity(quantity, scaled_price, units_per_price) -%}
    cast({{ quantity }} as {{ dbt_pipeline_costs.money_type() }}) * {{ scaled_price }} / {{ units_per_price * 10 ** 18 }}
{%- endmacro %}

{% macro duckdb__price_quantity(quantity, scaled_price, units_per_price) -%}
    {#- DuckDB turns DECIMAL / DECIMAL into DOUBLE. Divide as HUGEINT in 10^-18 units (truncating
        below 10^-18), then rescale with a DECIMAL multiplication, which stays exact. -#}
    cast(cast({{ quantity }} as hugeint) * {{ scaled_price }} // {{ units_per_price }} as decimal(38, 0))
    * cast(0.000000000000000001 as decimal(38, 18))
{%- endmacro %}

{% macro bigquery__price_quantity(quantity, scaled_price, units_per_price) -%}
    {#- BigQuery: integer literals stop at INT64, so the constants are BIGNUMERIC literals. -#}
    cast({{ quantity }} as bignumeric) * bignumeric '{{ scaled_price }}' / bignumeric '{{ units_per_price * 10 ** 18 }}'
{%- endmacro %}
