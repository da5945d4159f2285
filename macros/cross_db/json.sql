{#
    JSON helpers used to read the package's query comment back.
    json_if_valid(text) -> the text when it is valid JSON, else NULL (never an error).
    json_string_field(json_text, key) -> the field as a string (keys are simple names).
#}
{% macro json_if_valid(text) -%}
    {{ return(adapter.dispatch('json_if_valid', 'dbt_pipeline_costs')(text)) }}
{%- endmacro %}

{% macro default__json_if_valid(text) -%}
    case when json_valid({{ text }}) then {{ text }} end
{%- endmacro %}

{% macro bigquery__json_if_valid(text) -%}
    {#- BigQuery has no json_valid(); SAFE.PARSE_JSON returns NULL instead of failing. -#}
    case when safe.parse_json({{ text }}) is not null then {{ text }} end
{%- endmacro %}

{% macro spark__json_if_valid(text) -%}
    {#- Spark: from_json returns NULL for text that is not a JSON object. -#}
    case when from_json({{ text }}, 'map<string,string>') is not null then {{ text }} end
{%- endmacro %}

{% macro json_string_field(json_text, key) -%}
    {{ return(adapter.dispatch('json_string_field', 'dbt_pipeline_costs')(json_text, key)) }}
{%- endmacro %}

{% macro default__json_string_field(json_text, key) -%}
    json_extract_string({{ json_text }}, '$.{{ key }}')
{%- endmacro %}

{% macro bigquery__json_string_field(json_text, key) -%}
    json_value({{ json_text }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__json_string_field(json_text, key) -%}
    get_json_object({{ json_text }}, '$.{{ key }}')
{%- endmacro %}

{#
    json_to_string_struct(json_text, keys) -> a STRUCT with one string field per key, parsed once
    (parsing text is the hot path: one parse per row instead of one per field). json_text must be
    valid JSON or NULL (see json_if_valid).
#}
{% macro json_to_string_struct(json_text, keys) -%}
    {{ return(adapter.dispatch('json_to_string_struct', 'dbt_pipeline_costs')(json_text, keys)) }}
{%- endmacro %}

{% macro default__json_to_string_struct(json_text, keys) -%}
    {#- DuckDB: json_transform parses once into a typed STRUCT. -#}
    json_transform({{ json_text }}, '{ {%- for key in keys %}"{{ key }}": "VARCHAR"{{ ", " if not loop.last }}{% endfor -%} }')
{%- endmacro %}

{% macro bigquery__json_to_string_struct(json_text, keys) -%}
    {#- BigQuery scales out per field; a STRUCT keeps the same column shape as elsewhere. -#}
    struct(
        {%- for key in keys %}
        json_value({{ json_text }}, '$.{{ key }}') as {{ key }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__json_to_string_struct(json_text, keys) -%}
    from_json({{ json_text }}, '{% for key in keys %}`{{ key }}` string{{ ", " if not loop.last }}{% endfor %}')
{%- endmacro %}
