{# Test helper: prints query_comment() for a model node (or none) so tests can check it. #}
{% macro print_query_comment(node_name=none) %}
    {%- set node = none -%}
    {%- if node_name -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ node_name) -%}
    {%- endif -%}
    {{ print(dbt_pipeline_costs.query_comment(node)) }}
{% endmacro %}
