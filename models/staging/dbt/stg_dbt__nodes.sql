{{ config(materialized='table') }}
{#-
    One row per node of the current project (models, seeds, snapshots, tests, ...) from dbt's
    graph at compile time: the folder, tags and materialization a stage breakdown needs. Nodes that
    no longer exist are not here (their queries fall in stage "(unknown node)").
-#}
{%- set rows = [] -%}
{%- if execute -%}
    {%- set nodes = graph.nodes.values() | sort(attribute='unique_id') -%}
    {%- set folders = dbt_pipeline_costs.node_folders(nodes | map(attribute='original_file_path') | list) -%}
    {%- for node in nodes -%}
        {%- set path = (node.original_file_path or '') | replace('\\', '/') -%}
        {%- set tags = (node.tags or []) | sort -%}
        {%- do rows.append({
            'node_id': node.unique_id,
            'resource_type': node.resource_type | string,
            'package_name': node.package_name,
            'name': node.name,
            'original_file_path': path,
            'folder': folders[loop.index0] or '',
            'first_tag': tags[0] if tags else none,
            'tags': tags | join(','),
            'materialized': node.config.materialized,
        }) -%}
    {%- endfor -%}
{%- endif -%}
{%- set columns = ['node_id', 'resource_type', 'package_name', 'name', 'original_file_path', 'folder', 'first_tag', 'tags', 'materialized'] -%}

with

nodes as (
    {%- for row in rows %}
    select
        {%- for column in columns %}
        {% if row[column] is none -%}
            cast(null as {{ dbt.type_string() }})
        {%- else -%}
            cast('{{ dbt.escape_single_quotes(row[column] | string) }}' as {{ dbt.type_string() }})
        {%- endif %} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
    {%- endfor %}
),

final as (
    select * from nodes
)

select * from final
