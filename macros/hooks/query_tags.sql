{#
    set_query_tags() / unset_query_tags() -> a pre-/post-hook pair that tags every statement of a
    model with its dbt context where the warehouse has session query tags, for statements whose
    text loses the query comment (docs/cost-rules.md 10.3). In dbt_project.yml:

        models:
          +pre-hook: "{{ dbt_pipeline_costs.set_query_tags() }}"
          +post-hook: "{{ dbt_pipeline_costs.unset_query_tags() }}"

    Tags: dbt_invocation_id, dbt_node_id, dbt_pipeline_id, dbt_pipeline_run_id (pipeline_context(),
    the same allow-list as the query comment; nothing else). Databricks: SET QUERY_TAGS, values cut
    to Databricks' 128 characters. Every other adapter: an empty hook, which dbt skips (BigQuery has
    the comment's job labels, DuckDB has no query log).
#}
{% macro set_query_tags() -%}
    {{ return(adapter.dispatch('set_query_tags', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro unset_query_tags() -%}
    {{ return(adapter.dispatch('unset_query_tags', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__set_query_tags() -%}
    {{ return('') }}
{%- endmacro %}

{% macro default__unset_query_tags() -%}
    {{ return('') }}
{%- endmacro %}

{#- query_tag_values() -> {tag key: value} of the node being built (values may be empty). -#}
{% macro query_tag_values() -%}
    {%- set context = dbt_pipeline_costs.pipeline_context() -%}
    {{ return({
        'dbt_invocation_id': invocation_id,
        'dbt_node_id': model.unique_id if model is defined and model else '',
        'dbt_pipeline_id': context.get('pipeline_id') or '',
        'dbt_pipeline_run_id': context.get('pipeline_run_id') or invocation_id,
    }) }}
{%- endmacro %}

{% macro databricks__set_query_tags() -%}
    {#- Databricks SQL: SET QUERY_TAGS['key'] = 'value', ... for the session; backslash escapes in literals. -#}
    {%- set assignments = [] -%}
    {%- for key, value in dbt_pipeline_costs.query_tag_values().items() if value -%}
        {%- do assignments.append(
            "query_tags['" ~ key ~ "'] = '" ~ dbt_pipeline_costs.spark__escape_string_literal((value | string)[:128]) ~ "'"
        ) -%}
    {%- endfor -%}
    {{ return('set ' ~ assignments | join(', ')) }}
{%- endmacro %}

{% macro databricks__unset_query_tags() -%}
    {%- set assignments = [] -%}
    {%- for key in dbt_pipeline_costs.query_tag_values().keys() -%}
        {%- do assignments.append("query_tags['" ~ key ~ "'] = unset") -%}
    {%- endfor -%}
    {{ return('set ' ~ assignments | join(', ')) }}
{%- endmacro %}
