{#
    run_results_insert_sql(relation, columns, rows_literal) -> one INSERT statement that appends
    every row of a batch to `relation`.

    rows_literal is ONE quoted SQL string literal (escaped with escape_string_literal) holding a
    JSON array of rows; each row is a JSON array of the values of `columns` (run_results_columns())
    in order: strings, numbers, booleans, null; timestamps as ISO-8601 UTC text. The SQL parses
    the array once, reads element i of each row as text and casts it to column i's type (the
    types of run_results_column_type, in the adapter's spelling). A whole batch is one literal:
    the statement's size is known before it is sent, and nothing in a value can end it early.
#}
{% macro run_results_insert_sql(relation, columns, rows_literal) -%}
    {{ return(adapter.dispatch('run_results_insert_sql', 'dbt_pipeline_costs')(relation, columns, rows_literal)) }}
{%- endmacro %}

{% macro default__run_results_insert_sql(relation, columns, rows_literal) -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: upload_run_results() has no insert statement for adapter '" ~ adapter.type()
        ~ "' (supported: duckdb, bigquery, spark/databricks, snowflake, postgres). Remove the on-run-end hook or set"
        ~ " var dbt_pipeline_costs_upload_enabled: false.") }}
{%- endmacro %}

{#- The select list shared by the adapters: `element` formats the text of row element i (i counted
    from `base`); text columns take it as is, the others are cast to `types[kind]`. Each adapter
    names its own cast types (not through dispatch), so every dialect's statement can be rendered,
    and checked, from any adapter. -#}
{% macro _run_results_select_list(columns, element, base, types) -%}
    {%- for column, kind in columns %}
    {% if kind == 'string' -%}
        {{ element.format(loop.index0 + base) }}
    {%- else -%}
        cast({{ element.format(loop.index0 + base) }} as {{ types[kind] }})
    {%- endif %} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__run_results_insert_sql(relation, columns, rows_literal) -%}
    {#- DuckDB: json_transform parses the literal once into VARCHAR[][] (numbers and booleans
        keep their JSON text, null becomes NULL); lists are 1-based. -#}
    insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
    select
        {{- dbt_pipeline_costs._run_results_select_list(columns, 'r[{}]', 1,
            {'integer': 'bigint', 'float': 'double', 'boolean': 'boolean', 'timestamp': 'timestamp with time zone'}) }}
    from (select unnest(json_transform({{ rows_literal }}, '[["VARCHAR"]]')) as r) as uploaded_rows
{%- endmacro %}

{% macro bigquery__run_results_insert_sql(relation, columns, rows_literal) -%}
    {#- BigQuery: JSON_QUERY_ARRAY splits the literal into rows, JSON_VALUE reads each element as text. -#}
    insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
    select
        {{- dbt_pipeline_costs._run_results_select_list(columns, "json_value(r, '$[{}]')", 0,
            {'integer': 'int64', 'float': 'float64', 'boolean': 'bool', 'timestamp': 'timestamp'}) }}
    from unnest(json_query_array({{ rows_literal }})) as r
{%- endmacro %}

{% macro spark__run_results_insert_sql(relation, columns, rows_literal) -%}
    {#- Spark / Databricks: from_json into array<array<string>> (a number or boolean read into a
        string keeps its JSON text), exploded into rows; arrays are 0-based. -#}
    insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
    select
        {{- dbt_pipeline_costs._run_results_select_list(columns, 'r[{}]', 0,
            {'integer': 'bigint', 'float': 'double', 'boolean': 'boolean', 'timestamp': 'timestamp'}) }}
    from (select explode(from_json({{ rows_literal }}, 'array<array<string>>')) as r) as uploaded_rows
{%- endmacro %}

{% macro snowflake__run_results_insert_sql(relation, columns, rows_literal) -%}
    {#- Snowflake: FLATTEN over PARSE_JSON gives one VARIANT per row; STRIP_NULL_VALUE turns a JSON
        null into SQL NULL before the cast to text. -#}
    insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
    select
        {{- dbt_pipeline_costs._run_results_select_list(columns, 'strip_null_value(r.value[{}])::varchar', 0,
            {'integer': 'bigint', 'float': 'float', 'boolean': 'boolean', 'timestamp': 'timestamp_tz'}) }}
    from table(flatten(input => parse_json({{ rows_literal }}))) as r
{%- endmacro %}

{% macro postgres__run_results_insert_sql(relation, columns, rows_literal) -%}
    {#- Postgres: json_array_elements gives one json value per row; ->> reads element i as text. -#}
    insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
    select
        {{- dbt_pipeline_costs._run_results_select_list(columns, 'r->>{}', 0,
            {'integer': 'bigint', 'float': 'double precision', 'boolean': 'boolean', 'timestamp': 'timestamptz'}) }}
    from json_array_elements(cast({{ rows_literal }} as json)) as r
{%- endmacro %}
