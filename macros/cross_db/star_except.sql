{#
    star_except(relation_alias, columns) -> every column of relation_alias but the named ones.
    DuckDB spells it EXCLUDE; BigQuery and Databricks EXCEPT.
#}
{% macro star_except(relation_alias, columns) -%}
    {{ return(adapter.dispatch('star_except', 'dbt_pipeline_costs')(relation_alias, columns)) }}
{%- endmacro %}

{% macro default__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro bigquery__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}
