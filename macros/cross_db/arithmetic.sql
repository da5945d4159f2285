{#
    median_over(expression, partition_by) -> the exact median of expression over the partition, as a
    window expression (the mean of the two middle values for an even count; nulls ignored).
    Dispatched because BigQuery has no exact median aggregate, only PERCENTILE_CONT as a window
    function, and Spark spells it percentile().
#}
{% macro median_over(expression, partition_by) -%}
    {{ return(adapter.dispatch('median_over', 'dbt_pipeline_costs')(expression, partition_by)) }}
{%- endmacro %}

{% macro default__median_over(expression, partition_by) -%}
    median({{ expression }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro bigquery__median_over(expression, partition_by) -%}
    percentile_cont({{ expression }}, 0.5) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro spark__median_over(expression, partition_by) -%}
    percentile({{ expression }}, 0.5) over (partition by {{ partition_by }})
{%- endmacro %}

{#- ratio(numerator, denominator) -> numerator / denominator as a float, null when the denominator is 0 or null. -#}
{% macro ratio(numerator, denominator) -%}
    case
        when {{ denominator }} <> 0
            then cast({{ numerator }} as {{ dbt_pipeline_costs.float_type() }})
            / cast({{ denominator }} as {{ dbt_pipeline_costs.float_type() }})
    end
{%- endmacro %}

{#
    float_type() -> an 8-byte floating-point type. Not dbt.type_float(): that is a 4-byte FLOAT on
    DuckDB and Spark (about 7 significant digits), too coarse for durations and rates.
#}
{% macro float_type() -%}
    {{ return(adapter.dispatch('float_type', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__float_type() -%}
    double
{%- endmacro %}

{% macro bigquery__float_type() -%}
    float64
{%- endmacro %}

{% macro postgres__float_type() -%}
    double precision
{%- endmacro %}

{#- count_where(condition) -> the number of rows where condition is true, as a bigint. -#}
{% macro count_where(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as {{ dbt.type_bigint() }})
{%- endmacro %}
