{#
    number_var(name, minimum=0, maximum=none, whole=false) -> the value of a numeric var, or a
    compiler error that names the var and the rule it breaks (never a stack trace deep in SQL).
#}
{% macro number_var(name, minimum=0, maximum=none, whole=false) -%}
    {%- set value = var(name) -%}
    {%- set ok = value is number and value is not sameas true and value is not sameas false
        and value >= minimum and (maximum is none or value <= maximum)
        and (not whole or value == value | int) -%}
    {%- if not ok -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: " ~ name ~ " must be a" ~ (" whole" if whole else "") ~ " number >= " ~ minimum
            ~ ((" and <= " ~ maximum) if maximum is not none else "") ~ "; got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int if whole else value) }}
{%- endmacro %}
