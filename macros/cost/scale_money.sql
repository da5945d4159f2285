{#
    scale_money(money_expr, numerator, denominator) -> money_expr x numerator / denominator, as an
    expression (wrap it in money() for a money column). numerator and denominator are exact
    numbers (integers or decimals with few digits), e.g. a projection of a cost to 30 days.
#}
{% macro scale_money(money_expr, numerator, denominator) -%}
    {{ return(adapter.dispatch('scale_money', 'dbt_pipeline_costs')(money_expr, numerator, denominator)) }}
{%- endmacro %}

{% macro default__scale_money(money_expr, numerator, denominator) -%}
    {{ money_expr }} * ({{ numerator }}) / ({{ denominator }})
{%- endmacro %}

{% macro spark__scale_money(money_expr, numerator, denominator) -%}
    {#- Spark / Databricks: a DECIMAL product wider than 38 digits keeps only 38 - (integer digits)
        decimals, and DECIMAL(38, 18) x a BIGINT keeps 6. The money is narrowed to DECIMAL(28, 18)
        (10 integer digits) and the factor taken once as DECIMAL(38, 28), so the product keeps 17. -#}
    cast({{ money_expr }} as decimal(28, 18)) * cast(({{ numerator }}) / ({{ denominator }}) as decimal(38, 28))
{%- endmacro %}
