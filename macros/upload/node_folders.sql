{#
    node_folders(paths) -> [folder, ...]: the folder of each node file path, in the same order
    (docs/cost-rules.md section 7): the directory of the path with `/` separators, '' for a file at
    the project root, none for a missing path. The one place the rule lives: stg_dbt__nodes and
    upload_run_results() both call it, once for all their paths (a macro call per node would cost
    more than the rule itself).
#}
{% macro node_folders(paths) -%}
    {%- set folders = [] -%}
    {%- for raw in paths -%}
        {%- if raw is none -%}
            {%- do folders.append(none) -%}
        {%- else -%}
            {%- set path = raw | replace('\\', '/') -%}
            {%- do folders.append(path.rsplit('/', 1)[0] if '/' in path else '') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(folders) }}
{%- endmacro %}
