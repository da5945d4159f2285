{#
    escape_string_literal(text) -> text escaped to sit between single quotes in a SQL string
    literal of the target's dialect (the quotes are not added). The one place the upload escapes:
    it is called once per upload on all rows joined together, never once per value.
#}
{% macro escape_string_literal(text) -%}
    {{ return(adapter.dispatch('escape_string_literal', 'dbt_pipeline_costs')(text)) }}
{%- endmacro %}

{% macro default__escape_string_literal(text) -%}
    {#- Standard SQL (DuckDB, Postgres with standard_conforming_strings): a backslash is an
        ordinary character; only the quote is doubled. -#}
    {{ return(text | replace("'", "''")) }}
{%- endmacro %}

{% macro bigquery__escape_string_literal(text) -%}
    {#- BigQuery: backslash starts an escape sequence in '...' literals. -#}
    {{ return(text | replace('\\', '\\\\') | replace("'", "\\'")) }}
{%- endmacro %}

{% macro spark__escape_string_literal(text) -%}
    {#- Spark / Databricks: backslash escapes in '...' literals (spark.sql.parser.escapedStringLiterals=false, the default). -#}
    {{ return(text | replace('\\', '\\\\') | replace("'", "\\'")) }}
{%- endmacro %}

{% macro snowflake__escape_string_literal(text) -%}
    {#- Snowflake: backslash escapes in '...' literals. -#}
    {{ return(text | replace('\\', '\\\\') | replace("'", "\\'")) }}
{%- endmacro %}
