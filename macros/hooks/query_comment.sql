{#
    query_comment(node) -> the compact JSON every dbt query carries. Set once in dbt_project.yml:

        query-comment:
          comment: "{{ dbt_pipeline_costs.query_comment(node) }}"
          job-label: true      # BigQuery: also copy the fields into job labels

    Keys, in this order, absent when empty: app, invocation_id, project, target, command,
    run_started_at, node_id, resource_type, package, orchestrator, pipeline_id, pipeline_run_id,
    pipeline_task_id, run_reason. No other field is ever added (see pipeline_context for the
    environment variables read). The staging models find the comment by its leading
    `{"app": "dbt_pipeline_costs"` and parse it back; BigQuery labels are only the lossy fallback.

    `*/` would close the SQL comment early: it is written as `*\/`, which JSON reads back as `*/`.
#}
{#- Not dispatched: dbt renders query comments where `adapter` is undefined. -#}
{% macro query_comment(node) -%}
    {%- set fields = {
        'app': 'dbt_pipeline_costs',
        'invocation_id': invocation_id,
        'project': project_name,
        'target': target.name,
        'command': flags.WHICH,
        'run_started_at': run_started_at.isoformat() if run_started_at is not none else none,
    } -%}
    {%- if node is not none -%}
        {%- do fields.update({
            'node_id': node.unique_id,
            'resource_type': node.resource_type | string,
            'package': node.package_name,
        }) -%}
    {%- endif -%}
    {%- do fields.update(dbt_pipeline_costs.pipeline_context()) -%}
    {%- set comment = {} -%}
    {%- for key, value in fields.items() if value is not none and value != '' -%}
        {%- do comment.update({key: value | string}) -%}
    {%- endfor -%}
    {{ return(tojson(comment) | replace('*/', '*\\/')) }}
{%- endmacro %}

{#- query_comment_columns() -> {comment key: column name} of the dbt context the staging models
    parse back from query_comment(); the one list both staging and intermediate models use. -#}
{% macro query_comment_columns() -%}
    {{ return({
        'invocation_id': 'invocation_id', 'node_id': 'node_id', 'resource_type': 'resource_type',
        'package': 'node_package', 'project': 'dbt_project', 'target': 'dbt_target', 'command': 'dbt_command',
        'run_started_at': 'run_started_at', 'orchestrator': 'orchestrator', 'pipeline_id': 'pipeline_id',
        'pipeline_run_id': 'pipeline_run_id', 'pipeline_task_id': 'pipeline_task_id', 'run_reason': 'run_reason',
    }) }}
{%- endmacro %}
