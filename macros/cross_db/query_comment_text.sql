{#
    query_comment_json(query) -> the package's comment JSON cut out of a query's text, or NULL.
    The comment starts with {"app": "dbt_pipeline_costs" and is closed by the first */ after it
    (query_comment() never writes */ inside). Plain string functions: several times faster than a
    regular expression on long SQL texts, and it finds a prepended or an appended comment alike.
#}
{% macro query_comment_json(query) -%}
    {{ return(adapter.dispatch('query_comment_json', 'dbt_pipeline_costs')(query)) }}
{%- endmacro %}

{% macro default__query_comment_json(query) -%}
    {%- set marker = '{"app": "dbt_pipeline_costs"' -%}
    case
        when strpos({{ query }}, '{{ marker }}') > 0
            then rtrim(split_part(substr({{ query }}, strpos({{ query }}, '{{ marker }}')), '*/', 1))
    end
{%- endmacro %}

{% macro bigquery__query_comment_json(query) -%}
    {#- BigQuery has no split_part: SPLIT(...)[SAFE_OFFSET(0)]. -#}
    {%- set marker = '{"app": "dbt_pipeline_costs"' -%}
    case
        when strpos({{ query }}, '{{ marker }}') > 0
            then rtrim(split(substr({{ query }}, strpos({{ query }}, '{{ marker }}')), '*/')[safe_offset(0)])
    end
{%- endmacro %}

{% macro spark__query_comment_json(query) -%}
    {#- Spark / Databricks: instr() is strpos(); split() takes a regular expression, and `[*]/` is
        the two characters */ with no backslash to escape (backslashes in a literal depend on
        spark.sql.parser.escapedStringLiterals; a doubled one became "any number of backslashes,
        then /" and cut comments at every `/`). -#}
    {%- set marker = '{"app": "dbt_pipeline_costs"' -%}
    case
        when instr({{ query }}, '{{ marker }}') > 0
            then rtrim(split(substr({{ query }}, instr({{ query }}, '{{ marker }}')), '[*]/')[0])
    end
{%- endmacro %}
